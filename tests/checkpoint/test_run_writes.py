"""PostgreSQL: a run's inserts take turns; a task's writes share the next checkpoint's commit."""

from __future__ import annotations

import threading
import time
from typing import Any

import psycopg
import pytest
from langgraph.checkpoint.base import empty_checkpoint
from sqlalchemy import make_url

from orchestra.checkpoint import SQLCheckpointer
from orchestra.checkpoint._run_writes import LANES, RunWrites


class _Database:
    """Stands in for the backend: records each commit, fails on rows marked bad."""

    def __init__(self) -> None:
        self.commits: list[list[Any]] = []
        self.gate = threading.Event()
        self.gate.set()

    def write(self, requests: list[Any]) -> None:
        self.gate.wait(10)
        if any("bad" in r for r in requests):
            raise ValueError("one of them is bad")
        self.commits.append(list(requests))

    def write_one(self, batches: Any) -> None:
        self.gate.wait(10)
        if "bad" in batches:
            raise ValueError("bad")
        self.commits.append([batches])


def _in_thread(target: Any, *args: Any, **kwargs: Any) -> tuple[threading.Thread, list[Any]]:
    outcome: list[Any] = []

    def run() -> None:
        try:
            target(*args, **kwargs)
            outcome.append("ok")
        except Exception as exc:
            outcome.append(exc)

    thread = threading.Thread(target=run)
    thread.start()
    return thread, outcome


def test_task_writes_wait_for_the_next_checkpoint_and_commit_with_it() -> None:
    db = _Database()
    writes = RunWrites(db.write, db.write_one, linger=30.0)
    thread, outcome = _in_thread(writes.insert, "run", ["task writes"], linger=True)
    time.sleep(0.05)
    assert db.commits == []  # still waiting for company
    writes.insert("run", ["checkpoint"], linger=False)
    thread.join(5)
    assert outcome == ["ok"]
    assert db.commits == [[["task writes"], ["checkpoint"]]]


def test_task_writes_with_nothing_to_wait_for_commit_alone_after_the_linger() -> None:
    db = _Database()
    writes = RunWrites(db.write, db.write_one, linger=0.05)
    started = time.monotonic()
    writes.insert("run", ["task writes"], linger=True)
    assert time.monotonic() - started >= 0.05
    assert db.commits == [[["task writes"]]]


def test_a_failing_insert_fails_alone_and_the_others_commit() -> None:
    db = _Database()
    writes = RunWrites(db.write, db.write_one, linger=30.0)
    thread, outcome = _in_thread(writes.insert, "run", ["task writes"], linger=True)
    time.sleep(0.05)
    with pytest.raises(ValueError, match="bad"):
        writes.insert("run", ["bad"], linger=False)
    thread.join(5)
    assert outcome == ["ok"]
    assert db.commits == [[["task writes"]]]


def test_a_run_waits_its_turn() -> None:
    db = _Database()
    writes = RunWrites(db.write, db.write_one)
    db.gate.clear()  # the database stalls the first commit
    first, first_outcome = _in_thread(writes.insert, "run", ["first"], linger=False)
    time.sleep(0.05)
    second, second_outcome = _in_thread(writes.insert, "run", ["second"], linger=False)
    time.sleep(0.05)
    assert second_outcome == []  # queued behind the first
    db.gate.set()
    first.join(5)
    second.join(5)
    assert first_outcome == second_outcome == ["ok"]
    assert db.commits == [[["first"]], [["second"]]]


def test_other_runs_are_not_held_up_by_a_stalled_one() -> None:
    db = _Database()
    stall = threading.Event()

    def write_one(batches: Any) -> None:
        if "stalled" in batches:
            stall.wait(10)
        db.write_one(batches)

    writes = RunWrites(db.write, write_one)
    other = next(f"o{i}" for i in range(1000) if hash(f"o{i}") % LANES != hash("run") % LANES)
    stalled, outcome = _in_thread(writes.insert, "run", ["stalled"], linger=False)
    time.sleep(0.05)
    writes.insert(other, ["other run"], linger=False)
    assert db.commits == [[["other run"]]]
    assert outcome == []
    stall.set()
    stalled.join(5)
    assert outcome == ["ok"]


def test_put_writes_has_committed_when_it_returns(postgres_url: str) -> None:
    with SQLCheckpointer(postgres_url) as saver:
        saver.setup()
        config = {"configurable": {"thread_id": "t", "checkpoint_ns": "", "checkpoint_id": "c1"}}
        saver.put_writes(config, [("n", 1), ("m", 2)], "task")  # type: ignore[arg-type]
        # Read from a session of its own: the rows are committed, not merely sent.
        dsn = make_url(postgres_url).set(drivername="postgresql").render_as_string(False)
        with psycopg.connect(dsn, autocommit=True) as conn:
            row = conn.execute(
                "SELECT count(*) FROM orchestra_checkpoint_writes WHERE thread_id = 't'"
            ).fetchone()
    assert row == (2,)


def _timed_put_writes(saver: SQLCheckpointer, checkpoint_id: str, writes: list[Any]) -> float:
    config = {
        "configurable": {"thread_id": "t", "checkpoint_ns": "", "checkpoint_id": checkpoint_id}
    }
    start = time.monotonic()
    saver.put_writes(config, writes, "task")  # type: ignore[arg-type]
    return time.monotonic() - start


@pytest.mark.parametrize("case", ["checkpoint already put", "task failed"])
def test_writes_with_no_checkpoint_left_to_follow_do_not_linger(
    postgres_url: str, case: str
) -> None:
    with SQLCheckpointer(postgres_url) as saver:
        saver.setup()
        saver._backend._run_writes._linger = 30.0  # type: ignore[attr-defined]
        if case == "checkpoint already put":
            # LangGraph's background threads can put the checkpoint that follows a
            # task before that task's writes arrive: no later checkpoint comes for them.
            checkpoint = empty_checkpoint()
            parent = {
                "configurable": {"thread_id": "t", "checkpoint_ns": "", "checkpoint_id": "c1"}
            }
            saver.put(parent, checkpoint, {"source": "loop", "step": 1}, {})  # type: ignore[arg-type, typeddict-item]
            elapsed = _timed_put_writes(saver, "c1", [("n", 1)])
        else:
            elapsed = _timed_put_writes(saver, "c1", [("__error__", "boom")])
        dsn = make_url(postgres_url).set(drivername="postgresql").render_as_string(False)
        with psycopg.connect(dsn, autocommit=True) as conn:
            row = conn.execute(
                "SELECT count(*) FROM orchestra_checkpoint_writes WHERE checkpoint_id = 'c1'"
            ).fetchone()
    assert elapsed < 10
    assert row == (1,)
