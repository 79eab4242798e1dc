"""SQLCheckpointer against LangGraph's InMemorySaver, SqliteSaver and PostgresSaver.

One run, savers interleaved round by round so drift on the machine hits all
of them alike. Measures, on a 20-node pipeline run with `durability="sync"`:
ms per durable step with a tiny state and with an unchanging 100 KB document;
bytes stored per step once the document is in the state; and `get_tuple`
latency on a thread with 10 and with 10,000 checkpoints. PostgreSQL rows
appear when `ORCHESTRA_TEST_POSTGRES_URL` (or `ORCHESTRA_BENCH_POSTGRES_URL`)
names a server (`source .ci/postgres.sh`).
"""

from __future__ import annotations

import argparse
import itertools
import os
import sqlite3
import statistics
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypedDict

from langgraph.checkpoint.base import BaseCheckpointSaver, empty_checkpoint
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.checkpoint.sqlite import SqliteSaver
from langgraph.graph import END, START, StateGraph
from sqlalchemy import make_url

from orchestra.checkpoint import SQLCheckpointer

STEPS = 20
ROUNDS = 60
DOC = "x" * 100_000
HISTORY = 10_000
SYNCHRONOUS = os.environ.get("ORCHESTRA_BENCH_SYNCHRONOUS", "NORMAL")


class State(TypedDict):
    counter: int
    doc: str


def build_pipeline(checkpointer: BaseCheckpointSaver[Any]) -> Any:
    graph = StateGraph(State)

    def step(state: State) -> dict[str, int]:
        return {"counter": state["counter"] + 1}

    names = [f"n{i}" for i in range(STEPS)]
    for name in names:
        graph.add_node(name, step)
    graph.add_edge(START, names[0])
    for a, b in itertools.pairwise(names):
        graph.add_edge(a, b)
    graph.add_edge(names[-1], END)
    return graph.compile(checkpointer=checkpointer)


@dataclass
class Subject:
    """One saver under test, with what the bench needs to know about its storage."""

    name: str
    saver: BaseCheckpointSaver[Any]
    stored_bytes: Callable[[str], int] | None = None
    app: Any = None
    tiny: list[float] = field(default_factory=list)
    doc: list[float] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.app = build_pipeline(self.saver)

    def run(self, thread_id: str, state: dict[str, Any]) -> float:
        config = {"configurable": {"thread_id": thread_id}}
        start = time.perf_counter()
        self.app.invoke(state, config, durability="sync")
        return (time.perf_counter() - start) * 1000 / STEPS


def _sqlite_bytes(path: Path, queries: list[str]) -> Callable[[str], int]:
    def measure(thread_id: str) -> int:
        with sqlite3.connect(path) as conn:
            return sum(int(conn.execute(q, (thread_id,)).fetchone()[0] or 0) for q in queries)

    return measure


def _pg_bytes(dsn: str, queries: list[str]) -> Callable[[str], int]:
    import psycopg

    def measure(thread_id: str) -> int:
        with psycopg.connect(dsn) as conn:
            return sum(int(conn.execute(q, (thread_id,)).fetchone()[0] or 0) for q in queries)  # type: ignore[index]

    return measure


_OURS_SQLITE = [
    "SELECT sum(length(checkpoint) + length(metadata)) FROM orchestra_checkpoints "
    "WHERE thread_id = ?",
    "SELECT sum(coalesce(length(blob), 0)) FROM orchestra_checkpoint_blobs WHERE thread_id = ?",
    "SELECT sum(length(blob)) FROM orchestra_checkpoint_writes WHERE thread_id = ?",
]
_LG_SQLITE = [
    "SELECT sum(length(checkpoint) + length(metadata)) FROM checkpoints WHERE thread_id = ?",
    "SELECT sum(length(value)) FROM writes WHERE thread_id = ?",
]
_OURS_PG = [
    "SELECT sum(octet_length(checkpoint) + octet_length(metadata::text)) "
    "FROM orchestra_checkpoints WHERE thread_id = %s",
    "SELECT sum(coalesce(octet_length(blob), 0)) FROM orchestra_checkpoint_blobs "
    "WHERE thread_id = %s",
    "SELECT sum(octet_length(blob)) FROM orchestra_checkpoint_writes WHERE thread_id = %s",
]
_LG_PG = [
    "SELECT sum(octet_length(checkpoint::text) + octet_length(metadata::text)) "
    "FROM checkpoints WHERE thread_id = %s",
    "SELECT sum(coalesce(octet_length(blob), 0)) FROM checkpoint_blobs WHERE thread_id = %s",
    "SELECT sum(octet_length(blob)) FROM checkpoint_writes WHERE thread_id = %s",
]


