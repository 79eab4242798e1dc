"""The journal's statements and plans, run by the saver's backend like its own.

Every agent call writes one journal row and every task LangGraph runs again (on resume, or
retried) reads its journal once, so both statements are compiled once and run on the DB-API
driver: the insert is one of the backend's precompiled inserts, and the read is a
`JournalReader`'s.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, NamedTuple, cast

from sqlalchemy import Insert, Select, bindparam, select
from sqlalchemy.dialects import postgresql, sqlite

from orchestra.checkpoint._backend import Backend
from orchestra.checkpoint._compiled import CompiledStatement
from orchestra.checkpoint.schema import journal

if TYPE_CHECKING:
    import sqlite3

    from orchestra.checkpoint.postgres import PostgresBackend
    from orchestra.checkpoint.sqlite import SQLiteBackend

__all__ = ["JournalEntry", "JournalReader", "insert_statement", "journal_row"]


class JournalEntry(NamedTuple):
    """One recorded call: its place in the task, what it was, and its JSON result."""

    seq: int
    kind: str
    name: str
    payload: str


_READ: Select[Any] = (
    select(journal.c.seq, journal.c.kind, journal.c.name, journal.c.payload)
    .where(
        journal.c.thread_id == bindparam("thread_id"),
        journal.c.checkpoint_ns == bindparam("checkpoint_ns"),
    )
    .order_by(journal.c.seq)
)


@functools.cache
def insert_statement(dialect: str) -> Insert:
    """Record a call; a second record of the same call (a retried write) changes nothing."""
    dialect_insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    return dialect_insert(journal).on_conflict_do_nothing()


def journal_row(thread_id: str, checkpoint_ns: str, entry: JournalEntry) -> dict[str, Any]:
    """The row `insert_statement` stores for one call."""
    return {
        "thread_id": thread_id,
        "checkpoint_ns": checkpoint_ns,
        "seq": entry.seq,
        "kind": entry.kind,
        "name": entry.name,
        "payload": entry.payload,
        "created_at": time.time(),
    }


class JournalReader:
    """Reads a task's journal with the query compiled once, on the backend's driver."""

    def __init__(self, backend: Backend) -> None:
        self._backend = backend
        self._query = CompiledStatement(_READ, backend.engine.dialect)

    def read(self, thread_id: str, checkpoint_ns: str) -> list[JournalEntry]:
        """Every call recorded for one task, in order."""
        args = self._query.args({"thread_id": thread_id, "checkpoint_ns": checkpoint_ns})
        if self._backend.dialect == "postgresql":
            rows = cast("PostgresBackend", self._backend).fetch(self._query.sql, args)
        else:
            fetch = _Fetch(self._query.sql, args)
            rows = cast("SQLiteBackend", self._backend).run_driver(fetch, write=False)
        return _entries(rows)

    async def aread(self, thread_id: str, checkpoint_ns: str) -> list[JournalEntry]:
        """Async `read`."""
        args = self._query.args({"thread_id": thread_id, "checkpoint_ns": checkpoint_ns})
        if self._backend.dialect == "postgresql":
            rows = await cast("PostgresBackend", self._backend).afetch(self._query.sql, args)
        else:
            fetch = _Fetch(self._query.sql, args)
            rows = await cast("SQLiteBackend", self._backend).arun_driver(fetch, write=False)
        return _entries(rows)


class _Fetch:
    """A query to run on a sqlite3 connection (slotted: one allocation per task's read)."""

    __slots__ = ("_args", "_sql")

    def __init__(self, sql: str, args: Any) -> None:
        self._sql = sql
        self._args = args

    def __call__(self, driver: sqlite3.Connection) -> list[Any]:
        return driver.execute(self._sql, self._args).fetchall()


def _entries(rows: Sequence[Any]) -> list[JournalEntry]:
    return [
        JournalEntry(int(seq), str(kind), str(name), str(payload))
        for seq, kind, name, payload in rows
    ]
