"""Full garbage collections are postponed while a wide fan-out's branches run, never skipped."""

from __future__ import annotations

import gc
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from orchestra import Agent, AgentResult, OrchestraState, fan_out
from orchestra._collector import (
    _NEVER,
    WIDE,
    _Hold,
    postpone_full_collections,
    resume_full_collections,
)
from orchestra.checkpoint import SQLCheckpointer


@pytest.fixture(autouse=True)
def thresholds() -> Iterator[tuple[int, int, int]]:
    """The process's thresholds as they were, restored with no hold in force afterwards."""
    before = gc.get_threshold()
    _Hold.next_allowed = 0.0
    yield before
    resume_full_collections()
    _Hold.next_allowed = 0.0
    gc.set_threshold(*before)


def test_a_hold_lifts_only_the_oldest_threshold_and_resuming_restores_it(
    thresholds: tuple[int, int, int],
) -> None:
    young, middle, _ = thresholds

    assert postpone_full_collections()
    assert gc.get_threshold() == (young, middle, _NEVER)

    resume_full_collections()
    assert gc.get_threshold() == thresholds


def test_a_second_hold_joins_the_first_without_extending_it() -> None:
    assert postpone_full_collections(limit=60)
    until = _Hold.until

    assert not postpone_full_collections(limit=600)
    assert _Hold.until == until


def test_a_hold_past_its_deadline_ends_at_the_next_young_collection(
    thresholds: tuple[int, int, int],
) -> None:
    assert postpone_full_collections(limit=0.01)
    time.sleep(0.02)
    assert gc.get_threshold()[2] == _NEVER  # nothing has looked at the clock yet

    gc.collect(0)

    assert gc.get_threshold() == thresholds
    assert _Hold.until is None


def test_after_a_hold_none_starts_again_for_as_long_as_it_lasted() -> None:
    assert postpone_full_collections()
    time.sleep(0.05)
    resume_full_collections()

    assert not postpone_full_collections()
    time.sleep(0.06)
    assert postpone_full_collections()


def test_a_threshold_someone_else_set_during_a_hold_is_kept() -> None:
    assert postpone_full_collections()
    gc.set_threshold(1000, 20, 30)

    resume_full_collections()

    assert gc.get_threshold() == (1000, 20, 30)


class Items(OrchestraState):
    items: list[int] = []


def _mapped(seen: list[int]) -> Any:
    """A fan-out whose branches note the oldest generation's threshold as they run; its
    merge notes it too, after them (last in `seen`)."""

    async def branch(state: Any) -> int:
        seen.append(gc.get_threshold()[2])
        return int(state.item)

    def merge(state: Any, results: list[AgentResult]) -> int:
        seen.append(gc.get_threshold()[2])
        return len(results)

    return fan_out(Agent("worker", model=branch), over="items", merge=merge, state=Items)


async def test_a_wide_fan_out_holds_full_collections_off_until_its_merge(
    tmp_path: Path, thresholds: tuple[int, int, int]
) -> None:
    seen: list[int] = []
    async with SQLCheckpointer(f"sqlite:///{tmp_path / 'runs.db'}") as saver:
        app = _mapped(seen).compile(checkpointer=saver)
        config = {"configurable": {"thread_id": "wide"}}

        final = await app.ainvoke({"items": list(range(WIDE))}, config)

    assert final["output"] == WIDE
    assert seen[:-1] == [_NEVER] * WIDE
    assert seen[-1] == thresholds[2]
    assert gc.get_threshold() == thresholds


async def test_a_narrower_fan_out_leaves_collections_as_they_are(
    tmp_path: Path, thresholds: tuple[int, int, int]
) -> None:
    seen: list[int] = []
    async with SQLCheckpointer(f"sqlite:///{tmp_path / 'runs.db'}") as saver:
        app = _mapped(seen).compile(checkpointer=saver)
        config = {"configurable": {"thread_id": "narrow"}}

        await app.ainvoke({"items": list(range(WIDE - 1))}, config)

    assert seen == [thresholds[2]] * WIDE
