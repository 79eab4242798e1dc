"""Group commit on SQLite: concurrent writes share transactions, and fail one by one."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, insert, make_url, select

from orchestra.checkpoint import SQLCheckpointer
from orchestra.checkpoint._backend import EngineOptions
from orchestra.checkpoint._journal import JournalEntry
from orchestra.checkpoint._plans import Plan, Step
from orchestra.checkpoint.schema import journal
from orchestra.checkpoint.sqlite import SQLiteBackend
from tests.checkpoint.held_writer import behind_a_held_writer, journal_row, traced

WRITES = 400


def _write_transactions(statements: list[str]) -> int:
    """Transactions that wrote: BEGIN IMMEDIATE ... COMMIT, or a lone INSERT in autocommit."""
    count, open_ = 0, False
    for sql in statements:
        head = sql.lstrip().split(None, 1)[0].upper()
        if sql.startswith("BEGIN IMMEDIATE"):
            count, open_ = count + 1, True
        elif head in ("COMMIT", "ROLLBACK") and not sql.upper().startswith("ROLLBACK TO"):
            open_ = False
        elif head == "INSERT" and not open_:
            count += 1
    return count


def _entry(seq: int) -> JournalEntry:
    return JournalEntry(seq, "model", "writer", f'"answer {seq}"')


def _journal_rows(path: Path) -> int:
    with sqlite3.connect(path) as conn:
        return int(conn.execute("SELECT count(*) FROM orchestra_journal").fetchone()[0])


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "checkpoints.db"


@pytest.fixture
def saver(db_path: Path) -> Iterator[SQLCheckpointer]:
    with SQLCheckpointer(f"sqlite:///{db_path}") as opened:
        yield opened


def test_concurrent_async_writes_share_a_few_transactions(
    saver: SQLCheckpointer, db_path: Path
) -> None:
    statements = traced(saver.engine)

    async def main() -> None:
        await saver.asetup()
        statements.clear()
        await asyncio.gather(
            *(saver.awrite_journal("t", f"task:{i}", _entry(0)) for i in range(WRITES))
        )

    asyncio.run(main())
    assert _journal_rows(db_path) == WRITES
    # One transaction per request would be WRITES; the queue drains in a handful.
    assert _write_transactions(statements) <= WRITES // 5


def test_threads_writing_at_once_all_land_in_fewer_transactions(
    saver: SQLCheckpointer, db_path: Path
) -> None:
    saver.setup()
    statements = traced(saver.engine)
    threads, each = 8, WRITES // 8
    start = threading.Barrier(threads)

    def worker(index: int) -> None:
        start.wait()
        for seq in range(each):
            saver.write_journal("t", f"task:{index}", _entry(seq))

    with ThreadPoolExecutor(threads) as pool:
        list(pool.map(worker, range(threads)))
    assert _journal_rows(db_path) == threads * each
    assert saver.read_journal("t", "task:3") == [_entry(seq) for seq in range(each)]
    assert _write_transactions(statements) < threads * each


def test_sync_and_async_writers_share_one_writer(saver: SQLCheckpointer, db_path: Path) -> None:
    saver.setup()

    def threaded(index: int) -> None:
        for seq in range(20):
            saver.write_journal("t", f"thread:{index}", _entry(seq))

    async def main() -> None:
        loop = asyncio.get_running_loop()
        with ThreadPoolExecutor(4) as pool:
            threads = [loop.run_in_executor(pool, threaded, i) for i in range(4)]
            await asyncio.gather(
                *(saver.awrite_journal("t", f"task:{i}", _entry(0)) for i in range(200)),
                *threads,
            )
        # An async read sees every committed write, its own loop's and the threads'.
        assert await saver.aread_journal("t", "thread:2") == [_entry(s) for s in range(20)]

    asyncio.run(main())
    assert _journal_rows(db_path) == 200 + 4 * 20


def test_callers_cancelled_while_queued_leave_the_others_answered(
    saver: SQLCheckpointer, db_path: Path
) -> None:
    async def main() -> None:
        await saver.asetup()
        tasks = [
            asyncio.create_task(saver.awrite_journal("t", f"task:{i}", _entry(0)))
            for i in range(100)
        ]
        await asyncio.sleep(0)  # every request is queued
        for task in tasks[::2]:
            task.cancel()
        outcomes = await asyncio.gather(*tasks, return_exceptions=True)
        assert all(outcome is None for outcome in outcomes[1::2])
        # The writer still serves new callers.
        await saver.awrite_journal("t", "later", _entry(0))
        assert await saver.aread_journal("t", "later") == [_entry(0)]

    asyncio.run(main())
    # A cancelled caller stops waiting; its write, already queued, is not taken back.
    assert _journal_rows(db_path) == 101


def test_an_async_write_waiting_for_another_process_lock_leaves_the_loop_running(
    saver: SQLCheckpointer, db_path: Path
) -> None:
    saver.setup()
    other = sqlite3.connect(db_path, isolation_level=None)  # another writer of the file
    other.execute("BEGIN IMMEDIATE")

    async def main() -> int:
        loop = asyncio.get_running_loop()
        loop.call_later(0.3, other.execute, "COMMIT")
        write = asyncio.create_task(saver.awrite_journal("t", "task:0", _entry(0)))
        ticks = 0
        while not write.done():
            await asyncio.sleep(0.01)
            ticks += 1
        await write
        return ticks

    try:
        ticks = asyncio.run(main())
    finally:
        other.close()
    # The loop kept turning while the write waited out the lock (about 30 ticks).
    assert ticks >= 10
    assert saver.read_journal("t", "task:0") == [_entry(0)]


# -- a failing request fails alone ------------------------------------------------------


def _write(name: str) -> Plan[None]:
    yield Step(insert(journal).values(journal_row(name)))


def _half_then_python_error() -> Plan[None]:
    yield Step(insert(journal).values(journal_row("half")))
    raise RuntimeError("the plan gave up halfway")


def _half_then_sql_error() -> Plan[None]:
    yield Step(insert(journal).values(journal_row("half")))
    yield Step(insert(journal).values({**journal_row("broken"), "payload": None}))  # NOT NULL


@pytest.mark.parametrize(
    ("failing", "error"),
    [(_half_then_python_error, RuntimeError), (_half_then_sql_error, Exception)],
    ids=["python-error", "sql-error"],
)
def test_a_failing_write_in_a_shared_transaction_fails_alone(
    db_path: Path, failing: Any, error: type[Exception]
) -> None:
    backend = SQLiteBackend(make_url(f"sqlite:///{db_path}"), EngineOptions())
    statements = traced(backend.engine)

    async def main() -> list[Any]:
        from orchestra.checkpoint import _plans
        from orchestra.checkpoint._statements import Statements

        await backend.arun(_plans.setup(Statements("sqlite")), write=True)
        return await behind_a_held_writer(
            backend,
            [
                lambda: backend.arun(_write("before"), write=True),
                lambda: backend.arun(failing(), write=True),
                lambda: backend.arun(_write("after"), write=True),
            ],
        )

    try:
        outcomes = asyncio.run(main())
        with backend.engine.connect() as conn:
            names = set(conn.scalars(select(journal.c.name)))
            total = conn.scalar(select(func.count()).select_from(journal))
    finally:
        backend.close()
    assert [outcomes[0], outcomes[2]] == [None, None]
    assert isinstance(outcomes[1], error)
    # The others' rows are committed; none of the failing write's, not even its first.
    assert names == {"holder", "before", "after"}
    assert total == 3
    # ... and they were committed together: the failure was undone to its savepoint.
    assert any(sql.startswith("ROLLBACK TO") for sql in statements)


def test_writes_after_close_are_refused_with_a_clear_error(saver: SQLCheckpointer) -> None:
    saver.setup()
    saver.close()
    with pytest.raises(RuntimeError, match="was closed"):
        saver.write_journal("t", "task:0", _entry(0))


# -- a lingering write waits for company -------------------------------------------------


def _journal_backend(
    db_path: Path, *, linger: float, synchronous: Any = "FULL"
) -> tuple[SQLiteBackend, Any, list[str]]:
    """A backend with the journal's insert precompiled, and the trace of its statements."""
    from orchestra.checkpoint import _plans
    from orchestra.checkpoint._journal import insert_statement
    from orchestra.checkpoint._statements import Statements

    backend = SQLiteBackend(
        make_url(f"sqlite:///{db_path}"), EngineOptions(synchronous=synchronous), linger=linger
    )
    statements = traced(backend.engine)
    backend.run(_plans.setup(Statements("sqlite")), write=True)
    statement = insert_statement("sqlite")
    backend.precompile(statement, [c.name for c in journal.c])
    statements.clear()
    return backend, statement, statements


