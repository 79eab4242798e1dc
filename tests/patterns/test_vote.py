"""vote: a tally over structured answers; ties go to a judge, a rule or a human."""

from __future__ import annotations

from typing import Any, Literal

import pytest
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.types import Command
from pydantic import BaseModel

from orchestra import Agent, vote
from orchestra.errors import DefinitionError
from orchestra.models import ScriptedModel


class Review(BaseModel):
    verdict: Literal["approve", "reject"]
    note: str = ""


def voter(name: str, verdict: str) -> Agent:
    return Agent(
        name,
        "Review the change.",
        model=ScriptedModel(replies=[{"verdict": verdict, "note": name}]),
        output=Review,
    )


def test_the_majority_answer_wins_and_the_tally_is_recorded() -> None:
    panel = vote(voter("a", "approve"), voter("b", "reject"), voter("c", "approve"), key="verdict")

    final = panel.compile().invoke({"goal": "PR 12"})

    decision = final["decisions"][-1]
    assert decision.choice == "approve"
    assert decision.detail["counts"] == {"approve": 2, "reject": 1}
    assert decision.detail["votes"] == {"a": "approve", "b": "reject", "c": "approve"}
    assert final["output"] == {"verdict": "approve", "note": "a"}


def test_a_tie_is_broken_by_a_judge_choosing_among_the_tied_answers() -> None:
    offered: list[Any] = []

    def respond(messages: Any, tools: list[dict[str, Any]]) -> dict[str, str]:
        offered.append(tools[0]["function"]["parameters"]["properties"]["answer"]["enum"])
        return {"answer": "reject", "reason": "security first"}

    panel = vote(
        voter("a", "approve"),
        voter("b", "reject"),
        key="verdict",
        tie_break=Agent("chair", model=ScriptedModel(respond=respond)),
    )

    final = panel.compile().invoke({"goal": "g"})

    assert offered == [["approve", "reject"]]
    assert [(d.kind, d.choice) for d in final["decisions"]] == [("vote", None), ("judge", "reject")]
    assert final["output"] == {"verdict": "reject", "note": "b"}


def test_a_tie_is_escalated_to_a_human_and_the_run_resumes_with_the_answer() -> None:
    panel = vote(voter("a", "approve"), voter("b", "reject"), key="verdict", tie_break="escalate")
    app = panel.compile(checkpointer=InMemorySaver())
    config = {"configurable": {"thread_id": "t1"}}

    paused = app.invoke({"goal": "g"}, config)

    (question,) = paused["__interrupt__"]
    assert question.value["options"] == ["approve", "reject"]
    assert app.get_state(config).next == ("vote.escalate",)

    final = app.invoke(Command(resume="reject"), config)

    decision = final["decisions"][-1]
    assert (decision.kind, decision.choice, decision.reason) == (
        "escalation",
        "reject",
        "answered by a human",
    )
    assert final["output"] == {"verdict": "reject", "note": "b"}


def test_a_tie_with_no_tie_break_records_that_there_was_no_consensus() -> None:
    panel = vote(voter("a", "approve"), voter("b", "reject"), key="verdict")

    final = panel.compile().invoke({"goal": "g"})

    assert final["decisions"][-1].choice is None
    assert final["output"] is None


def test_a_rule_can_break_a_tie() -> None:
    panel = vote(
        voter("a", "approve"),
        voter("b", "reject"),
        key="verdict",
        tie_break=lambda state, tally: sorted(tally.tied)[-1],
    )

    final = panel.compile().invoke({"goal": "g"})

    assert final["decisions"][-1].choice == "reject"


def test_an_integer_quorum_is_a_number_of_votes() -> None:
    panel = vote(
        voter("a", "approve"), voter("b", "approve"), voter("c", "reject"), key="verdict", quorum=3
    )

    final = panel.compile().invoke({"goal": "g"})

    assert final["decisions"][-1].choice is None
    assert final["decisions"][-1].detail["tied"] == ["approve"]


def test_the_answer_field_is_the_vote_by_default() -> None:
    a = Agent("a", model=lambda s: {"answer": "42", "why": "x"})
    b = Agent("b", model=lambda s: {"answer": "42", "why": "y"})

    final = vote(a, b).compile().invoke({"goal": "g"})

    assert final["decisions"][-1].choice == "42"


def test_the_graph_goes_from_the_tally_to_the_tie_break_only_on_a_tie() -> None:
    panel = vote(voter("a", "approve"), voter("b", "reject"), tie_break="escalate")

    edges = {(e.source, e.target, e.data) for e in panel.compile().get_graph().edges}

    assert ("vote.tally", "vote.escalate", "tie") in edges
    assert ("vote.tally", "__end__", "decided") in edges
    assert ("a", "vote.tally", None) in edges


@pytest.mark.parametrize("quorum", [0, 1.5, 4, True, -1])
def test_an_impossible_quorum_is_rejected(quorum: Any) -> None:
    with pytest.raises(DefinitionError, match="quorum"):
        vote(voter("a", "approve"), voter("b", "approve"), voter("c", "approve"), quorum=quorum)
