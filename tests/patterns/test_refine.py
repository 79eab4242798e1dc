"""refine: the worker revises with the critique until approved or out of rounds."""

from __future__ import annotations

import pytest
from pydantic import BaseModel

from orchestra import Agent, refine
from orchestra.errors import DefinitionError
from orchestra.models import ScriptedModel
from tests.conftest import scripted_agent


def critic(*verdicts: tuple[bool, str]) -> Agent:
    replies = [{"approved": ok, "feedback": text} for ok, text in verdicts]
    return Agent("editor", "Approve or give feedback.", model=ScriptedModel(replies=replies))


def test_the_loop_stops_when_the_critic_approves() -> None:
    loop = refine(
        scripted_agent("writer", "v1", "v2", "v3"),
        critic((False, "add numbers"), (True, "")),
        max_rounds=5,
    )

    final = loop.compile().invoke({"goal": "g"})

    assert final["output"] == "v2"
    assert [(d.choice, d.round) for d in final["decisions"]] == [("revise", 1), ("approve", 2)]


def test_the_worker_gets_the_critique_as_feedback() -> None:
    writer = ScriptedModel(replies=["v1", "v2"])
    loop = refine(Agent("writer", model=writer), critic((False, "add numbers"), (True, "")))

    loop.compile().invoke({"goal": "g"})

    assert "add numbers" not in writer.calls[0][-1].text
    assert "Feedback:\nadd numbers" in writer.calls[1][-1].text


def test_the_loop_stops_at_max_rounds_and_says_why() -> None:
    never = Agent(
        "editor", model=ScriptedModel(respond=lambda m, t: {"approved": False, "feedback": "no"})
    )
    loop = refine(scripted_agent("writer"), never, max_rounds=3)

    final = loop.compile().invoke({"goal": "g"})

    assert [r.agent for r in final["results"] if r.kind != "control"] == ["writer"] * 3
    last = final["decisions"][-1]
    assert (last.choice, last.round) == ("limit", 3)
    assert "max_rounds=3" in last.reason


def test_a_check_function_can_be_the_critic() -> None:
    loop = refine(
        scripted_agent("writer", "short", "long enough now"),
        lambda state: "" if len(state.output) > 10 else "too short",
    )

    final = loop.compile().invoke({"goal": "g"})

    assert final["output"] == "long enough now"
    assert final["decisions"][0].reason == "too short"


class Score(BaseModel):
    score: int
    feedback: str = ""


def test_until_decides_approval_from_a_critic_with_its_own_schema() -> None:
    grader = Agent(
        "grader",
        model=ScriptedModel(replies=[{"score": 3, "feedback": "weak"}, {"score": 9}]),
        output=Score,
    )
    loop = refine(
        scripted_agent("writer", "v1", "v2"),
        grader,
        until=lambda state: state.latest("grader").output["score"] >= 8,
    )

    final = loop.compile().invoke({"goal": "g"})

    assert final["output"] == "v2"
    assert [d.choice for d in final["decisions"]] == ["revise", "approve"]
    assert final["decisions"][0].reason == "weak"


def test_a_critic_with_its_own_schema_needs_until() -> None:
    with pytest.raises(DefinitionError, match="until"):
        refine(scripted_agent("writer"), Agent("grader", model=ScriptedModel(), output=Score))


def test_the_graph_loops_from_the_critic_back_to_the_worker() -> None:
    edges = {
        (e.source, e.target, e.data)
        for e in refine(scripted_agent("w"), critic()).compile().get_graph().edges
    }

    assert edges == {
        ("__start__", "w", None),
        ("w", "editor", None),
        ("editor", "w", "revise"),
        ("editor", "__end__", "done"),
    }


def test_refine_can_loop_over_a_workflow() -> None:
    from orchestra import pipeline

    team = pipeline(
        scripted_agent("draft", "d1", "d2"), scripted_agent("polish", "p1", "p2"), name="team"
    )
    loop = refine(team, critic((False, "again"), (True, "")))

    final = loop.compile().invoke({"goal": "g"})

    assert final["output"] == "p2"
    assert [r.agent for r in final["results"] if r.kind == "model"] == [
        "draft",
        "polish",
        "draft",
        "polish",
    ]