def _names(db_path: Path) -> set[str]:
    """The rows another connection sees committed."""
    with sqlite3.connect(db_path) as conn:
        return {name for (name,) in conn.execute("SELECT name FROM orchestra_journal")}


def _lingering_insert(
    backend: SQLiteBackend, statement: Any, name: str
) -> tuple[threading.Thread, list[Any]]:
    """Insert one row with `linger` on a thread of its own; its outcome and seconds taken."""
    outcome: list[Any] = []

    def run() -> None:
        start = time.monotonic()
        try:
            backend.insert([(statement, [journal_row(name)])], linger=True)
            outcome.append(None)
        except Exception as exc:
            outcome.append(exc)
        outcome.append(time.monotonic() - start)

    thread = threading.Thread(target=run)
    thread.start()
    return thread, outcome


def test_a_lingering_write_is_committed_with_the_write_that_follows(db_path: Path) -> None:
    backend, statement, statements = _journal_backend(db_path, linger=30.0)
    try:
        thread, outcome = _lingering_insert(backend, statement, "task writes")
        time.sleep(0.1)
        # Still waiting for company, and nothing of it committed yet.
        assert thread.is_alive()
        assert _names(db_path) == set()
        backend.insert([(statement, [journal_row("checkpoint")])])
        thread.join(10)
    finally:
        backend.close()
    # The follower cut the wait short, and both rows went in one transaction.
    assert outcome[0] is None
    assert outcome[1] < 10
    assert _names(db_path) == {"task writes", "checkpoint"}
    assert _write_transactions(statements) == 1


