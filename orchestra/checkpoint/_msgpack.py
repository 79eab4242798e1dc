"""LangGraph's msgpack encoding of checkpoint values, with `Send` and records answered first.

A fan-out over N items stores N `Send`s twice: as the split task's writes and in the next
checkpoint. LangGraph's encoder reaches `Send` at the end of a chain of type tests whose
last is a runtime-protocol `isinstance`, costlier than encoding the `Send` itself. Each
branch's record and message are encoded three times (its own write, two checkpoints).
Testing for those exact types first gives the same bytes; everything else goes to
LangGraph's own encoder.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import ormsgpack
from langchain_core.messages import AIMessage, HumanMessage, SystemMessage, ToolMessage
from langgraph.checkpoint.serde import jsonplus
from langgraph.checkpoint.serde.base import SerializerProtocol
from langgraph.checkpoint.serde.jsonplus import JsonPlusSerializer
from langgraph.types import Send

from orchestra.state import AgentResult, Decision, Usage

__all__ = ["encoder_for"]

# LangGraph's own encoder settings. They are not public: if a release renames them,
# encoding falls back to `serde.dumps_typed` (the bytes are the same either way).
_OPTION: Any = getattr(jsonplus, "_option", None)
_EXT_POS_ARGS: Any = getattr(jsonplus, "EXT_CONSTRUCTOR_POS_ARGS", None)
_EXT_PYDANTIC: Any = getattr(jsonplus, "EXT_PYDANTIC_V2", None)
_LANGGRAPH_DEFAULT: Any = getattr(jsonplus, "_msgpack_default", None)
_AVAILABLE = None not in (_OPTION, _EXT_POS_ARGS, _EXT_PYDANTIC, _LANGGRAPH_DEFAULT)
_SEND = (Send.__module__, Send.__name__)
# Pydantic models every run writes, by exact type: LangGraph encodes any pydantic model as
# its module, class name and `model_dump()`, which this does without the type tests first.
_MODELS = {
    kind: (kind.__module__, kind.__name__)
    for kind in (AgentResult, Decision, Usage, AIMessage, HumanMessage, SystemMessage, ToolMessage)
}


def _default(obj: Any) -> Any:
    model = _MODELS.get(type(obj))
    if model is not None:
        packed = ormsgpack.packb(
            (*model, obj.model_dump(), "model_validate_json"), default=_default, option=_OPTION
        )
        return ormsgpack.Ext(_EXT_PYDANTIC, packed)
    if type(obj) is Send:
        timeout = obj.timeout
        args = (obj.node, obj.arg) if timeout is None else (obj.node, obj.arg, timeout)
        packed = ormsgpack.packb((*_SEND, args), default=_default, option=_OPTION)
        return ormsgpack.Ext(_EXT_POS_ARGS, packed)
    return _LANGGRAPH_DEFAULT(obj)


class _SendFirst:
    """`serde.dumps_typed`, with `Send` found before LangGraph's chain of type tests."""

    __slots__ = ("_serde",)

    def __init__(self, serde: SerializerProtocol) -> None:
        self._serde = serde

    def __call__(self, obj: Any) -> tuple[str, bytes]:
        if obj is None or isinstance(obj, bytes | bytearray):
            return self._serde.dumps_typed(obj)
        try:
            return "msgpack", ormsgpack.packb(obj, default=_default, option=_OPTION)
        except ormsgpack.MsgpackEncodeError:
            # The serde's own answer, its fallback (or its error) included.
            return self._serde.dumps_typed(obj)


def encoder_for(serde: SerializerProtocol) -> Callable[[Any], tuple[str, bytes]]:
    """How to encode values for `serde`: the short lane when `serde` encodes as LangGraph's
    `JsonPlusSerializer` does, else `serde.dumps_typed` itself."""
    if _AVAILABLE and type(serde).dumps_typed is JsonPlusSerializer.dumps_typed:
        return _SendFirst(serde)
    return serde.dumps_typed
