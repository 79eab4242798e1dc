"""What the audit trail costs a durable step, on SQLCheckpointer (SQLite, and PostgreSQL if set).

A 20-node pipeline with `durability="sync"`, three ways: nodes that record nothing;
nodes that each record one `Decision` in a channel the audit ignores (`verdicts`); and
nodes that record it in `decisions`, which the audit chains. The last two store the
same bytes in the checkpoint, so their difference is the audit's cost. Also: the time
the saver spends deciding that a step's writes hold nothing to audit.
"""

from __future__ import annotations

import itertools
import os
import tempfile
import timeit
import uuid
from collections.abc import Callable
from contextlib import ExitStack
from pathlib import Path
from typing import Annotated, Any

from langchain_core.runnables import RunnableConfig
from langgraph.graph import END, START, StateGraph

from bench._timing import interleaved
from bench.checkpointer import _bench_database
from orchestra.audit import _entries
from orchestra.checkpoint import SQLCheckpointer
from orchestra.state import Decision, OrchestraState, merge_records

STEPS = 20
ROUNDS = 30


class BenchState(OrchestraState):
    counter: int = 0
    verdicts: Annotated[list[Decision], merge_records] = []


def _pipeline(saver: SQLCheckpointer, channel: str | None) -> Any:
    graph = StateGraph(BenchState)

    def step(state: BenchState) -> dict[str, Any]:
        update: dict[str, Any] = {"counter": state.counter + 1}
        if channel is not None:
            update[channel] = [Decision(kind="route", at="n", choice="next", reason="bench")]
        return update

    names = [f"n{i}" for i in range(STEPS)]
    for name in names:
        graph.add_node(name, step)
    graph.add_edge(START, names[0])
    for a, b in itertools.pairwise(names):
        graph.add_edge(a, b)
    graph.add_edge(names[-1], END)
    return graph.compile(checkpointer=saver)


def _runner(app: Any) -> Callable[[], object]:
    def run() -> object:
        config: RunnableConfig = {"configurable": {"thread_id": uuid.uuid4().hex}}
        return app.invoke({"goal": "g"}, config, durability="sync")

    return run


def _savers(stack: ExitStack) -> dict[str, SQLCheckpointer]:
    workdir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="orchestra-audit-")))
    savers = {"sqlite": stack.enter_context(SQLCheckpointer(f"sqlite:///{workdir / 'a.db'}"))}
    admin = os.environ.get("ORCHESTRA_BENCH_POSTGRES_URL") or os.environ.get(
        "ORCHESTRA_TEST_POSTGRES_URL"
    )
    if admin:
        url = stack.enter_context(_bench_database(admin))
        savers["postgres"] = stack.enter_context(SQLCheckpointer(url))
    return savers


def main(rounds: int = ROUNDS) -> None:
    """Print ms per step of each variant, and the audit's share."""
    print(f"\n{STEPS}-step pipeline, durability='sync', median of {rounds} interleaved runs")
    print(f"{'saver':<10}{'no record':>11}{'unaudited':>11}{'audited':>10}{'audit ms/step':>15}")
    with ExitStack() as stack:
        for name, saver in _savers(stack).items():
            times = interleaved(
                {
                    variant: _runner(_pipeline(saver, channel))
                    for variant, channel in (
                        ("none", None),
                        ("unaudited", "verdicts"),
                        ("audited", "decisions"),
                    )
                },
                rounds=rounds,
            )
            ms = {k: v * 1000 / STEPS for k, v in times.items()}
            print(
                f"{name:<10}{ms['none']:>11.3f}{ms['unaudited']:>11.3f}{ms['audited']:>10.3f}"
                f"{ms['audited'] - ms['unaudited']:>15.3f}"
            )
    config: RunnableConfig = {"configurable": {"thread_id": "t", "checkpoint_id": "c"}}
    writes = [("counter", 1), ("output", "x"), ("messages", [])]
    calls = 100_000
    seconds = timeit.timeit(
        lambda: _entries.drafts(config, writes, "task", "~__pregel_pull, n0"), number=calls
    )
    print(f"checking a step with nothing to audit: {seconds / calls * 1e6:.2f} µs")


if __name__ == "__main__":
    main()
