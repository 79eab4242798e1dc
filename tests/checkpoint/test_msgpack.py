"""The checkpoint encoder's short lane for `Send`s and records writes exactly LangGraph's bytes."""

from __future__ import annotations

from typing import Any

import pytest
from langchain_core.messages import AIMessage, HumanMessage, SystemMessage, ToolMessage
from langgraph.checkpoint.serde.jsonplus import JsonPlusSerializer
from langgraph.types import Send

from orchestra.checkpoint import SQLCheckpointer
from orchestra.checkpoint._msgpack import encoder_for
from orchestra.state import AgentResult, Decision, OrchestraState, Usage

SERDE = JsonPlusSerializer(pickle_fallback=False)

VALUES: list[Any] = [
    Send("worker", OrchestraState(goal="g", item=3, item_index=0)),
    [Send("worker", {"item": index}) for index in range(3)],
    Send("worker", {"item": 1}, timeout=2.5),
    {"nested": [Send("a", None), ("tuple", 1)]},
    AgentResult(agent="worker", output={"text": "hi"}),
    [AgentResult(agent="w", output=Usage(input_tokens=3)), Decision(kind="route", at="r")],
    {"messages": [HumanMessage("q", id="h"), AIMessage("a", id="a", name="w")]},
    [SystemMessage("s"), ToolMessage("t", tool_call_id="c")],
    None,
    b"raw",
    bytearray(b"raw"),
    "text",
    12,
]


@pytest.mark.parametrize("value", VALUES, ids=lambda value: type(value).__name__)
def test_the_short_lane_encodes_as_langgraph_does(value: Any) -> None:
    assert encoder_for(SERDE)(value) == SERDE.dumps_typed(value)


def test_a_send_decodes_to_the_send_it_was() -> None:
    send = Send("worker", {"item": 7}, timeout=1.0)
    assert SERDE.loads_typed(encoder_for(SERDE)(send)) == send


def test_a_value_msgpack_cannot_hold_fails_as_with_the_serde_itself() -> None:
    class Opaque:
        pass

    with pytest.raises(TypeError) as ours:
        encoder_for(SERDE)(Opaque())
    with pytest.raises(TypeError) as theirs:
        SERDE.dumps_typed(Opaque())
    assert type(ours.value) is type(theirs.value)


def test_a_serde_of_its_own_encodes_with_its_own_method(db_url: str) -> None:
    class Tagged(JsonPlusSerializer):
        def dumps_typed(self, obj: Any) -> tuple[str, bytes]:
            return "json", b"{}"

    serde = Tagged()
    assert encoder_for(serde)(Send("a", 1)) == ("json", b"{}")
    with SQLCheckpointer(db_url, serde=serde) as saver:
        assert saver._codec.dump(Send("a", 1)) == ("json", b"{}")
