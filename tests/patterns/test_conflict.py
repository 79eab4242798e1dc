"""fan_out(conflict=...): parallel answers that disagree are settled by vote, judge or human."""

from __future__ import annotations

from typing import Any, Literal

import pytest
from langgraph.checkpoint.memory import InMemorySaver
from pydantic import BaseModel

from orchestra import Agent, Conflict, fan_out
from orchestra.errors import DefinitionError
from orchestra.models import ScriptedModel
from orchestra.runtime import resume, run

MODES = ["invoke", "ainvoke"]


class Assessment(BaseModel):
    risk: Literal["low", "medium", "high"]
    why: str = ""


def specialist(name: str, risk: str) -> Agent:
    return Agent(
        name,
        "Rate the risk.",
        model=ScriptedModel(replies=[{"risk": risk, "why": f"{name} says {risk}"}]),
        output=Assessment,
    )


def judge(answer: str, reason: str, seen: list[Any] | None = None) -> Agent:
    def respond(messages: Any, tools: list[dict[str, Any]]) -> dict[str, str]:
        if seen is not None:
            seen.append(tools[0]["function"]["parameters"]["properties"]["answer"]["enum"])
        return {"answer": answer, "reason": reason}

    return Agent(
        "judge", "Pick the answer that should stand.", model=ScriptedModel(respond=respond)
    )


async def invoke(flow: Any, mode: str) -> dict[str, Any]:
    app = flow.compile()
    if mode == "ainvoke":
        return await app.ainvoke({"goal": "Acme"})
    return app.invoke({"goal": "Acme"})


def trail(final: dict[str, Any]) -> list[tuple[str, str, str | None]]:
    return [(d.kind, d.at, d.choice) for d in final["decisions"]]


@pytest.mark.parametrize("mode", MODES)
async def test_agreeing_branches_need_no_judge_and_the_agreement_is_recorded(mode: str) -> None:
    seen: list[Any] = []
    flow = fan_out(
        specialist("legal", "low"),
        specialist("tech", "low"),
        conflict=Conflict(key="risk", resolve=judge("low", "-", seen)),
        name="review",
    )

    final = await invoke(flow, mode)

    assert seen == []
    assert trail(final) == [("conflict", "review.tally", "low")]
    assert final["output"] == {"risk": "low", "why": "legal says low"}


@pytest.mark.parametrize("mode", MODES)
async def test_a_judge_chooses_between_disagreeing_branches_with_its_reason(mode: str) -> None:
    seen: list[Any] = []
    flow = fan_out(
        specialist("legal", "high"),
        specialist("tech", "low"),
        conflict=Conflict(key="risk", resolve=judge("high", "the lawsuit is material", seen)),
        name="review",
    )

    final = await invoke(flow, mode)

    assert seen == [["high", "low"]]
    assert trail(final)[:2] == [("conflict", "review.tally", None), ("judge", "judge", "high")]
    tally, ruling = final["decisions"][:2]
    assert tally.detail["votes"] == {"legal": "high", "tech": "low"}
    assert ruling.reason == "the lawsuit is material"
    assert final["output"] == {"risk": "high", "why": "legal says high"}


def test_a_vote_settles_a_majority_without_a_tie_break() -> None:
    flow = fan_out(
        specialist("a", "high"),
        specialist("b", "high"),
        specialist("c", "low"),
        conflict=Conflict(key="risk", resolve="vote", tie_break=judge("low", "-")),
    )

    final = flow.compile().invoke({"goal": "Acme"})

    vote = final["decisions"][0]
    assert (vote.kind, vote.choice, vote.detail["counts"]) == (
        "vote",
        "high",
        {"high": 2, "low": 1},
    )
    assert [d.kind for d in final["decisions"]] == ["vote"]
    assert final["output"]["risk"] == "high"


@pytest.mark.parametrize("mode", MODES)
async def test_a_tied_vote_goes_to_the_judge(mode: str) -> None:
    flow = fan_out(
        specialist("a", "high"),
        specialist("b", "low"),
        conflict=Conflict(key="risk", tie_break=judge("low", "b has the newer data")),
        name="panel",
    )

    final = await invoke(flow, mode)

    assert trail(final) == [("vote", "panel.tally", None), ("judge", "judge", "low")]
    assert final["decisions"][0].detail["tied"] == ["high", "low"]
    assert final["output"] == {"risk": "low", "why": "b says low"}


def test_a_tied_vote_escalated_to_a_human_resumes_with_the_answer() -> None:
    flow = fan_out(
        specialist("a", "high"),
        specialist("b", "low"),
        conflict=Conflict(key="risk", tie_break="escalate"),
        name="panel",
    )
    saver = InMemorySaver()

    waiting = run(flow, "Acme", thread_id="t", checkpointer=saver)
    (question,) = waiting.interrupts
    assert question.value["options"] == ["high", "low"]
    assert question.value["votes"] == {"a": "high", "b": "low"}

    done = resume(flow, "t", answer="high", checkpointer=saver)

    human = done.state["decisions"][-1]
    assert (human.kind, human.at, human.choice) == ("escalation", "panel.escalate", "high")
    assert done.output == {"risk": "high", "why": "a says high"}


def test_disagreement_can_go_straight_to_a_human() -> None:
    flow = fan_out(
        specialist("a", "high"),
        specialist("b", "medium"),
        specialist("c", "high"),
        conflict=Conflict(key="risk", resolve="escalate"),
    )
    saver = InMemorySaver()

    waiting = run(flow, "Acme", thread_id="t", checkpointer=saver)
    assert waiting.interrupts[0].value["options"] == ["high", "medium"]

    done = resume(flow, "t", answer="medium", checkpointer=saver)
    assert done.output["risk"] == "medium"


def test_a_merge_agent_sees_every_branch_and_the_settled_answer() -> None:
    merger_model = ScriptedModel(replies=["Risk: high."])
    flow = fan_out(
        specialist("a", "high"),
        specialist("b", "low"),
        merge=Agent("memo", "Write the memo.", model=merger_model),
        conflict=Conflict(key="risk", resolve=judge("high", "-")),
    )

    final = flow.compile().invoke({"goal": "Acme"})

    prompt = merger_model.calls[0][-1].text
    assert "### a" in prompt
    assert "### b" in prompt
    assert "### settled answer (judge)" in prompt
    assert final["output"] == "Risk: high."


def test_the_graph_goes_to_the_judge_only_on_a_conflict() -> None:
    flow = fan_out(
        specialist("a", "high"),
        specialist("b", "low"),
        conflict=Conflict(key="risk", resolve=judge("high", "-")),
        name="review",
    )

    edges = {(e.source, e.target, e.data) for e in flow.compile().get_graph().edges}

    assert ("review.tally", "judge", "tie") in edges
    assert ("review.tally", "review.merge", "decided") in edges
    assert ("judge", "review.merge", None) in edges


def test_a_conflict_needs_static_branches_and_a_known_resolution() -> None:
    with pytest.raises(DefinitionError, match="two or more static branches"):
        fan_out(specialist("a", "low"), over="results", conflict=Conflict())
    with pytest.raises(DefinitionError, match="resolve"):
        Conflict(resolve="coin")  # type: ignore[arg-type]
    with pytest.raises(DefinitionError, match="tie_break applies only"):
        Conflict(resolve="escalate", tie_break="escalate")
