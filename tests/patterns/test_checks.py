"""Check(rule, on_fail=...): a failed check retries, reroutes, escalates the model or a human."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from langgraph.checkpoint.memory import InMemorySaver

from orchestra import (
    Agent,
    Check,
    Escalate,
    EscalateModel,
    Reroute,
    Retry,
    Verdict,
    fan_out,
    pipeline,
    router,
    validate,
)
from orchestra.checkpoint import SQLCheckpointer
from orchestra.errors import DefinitionError
from orchestra.models import ScriptedModel
from orchestra.runtime import aresume, arun, resume, run
from tests.conftest import scripted_agent

MODES = ["invoke", "ainvoke"]


def long_enough(state: Any, result: Any) -> Verdict:
    text = str(result.output)
    return Verdict.ok() if len(text) >= 10 else Verdict.fail(f"only {len(text)} characters")


async def invoke(flow: Any, mode: str, goal: str = "g") -> dict[str, Any]:
    app = flow.compile()
    if mode == "ainvoke":
        return await app.ainvoke({"goal": goal})
    return app.invoke({"goal": goal})


def gate_trail(final: dict[str, Any]) -> list[tuple[str, str | None]]:
    return [(d.at, d.choice) for d in final["decisions"]]


@pytest.mark.parametrize("mode", MODES)
async def test_a_failed_check_retries_the_agent_with_the_reason_then_passes(mode: str) -> None:
    writer_model = ScriptedModel(replies=["short", "long enough now"])
    flow = pipeline(
        Agent("write", "Write.", model=writer_model),
        scripted_agent("publish", "published"),
        gate={"write": Check(long_enough, on_fail=Retry(2))},
    )

    final = await invoke(flow, mode)

    assert [r.agent for r in final["results"]] == ["write", "write", "publish"]
    assert "only 5 characters" in writer_model.calls[1][-1].text
    assert gate_trail(final) == [("write.gate", "retry"), ("write.gate", "pass")]
    assert final["decisions"][0].reason == "only 5 characters"


@pytest.mark.parametrize("mode", MODES)
async def test_a_checker_agent_judges_and_its_reason_is_the_feedback(mode: str) -> None:
    checker = Agent(
        "checker",
        "Check the answer.",
        model=ScriptedModel(
            replies=[{"passed": False, "reason": "cite a source"}, {"passed": True}]
        ),
    )
    answer_model = ScriptedModel(replies=["Paris", "Paris (source: atlas)"])
    flow = validate(Agent("answerer", model=answer_model), checker, on_fail=Retry(1))

    final = await invoke(flow, mode)

    assert final["output"] == "Paris (source: atlas)"
    assert "cite a source" in answer_model.calls[1][-1].text
    assert [d.choice for d in final["decisions"]] == ["retry", "pass"]


def test_when_the_policies_run_out_the_work_stops_at_the_failed_step() -> None:
    flow = pipeline(
        scripted_agent("write", "bad", "worse"),
        scripted_agent("publish", "published"),
        gate={"write": Check(lambda s, r: "never good", on_fail=[Retry(1)])},
    )

    final = flow.compile().invoke({"goal": "g"})

    assert [r.agent for r in final["results"]] == ["write", "write"]
    assert [d.choice for d in final["decisions"]] == ["retry", "stop"]


def test_a_failure_can_send_the_work_back_to_an_earlier_step() -> None:
    writer_model = ScriptedModel(replies=["draft claims 9 moons", "draft claims 1 moon"])
    flow = pipeline(
        Agent("writer", "Write.", model=writer_model),
        Agent("editor", model=lambda state: f"edited: {state.latest('writer').output}"),
        gate={
            "editor": Check(
                lambda s, r: "" if "1 moon" in r.output else "Earth has one moon",
                on_fail=Retry(1, to="writer"),
            )
        },
    )

    final = flow.compile().invoke({"goal": "the Moon"})

    assert [r.agent for r in final["results"]] == ["writer", "editor", "writer", "editor"]
    assert "Earth has one moon" in writer_model.calls[1][-1].text
    first = final["decisions"][0]
    assert (first.choice, first.detail["to"], first.detail["judged"]) == (
        "retry",
        "writer",
        "editor",
    )
    assert final["output"] == "edited: draft claims 1 moon"
    edges = {(e.source, e.target, e.data) for e in flow.compile().get_graph().edges}
    assert ("editor.gate", "writer", "retry:writer") in edges
    assert not any(e[:2] == ("editor.gate", "editor") for e in edges)


@pytest.mark.parametrize("mode", MODES)
async def test_reroute_hands_the_work_to_an_alternative_whose_result_is_checked(
    mode: str,
) -> None:
    flow = pipeline(
        scripted_agent("junior", "hm"),
        scripted_agent("after", "done"),
        gate={
            "junior": Check(long_enough, on_fail=Reroute(scripted_agent("senior", "a full answer")))
        },
    )

    final = await invoke(flow, mode)

    assert [r.agent for r in final["results"]] == ["junior", "senior", "after"]
    gate = [d for d in final["decisions"] if d.at == "junior.gate"]
    assert [(d.choice, d.detail["judged"]) for d in gate] == [
        ("reroute", "junior"),
        ("pass", "senior"),
    ]
    edges = {(e.source, e.target) for e in flow.compile().get_graph().edges}
    assert ("junior.gate", "senior") in edges
    assert ("senior", "junior.gate") in edges


@pytest.mark.parametrize("mode", MODES)
async def test_escalate_model_runs_the_same_agent_again_on_a_stronger_model(mode: str) -> None:
    small = ScriptedModel(replies=["meh"], model_name="small")
    big = ScriptedModel(replies=["a careful answer"], model_name="big")
    flow = validate(
        Agent("solver", "Solve it.", model=small), long_enough, on_fail=EscalateModel(big)
    )

    final = await invoke(flow, mode)

    assert [(r.agent, r.model) for r in final["results"]] == [
        ("solver", "small"),
        ("solver", "big"),
    ]
    assert "only 3 characters" in big.calls[0][-1].text
    first = final["decisions"][0]
    assert (first.choice, first.detail["model_name"]) == ("escalate_model", "big")
    assert final["output"] == "a careful answer"


def test_policies_apply_in_order_one_per_failure() -> None:
    big = ScriptedModel(replies=["no"], model_name="big")
    flow = validate(
        Agent("solver", model=ScriptedModel(replies=["x", "y"], model_name="small")),
        long_enough,
        on_fail=[
            Retry(1),
            EscalateModel(big),
            Reroute(scripted_agent("expert", "an expert answer")),
        ],
    )

    final = flow.compile().invoke({"goal": "g"})

    assert [d.choice for d in final["decisions"]] == [
        "retry",
        "escalate_model",
        "reroute",
        "pass",
    ]
    assert final["output"] == "an expert answer"


def test_a_failed_check_escalated_to_a_human_waits_with_the_question_and_results() -> None:
    flow = pipeline(
        scripted_agent("quote", "discount 40%"),
        scripted_agent("send", "sent"),
        gate={"quote": Check(lambda s, r: "over the 20% limit", on_fail=Escalate("Approve?"))},
    )
    saver = InMemorySaver()

    waiting = run(flow, "quote ACME", thread_id="t", checkpointer=saver)

    assert waiting.status == "waiting"
    (question,) = waiting.interrupts
    assert question.value["question"] == "Approve?"
    assert question.value["reason"] == "over the 20% limit"
    assert question.value["results"] == {"quote": "discount 40%"}
    assert question.value["options"] == ["accept", "retry", "stop"]


@pytest.mark.parametrize("mode", MODES)
async def test_a_human_accepts_on_resume_from_a_sqlite_file_and_later_agents_see_the_note(
    mode: str, tmp_path: Path
) -> None:
    sender_model = ScriptedModel(replies=["sent"])
    flow = pipeline(
        scripted_agent("quote", "discount 40%"),
        Agent("send", "Send it.", model=sender_model),
        gate={"quote": Check(lambda s, r: "over the 20% limit", on_fail=Escalate())},
    )
    url = f"sqlite:///{tmp_path / 'runs.db'}"
    with SQLCheckpointer(url) as saver:
        if mode == "ainvoke":
            assert (await arun(flow, "quote ACME", thread_id="t", checkpointer=saver)).waiting
        else:
            assert run(flow, "quote ACME", thread_id="t", checkpointer=saver).waiting

    with SQLCheckpointer(url) as fresh:
        answer = "accept: approved by the sales director"
        if mode == "ainvoke":
            done = await aresume(flow, "t", answer=answer, checkpointer=fresh)
        else:
            done = resume(flow, "t", answer=answer, checkpointer=fresh)

    assert done.status == "done"
    assert done.output == "sent"
    human = [d for d in done.state["decisions"] if d.kind == "escalation"]
    assert [(d.at, d.choice, d.reason) for d in human] == [
        ("quote.escalate", "accept", "approved by the sales director")
    ]
    assert human[0].detail["answer"] == answer
    assert "approved by the sales director" in sender_model.calls[0][-1].text


def test_a_human_may_send_the_work_back_with_feedback_or_stop_it() -> None:
    quote_model = ScriptedModel(replies=["discount 40%", "discount 15%"])

    def within_limit(state: Any, result: Any) -> str:
        return "" if "15%" in result.output else "over the 20% limit"

    flow = pipeline(
        Agent("quote", "Quote.", model=quote_model),
        scripted_agent("send", "sent"),
        gate={"quote": Check(within_limit, on_fail=Escalate())},
    )
    saver = InMemorySaver()
    run(flow, "quote ACME", thread_id="t", checkpointer=saver)

    done = resume(flow, "t", answer="retry: offer 15% at most", checkpointer=saver)

    assert done.output == "sent"
    assert "offer 15% at most" in quote_model.calls[1][-1].text
    assert [d.choice for d in done.state["decisions"]] == ["escalate", "retry", "pass"]

    run(flow, "quote ACME", thread_id="t2", checkpointer=saver)
    stopped = resume(flow, "t2", answer="stop", checkpointer=saver)
    assert stopped.status == "done"
    assert [r.agent for r in stopped.state["results"]] == ["quote"]


def test_an_answer_naming_no_valid_choice_asks_again() -> None:
    flow = validate(scripted_agent("quote", "x"), lambda s, r: "no", on_fail=Escalate())
    saver = InMemorySaver()
    (question,) = run(flow, "g", thread_id="t", checkpointer=saver).interrupts

    again = resume(flow, "t", answer={question.id: {"choice": "maybe"}}, checkpointer=saver)

    assert again.status == "waiting"
    assert "answer with one of ['accept', 'retry', 'stop']" in again.interrupts[0].value["error"]
    done = resume(flow, "t", answer="stop", checkpointer=saver)
    assert done.status == "done"
    assert [d.choice for d in done.state["decisions"]] == ["escalate", "stop"]


def test_two_escalated_branches_are_answered_by_question_id() -> None:
    def guarded(name: str) -> Any:
        return validate(scripted_agent(name, "risky"), lambda s, r: "risky", on_fail=Escalate())

    flow = fan_out(guarded("legal"), guarded("tech"))
    saver = InMemorySaver()
    waiting = run(flow, "g", thread_id="t", checkpointer=saver)
    by_step = {i.value["step"]: i.id for i in waiting.interrupts}

    done = resume(
        flow, "t", answer={by_step["legal"]: "accept", by_step["tech"]: "stop"}, checkpointer=saver
    )

    assert done.status == "done"
    human = {d.at: d.choice for d in done.state["decisions"] if d.kind == "escalation"}
    assert human == {"legal.escalate": "accept", "tech.escalate": "stop"}


def test_a_validated_member_works_as_a_route_of_a_router() -> None:
    checked = validate(scripted_agent("billing", "?", "Refund issued for order 7."), long_enough)
    desk = router(lambda state: "billing", routes={"billing": checked})

    final = desk.compile().invoke({"goal": "refund"})

    assert final["output"] == "Refund issued for order 7."
    assert [d.choice for d in final["decisions"] if d.at == "billing.gate"] == ["retry", "pass"]


def test_policies_that_cannot_apply_are_rejected_when_the_workflow_is_built() -> None:
    with pytest.raises(DefinitionError, match="EscalateModel needs a model-backed Agent"):
        validate(Agent("f", model=lambda s: 1), long_enough, on_fail=EscalateModel(ScriptedModel()))
    with pytest.raises(DefinitionError, match="earlier one"):
        pipeline(
            scripted_agent("a", "x"),
            scripted_agent("b", "y"),
            gate={"a": Check(long_enough, on_fail=Retry(1, to="b"))},
        )
    with pytest.raises(DefinitionError, match="earlier one"):
        validate(scripted_agent("a", "x"), long_enough, on_fail=Escalate(to="elsewhere"))
    with pytest.raises(DefinitionError, match="on_fail takes"):
        Check(long_enough, on_fail=["retry"])  # type: ignore[list-item]
    with pytest.raises(DefinitionError, match="times"):
        Retry(0)
    with pytest.raises(DefinitionError, match="used twice"):
        validate(scripted_agent("a", "x"), long_enough, on_fail=Reroute(scripted_agent("a", "y")))
