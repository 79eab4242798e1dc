"""A call's text message built without validation is the message LangChain's constructor makes."""

from __future__ import annotations

import pytest
from langchain_core.messages import AIMessage
from langgraph.checkpoint.serde.jsonplus import JsonPlusSerializer

from orchestra._messages import text_message

SERDE = JsonPlusSerializer(pickle_fallback=False)


@pytest.mark.parametrize("content", ["", "42", "café ✓", "line\nbreak"])
def test_a_text_message_is_the_validated_message(content: str) -> None:
    ours = text_message(content, "worker", "abc")
    theirs = AIMessage(content=content, name="worker", id="abc")

    assert ours == theirs
    assert repr(ours) == repr(theirs)
    assert ours.model_fields_set == theirs.model_fields_set
    assert ours.model_dump() == theirs.model_dump()
    assert ours.model_extra == theirs.model_extra
    assert SERDE.dumps_typed(ours) == SERDE.dumps_typed(theirs)
    assert SERDE.loads_typed(SERDE.dumps_typed(ours)) == theirs


def test_each_text_message_has_its_own_containers() -> None:
    first, second = text_message("a", "w", "1"), text_message("b", "w", "2")
    first.additional_kwargs["k"] = "v"
    first.response_metadata["m"] = 1
    first.tool_calls.append({"name": "t", "args": {}, "id": "c", "type": "tool_call"})

    assert second.additional_kwargs == {}
    assert second.response_metadata == {}
    assert second.tool_calls == []
    assert text_message("c", "w", "3") == AIMessage(content="c", name="w", id="3")
