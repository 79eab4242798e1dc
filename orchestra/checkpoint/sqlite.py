"""SQLite tuning: WAL, busy timeout, `synchronous`, and one writer connection.

All writes of a saver go through a single connection behind a lock. A write of
several statements begins with `BEGIN IMMEDIATE`, and a lone statement takes
the write lock as it starts, so a writer never holds a read snapshot while it
waits: other processes' writers make it wait out `busy_timeout`, never fail
with "database is locked". Readers use pooled connections, which WAL lets run
beside the writer.
Async calls run the same code on a worker thread: sqlite3 is a blocking
library (aiosqlite is also a thread), and sharing the writer between sync and
async callers is what keeps it to one writer per saver.
"""

from __future__ import annotations

import asyncio
import functools
import sqlite3
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import Connection, Engine, Insert, create_engine, event
from sqlalchemy.engine import URL

from orchestra.checkpoint._backend import (
    Batch,
    EngineOptions,
    InsertCompiler,
    drive,
    execute,
    split,
)
from orchestra.checkpoint._plans import Plan
from orchestra.checkpoint._statements import json_serializer
from orchestra.errors import InvalidDatabaseURLError

__all__ = ["SQLiteBackend"]

T = TypeVar("T")

_SYNCHRONOUS = frozenset({"OFF", "NORMAL", "FULL", "EXTRA"})
_WRITER = "orchestra_writer"


class SQLiteBackend:
    """Runs plans on a SQLite file."""

    dialect = "sqlite"

    def __init__(self, url: URL, options: EngineOptions, *, engine: Engine | None = None) -> None:
        database = url.database or ""
        if database in ("", ":memory:") or url.query.get("mode") == "memory":
            raise InvalidDatabaseURLError(
                "an in-memory SQLite database is not durable and is private to one "
                "connection: use a file (sqlite:///checkpoints/orchestra.db), or LangGraph's "
                "InMemorySaver for throwaway state"
            )
        # Checked by open_backend; it is interpolated into a PRAGMA below.
        assert options.synchronous in _SYNCHRONOUS
        if not database.startswith("file:"):
            Path(database).expanduser().parent.mkdir(parents=True, exist_ok=True)
        self._options = options
        self.engine = engine or create_engine(
            url.set(drivername="sqlite+pysqlite"),
            pool_size=options.pool_size,
            max_overflow=options.max_overflow,
            connect_args={"check_same_thread": False, "timeout": options.busy_timeout},
            json_serializer=json_serializer,
        )
        event.listen(self.engine, "connect", self._on_connect)
        event.listen(self.engine, "begin", _on_begin)
        self._writer_lock = threading.Lock()
        self._writer: Connection | None = None
        self._inserts = InsertCompiler(self.engine.dialect)

    def _on_connect(self, dbapi_connection: Any, _record: Any) -> None:
        # Autocommit at the driver level: SQLAlchemy's "begin" event issues
        # BEGIN itself, so the writer can ask for IMMEDIATE.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        try:
            # busy_timeout first: switching to WAL needs a lock another
            # process may hold.
            cursor.execute(f"PRAGMA busy_timeout = {int(self._options.busy_timeout * 1000)}")
            _enable_wal(cursor, self._options.busy_timeout)
            # Interpolated, but only ever one of the names in _SYNCHRONOUS.
            cursor.execute(f"PRAGMA synchronous = {self._options.synchronous}")
        finally:
            cursor.close()

    def _writer_connection(self) -> Connection:
        if self._writer is None or self._writer.closed or self._writer.invalidated:
            self._writer = self.engine.connect().execution_options(**{_WRITER: True})
        return self._writer

    def precompile(self, statement: Insert, columns: Sequence[str]) -> None:
        self._inserts.register(statement, columns)

    def run(self, plan: Plan[T], *, write: bool) -> T:
        if not write:
            with self.engine.connect() as conn:
                return drive(plan, functools.partial(execute, conn))
        with self._writer_lock:
            conn = self._writer_connection()
            with conn.begin():
                return drive(plan, functools.partial(execute, conn))

    def insert(self, batches: Sequence[Batch]) -> None:
        parts = split(batches)
        if not parts:
            return
        statements = [self._inserts.combined([part]) for part in parts]
        args = [c.args([rows]) for c, (_, rows) in zip(statements, parts, strict=True)]
        with self._writer_lock:
            # Straight on the driver, transaction included: a graph step's
            # writes are a few small rows, and SQLAlchemy's bookkeeping would
            # cost more than SQLite's commit. Each driver call also lets other
            # threads take the GIL, so fewer calls mean fewer stalls.
            dbapi_connection: Any = self._writer_connection().connection.driver_connection
            if len(statements) == 1:
                # One statement is a transaction by itself (autocommit).
                dbapi_connection.execute(statements[0].sql, args[0])
                return
            dbapi_connection.execute("BEGIN IMMEDIATE")
            try:
                for statement, values in zip(statements, args, strict=True):
                    dbapi_connection.execute(statement.sql, values)
            except BaseException:
                dbapi_connection.execute("ROLLBACK")
                raise
            dbapi_connection.execute("COMMIT")

    async def ainsert(self, batches: Sequence[Batch]) -> None:
        await asyncio.to_thread(self.insert, batches)

    async def arun(self, plan: Plan[T], *, write: bool) -> T:
        return await asyncio.to_thread(self.run, plan, write=write)

    def close(self) -> None:
        with self._writer_lock:
            if self._writer is not None:
                self._writer.close()
                self._writer = None
        self.engine.dispose()

    async def aclose(self) -> None:
        await asyncio.to_thread(self.close)


def _enable_wal(cursor: sqlite3.Cursor, timeout: float) -> None:
    """Put the database in WAL mode, waiting out other processes doing the same.

    Switching the journal mode of a new database needs an exclusive lock, and
    SQLite reports a clash there as "database is locked" at once, without
    consulting busy_timeout; so it is retried here until the timeout.
    WAL mode is stored in the file, so later connections only read it.
    """
    deadline = time.monotonic() + timeout
    delay = 0.001
    while True:
        try:
            (mode,) = cursor.execute("PRAGMA journal_mode").fetchone()
            if str(mode).lower() != "wal":
                cursor.execute("PRAGMA journal_mode = WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(delay)
            delay = min(delay * 2, 0.05)


def _on_begin(conn: Connection) -> None:
    # Straight to the driver: this runs for every transaction.
    dbapi_connection = conn.connection.driver_connection
    assert dbapi_connection is not None
    if conn.get_execution_options().get(_WRITER):
        dbapi_connection.execute("BEGIN IMMEDIATE")
    else:
        dbapi_connection.execute("BEGIN")
