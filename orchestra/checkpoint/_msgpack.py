"""LangGraph's msgpack encoding of checkpoint values, with `Send` answered first.

A fan-out over N items stores N `Send`s twice: as the split task's writes and in the next
checkpoint. LangGraph's encoder reaches `Send` at the end of a chain of type tests whose
last is a runtime-protocol `isinstance`, costlier than encoding the `Send` itself. Testing
for `Send` first gives the same bytes; everything else goes to LangGraph's own encoder.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import ormsgpack
from langgraph.checkpoint.serde import jsonplus
from langgraph.checkpoint.serde.base import SerializerProtocol
from langgraph.checkpoint.serde.jsonplus import JsonPlusSerializer
from langgraph.types import Send

__all__ = ["encoder_for"]

# LangGraph's own encoder settings. They are not public: if a release renames them,
# encoding falls back to `serde.dumps_typed` (the bytes are the same either way).
_OPTION: Any = getattr(jsonplus, "_option", None)
_EXT_POS_ARGS: Any = getattr(jsonplus, "EXT_CONSTRUCTOR_POS_ARGS", None)
_LANGGRAPH_DEFAULT: Any = getattr(jsonplus, "_msgpack_default", None)
_AVAILABLE = None not in (_OPTION, _EXT_POS_ARGS, _LANGGRAPH_DEFAULT)
_SEND = (Send.__module__, Send.__name__)


def _default(obj: Any) -> Any:
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
