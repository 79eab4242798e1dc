"""Agent: prompts, structured output, tools, function steps and call records."""

from __future__ import annotations

import json
from typing import Any

import pytest
from langchain_core.messages import AIMessage
from langchain_core.tools import tool
from pydantic import BaseModel

from orchestra import Agent, OrchestraState
from orchestra.agents import _dump_value, render
from orchestra.errors import DefinitionError, StructuredOutputError
from orchestra.models import ScriptedModel


class Score(BaseModel):
    value: int


def test_structured_output_that_fails_validation_is_asked_again_with_the_error() -> None:
    model = ScriptedModel(replies=[{"value": "lots"}, {"value": 7}])
    agent = Agent("scorer", "Score it.", model=model, output=Score)

    call = agent.invoke(OrchestraState(goal="g"))

    assert call.parsed == Score(value=7)
    assert call.result.attempt == 2
    assert "was invalid" in model.calls[1][-1].text
    assert call.result.usage.total_tokens > 0


def test_structured_output_that_never_validates_raises_with_the_last_answer() -> None:
    model = ScriptedModel(replies=[{"value": "x"}, {"value": "y"}])
    agent = Agent("scorer", "Score it.", model=model, output=Score)

    with pytest.raises(StructuredOutputError, match='"value": "y"'):
        agent.invoke(OrchestraState(goal="g"))


def test_the_model_sees_the_output_schema_as_a_tool() -> None:
    seen: list[list[dict[str, Any]]] = []

    def respond(messages: Any, tools: list[dict[str, Any]]) -> dict[str, Any]:
        seen.append(tools)
        return {"value": 1}

    Agent("scorer", model=ScriptedModel(respond=respond), output=Score).invoke(OrchestraState())

    assert seen[0][0]["function"]["name"] == "Score"


def test_tool_calls_are_run_and_their_results_go_back_to_the_model() -> None:
    @tool
    def stock(sku: str) -> int:
        """Units in stock for a SKU."""
        return {"A1": 4}.get(sku, 0)

    model = ScriptedModel(
        replies=[
            AIMessage(
                content="", tool_calls=[{"name": "stock", "args": {"sku": "A1"}, "id": "c1"}]
            ),
            "4 units of A1 are in stock",
        ]
    )
    agent = Agent("clerk", "Check stock.", model=model, tools=[stock])

    call = agent.invoke(OrchestraState(goal="is A1 in stock?"))

    assert call.parsed == "4 units of A1 are in stock"
    assert model.calls[1][-1].content == "4"
    assert [m["role"] for m in call.result.input][-2:] == ["ai", "tool"]


def test_a_function_step_runs_without_a_model_and_is_validated_against_its_schema() -> None:
    agent = Agent("count", model=lambda state: {"value": len(state.goal)}, output=Score)

    call = agent.invoke(OrchestraState(goal="four"))

    assert call.parsed == Score(value=4)
    assert call.result.kind == "function"
    assert call.result.usage.total_tokens == 0


def test_a_function_step_returning_the_wrong_shape_fails_clearly() -> None:
    agent = Agent("count", model=lambda state: {"value": "many"}, output=Score)

    with pytest.raises(StructuredOutputError, match="does not validate against Score"):
        agent.invoke(OrchestraState(goal="four"))


async def test_an_async_function_step_runs_under_ainvoke() -> None:
    async def lookup(state: OrchestraState) -> str:
        return state.goal.upper()

    call = await Agent("lookup", model=lookup).ainvoke(OrchestraState(goal="abc"))

    assert call.parsed == "ABC"


def test_reads_limits_the_earlier_outputs_in_the_prompt() -> None:
    model = ScriptedModel(replies=["ok"])
    state = OrchestraState(goal="g")
    from orchestra.state import AgentResult

    state = state.model_copy(
        update={
            "results": [
                AgentResult(agent="a", output="from a"),
                AgentResult(agent="b", output="from b"),
            ]
        }
    )

    Agent("c", model=model, reads=["b"]).invoke(state)

    prompt = model.calls[0][-1].text
    assert "from b" in prompt
    assert "from a" not in prompt


@pytest.mark.parametrize("name", ["", "two words", "FINISH", "__end__", "1st", "a" * 65])
def test_invalid_agent_names_are_rejected(name: str) -> None:
    with pytest.raises(DefinitionError, match="not valid"):
        Agent(name)


def test_a_model_that_is_neither_chat_model_nor_callable_is_rejected() -> None:
    with pytest.raises(DefinitionError, match="chat model, a callable or None"):
        Agent("x", model="gpt-4o")  # type: ignore[arg-type]


@pytest.mark.parametrize("value", [0, -7, 10**30, 2.5, float("inf"), True, None, 1e-300])
def test_a_scalar_output_renders_as_its_json(value: Any) -> None:
    assert render(value) == json.dumps(value, indent=1)


@pytest.mark.parametrize(
    "value",
    [0, -7, 10**30, "", 'a "quoted" \\ line\n', "café \u2028 😀", True, None, 2.5, [1, "a"]],
)
def test_a_function_value_is_journaled_as_its_json(value: Any) -> None:
    assert _dump_value(value) == json.dumps(value)
