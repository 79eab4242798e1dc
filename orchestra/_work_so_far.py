"""The "Work so far" block of a default prompt, extended step by step instead of rebuilt.

Each agent shows the latest output of every agent before it, so building the block from
the records costs the number of records so far on every call: quadratic over a run. The
records only grow (a merge returns the previous list plus the new records), so the block
of the list before is kept and only the new records are rendered. A list that is not an
extension of the one kept (another run, a restored checkpoint, a list changed in place)
is built from scratch, with the same result.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from typing import Any

__all__ = ["NOT_SHOWN", "block", "work_so_far"]

NOT_SHOWN = frozenset({"workflow", "control", "error"})
"""Record kinds left out of prompts: team summaries repeat their members; decisions are
not work; failed calls have no output."""

_KEPT = 8
"""Blocks kept, the most recently used: one per run (by its first record) and cut length."""


class _Block:
    """The rendered latest output of each agent of `results`, in order of first appearance."""

    __slots__ = ("blocks", "results")

    def __init__(self, results: list[Any], blocks: dict[str, str]) -> None:
        self.results = results[:]  # a copy: the caller's list may change in place later
        self.blocks = blocks


_kept: dict[tuple[int, int], _Block] = {}
_lock = threading.Lock()


def work_so_far(results: Sequence[Any], limit: int, render: Callable[[Any], str]) -> list[str]:
    """The blocks (`### agent` and its output, cut at `limit` characters) of the latest
    output of each agent in `results`, skipping the kinds in `NOT_SHOWN`."""
    if not isinstance(results, list):
        return list(_extend({}, results, 0, limit, render).values())
    # Keyed by the first record too, so that concurrent runs do not take turns.
    key = (limit, id(results[0]) if results else 0)
    with _lock:
        kept = _kept.get(key)
    size = len(kept.results) if kept is not None else 0
    if kept is not None and size <= len(results) and results[:size] == kept.results:
        blocks = _extend(dict(kept.blocks), results, size, limit, render)
    else:
        blocks = _extend({}, results, 0, limit, render)
    with _lock:
        _kept.pop(key, None)
        _kept[key] = _Block(results, blocks)
        if len(_kept) > _KEPT:
            del _kept[next(iter(_kept))]
    return list(blocks.values())


def _extend(
    blocks: dict[str, str],
    results: Sequence[Any],
    start: int,
    limit: int,
    render: Callable[[Any], str],
) -> dict[str, str]:
    for result in results[start:]:
        if result.kind in NOT_SHOWN:
            continue
        blocks[result.agent] = block(result.agent, result.output, limit, render)
    return blocks


def block(label: str, output: Any, limit: int, render: Callable[[Any], str]) -> str:
    """One agent's part of the block: `### label`, then its output cut at `limit`."""
    text = output if isinstance(output, str) else render(output)
    if len(text) > limit:
        text = text[:limit] + " … [cut]"
    return f"### {label}\n{text}"
