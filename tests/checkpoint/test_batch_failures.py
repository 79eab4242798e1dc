"""SQLite group commit: a write that fails in a shared batch fails alone.

Driver-level writes of several statements (the quick audit append) share batches with
reads, plans and each other; one failing halfway must leave none of its rows, undo
nothing of the others', and reach its own caller only.
"""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import insert, make_url

from orchestra.checkpoint import _plans
from orchestra.checkpoint._backend import EngineOptions
from orchestra.checkpoint._plans import Plan, Step
from orchestra.checkpoint._statements import Statements
from orchestra.checkpoint.schema import journal
from orchestra.checkpoint.sqlite import SQLiteBackend
from tests.checkpoint.held_writer import behind_a_held_writer, journal_row, traced

_INSERT = (
    "INSERT INTO orchestra_journal (thread_id, checkpoint_ns, seq, kind, name, payload, "
    "created_at) VALUES (?, ?, ?, ?, ?, ?, ?)"
)

Work = Callable[[sqlite3.Connection], Any]


def _args(name: str, payload: str | None = "{}") -> tuple[Any, ...]:
    return ("t", name, 0, "model", name, payload, time.time())


def _writes(*names: str) -> Work:
    """A write of several statements, one row each."""

    def work(driver: sqlite3.Connection) -> None:
        for name in names:
            driver.execute(_INSERT, _args(name))

    return work


def _half_then_python_error(driver: sqlite3.Connection) -> None:
    driver.execute(_INSERT, _args("half"))
    raise RuntimeError("the write gave up halfway")


def _half_then_sql_error(driver: sqlite3.Connection) -> None:
    driver.execute(_INSERT, _args("half"))
    driver.execute(_INSERT, _args("broken", payload=None))  # NOT NULL


def _count(driver: sqlite3.Connection) -> int:
    return int(driver.execute("SELECT count(*) FROM orchestra_journal").fetchone()[0])


def _plan_write(name: str, runs: list[str]) -> Plan[None]:
    runs.append(name)
    yield Step(insert(journal).values(journal_row(name)))


def _names(path: Path) -> list[str]:
    with sqlite3.connect(path) as conn:
        return sorted(name for (name,) in conn.execute("SELECT name FROM orchestra_journal"))


def _batch(
    path: Path, requests: list[Callable[[SQLiteBackend], Any]]
) -> tuple[list[Any], list[str]]:
    """Run `requests` (async calls on the backend) queued behind a holder, so they share
    one batch; their outcomes, and the SQL the writer ran from the holder on."""
    backend = SQLiteBackend(make_url(f"sqlite:///{path}"), EngineOptions())
    statements = traced(backend.engine)

    async def main() -> list[Any]:
        await backend.arun(_plans.setup(Statements("sqlite")), write=True)
        statements.clear()
        return await behind_a_held_writer(
            backend, [partial(request, backend) for request in requests]
        )

    try:
        outcomes = asyncio.run(main())
    finally:
        backend.close()
    return outcomes, statements


def _driver(work: Work, *, write: bool = True) -> Callable[[SQLiteBackend], Any]:
    return lambda backend: backend.arun_driver(work, write=write)


def test_a_batch_of_driver_writes_is_committed_in_one_transaction(tmp_path: Path) -> None:
    path = tmp_path / "checkpoints.db"
    requests = [_driver(_writes(f"a{i}", f"b{i}")) for i in range(20)]
    outcomes, statements = _batch(path, requests)
    assert outcomes == [None] * 20
    assert len(_names(path)) == 1 + 40
    # The holder's commit, and one for the whole batch.
    assert statements.count("COMMIT") == 2


@pytest.mark.parametrize(
    ("failing", "error"),
    [(_half_then_python_error, RuntimeError), (_half_then_sql_error, sqlite3.IntegrityError)],
    ids=["python-error", "sql-error"],
)
def test_a_driver_write_failing_halfway_in_a_shared_batch_fails_alone(
    tmp_path: Path, failing: Work, error: type[Exception]
) -> None:
    path = tmp_path / "checkpoints.db"
    requests = [
        _driver(_writes("before 1", "before 2")),
        _driver(_count, write=False),
        _driver(failing),
        _driver(_writes("after 1", "after 2")),
        _driver(_count, write=False),
    ]
    outcomes, statements = _batch(path, requests)
    # Only the failing write's caller hears of its error; the reads saw the holder's row
    # and the writes before them, never the failing one's.
    assert outcomes[:2] == [None, 3]
    assert isinstance(outcomes[2], error)
    assert outcomes[3:] == [None, 5]
    # The others are committed; none of the failing write's rows, not even its first.
    assert _names(path) == ["after 1", "after 2", "before 1", "before 2", "holder"]
    # ... in one transaction (after the holder's).
    assert statements.count("COMMIT") == 2


def test_a_plan_in_the_batch_runs_once_when_a_later_write_fails(tmp_path: Path) -> None:
    path = tmp_path / "checkpoints.db"
    runs: list[str] = []
    requests = [
        _driver(_writes("before")),
        lambda backend: backend.arun(_plan_write("plan", runs), write=True),
        _driver(_writes("after plan")),
        _driver(_half_then_python_error),
        _driver(_writes("last")),
    ]
    outcomes, _ = _batch(path, requests)
    assert outcomes[:3] == [None, None, None]
    assert isinstance(outcomes[3], RuntimeError)
    assert outcomes[4] is None
    # A plan is a generator: run once, whatever failed beside it.
    assert runs == ["plan"]
    assert _names(path) == ["after plan", "before", "holder", "last", "plan"]


def test_audit_appends_beside_a_failing_write_keep_one_valid_chain(
    tmp_path: Path,
) -> None:
    from orchestra import Decision
    from orchestra.audit import aentries, averify
    from orchestra.checkpoint import SQLCheckpointer

    decisions = [Decision(kind="gate", at=f"check{i}", choice="pass") for i in range(6)]
    config: Any = {
        "configurable": {"thread_id": "chain", "checkpoint_ns": "", "checkpoint_id": "c1"}
    }

    async def main(saver: SQLCheckpointer) -> list[Any]:
        await saver.asetup()
        backend = saver._backend
        assert isinstance(backend, SQLiteBackend)
        appends = [
            partial(saver.aput_writes, config, [("decisions", [d])], f"task-{i}")
            for i, d in enumerate(decisions)
        ]
        # The appends link to the heads remembered by those before them, in one batch
        # with a write that fails halfway.
        failing = partial(backend.arun_driver, _half_then_python_error, write=True)
        outcomes = await behind_a_held_writer(backend, [*appends[:3], failing, *appends[3:]])
        # Appended later, on the heads the batch left.
        await saver.aput_writes(config, [("decisions", [Decision(kind="gate", at="z")])], "z")
        assert (await averify(saver, "chain")).ok
        trail = await aentries(saver, "chain")
        assert [e.seq for e in trail] == list(range(1, 8))
        assert {e.record_id for e in trail} >= {d.id for d in decisions}
        return outcomes

    with SQLCheckpointer(f"sqlite:///{tmp_path / 'checkpoints.db'}") as saver:
        outcomes = asyncio.run(main(saver))
    assert isinstance(outcomes[3], RuntimeError)
    assert outcomes[:3] + outcomes[4:] == [None] * 6
