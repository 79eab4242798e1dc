"""Record and message channels that fold a step's writes in one pass.

LangGraph folds a step's writes into a reducer channel one at a time: a 1,000-branch
fan-out calls the reducer 1,000 times, each copying the list so far and checking ids
against it, which is quadratic. These channels fold all of a step's writes at once, with
the same result, and keep the id set of the list they hold beside it. The set lives and
dies with the run's channel, so nothing outlives the run (a process-wide index of recent
lists kept the last few runs' records and messages alive).
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from typing import Any

from langchain_core.messages import BaseMessage, BaseMessageChunk, RemoveMessage
from langgraph.channels.binop import BinaryOperatorAggregate
from langgraph.graph import StateGraph
from langgraph.graph.message import add_messages
from langgraph.types import Overwrite

from orchestra.state import AgentResult, Decision, append_messages, merge_records

__all__ = ["FoldedList", "fold_channels"]


class FoldedList(BinaryOperatorAggregate[Any]):
    """A `merge_records` or `append_messages` channel that folds a step's writes at once."""

    __slots__ = ("_ids", "_ids_of")

    def __init__(self, typ: Any, operator: Any) -> None:
        super().__init__(typ, operator)
        self._ids: set[Hashable] | None = None
        self._ids_of: list[Any] | None = None

    def update(self, values: Sequence[Any]) -> bool:
        if not values:  # a step that did not write it: nothing changes, the ids stay known
            return False
        current = self.value
        ids, of = self._ids, self._ids_of
        self._ids = self._ids_of = None
        if type(current) is not list or any(map(_special, values)):
            return super().update(values)
        known = ids if of is current and ids is not None and len(ids) == len(current) else None
        if self.operator is merge_records:
            self.value, self._ids = _fold_records(current, values, known)
        else:
            self.value, self._ids = _fold_messages(current, values, known)
        self._ids_of = self.value
        return True


def _special(value: Any) -> bool:
    """Writes the plain reducer path handles: overwrites, and dicts (one message as a dict,
    or an overwrite in its dict forms)."""
    return isinstance(value, _SPECIAL)


_SPECIAL = (Overwrite, dict)
"""A tuple, not `Overwrite | dict`: a union would be built anew on every check."""
_RECORDS = (AgentResult, Decision)


def _fold_records(
    current: list[Any], values: Sequence[Any], seen: set[Hashable] | None
) -> tuple[list[Any], set[Hashable]]:
    """`merge_records` over each of `values` in turn, copying `current` once."""
    if seen is None:
        seen = {record.id for record in current}
    merged = list(current)
    for value in values:
        if value is None:
            continue
        for record in (value,) if isinstance(value, _RECORDS) else value:
            if record.id not in seen:
                seen.add(record.id)
                merged.append(record)
    return merged, seen


def _fold_messages(
    current: list[Any], values: Sequence[Any], seen: set[Hashable] | None
) -> tuple[list[Any], set[Hashable]]:
    """`append_messages` over each of `values` in turn: plain messages with fresh ids are
    appended; anything else goes through `add_messages` itself, as the reducer does."""
    merged = current
    copied = False
    for value in values:
        incoming = value if type(value) is list else [value]
        fresh = _fresh_ids(incoming, seen) if seen is not None and incoming else None
        if fresh is not None:
            if not copied:
                merged, copied = list(merged), True
            merged.extend(incoming)
            seen |= fresh  # type: ignore[operator]
        else:
            merged = add_messages(list(merged), value)  # type: ignore[assignment]
            copied = True
            seen = {message.id for message in merged}
    if not copied:
        merged = list(merged)
    return merged, seen if seen is not None else {message.id for message in merged}


def _fresh_ids(messages: list[Any], seen: set[Hashable]) -> set[Hashable] | None:
    """The ids of `messages` when `add_messages` would just append them: plain messages (no
    chunks, no removals), each with an id that is neither in `seen` nor repeated among them;
    None otherwise."""
    ids: set[Hashable] = set()
    for message in messages:
        kind = type(message)
        plain = _PLAIN_TYPES.get(kind)
        if plain is None:
            plain = _PLAIN_TYPES[kind] = issubclass(kind, BaseMessage) and not issubclass(
                kind, BaseMessageChunk | RemoveMessage
            )
        id_ = message.id
        if not plain or id_ is None or id_ in seen or id_ in ids:
            return None
        ids.add(id_)
    return ids


_PLAIN_TYPES: dict[type, bool] = {}
"""Whether each message class is a plain message (not a chunk or a removal), decided once:
`issubclass` against pydantic classes goes through the ABC machinery on every call."""


_FOLDS = (merge_records, append_messages)


def fold_channels(builder: StateGraph[Any, Any, Any, Any]) -> None:
    """Give `builder`'s record and message fields the folding channel (same values)."""
    for key, channel in list(builder.channels.items()):
        if type(channel) is BinaryOperatorAggregate and channel.operator in _FOLDS:
            folded = FoldedList(channel.typ, channel.operator)
            folded.key = key
            builder.channels[key] = folded
            for channels in builder.schemas.values():
                if channels.get(key) is channel:
                    channels[key] = folded
