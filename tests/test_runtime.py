"""run/arun: progress per step, nested records reported once, waiting on a human."""

from __future__ import annotations

from typing import Any

import pytest
from langgraph.types import Command

from orchestra import Agent, fan_out, pipeline, supervisor, vote
from orchestra.errors import OrchestraError, ThreadNotFound, ThreadUnfinished
from orchestra.models import ScriptedModel
from orchestra.runtime import Progress, arun, resume, run
from tests.conftest import scripted_agent


def test_progress_reports_each_call_once_with_where_it_ran() -> None:
    team = pipeline(scripted_agent("draft", "d"), scripted_agent("polish", "p"), name="drafting")
    flow = supervisor(
        [team],
        manager=Agent(
            "lead", model=ScriptedModel(replies=[{"next": "drafting"}, {"next": "FINISH"}])
        ),
    )
    events: list[Progress] = []

    outcome = run(flow, "write", on_progress=events.append)

    reported = [(e.path, r.agent) for e in events if not e.started for r in e.results]
    assert reported == [
        ((), "lead"),
        (("drafting",), "draft"),
        (("drafting",), "polish"),
        ((), "drafting"),
        ((), "lead"),
    ]
    assert outcome.output == "p"
    assert outcome.waiting is False


def test_usage_sums_every_model_call_once() -> None:
    outcome = run(pipeline(scripted_agent("a", "one two"), scripted_agent("b", "three")), "g")

    assert outcome.usage.output_tokens == 3


def test_a_run_that_asks_a_human_waits_and_resumes_on_the_same_thread() -> None:
    from langgraph.checkpoint.memory import InMemorySaver

    def voter(name: str, answer: str) -> Agent:
        return Agent(name, model=lambda state: {"answer": answer})

    app = vote(voter("a", "yes"), voter("b", "no"), tie_break="escalate").compile(
        checkpointer=InMemorySaver()
    )

    waiting = run(app, "ship it?", thread_id="t-1")

    assert waiting.waiting
    assert waiting.interrupts[0].value["options"] == ["yes", "no"]

    done = run(app, inputs=Command(resume="no"), thread_id="t-1")

    assert done.output == {"answer": "no"}
    assert not done.waiting


async def test_arun_reports_the_same_progress_as_run() -> None:
    flow = pipeline(scripted_agent("a", "1"), scripted_agent("b", "2"))
    events: list[Progress] = []

    outcome = await arun(flow, "g", on_progress=events.append)

    assert [r.agent for e in events for r in e.results] == ["a", "b"]
    assert [e.node for e in events if e.started] == ["a", "b"]
    assert outcome.output == "2"


def test_each_step_is_reported_when_it_starts_and_when_it_ends() -> None:
    events: list[Progress] = []

    run(
        pipeline(scripted_agent("a", "1"), scripted_agent("b", "2")), "g", on_progress=events.append
    )

    assert [(e.node, e.started) for e in events] == [
        ("a", True),
        ("a", False),
        ("b", True),
        ("b", False),
    ]


def test_a_run_with_no_goal_continues_the_thread_instead_of_starting_again() -> None:
    from langgraph.checkpoint.memory import InMemorySaver

    calls: list[str] = []

    def step(name: str) -> Agent:
        def work(state: object) -> str:
            calls.append(name)
            if name == "b" and calls.count("b") == 1:
                raise RuntimeError("crash in b")
            return name

        return Agent(name, model=work)

    app = pipeline(step("a"), step("b")).compile(checkpointer=InMemorySaver())
    with pytest.raises(RuntimeError, match="crash in b"):
        run(app, "g", thread_id="t")

    outcome = run(app, thread_id="t")

    assert calls == ["a", "b", "b"]
    assert [r.agent for r in outcome.state["results"]] == ["a", "b"]


def test_a_goal_on_a_finished_thread_returns_the_stored_result_and_runs_nothing() -> None:
    from langgraph.checkpoint.memory import InMemorySaver

    model = ScriptedModel(replies=["first answer"])
    app = pipeline(Agent("solo", model=model)).compile(checkpointer=InMemorySaver())
    first = run(app, "g", thread_id="t")

    again = run(app, "g", thread_id="t")

    assert (first.executed, again.executed) == (True, False)
    assert again.output == "first answer"
    assert len(model.calls) == 1


def test_a_goal_on_an_unfinished_thread_is_refused_with_a_pointer_to_resume() -> None:
    from langgraph.checkpoint.memory import InMemorySaver

    saver = InMemorySaver()
    run(vote_app(), "ship?", thread_id="t", checkpointer=saver)

    with pytest.raises(ThreadUnfinished, match=r"orchestra resume t --answer"):
        run(vote_app(), "ship?", thread_id="t", checkpointer=saver)


def vote_app(name: str = "vote") -> Any:
    def voter(voter_name: str, answer: str) -> Agent:
        return Agent(f"{name}_{voter_name}", model=lambda state: {"answer": answer})

    return vote(voter("a", "yes"), voter("b", "no"), tie_break="escalate", name=name)


def test_resume_continues_a_waiting_thread_with_the_answer() -> None:
    from langgraph.checkpoint.memory import InMemorySaver

    saver = InMemorySaver()
    flow = vote_app()
    assert run(flow, "ship?", thread_id="t", checkpointer=saver).status == "waiting"

    with pytest.raises(OrchestraError, match="waiting for a human answer"):
        resume(flow, "t", checkpointer=saver)
    done = resume(flow, "t", answer="no", checkpointer=saver)

    assert done.status == "done"
    assert done.output == {"answer": "no"}


def test_several_pending_questions_are_answered_by_id() -> None:
    from langgraph.checkpoint.memory import InMemorySaver

    saver = InMemorySaver()
    flow = fan_out(vote_app("legal"), vote_app("tech"))
    waiting = run(flow, "ship?", thread_id="t", checkpointer=saver)
    assert len(waiting.interrupts) == 2

    with pytest.raises(OrchestraError, match="answer each by id"):
        resume(flow, "t", answer="yes", checkpointer=saver)
    first, second = waiting.interrupts
    done = resume(flow, "t", answer={first.id: "yes", second.id: "no"}, checkpointer=saver)

    assert done.status == "done"
    assert sorted(done.output.values(), key=str) == [{"answer": "no"}, {"answer": "yes"}]


def test_resume_of_a_thread_that_never_ran_says_so() -> None:
    from langgraph.checkpoint.memory import InMemorySaver

    with pytest.raises(ThreadNotFound):
        resume(vote_app(), "nobody", checkpointer=InMemorySaver())


def test_a_run_stopped_by_an_error_is_failed_and_resumable() -> None:
    from langgraph.checkpoint.memory import InMemorySaver

    from orchestra.runtime import thread_status

    attempts: list[int] = []

    def flaky(state: object) -> str:
        attempts.append(1)
        if len(attempts) == 1:
            raise RuntimeError("upstream timeout")
        return "ok"

    app = pipeline(Agent("fetch", model=flaky)).compile(checkpointer=InMemorySaver())
    with pytest.raises(RuntimeError, match="upstream timeout"):
        run(app, "g", thread_id="t")

    assert thread_status(app, "t") == "failed"
    assert resume(app, "t").output == "ok"
    assert thread_status(app, "t") == "done"
