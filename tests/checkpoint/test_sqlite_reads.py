"""SQLite's `get_tuple` runs on the sqlite3 driver and reads back what SQLAlchemy would."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event, insert

from orchestra.checkpoint import SQLCheckpointer
from orchestra.checkpoint._driver_reads import CompiledRead
from orchestra.checkpoint._plans import Plan, Step, select_rows
from orchestra.checkpoint._statements import Statements
from orchestra.checkpoint.schema import journal
from orchestra.checkpoint.sqlite import SQLiteBackend
from tests.checkpoint.held_writer import journal_row


@pytest.fixture
def sqlite_saver(tmp_path: Path) -> Iterator[SQLCheckpointer]:
    with SQLCheckpointer(f"sqlite:///{tmp_path / 'checkpoints.db'}") as opened:
        opened.setup()
        yield opened


def _sqlalchemy_connections(saver: SQLCheckpointer) -> list[object]:
    opened: list[object] = []
    event.listen(saver.engine, "engine_connect", opened.append)
    return opened


def _put_with_writes(saver: SQLCheckpointer) -> dict[str, Any]:
    config: dict[str, Any] = {"configurable": {"thread_id": "t", "checkpoint_ns": ""}}
    version = saver.get_next_version(None, None)
    checkpoint = {
        "v": 1,
        "id": "1f0000000000000000000000000000001",
        "ts": "2026-01-01T00:00:00+00:00",
        "channel_values": {"large": "L" * 400, "small": 1},  # one blob row, one inline value
        "channel_versions": {"large": version, "small": version},
        "versions_seen": {},
        "updated_channels": None,
    }
    metadata = {"step": 3, "source": "loop", "run_id": "r1"}
    new_versions = {"large": version, "small": version}
    stored = saver.put(config, checkpoint, metadata, new_versions)  # type: ignore[arg-type]
    saver.put_writes(stored, [("small", 2), ("large", "M" * 400)], "task-1", "path")
    return dict(stored)


def test_get_tuple_reads_checkpoint_values_metadata_and_writes_without_sqlalchemy(
    sqlite_saver: SQLCheckpointer,
) -> None:
    stored = _put_with_writes(sqlite_saver)
    opened = _sqlalchemy_connections(sqlite_saver)

    found = sqlite_saver.get_tuple({"configurable": {"thread_id": "t", "checkpoint_ns": ""}})
    by_id = sqlite_saver.get_tuple(stored)  # type: ignore[arg-type]

    assert opened == []
    assert found is not None
    assert found == by_id
    assert found.checkpoint["channel_values"] == {"large": "L" * 400, "small": 1}
    assert found.metadata == {"step": 3, "source": "loop", "run_id": "r1"}
    assert found.pending_writes == [("task-1", "small", 2), ("task-1", "large", "M" * 400)]
    assert found.config == stored


def test_get_tuple_of_an_unknown_thread_is_none_without_sqlalchemy(
    sqlite_saver: SQLCheckpointer,
) -> None:
    opened = _sqlalchemy_connections(sqlite_saver)

    assert sqlite_saver.get_tuple({"configurable": {"thread_id": "nobody"}}) is None
    assert opened == []


def test_list_still_matches_get_tuple(sqlite_saver: SQLCheckpointer) -> None:
    stored = _put_with_writes(sqlite_saver)

    listed = list(sqlite_saver.list({"configurable": {"thread_id": "t"}}))

    assert listed == [sqlite_saver.get_tuple(stored)]  # type: ignore[arg-type]


def test_a_compiled_read_returns_the_rows_sqlalchemy_returns(
    sqlite_saver: SQLCheckpointer,
) -> None:
    _put_with_writes(sqlite_saver)
    sql = Statements("sqlite")
    params = {"thread_id": "t", "checkpoint_ns": ""}
    raw = sqlite_saver.engine.raw_connection()
    try:
        latest = CompiledRead(sql.latest_checkpoint, sqlite_saver.engine.dialect)
        ours = latest.execute(raw.driver_connection, params)  # type: ignore[arg-type]
    finally:
        raw.close()
    plan = select_rows(sql.latest_checkpoint.params(**params))
    theirs = sqlite_saver._backend.run(plan, write=False)

    assert [tuple(r) for r in ours] == [tuple(r) for r in theirs]
    assert ours[0]._mapping["metadata"] == {"step": 3, "source": "loop", "run_id": "r1"}


def test_get_tuple_reads_on_the_idle_writer_connection(sqlite_saver: SQLCheckpointer) -> None:
    _put_with_writes(sqlite_saver)
    # The task's writes may still be queued for the next commit: a first read commits them.
    sqlite_saver.get_tuple({"configurable": {"thread_id": "t"}})
    backend = sqlite_saver._backend
    assert isinstance(backend, SQLiteBackend)
    on_writer: list[str] = []
    backend._writer_driver.set_trace_callback(on_writer.append)

    found = sqlite_saver.get_tuple({"configurable": {"thread_id": "t"}})

    assert found is not None
    assert on_writer[0] == "BEGIN"
    assert on_writer[1].startswith("SELECT")
    assert on_writer[-1] == "ROLLBACK"


def _hold(started: threading.Event, release: threading.Event) -> Plan[None]:
    started.set()
    assert release.wait(10)
    yield Step(insert(journal).values(journal_row("holder")))


def test_get_tuple_does_not_wait_for_a_busy_writer(sqlite_saver: SQLCheckpointer) -> None:
    stored = _put_with_writes(sqlite_saver)
    # Commit the task's writes, which may be queued for the next commit: a read waits for
    # the writer when it has queued writes to commit first.
    sqlite_saver.get_tuple({"configurable": {"thread_id": "t"}})
    started, release = threading.Event(), threading.Event()
    with ThreadPoolExecutor(2) as pool:
        holder = pool.submit(sqlite_saver._backend.run, _hold(started, release), write=True)
        assert started.wait(10)
        try:
            reader = pool.submit(sqlite_saver.get_tuple, {"configurable": {"thread_id": "t"}})
            found = reader.result(timeout=5)  # read beside the writer, not after it
        finally:
            release.set()
        holder.result(timeout=10)

    assert found is not None
    assert found.config == stored
