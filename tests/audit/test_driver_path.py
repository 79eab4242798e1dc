"""SQLite: a recording step's audit append and a task's journal read run on the driver.

They run once per agent call, so they skip SQLAlchemy's execution: an append is three
statements (the writes, the head's move, the entries) and a journal read one SELECT, all
compiled once. These tests count the SQL that reaches SQLite, and what went through
SQLAlchemy on the way.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from langchain_core.runnables import RunnableConfig
from langgraph.types import Send
from sqlalchemy import event, func, select

from orchestra import Decision
from orchestra.audit import entries, verify
from orchestra.checkpoint import SQLCheckpointer
from orchestra.checkpoint._backend import MAX_ROWS
from orchestra.checkpoint._journal import JournalEntry
from orchestra.checkpoint.schema import writes


class _Traced:
    """The SQL a saver's connections run, and the statements SQLAlchemy executed."""

    def __init__(self, saver: SQLCheckpointer) -> None:
        self.sqlite: list[str] = []
        self.sqlalchemy: list[str] = []
        event.listen(saver.engine, "connect", self._connect)
        event.listen(saver.engine, "before_cursor_execute", self._execute)

    def _connect(self, dbapi_connection: sqlite3.Connection, _record: Any) -> None:
        dbapi_connection.set_trace_callback(self.sqlite.append)

    def _execute(self, _conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        self.sqlalchemy.append(statement)

    def clear(self) -> None:
        self.sqlite.clear()
        self.sqlalchemy.clear()

    def data_statements(self) -> list[str]:
        """The statements that read or change rows, first word only."""
        return [
            sql.split(None, 1)[0].upper()
            for sql in self.sqlite
            if sql.split(None, 1)[0].upper() in ("INSERT", "UPDATE", "SELECT", "DELETE")
        ]


@pytest.fixture
def traced(tmp_path: Path) -> Iterator[tuple[SQLCheckpointer, _Traced]]:
    saver = SQLCheckpointer(f"sqlite:///{tmp_path / 'driver.db'}")
    trace = _Traced(saver)  # before the first connection opens
    saver.setup()
    trace.clear()
    try:
        yield saver, trace
    finally:
        saver.close()


def _config(thread: str) -> RunnableConfig:
    return {"configurable": {"thread_id": thread, "checkpoint_ns": "", "checkpoint_id": "c1"}}


def _route_billing(saver: SQLCheckpointer, thread: str) -> Decision:
    """Save a first recorded decision on `thread`, so its chain has a head."""
    first = Decision(kind="route", at="triage", choice="billing")
    saver.put_writes(_config(thread), [("decisions", [first])], "task-1")
    return first


def test_an_append_to_a_known_chain_is_three_statements_none_through_sqlalchemy(
    traced: tuple[SQLCheckpointer, _Traced],
) -> None:
    saver, trace = traced
    first = _route_billing(saver, "t")
    trace.clear()

    second = Decision(kind="gate", at="check", choice="pass")
    saver.put_writes(_config("t"), [("decisions", [second])], "task-2")

    assert trace.data_statements() == ["INSERT", "UPDATE", "INSERT"]
    assert trace.sqlalchemy == []
    assert [e.record_id for e in entries(saver, "t")] == [first.id, second.id]
    assert verify(saver, "t").ok


async def test_a_task_writing_more_rows_than_one_statement_takes_still_appends_on_the_driver(
    traced: tuple[SQLCheckpointer, _Traced],
) -> None:
    saver, trace = traced
    first = _route_billing(saver, "w")
    trace.clear()
    mapped = Decision(kind="map", at="split", choice=str(MAX_ROWS + 1))
    sends = [("__pregel_tasks", Send("worker", {"item": i})) for i in range(MAX_ROWS + 1)]

    await saver.aput_writes(_config("w"), [("decisions", [mapped]), *sends], "split-task")

    # The rows one by one (one executemany), the head's move, the entry: one transaction.
    assert trace.data_statements() == ["INSERT"] * (1 + len(sends)) + ["UPDATE", "INSERT"]
    assert trace.sqlalchemy == []
    with saver.engine.connect() as conn:
        count = select(func.count()).select_from(writes).where(writes.c.thread_id == "w")
        assert conn.execute(count).scalar_one() == 2 + len(sends)  # route, map, the sends
    assert [e.record_id for e in entries(saver, "w")] == [first.id, mapped.id]
    assert verify(saver, "w").ok


async def test_async_appends_and_journal_reads_run_no_statement_through_sqlalchemy(
    traced: tuple[SQLCheckpointer, _Traced],
) -> None:
    saver, trace = traced
    decisions = [Decision(kind="gate", at=f"check{i}", choice="pass") for i in range(3)]
    for index, decision in enumerate(decisions):
        await saver.aput_writes(_config("a"), [("decisions", [decision])], f"task-{index}")
    await saver.awrite_journal("a", "worker:1", JournalEntry(0, "model", "worker", '"hi"'))

    recorded = await saver.aread_journal("a", "worker:1")

    assert recorded == [JournalEntry(0, "model", "worker", '"hi"')]
    assert trace.sqlalchemy == []
    assert [e.record_id for e in entries(saver, "a")] == [d.id for d in decisions]


def test_a_sync_journal_read_is_one_select_on_the_driver(
    traced: tuple[SQLCheckpointer, _Traced],
) -> None:
    saver, trace = traced
    saver.write_journal("s", "worker:1", JournalEntry(1, "tool", "search", "[1, 2]"))
    saver.write_journal("s", "worker:1", JournalEntry(0, "model", "worker", '"hi"'))
    saver.write_journal("s", "worker:2", JournalEntry(0, "model", "worker", '"other"'))
    trace.clear()

    recorded = saver.read_journal("s", "worker:1")

    assert [e.seq for e in recorded] == [0, 1]  # in call order, this task's only
    assert recorded[1] == JournalEntry(1, "tool", "search", "[1, 2]")
    assert trace.data_statements() == ["SELECT"]
    assert trace.sqlalchemy == []


def test_a_record_audited_already_falls_back_to_the_careful_append_and_keeps_its_writes(
    traced: tuple[SQLCheckpointer, _Traced],
) -> None:
    saver, _ = traced
    first = _route_billing(saver, "r")
    # LangGraph delivers the same record again from another task: the quick append's
    # entry insert fails, and the careful one stores the task's writes and nothing else.
    saver.put_writes(_config("r"), [("decisions", [first])], "task-2")

    assert [e.record_id for e in entries(saver, "r")] == [first.id]
    with sqlite3.connect(str(saver.engine.url.database)) as conn:
        tasks = conn.execute("SELECT task_id FROM orchestra_checkpoint_writes ORDER BY task_id")
        assert [task for (task,) in tasks] == ["task-1", "task-2"]
    assert verify(saver, "r").ok
