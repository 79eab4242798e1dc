"""run/arun: progress per step, nested records reported once, waiting on a human."""

from __future__ import annotations

import pytest
from langgraph.types import Command

from orchestra import Agent, pipeline, supervisor, vote
from orchestra.models import ScriptedModel
from orchestra.runtime import Progress, arun, run
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
