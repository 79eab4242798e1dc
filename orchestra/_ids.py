"""The ids in the lists a reducer returned last, so the next merge checks only what is new.

LangGraph folds a step's writes into a channel one at a time: a 1,000-branch fan-out calls
a reducer 1,000 times, each with the list the previous call returned. Rebuilding the set of
ids already present on every call makes that quadratic; keeping it beside the list makes
each call cost the size of its new items.
"""

from __future__ import annotations

import threading
from collections.abc import Hashable
from typing import Any

__all__ = ["IdIndex"]


class IdIndex:
    """The id sets of the last few lists returned, each valid for that exact list object."""

    def __init__(self, size: int = 8) -> None:
        self._size = size
        self._lock = threading.Lock()
        self._known: dict[int, tuple[list[Any], set[Hashable]]] = {}

    def take(self, current: list[Any]) -> set[Hashable] | None:
        """The ids of `current`, handed over to the list built from it; None if unknown.

        The entry is removed: its set will grow with the new list, and a second merge into
        the same old list must not see ids that list does not hold. A list whose length no
        longer matches its set (changed in place) is not trusted.
        """
        with self._lock:
            entry = self._known.pop(id(current), None)
        if entry is None or entry[0] is not current or len(entry[1]) != len(current):
            return None
        return entry[1]

    def append_new(self, current: list[Any], incoming: list[Any]) -> list[Any] | None:
        """`current` and then the items of `incoming` (each with an `id`) whose ids it does
        not hold yet, as a new list whose ids are kept; None when `current` is not known.

        A reducer's common merge in one call: `take`, append, then `keep`.
        """
        known = self._known
        with self._lock:
            entry = known.pop(id(current), None)
        if entry is None or entry[0] is not current or len(entry[1]) != len(current):
            return None
        ids = entry[1]
        merged = current.copy()
        for item in incoming:
            if item.id not in ids:
                ids.add(item.id)
                merged.append(item)
        with self._lock:
            known[id(merged)] = (merged, ids)
            if len(known) > self._size:
                del known[next(iter(known))]
        return merged

    def keep(self, merged: list[Any], ids: set[Hashable]) -> None:
        """Remember `ids` as the ids of `merged` (every one distinct), forgetting the oldest."""
        with self._lock:
            self._known[id(merged)] = (merged, ids)
            if len(self._known) > self._size:
                del self._known[next(iter(self._known))]
