"""pipeline: steps in order, each seeing earlier work; gates stop bad results."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import BaseModel

from orchestra import Agent, OrchestraState, Verdict, pipeline
from orchestra.errors import DefinitionError
from orchestra.models import ScriptedModel
from tests.conftest import scripted_agent


def test_steps_run_in_declared_order_and_the_last_output_is_the_answer() -> None:
    flow = pipeline(
        scripted_agent("research", "facts: tides rise twice a day"),
        scripted_agent("outline", "1. intro 2. body"),
        scripted_agent("write", "Tidal power is steady."),
    )

    final = flow.compile().invoke({"goal": "tidal power"})

    assert [r.agent for r in final["results"]] == ["research", "outline", "write"]
    assert final["output"] == "Tidal power is steady."


def test_each_step_sees_the_goal_and_the_earlier_outputs() -> None:
    writer_model = ScriptedModel(replies=["draft"])
    flow = pipeline(
        scripted_agent("research", "facts: tides rise twice a day"),
        Agent("write", "Write.", model=writer_model),
    )

    flow.compile().invoke({"goal": "tidal power"})

    prompt = writer_model.calls[0][-1].text
    assert "Goal: tidal power" in prompt
    assert "facts: tides rise twice a day" in prompt


def test_results_record_input_output_usage_latency_and_attempt() -> None:
    final = pipeline(scripted_agent("solo", "an answer")).compile().invoke({"goal": "g"})

    (result,) = final["results"]
    assert result.input[0] == {"role": "system", "content": "You are solo."}
    assert result.output == "an answer"
    assert result.usage.output_tokens == 2
    assert result.usage.total_tokens == result.usage.input_tokens + 2
    assert result.latency_ms > 0
    assert result.attempt == 1
    assert result.model == "scripted"


def test_a_rejected_step_runs_again_with_the_reason_as_feedback() -> None:
    writer_model = ScriptedModel(replies=["short", "a much longer draft"])
    flow = pipeline(
        Agent("write", "Write.", model=writer_model),
        scripted_agent("edit", "edited"),
        gate={"write": lambda state, result: "" if len(result.output) > 5 else "too short"},
    )

    final = flow.compile().invoke({"goal": "g"})

    assert [r.agent for r in final["results"]] == ["write", "write", "edit"]
    assert "too short" in writer_model.calls[1][-1].text
    assert [(d.choice, d.reason) for d in final["decisions"]] == [
        ("retry", "too short"),
        ("pass", ""),
    ]


def test_a_step_that_keeps_failing_stops_the_chain_after_its_retries() -> None:
    flow = pipeline(
        scripted_agent("write", "bad", "still bad", "bad again"),
        scripted_agent("publish", "published"),
        gate={"write": lambda state, result: Verdict.fail("not good enough")},
        retries=2,
    )

    final = flow.compile().invoke({"goal": "g"})

    assert [r.agent for r in final["results"]] == ["write", "write", "write"]
    assert [d.choice for d in final["decisions"]] == ["retry", "retry", "stop"]


def test_a_checker_agent_can_be_the_gate() -> None:
    checker = scripted_agent(
        "checker",
        {"passed": False, "reason": "cite a source"},
        {"passed": True, "reason": ""},
    )
    flow = pipeline(scripted_agent("write", "v1", "v2 with source"), gate=checker)

    final = flow.compile().invoke({"goal": "g"})

    assert final["output"] == "v2 with source"
    assert [r.kind for r in final["results"]] == ["model", "control", "model", "control"]
    assert final["decisions"][0].reason == "cite a source"


def test_the_graph_is_a_chain_with_gate_nodes_where_declared() -> None:
    flow = pipeline(
        scripted_agent("a"),
        scripted_agent("b"),
        scripted_agent("c"),
        gate={"b": lambda s, r: True},
    )

    graph = flow.compile().get_graph()

    assert set(graph.nodes) == {"__start__", "a", "b", "b.gate", "c", "__end__"}
    edges = {(e.source, e.target) for e in graph.edges}
    assert edges == {
        ("__start__", "a"),
        ("a", "b"),
        ("b", "b.gate"),
        ("b.gate", "c"),
        ("b.gate", "b"),
        ("b.gate", "__end__"),
        ("c", "__end__"),
    }


async def test_async_runs_give_the_same_order_as_sync_runs() -> None:
    flow = pipeline(scripted_agent("a", "1"), scripted_agent("b", "2"))

    final = await flow.compile().ainvoke({"goal": "g"})

    assert [r.agent for r in final["results"]] == ["a", "b"]
    assert final["output"] == "2"


class Draft(BaseModel):
    title: str


class ArticleState(OrchestraState):
    draft: Draft | None = None


def test_a_typed_output_is_written_to_the_declared_state_field() -> None:
    flow = pipeline(
        scripted_agent("write", {"title": "Tides"}, output=Draft, writes="draft"),
        state=ArticleState,
    )

    final = flow.compile().invoke({"goal": "g"})

    assert final["draft"] == Draft(title="Tides")
    assert final["output"] == {"title": "Tides"}


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (lambda: pipeline(), "at least one step"),
        (lambda: pipeline(scripted_agent("a"), scripted_agent("a")), "used twice"),
        (lambda: pipeline(scripted_agent("a"), gate={"zz": lambda s, r: True}), "unknown"),
        (lambda: pipeline("not an agent"), "Agents or Workflows"),  # type: ignore[arg-type]
    ],
)
def test_bad_definitions_fail_when_built_with_a_clear_message(build: Any, message: str) -> None:
    with pytest.raises(DefinitionError, match=message):
        build()


def test_a_gate_on_a_nested_workflow_sends_its_feedback_to_the_agents_inside() -> None:
    writer_model = ScriptedModel(replies=["short", "a much longer draft"])
    drafting = pipeline(Agent("writer", "Write.", model=writer_model), name="drafting")
    flow = pipeline(
        drafting,
        gate={"drafting": lambda state, result: "" if len(result.output) > 5 else "too short"},
    )

    final = flow.compile().invoke({"goal": "g"})

    assert "too short" in writer_model.calls[1][-1].text
    assert final["output"] == "a much longer draft"


def test_a_checker_agent_sees_the_earlier_work_as_well_as_the_checked_step() -> None:
    checker_model = ScriptedModel(replies=[{"passed": True}])
    flow = pipeline(
        scripted_agent("research", "notes: 3 dams"),
        scripted_agent("write", "article"),
        gate={"write": Agent("fact_check", "Check facts.", model=checker_model)},
    )

    flow.compile().invoke({"goal": "g"})

    prompt = checker_model.calls[0][-1].text
    assert "notes: 3 dams" in prompt
    assert "### write\narticle" in prompt