@contextmanager
def _bench_database(admin_url: str) -> Iterator[str]:
    """A fresh PostgreSQL database for one bench run, dropped afterwards."""
    import psycopg

    admin_dsn = make_url(admin_url).set(drivername="postgresql").render_as_string(False)
    name = f"orchestra_bench_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(admin_dsn, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield make_url(admin_url).set(database=name).render_as_string(False)
    finally:
        with psycopg.connect(admin_dsn, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _subjects(stack: ExitStack, workdir: Path, *, postgres: bool) -> list[Subject]:
    subjects = [Subject("InMemorySaver", InMemorySaver())]

    lg_path = workdir / "langgraph.db"
    conn = sqlite3.connect(lg_path, check_same_thread=False)
    stack.callback(conn.close)
    lg_sqlite = SqliteSaver(conn)
    lg_sqlite.setup()  # switches to WAL; then match our durability level
    conn.execute(f"PRAGMA synchronous = {SYNCHRONOUS}")
    subjects.append(
        Subject(f"SqliteSaver (sync={SYNCHRONOUS})", lg_sqlite, _sqlite_bytes(lg_path, _LG_SQLITE))
    )

    ours_path = workdir / "orchestra.db"
    ours = stack.enter_context(SQLCheckpointer(f"sqlite:///{ours_path}", synchronous=SYNCHRONOUS))
    subjects.append(Subject("SQLCheckpointer sqlite", ours, _sqlite_bytes(ours_path, _OURS_SQLITE)))

    admin = os.environ.get("ORCHESTRA_BENCH_POSTGRES_URL") or os.environ.get(
        "ORCHESTRA_TEST_POSTGRES_URL"
    )
    if admin and postgres:
        import psycopg
        from langgraph.checkpoint.postgres import PostgresSaver
        from psycopg.rows import dict_row

        url = stack.enter_context(_bench_database(admin))
        dsn = make_url(url).set(drivername="postgresql").render_as_string(False)
        # The same durability as ours: synchronous=NORMAL is PostgreSQL's
        # synchronous_commit=off (a commit survives a crash of the app, not
        # of the database host), FULL is "on".
        commit_mode = "off" if SYNCHRONOUS in ("OFF", "NORMAL") else "on"
        pg_conn = psycopg.connect(
            dsn,
            autocommit=True,
            prepare_threshold=0,
            row_factory=dict_row,
            options=f"-c synchronous_commit={commit_mode}",
        )
        stack.callback(pg_conn.close)
        lg_pg = PostgresSaver(pg_conn)  # type: ignore[arg-type]
        lg_pg.setup()
        subjects.append(Subject("PostgresSaver", lg_pg, _pg_bytes(dsn, _LG_PG)))
        ours_pg = stack.enter_context(SQLCheckpointer(url, synchronous=SYNCHRONOUS))
        subjects.append(Subject("SQLCheckpointer postgres", ours_pg, _pg_bytes(dsn, _OURS_PG)))
    return subjects


def _bytes_per_step(subject: Subject) -> float | None:
    """Bytes a step adds once the 100 KB document is already stored in the thread."""
    if subject.stored_bytes is None:
        return None
    thread_id = f"bytes-{uuid.uuid4()}"
    subject.run(thread_id, {"counter": 0, "doc": DOC})
    before = subject.stored_bytes(thread_id)
    # Continue the same thread: the document stays in the state, unchanged.
    subject.run(thread_id, {"counter": 0})
    return (subject.stored_bytes(thread_id) - before) / STEPS


def _fill_thread(saver: SQLCheckpointer, checkpoints: int) -> dict[str, Any]:
    """A new thread with this many checkpoints; returns the config of its latest."""
    thread_id = f"history-{checkpoints}-{uuid.uuid4()}"
    config: dict[str, Any] = {"configurable": {"thread_id": thread_id, "checkpoint_ns": ""}}
    version: float | None = None
    for step in range(checkpoints):
        checkpoint = empty_checkpoint()
        version = saver.get_next_version(version, None)
        checkpoint["channel_versions"] = {"counter": version}
        checkpoint["channel_values"] = {"counter": step}
        metadata: Any = {"source": "loop", "step": step}
        config = saver.put(config, checkpoint, metadata, {"counter": version})  # type: ignore[arg-type]
    return {"configurable": {"thread_id": thread_id, "checkpoint_ns": ""}}


def _get_tuple_ms(saver: SQLCheckpointer, sizes: tuple[int, ...]) -> list[float]:
    """Median `get_tuple` (latest) latency per thread size, measured interleaved
    once every thread exists, so they share one database state."""
    latest = [_fill_thread(saver, n) for n in sizes]
    samples: list[list[float]] = [[] for _ in sizes]
    for _ in range(300):
        for config, bucket in zip(latest, samples, strict=True):
            start = time.perf_counter()
            saver.get_tuple(config)  # type: ignore[arg-type]
            bucket.append((time.perf_counter() - start) * 1000)
    return [statistics.median(bucket) for bucket in samples]


def main(rounds: int = ROUNDS, *, postgres: bool = True) -> None:
    with ExitStack() as stack:
        workdir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="orchestra-bench-")))
        subjects = _subjects(stack, workdir, postgres=postgres)
        started = time.perf_counter()
        for s in subjects:  # warm-up: imports, statement caches, connections
            s.run(f"warm-{uuid.uuid4()}", {"counter": 0, "doc": ""})
            s.run(f"warm-{uuid.uuid4()}", {"counter": 0, "doc": DOC})
        for _ in range(rounds):
            for s in subjects:
                s.tiny.append(s.run(f"tiny-{uuid.uuid4()}", {"counter": 0, "doc": ""}))
            for s in subjects:
                s.doc.append(s.run(f"doc-{uuid.uuid4()}", {"counter": 0, "doc": DOC}))
        base = subjects[0]
        base_tiny, base_doc = statistics.median(base.tiny), statistics.median(base.doc)
        print(f"\n{STEPS}-step pipeline, durability='sync', median of {rounds} interleaved runs")
        print(
            f"{'saver':<28}{'tiny ms/step':>13}{'x mem':>7}{'100KB ms/step':>15}{'x mem':>7}"
            f"{'bytes/step':>12}"
        )
        for s in subjects:
            tiny, doc = statistics.median(s.tiny), statistics.median(s.doc)
            per_step = _bytes_per_step(s)
            stored = f"{per_step:,.0f}" if per_step is not None else "-"
            print(
                f"{s.name:<28}{tiny:>13.3f}{tiny / base_tiny:>7.2f}{doc:>15.3f}"
                f"{doc / base_doc:>7.2f}{stored:>12}"
            )
        by_name = {s.name: s for s in subjects}
        print("\nspeed-up of SQLCheckpointer over the LangGraph saver (higher is better)")
        pairs = [
            ("SQLCheckpointer sqlite", f"SqliteSaver (sync={SYNCHRONOUS})"),
            ("SQLCheckpointer postgres", "PostgresSaver"),
        ]
        for ours_name, theirs_name in pairs:
            if ours_name in by_name and theirs_name in by_name:
                ours, theirs = by_name[ours_name], by_name[theirs_name]
                print(
                    f"  {ours_name} vs {theirs_name}: tiny "
                    f"{statistics.median(theirs.tiny) / statistics.median(ours.tiny):.2f}x "
                    f"faster, 100KB "
                    f"{statistics.median(theirs.doc) / statistics.median(ours.doc):.2f}x faster"
                )
        print("\nget_tuple (latest) latency, ms")
        for s in subjects:
            if isinstance(s.saver, SQLCheckpointer):
                short, long = _get_tuple_ms(s.saver, (10, HISTORY))
                print(
                    f"  {s.name:<26} 10 checkpoints {short:.3f}   "
                    f"{HISTORY:,} checkpoints {long:.3f}   ratio {long / short:.2f}"
                )
        print(f"\nbench took {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=ROUNDS, help="interleaved runs per saver")
    parser.add_argument(
        "--sqlite-only", action="store_true", help="skip PostgreSQL even if a server is named"
    )
    args = parser.parse_args()
    main(args.rounds, postgres=not args.sqlite_only)
