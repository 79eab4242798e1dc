"""compete: candidates run in parallel and a judge picks the best, with a reason."""

from __future__ import annotations

from typing import Any

import pytest

from orchestra import Agent, compete, pipeline
from orchestra.errors import DefinitionError
from orchestra.models import ScriptedModel
from tests.conftest import scripted_agent


def test_a_judge_agent_picks_the_winner_and_its_reason_is_recorded() -> None:
    judge_model = ScriptedModel(replies=[{"winner": "bold", "reason": "most vivid"}])
    flow = compete(
        scripted_agent("careful", "a careful headline"),
        scripted_agent("bold", "A BOLD HEADLINE"),
        judge=Agent("editor", "Pick the best headline.", model=judge_model),
    )

    final = flow.compile().invoke({"goal": "headline"})

    assert final["output"] == "A BOLD HEADLINE"
    decision = final["decisions"][-1]
    assert (decision.kind, decision.choice, decision.reason) == ("judge", "bold", "most vivid")
    prompt = judge_model.calls[0][-1].text
    assert "### careful\na careful headline" in prompt
    assert "### bold\nA BOLD HEADLINE" in prompt
    assert [r.kind for r in final["results"]][-1] == "control"


def test_a_score_function_picks_the_highest_scoring_candidate() -> None:
    flow = compete(
        scripted_agent("short", "tiny"),
        scripted_agent("long", "a much longer answer"),
        judge=lambda result: len(result.output),
    )

    final = flow.compile().invoke({"goal": "g"})

    assert final["output"] == "a much longer answer"
    assert final["decisions"][-1].detail["scores"] == {"short": 4.0, "long": 20.0}


def test_an_invalid_judgement_keeps_the_first_candidate_and_is_recorded() -> None:
    judge = Agent("editor", model=ScriptedModel(replies=[{"winner": "nobody"}] * 2))
    flow = compete(scripted_agent("a", "A"), scripted_agent("b", "B"), judge=judge)

    final = flow.compile().invoke({"goal": "g"})

    assert final["output"] == "A"
    assert final["decisions"][-1].valid is False


def test_workflows_can_compete() -> None:
    flow = compete(
        pipeline(scripted_agent("draft1", "x"), scripted_agent("polish1", "X1"), name="team1"),
        pipeline(scripted_agent("draft2", "y"), scripted_agent("polish2", "Y22"), name="team2"),
        judge=lambda result: len(result.output),
    )

    final = flow.compile().invoke({"goal": "g"})

    assert final["output"] == "Y22"
    assert final["decisions"][-1].choice == "team2"


def test_the_graph_runs_candidates_in_parallel_into_the_judge() -> None:
    flow = compete(scripted_agent("a"), scripted_agent("b"), judge=lambda r: 0)

    edges = {(e.source, e.target) for e in flow.compile().get_graph().edges}

    assert edges == {
        ("__start__", "a"),
        ("__start__", "b"),
        ("a", "compete.judge"),
        ("b", "compete.judge"),
        ("compete.judge", "__end__"),
    }


def test_a_single_candidate_is_rejected() -> None:
    with pytest.raises(DefinitionError, match="at least two"):
        compete(scripted_agent("a"), judge=lambda r: 0)


def test_the_judge_is_offered_only_candidate_names() -> None:
    offered: list[Any] = []

    def respond(messages: Any, tools: list[dict[str, Any]]) -> dict[str, str]:
        offered.append(tools[0]["function"]["parameters"]["properties"]["winner"]["enum"])
        return {"winner": "b"}

    flow = compete(
        scripted_agent("a"),
        scripted_agent("b"),
        judge=Agent("j", model=ScriptedModel(respond=respond)),
    )
    flow.compile().invoke({"goal": "g"})

    assert offered == [["a", "b"]]
