"""A process that runs many fan-outs does not grow: once a run is over, nothing of it stays.

Each run builds its own workflow and its own SQLite saver, as a server handling requests
would; the count of objects the garbage collector tracks is taken after each run.
"""

from __future__ import annotations

import gc
from pathlib import Path
from typing import Any

from orchestra import Agent, OrchestraState, fan_out
from orchestra.checkpoint import SQLCheckpointer

WIDTH = 200
RUNS = 6
LEAK_BOUND = 5_000
"""Growth over the measured runs that fails the test: under half of what keeping each
run's records would add, above the one-time steps and swings seen on a loaded machine."""


class MapState(OrchestraState):
    items: list[int] = []


def _double(state: Any) -> int:
    return int(state.item) * 2


async def _one_run(directory: Path, index: int) -> None:
    saver = SQLCheckpointer(f"sqlite:///{directory / f'run-{index}.db'}")
    try:
        app = fan_out(Agent("worker", model=_double), over="items", state=MapState).compile(
            checkpointer=saver
        )
        config = {"configurable": {"thread_id": f"run-{index}"}}
        final = await app.ainvoke({"items": list(range(WIDTH))}, config, durability="sync")
        assert sum(result.agent == "worker" for result in final["results"]) == WIDTH
    finally:
        await saver.aclose()


def _live_objects() -> int:
    gc.collect()
    return len(gc.get_objects())


async def test_finished_fan_outs_leave_no_records_or_messages_alive(tmp_path: Path) -> None:
    await _one_run(tmp_path, 0)  # imports, statement caches
    await _one_run(tmp_path, 1)
    counts = []
    for index in range(2, 2 + RUNS):
        await _one_run(tmp_path, index)
        counts.append(_live_objects())

    # Each run's records and messages are over ten objects per branch: kept, they add
    # thousands after every run (a run's final state kept alive grows the count by about
    # 2,200 a run, 11,000 over these five). What may move is a few thousand, up or down
    # (bounded caches of typing and SQLAlchemy, the thread pool that runs the sync function
    # starting or retiring a worker while the machine is loaded), and it does not add up.
    assert counts[-1] - counts[0] < LEAK_BOUND, counts
