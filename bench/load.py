"""Under load: wide fan-outs and many concurrent runs, against plain LangGraph in the same run.

Scenarios (all async, `durability="sync"`):

* a fan-out of N agents that each wait 100 ms (N = 10, 100, 1000), every agent call
  journaled, on SQLCheckpointer/SQLite, against the same map written in plain LangGraph
  with InMemorySaver and with AsyncSqliteSaver; above 100 wide, again with at most 100
  agents at once (`max_concurrency`, against LangGraph's own key of that name);
* 200 concurrent runs of a 5-agent pipeline on one database, SQLite (one process) and,
  when a server is named, PostgreSQL: throughput and errors, against plain LangGraph with
  LangGraph's own saver for the same back-end; median rates of rounds that alternate the
  two, so a change of load on the machine hits both alike;
* memory per idle waiting run: Python heap held per run that waits for a human answer.

PostgreSQL rows appear when `ORCHESTRA_TEST_POSTGRES_URL` (or `ORCHESTRA_BENCH_POSTGRES_URL`)
names a server (`source .ci/postgres.sh`).

`--ours-only` runs Orchestra's fan-outs alone (after a 10-wide warm-up), for instruction
counts under cachegrind: with `--wait 1` every branch is alive at once, as in the 100 ms
run, and the count with `--widths` left empty (the warm-up alone) is the baseline to subtract.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import operator
import os
import statistics
import tempfile
import time
import tracemalloc
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from pathlib import Path
from typing import Annotated, Any, TypedDict

from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.checkpoint.sqlite.aio import AsyncSqliteSaver
from langgraph.graph import END, START, StateGraph
from langgraph.types import Send, interrupt
from sqlalchemy import make_url

from orchestra import Agent, OrchestraState, fan_out, pipeline
from orchestra.checkpoint import SQLCheckpointer
from orchestra.concurrency import RUN_LIMIT_KEY

WAIT = 0.1
WIDTHS = (10, 100, 1000)
RUNS = 200
PIPELINE_STEPS = 5
# Rounds of the concurrent-runs scenario, LangGraph and Orchestra alternating: one
# round each swung the ratio 0.8-1.9 on a shared machine, LangGraph's own rate 25-84
# runs/s from one run to the next.
CONCURRENT_ROUNDS = 5
IDLE_RUNS = 200
LIMIT = 100


# -- the work, written twice ------------------------------------------------------------


class PlainMap(TypedDict, total=False):
    items: list[int]
    item: int
    done: Annotated[list[int], operator.add]


def plain_fan_out(checkpointer: BaseCheckpointSaver[Any]) -> Any:
    """N workers through `Send`, each waiting `WAIT`, then a merge: what `fan_out` compiles to."""

    async def worker(state: PlainMap) -> dict[str, Any]:
        await asyncio.sleep(WAIT)
        return {"done": [state["item"]]}

    def spread(state: PlainMap) -> list[Send]:
        return [Send("worker", {"item": item}) for item in state["items"]]

    graph = StateGraph(PlainMap)
    graph.add_node("split", lambda state: {})
    graph.add_node("worker", worker)
    graph.add_node("merge", lambda state: {})
    graph.add_edge(START, "split")
    graph.add_conditional_edges("split", spread, ["worker"])
    graph.add_edge("worker", "merge")
    graph.add_edge("merge", END)
    return graph.compile(checkpointer=checkpointer)


class MapState(OrchestraState):
    items: list[int] = []


async def _wait(state: Any) -> int:
    await asyncio.sleep(WAIT)
    return int(state.item)


def orchestra_fan_out(checkpointer: BaseCheckpointSaver[Any]) -> Any:
    worker = Agent("worker", model=_wait)
    return fan_out(worker, over="items", state=MapState).compile(checkpointer=checkpointer)


class PlainPipe(TypedDict, total=False):
    goal: str
    steps: Annotated[list[str], operator.add]


def plain_pipeline(checkpointer: BaseCheckpointSaver[Any]) -> Any:
    graph = StateGraph(PlainPipe)
    previous = START
    for index in range(PIPELINE_STEPS):
        name = f"step{index}"

        async def step(state: PlainPipe, name: str = name) -> dict[str, Any]:
            await asyncio.sleep(0)
            return {"steps": [name]}

        graph.add_node(name, step)
        graph.add_edge(previous, name)
        previous = name
    graph.add_edge(previous, END)
    return graph.compile(checkpointer=checkpointer)


def orchestra_pipeline(checkpointer: BaseCheckpointSaver[Any]) -> Any:
    def agent(index: int) -> Agent:
        async def step(state: Any) -> str:
            await asyncio.sleep(0)
            return f"step{index}"

        return Agent(f"step{index}", model=step)

    agents = [agent(index) for index in range(PIPELINE_STEPS)]
    return pipeline(*agents).compile(checkpointer=checkpointer)


def plain_waiting(checkpointer: BaseCheckpointSaver[Any]) -> Any:
    def ask(state: PlainPipe) -> dict[str, Any]:
        return {"steps": [str(interrupt("approve?"))]}

    graph = StateGraph(PlainPipe)
    graph.add_node("ask", ask)
    graph.add_edge(START, "ask")
    graph.add_edge("ask", END)
    return graph.compile(checkpointer=checkpointer)


def orchestra_waiting(checkpointer: BaseCheckpointSaver[Any]) -> Any:
    def ask(state: Any) -> str:
        return str(interrupt("approve?"))

    return pipeline(Agent("ask", model=ask)).compile(checkpointer=checkpointer)


# -- savers ---------------------------------------------------------------------------


Saver = Callable[[AsyncExitStack, Path], Awaitable[BaseCheckpointSaver[Any]]]


async def _memory(stack: AsyncExitStack, workdir: Path) -> BaseCheckpointSaver[Any]:
    return InMemorySaver()


async def _lg_sqlite(stack: AsyncExitStack, workdir: Path) -> BaseCheckpointSaver[Any]:
    path = workdir / f"lg-{uuid.uuid4().hex}.db"
    saver = await stack.enter_async_context(AsyncSqliteSaver.from_conn_string(str(path)))
    await saver.conn.execute("PRAGMA journal_mode=WAL")
    await saver.conn.execute("PRAGMA synchronous=NORMAL")
    return saver


async def _ours_sqlite(stack: AsyncExitStack, workdir: Path) -> BaseCheckpointSaver[Any]:
    saver = SQLCheckpointer(f"sqlite:///{workdir / f'ours-{uuid.uuid4().hex}.db'}")
    stack.push_async_callback(saver.aclose)
    return saver


def _postgres_url() -> str | None:
    return os.environ.get("ORCHESTRA_BENCH_POSTGRES_URL") or os.environ.get(
        "ORCHESTRA_TEST_POSTGRES_URL"
    )


async def _lg_postgres(stack: AsyncExitStack, workdir: Path) -> BaseCheckpointSaver[Any]:
    from langgraph.checkpoint.postgres.aio import AsyncPostgresSaver
    from psycopg_pool import AsyncConnectionPool

    url = _postgres_url()
    assert url is not None
    dsn = make_url(url).set(drivername="postgresql").render_as_string(False)
    pool = AsyncConnectionPool(
        dsn, min_size=1, max_size=10, open=False, kwargs={"autocommit": True}
    )
    await pool.open()
    stack.push_async_callback(pool.close)
    saver = AsyncPostgresSaver(pool)  # type: ignore[arg-type]
    await saver.setup()
    return saver


async def _ours_postgres(stack: AsyncExitStack, workdir: Path) -> BaseCheckpointSaver[Any]:
    url = _postgres_url()
    assert url is not None
    saver = SQLCheckpointer(url)
    stack.push_async_callback(saver.aclose)
    await saver.asetup()
    return saver


@asynccontextmanager
async def _saver(make: Saver, workdir: Path) -> AsyncIterator[BaseCheckpointSaver[Any]]:
    async with AsyncExitStack() as stack:
        yield await make(stack, workdir)


def _config() -> dict[str, Any]:
    return {"configurable": {"thread_id": uuid.uuid4().hex}}


# -- scenarios ------------------------------------------------------------------------


async def fan_out_seconds(
    build: Callable[..., Any], make: Saver, width: int, workdir: Path, limit: int | None = None
) -> float:
    """Wall seconds for one fan-out of `width` waiting agents, on a fresh database, with at
    most `limit` agents at once (LangGraph's `max_concurrency`, and Orchestra's own)."""
    config = _config()
    if limit is not None:
        config["max_concurrency"] = limit
        config["configurable"][RUN_LIMIT_KEY] = limit
    async with _saver(make, workdir) as saver:
        app = build(saver)
        start = time.perf_counter()
        await app.ainvoke({"items": list(range(width))}, config, durability="sync")
        return time.perf_counter() - start


async def concurrent_runs(
    build: Callable[..., Any], make: Saver, workdir: Path
) -> tuple[float, int]:
    """Runs per second for `RUNS` pipelines started at once, and how many failed."""
    async with _saver(make, workdir) as saver:
        app = build(saver)

        async def one() -> None:
            await app.ainvoke({"goal": "load"}, _config(), durability="sync")

        start = time.perf_counter()
        outcomes = await asyncio.gather(*(one() for _ in range(RUNS)), return_exceptions=True)
        elapsed = time.perf_counter() - start
        errors = sum(1 for outcome in outcomes if isinstance(outcome, BaseException))
        return RUNS / elapsed, errors


async def idle_bytes(build: Callable[..., Any], make: Saver, workdir: Path) -> float:
    """Python heap bytes held per run left waiting for an answer (database excluded)."""
    async with _saver(make, workdir) as saver:
        app = build(saver)
        await app.ainvoke({"goal": "warm"}, _config(), durability="sync")
        gc.collect()
        tracemalloc.start()
        before = tracemalloc.get_traced_memory()[0]
        for _ in range(IDLE_RUNS):
            await app.ainvoke({"goal": "wait"}, _config(), durability="sync")
        gc.collect()
        after = tracemalloc.get_traced_memory()[0]
        tracemalloc.stop()
        return (after - before) / IDLE_RUNS


def _row(label: str, plain: float, ours: float, unit: str, note: str = "", *, ratio: float) -> None:
    print(
        f"{label:<62} langgraph {plain:8.3f} {unit:<5} orchestra {ours:8.3f} {unit:<5} "
        f"ratio {ratio:5.2f}  {note}".rstrip()
    )


def _target(met: bool) -> str:
    return "met" if met else "MISSED"


async def _main(widths: tuple[int, ...]) -> None:
    print(
        "ratio: orchestra's time (or time per run, or bytes) / plain LangGraph's; lower is better"
    )
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        for width in widths:
            memory = await fan_out_seconds(plain_fan_out, _memory, width, workdir)
            lg_sqlite = await fan_out_seconds(plain_fan_out, _lg_sqlite, width, workdir)
            ours = await fan_out_seconds(orchestra_fan_out, _ours_sqlite, width, workdir)
            target = f"target < 0.5 s: {_target(ours < 0.5)}" if width == 1000 else ""
            _row(
                f"fan-out of {width} x 100 ms agents, sqlite vs AsyncSqliteSaver",
                lg_sqlite,
                ours,
                "s",
                target,
                ratio=ours / lg_sqlite,
            )
            _row(
                f"fan-out of {width} x 100 ms agents, sqlite vs InMemorySaver",
                memory,
                ours,
                "s",
                ratio=ours / memory,
            )
            if width > LIMIT:
                lg_limited = await fan_out_seconds(plain_fan_out, _lg_sqlite, width, workdir, LIMIT)
                limited = await fan_out_seconds(
                    orchestra_fan_out, _ours_sqlite, width, workdir, LIMIT
                )
                _row(
                    f"  the same, at most {LIMIT} at once (max_concurrency={LIMIT})",
                    lg_limited,
                    limited,
                    "s",
                    ratio=limited / lg_limited,
                )
        backends: list[tuple[str, Saver, Saver]] = [("sqlite", _lg_sqlite, _ours_sqlite)]
        if _postgres_url():
            backends.append(("postgres", _lg_postgres, _ours_postgres))
        for name, lg, ours_saver in backends:
            plain_rates: list[float] = []
            rates: list[float] = []
            plain_errors = errors = 0
            for _ in range(CONCURRENT_ROUNDS):
                plain_rate, plain_failed = await concurrent_runs(plain_pipeline, lg, workdir)
                rate, failed = await concurrent_runs(orchestra_pipeline, ours_saver, workdir)
                plain_rates.append(plain_rate)
                rates.append(rate)
                plain_errors += plain_failed
                errors += failed
            plain_rate, rate = statistics.median(plain_rates), statistics.median(rates)
            # Throughput: higher is better, so the ratio is LangGraph's rate over ours (the
            # time per run, orchestra over LangGraph) to read like the rows above.
            slower = plain_rate / rate
            met = errors == 0 and slower <= 1.5
            _row(
                f"{RUNS} concurrent {PIPELINE_STEPS}-agent pipelines, {name} (runs/s, median)",
                plain_rate,
                rate,
                "run/s",
                f"errors {plain_errors}/{errors}; target 0 errors, ratio <= 1.5: {_target(met)}",
                ratio=slower,
            )
        plain_idle = await idle_bytes(plain_waiting, _memory, workdir)
        ours_idle = await idle_bytes(orchestra_waiting, _ours_sqlite, workdir)
        _row(
            "heap per idle waiting run (KB; langgraph in memory)",
            plain_idle / 1024,
            ours_idle / 1024,
            "KB",
            ratio=ours_idle / plain_idle,
        )


async def _ours_only(widths: tuple[int, ...]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        await fan_out_seconds(orchestra_fan_out, _ours_sqlite, 10, workdir)  # imports, caches
        for width in widths:
            cpu = time.process_time()
            wall = await fan_out_seconds(orchestra_fan_out, _ours_sqlite, width, workdir)
            cpu = time.process_time() - cpu
            label = f"orchestra fan-out of {width} x {WAIT:g} s agents"
            print(f"{label}: {wall:.3f} s, cpu {cpu:.3f} s")


def main(widths: tuple[int, ...] = WIDTHS, *, ours_only: bool = False) -> None:
    asyncio.run(_ours_only(widths) if ours_only else _main(widths))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--widths", type=int, nargs="*", default=list(WIDTHS))
    parser.add_argument("--wait", type=float, default=WAIT, help="each agent's wait, seconds")
    parser.add_argument(
        "--ours-only", action="store_true", help="only Orchestra's fan-outs, for profiling"
    )
    args = parser.parse_args()
    WAIT = args.wait
    main(tuple(args.widths), ours_only=args.ours_only)