def test_a_lone_lingering_write_goes_alone_after_its_wait(db_path: Path) -> None:
    backend, statement, statements = _journal_backend(db_path, linger=0.2)
    try:
        thread, outcome = _lingering_insert(backend, statement, "task writes")
        thread.join(10)
        assert _names(db_path) == {"task writes"}
    finally:
        backend.close()
    assert outcome[0] is None
    assert 0.2 <= outcome[1] < 10
    assert _write_transactions(statements) == 1


def test_writes_do_not_linger_where_commits_do_not_fsync(db_path: Path) -> None:
    # Deferred instead: the insert returns at once, and lands by itself within moments.
    backend, statement, statements = _journal_backend(db_path, linger=30.0, synchronous="NORMAL")
    try:
        thread, outcome = _lingering_insert(backend, statement, "task writes")
        thread.join(10)
        deadline = time.monotonic() + 10
        while not _names(db_path) and time.monotonic() < deadline:
            time.sleep(0.001)
        assert _names(db_path) == {"task writes"}
    finally:
        backend.close()
    assert outcome[0] is None
    assert outcome[1] < 10
    assert _write_transactions(statements) == 1


def test_a_write_failing_beside_a_lingering_one_fails_alone(db_path: Path) -> None:
    backend, statement, statements = _journal_backend(db_path, linger=30.0)
    try:
        thread, outcome = _lingering_insert(backend, statement, "task writes")
        time.sleep(0.1)
        with pytest.raises(sqlite3.IntegrityError):
            backend.insert([(statement, [{**journal_row("broken"), "payload": None}])])  # NOT NULL
        thread.join(10)
    finally:
        backend.close()
    assert outcome[0] is None
    assert outcome[1] < 10
    assert _names(db_path) == {"task writes"}
    assert _write_transactions(statements) == 1


def test_closing_cuts_a_lingering_write_short_and_commits_it(db_path: Path) -> None:
    backend, statement, _ = _journal_backend(db_path, linger=30.0)
    thread, outcome = _lingering_insert(backend, statement, "task writes")
    time.sleep(0.1)
    backend.close()
    thread.join(10)
    assert outcome[0] is None
    assert outcome[1] < 10
    assert _names(db_path) == {"task writes"}


def test_many_lingering_writers_and_followers_all_land(db_path: Path) -> None:
    backend, statement, _ = _journal_backend(db_path, linger=0.002)
    names = [f"run {i} step {step}" for i in range(8) for step in range(25)]

    def run(index: int) -> None:
        for step in range(25):
            row = journal_row(f"run {index} step {step}")
            backend.insert([(statement, [row])], linger=step % 2 == 0)

    try:
        with ThreadPoolExecutor(8) as pool:
            list(pool.map(run, range(8)))
    finally:
        backend.close()
    assert _names(db_path) == set(names)


@pytest.mark.parametrize("synchronous", ["FULL", "NORMAL"])
def test_a_pipeline_step_costs_one_commit(db_path: Path, synchronous: Any) -> None:
    """FULL: the task's writes linger for the checkpoint; NORMAL: they are deferred to it."""
    from bench.checkpointer import STEPS, build_pipeline

    with SQLCheckpointer(f"sqlite:///{db_path}", synchronous=synchronous) as saver:
        statements = traced(saver.engine)
        app = build_pipeline(saver)
        app.invoke({"counter": 0, "doc": ""}, {"configurable": {"thread_id": "warm"}})
        statements.clear()
        runs = 5
        for run in range(runs):
            config = {"configurable": {"thread_id": f"run {run}"}}
            final = app.invoke({"counter": 0, "doc": ""}, config, durability="sync")
            assert final["counter"] == STEPS
    # Each step stores a task's writes and a checkpoint (input included): two commits
    # apart, one together. A thread scheduled late now and then still commits alone.
    steps = runs * (STEPS + 1)
    assert steps <= _write_transactions(statements) < 1.5 * steps
