"""Concurrency limits: how many agent calls run at once, per run and per process."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

import orchestra
from orchestra import Agent, OrchestraState, Workflow, fan_out
from orchestra.concurrency import PROCESS_LIMIT_ENV
from orchestra.runtime import arun, run

WIDTH = 50


class MapState(OrchestraState):
    items: list[int] = []


class Overlap:
    """Counts the calls inside it right now and the most there ever were."""

    def __init__(self) -> None:
        self.now = 0
        self.peak = 0
        self.calls = 0
        self._lock = threading.Lock()

    def __enter__(self) -> None:
        with self._lock:
            self.now += 1
            self.calls += 1
            self.peak = max(self.peak, self.now)

    def __exit__(self, *_: object) -> None:
        with self._lock:
            self.now -= 1


def async_map(overlap: Overlap) -> Workflow[Any]:
    async def work(state: MapState) -> int:
        with overlap:
            await asyncio.sleep(0.02)
        return state.item * 2

    return fan_out(Agent("worker", model=work), over="items", state=MapState)


def sync_map(overlap: Overlap) -> Workflow[Any]:
    def work(state: MapState) -> int:
        with overlap:
            time.sleep(0.01)
        return state.item * 2

    return fan_out(Agent("worker", model=work), over="items", state=MapState)


def doubled() -> list[int]:
    return [item * 2 for item in range(WIDTH)]


@pytest.fixture(autouse=True)
def no_process_limit(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.delenv(PROCESS_LIMIT_ENV, raising=False)
    orchestra.set_process_limit(None)
    yield
    orchestra.set_process_limit(None)


def test_an_async_fan_out_without_a_limit_runs_its_calls_together() -> None:
    overlap = Overlap()
    outcome = asyncio.run(arun(async_map(overlap), "map", inputs={"items": list(range(WIDTH))}))
    assert outcome.state["output"] == doubled()
    assert overlap.peak > 10  # the counter sees real overlap, so the limits below bite


def test_an_async_run_never_has_more_calls_at_once_than_its_limit() -> None:
    overlap = Overlap()
    flow = async_map(overlap)
    outcome = asyncio.run(
        arun(flow, "map", inputs={"items": list(range(WIDTH))}, max_concurrency=4)
    )
    assert outcome.state["output"] == doubled()
    assert overlap.calls == WIDTH
    assert overlap.peak == 4


def test_a_sync_run_never_has_more_calls_at_once_than_its_limit() -> None:
    overlap = Overlap()
    outcome = run(sync_map(overlap), "map", inputs={"items": list(range(WIDTH))}, max_concurrency=3)
    assert outcome.state["output"] == doubled()
    assert overlap.calls == WIDTH
    # At most the limit; and calls did overlap (on a busy machine LangGraph's thread pool
    # may not start a third before one of two ends).
    assert 2 <= overlap.peak <= 3


def test_a_run_limit_holds_across_nested_fan_outs() -> None:
    # LangGraph's max_concurrency bounds each graph level on its own (4 outer tasks, each
    # with up to 4 inner ones); the run's limit bounds the calls of the whole run.
    overlap = Overlap()

    async def work(state: MapState) -> str:
        with overlap:
            await asyncio.sleep(0.02)
        return "done"

    inner = fan_out(*(Agent(f"part{i}", model=work) for i in range(4)), name="inner")
    flow = fan_out(inner, over="items", name="outer", state=MapState)
    asyncio.run(arun(flow, "map", inputs={"items": list(range(8))}, max_concurrency=4))
    assert overlap.calls == 32
    assert overlap.peak == 4


def test_a_limit_in_the_config_bounds_a_compiled_graph_run_directly() -> None:
    overlap = Overlap()
    app = async_map(overlap).compile()
    config: Any = {"configurable": {"max_concurrent_calls": 5}}
    final = asyncio.run(app.ainvoke({"goal": "map", "items": list(range(WIDTH))}, config))
    assert final["output"] == doubled()
    assert overlap.peak == 5


def test_two_async_runs_share_the_process_limit() -> None:
    orchestra.set_process_limit(3)
    overlap = Overlap()
    flow = async_map(overlap)

    async def both() -> list[Any]:
        items = {"items": list(range(WIDTH))}
        return await asyncio.gather(
            arun(flow, "a", inputs=items, max_concurrency=10),
            arun(flow, "b", inputs=items),
        )

    outcomes = asyncio.run(both())
    assert [outcome.state["output"] for outcome in outcomes] == [doubled(), doubled()]
    assert overlap.calls == 2 * WIDTH
    assert overlap.peak == 3


def test_two_sync_runs_in_threads_share_the_process_limit() -> None:
    orchestra.set_process_limit(2)
    overlap = Overlap()
    flow = sync_map(overlap)
    with ThreadPoolExecutor(2) as pool:
        futures = [
            pool.submit(run, flow, goal, inputs={"items": list(range(20))}, max_concurrency=4)
            for goal in ("a", "b")
        ]
        outputs = [future.result().state["output"] for future in futures]
    assert outputs == [[item * 2 for item in range(20)]] * 2
    assert overlap.peak == 2


def test_the_process_limit_comes_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(PROCESS_LIMIT_ENV, "2")
    assert orchestra.process_limit() == 2
    overlap = Overlap()
    asyncio.run(arun(async_map(overlap), "map", inputs={"items": list(range(20))}))
    assert overlap.peak == 2
    orchestra.set_process_limit(6)
    assert orchestra.process_limit() == 6


@pytest.mark.parametrize("limit", [0, -1, 2.5, True])
def test_a_limit_that_is_not_a_positive_integer_is_refused(limit: Any) -> None:
    with pytest.raises(ValueError, match="positive integer"):
        orchestra.set_process_limit(limit)
    with pytest.raises(ValueError, match="max_concurrency"):
        run(sync_map(Overlap()), "map", inputs={"items": [1]}, max_concurrency=limit)


def test_a_bad_environment_limit_says_how_to_fix_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(PROCESS_LIMIT_ENV, "many")
    with pytest.raises(ValueError, match=f"{PROCESS_LIMIT_ENV}='many'"):
        orchestra.process_limit()


def test_the_environment_is_read_again_only_after_going_back_to_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv(PROCESS_LIMIT_ENV, "2")
    assert orchestra.process_limit() == 2
    monkeypatch.setenv(PROCESS_LIMIT_ENV, "5")
    assert orchestra.process_limit() == 2  # read once, not on every call
    orchestra.set_process_limit(None)
    assert orchestra.process_limit() == 5
