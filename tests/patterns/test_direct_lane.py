"""A plain agent's direct lane leaves the same records, messages and state as the general path.

The general path is taken here by bounding the run's concurrent calls, which the direct lane
does not handle; everything else about the two runs is the same.
"""

from __future__ import annotations

from typing import Annotated, Any

import pytest
from langchain_core.messages import AIMessage

from orchestra import Agent, OrchestraState, pipeline
from orchestra.errors import StructuredOutputError
from orchestra.models import ScriptedModel
from orchestra.state import keep_last

GENERAL = {"configurable": {"max_concurrent_calls": 4}}


class Notes(OrchestraState):
    notes: Annotated[str, keep_last] = ""


def _flow(model_name: str) -> Any:
    model = ScriptedModel(model_name=model_name)
    return pipeline(
        Agent("research", "Find facts.", model=model),
        Agent("write", "Write it.", model=model, writes="notes"),
        state=Notes,
    ).compile()


def _comparable(final: dict[str, Any]) -> dict[str, Any]:
    """The final state without what differs between any two runs (ids, times)."""
    varying = {"id", "latency_ms", "started_at"}
    return {
        "results": [r.model_dump(exclude=varying) for r in final["results"]],
        "fields_set": [r.model_fields_set for r in final["results"]],
        "messages": [(type(m), m.name, m.content) for m in final["messages"]],
        "message_ids": [
            m.id == r.id for m, r in zip(final["messages"], final["results"], strict=True)
        ],
        "rest": {k: v for k, v in final.items() if k not in ("results", "messages")},
    }


@pytest.mark.parametrize("model_name", ["scripted", "gpt-4o-mini"])
def test_the_direct_lane_records_what_the_general_path_records(
    model_name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    invoked: list[str] = []
    general_path = Agent.invoke

    def spy(self: Agent, *args: Any, **kwargs: Any) -> Any:
        invoked.append(self.name)
        return general_path(self, *args, **kwargs)

    monkeypatch.setattr(Agent, "invoke", spy)

    direct = _flow(model_name).invoke({"goal": "tidal power"})
    assert invoked == []
    general = _flow(model_name).invoke({"goal": "tidal power"}, GENERAL)
    assert invoked == ["research", "write"]

    assert _comparable(direct) == _comparable(general)
    assert direct["notes"] == direct["output"]
    assert all(
        m.name == r.agent for m, r in zip(direct["messages"], direct["results"], strict=True)
    )


def test_a_priced_model_is_priced_in_the_direct_lane() -> None:
    final = _flow("gpt-4o-mini").invoke({"goal": "tidal power"})

    usage = final["results"][0].usage
    expected = (usage.input_tokens * 0.15 + usage.output_tokens * 0.6) / 1e6
    assert usage.cost == pytest.approx(expected)
    assert usage.cost > 0


@pytest.mark.parametrize("config", [None, GENERAL])
def test_a_tool_call_from_an_agent_without_tools_fails_alike(config: Any) -> None:
    call = {"name": "search", "args": {"q": "tides"}, "id": "call_1"}
    model = ScriptedModel(replies=[AIMessage(content="", tool_calls=[call])])
    flow = pipeline(Agent("research", "Find facts.", model=model)).compile()

    with pytest.raises(StructuredOutputError, match="unknown tool 'search'"):
        flow.invoke({"goal": "tidal power"}, config)


@pytest.mark.parametrize("model_name", ["scripted", "gpt-4o-mini"])
async def test_the_async_direct_lane_records_what_the_general_path_records(
    model_name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    invoked: list[str] = []
    general_path = Agent.ainvoke

    async def spy(self: Agent, *args: Any, **kwargs: Any) -> Any:
        invoked.append(self.name)
        return await general_path(self, *args, **kwargs)

    monkeypatch.setattr(Agent, "ainvoke", spy)

    direct = await _flow(model_name).ainvoke({"goal": "tidal power"})
    assert invoked == []
    general = await _flow(model_name).ainvoke({"goal": "tidal power"}, GENERAL)
    assert invoked == ["research", "write"]

    assert _comparable(direct) == _comparable(general)
    assert _comparable(direct) == _comparable(_flow(model_name).invoke({"goal": "tidal power"}))


@pytest.mark.parametrize("config", [None, GENERAL])
async def test_a_tool_call_from_an_agent_without_tools_fails_alike_async(config: Any) -> None:
    call = {"name": "search", "args": {"q": "tides"}, "id": "call_1"}
    model = ScriptedModel(replies=[AIMessage(content="", tool_calls=[call])])
    flow = pipeline(Agent("research", "Find facts.", model=model)).compile()

    with pytest.raises(StructuredOutputError, match="unknown tool 'search'"):
        await flow.ainvoke({"goal": "tidal power"}, config)
