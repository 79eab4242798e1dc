"""SQLite tuning: WAL, busy timeout, `synchronous`, and one group-committing writer.

All writes of a saver go through a single connection, group-committed
(`_group_commit`): the writes queued while one transaction runs share the next.
A write transaction begins with `BEGIN IMMEDIATE`, and a lone statement takes
the write lock as it starts, so a writer never holds a read snapshot while it
waits: other processes' writers make it wait out `busy_timeout`, never fail
with "database is locked". Sync reads use pooled connections, which WAL lets
run beside the writer; `get_tuple`'s, which start every invoke, take the writer's
own connection when it is idle (warm pages, no checkout). Async reads join the
writer's queue, so an event loop never needs a thread per call (sqlite3 is a
blocking library). A burst of async
requests may be committed on the loop's own thread, but never one that would
wait for another process's lock.

With `synchronous` FULL or EXTRA every commit fsyncs, so a task's writes wait a
moment (`_group_commit.LINGER`) for the checkpoint that follows them and the two
share one commit. With OFF or NORMAL a commit is cheap, and the wait would only
move the writes onto the checkpoint's path; so they are deferred instead
(`GroupCommit.defer`): queued without waiting, and committed by the checkpoint's
transaction a moment later, or by themselves within 20 ms
(`_group_commit.DEFER`) if none comes. A read commits the queue first, so a saver
always reads its own writes.
"""

from __future__ import annotations

import asyncio
import functools
import sqlite3
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import Connection, Engine, Insert, Select, create_engine, event
from sqlalchemy.engine import URL

from orchestra.checkpoint._backend import (
    Batch,
    EngineOptions,
    InsertCompiler,
    drive,
    execute,
)
from orchestra.checkpoint._driver_reads import DriverReads
from orchestra.checkpoint._group_commit import DEFER, LINGER, GroupCommit, Request
from orchestra.checkpoint._plans import Plan, Step
from orchestra.checkpoint._sqlite_inserts import DriverInserts
from orchestra.checkpoint._statements import json_text
from orchestra.errors import InvalidDatabaseURLError

__all__ = ["SQLiteBackend"]

T = TypeVar("T")

_SYNCHRONOUS = frozenset({"OFF", "NORMAL", "FULL", "EXTRA"})
_WRITER = "orchestra_writer"


class SQLiteBackend:
    """Runs plans on a SQLite file."""

    dialect = "sqlite"

    def __init__(
        self,
        url: URL,
        options: EngineOptions,
        *,
        engine: Engine | None = None,
        linger: float = LINGER,
        defer: float = DEFER,
    ) -> None:
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
            json_serializer=json_text,
        )
        event.listen(self.engine, "connect", self._on_connect)
        event.listen(self.engine, "begin", _on_begin)
        self._writer: Connection | None = None
        # The writer's sqlite3 connection, kept at hand: every write runs on it.
        self._writer_driver: Any = None
        # With synchronous OFF or NORMAL a WAL commit does not fsync, so a burst of
        # async writes may be committed on the event loop's thread.
        cheap_commits = options.synchronous in ("OFF", "NORMAL")
        self._group = GroupCommit(
            self._commit_batch, inline_async=cheap_commits, linger=linger, defer=defer
        )
        # Whether a lingering insert waits for company (where commits fsync) or is
        # deferred (where they do not).
        self._linger = not cheap_commits
        self._inserts = DriverInserts(InsertCompiler(self.engine.dialect))
        self._reads = DriverReads(self.engine.dialect)

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
            self._writer_driver = self._writer.connection.driver_connection
        return self._writer

    def precompile(self, statement: Insert, columns: Sequence[str]) -> None:
        self._inserts.register(statement, columns)

    def precompile_read(self, statement: Select[Any]) -> None:
        """Run plans that start with `statement` (and whose every step is registered so)
        straight on the driver: see `_driver_reads`."""
        self._reads.register(statement)

    def run(self, plan: Plan[T], *, write: bool) -> T:
        if not write:
            self._group.flush()
            try:
                first = next(plan)
            except StopIteration as done:
                return done.value  # type: ignore[no-any-return]
            if first in self._reads:
                return self._read_on_driver(plan, first)
            with self.engine.connect() as conn:
                return drive(plan, functools.partial(execute, conn), first)
        return self._group.call(functools.partial(self._drive_writer, plan))

    def _read_on_driver(self, plan: Plan[T], first: Step) -> T:
        """Run a read plan of precompiled SELECTs: on the writer's connection when it is idle
        (warm, and no pool checkout), else on a pooled one, which WAL lets read beside it."""
        writer = self._writer
        if writer is not None and not writer.invalidated:
            ran, result = self._group.run_if_idle(
                functools.partial(self._read_on_writer, plan, first)
            )
            if ran:
                return result  # type: ignore[return-value]
        pooled = self.engine.raw_connection()
        try:
            return self._reads.drive(plan, first, pooled.driver_connection)
        finally:
            pooled.close()

    def _read_on_writer(self, plan: Plan[T], first: Step) -> T:
        # Looked up while holding the writer: a failed write may have replaced it.
        return self._reads.drive(plan, first, self._writer_driver)

    async def arun(self, plan: Plan[T], *, write: bool) -> T:
        # Reads too: one writer thread serves every async call, so a thousand
        # tasks reading their journals cost a few transactions, not a thousand threads.
        work = functools.partial(self._drive_writer, plan)
        return await self._group.acall(work, read_only=not write)

    def insert(self, batches: Sequence[Batch], *, linger: bool = False) -> None:
        """Insert `batches`; returns once they are committed.

        With `linger` (a task's writes, which a checkpoint follows), they share the
        next write's commit: where commits fsync this waits a moment for it; where they
        do not, the rows are only queued (`GroupCommit.defer`) and this returns at once.
        """
        if linger and not self._linger:
            self._defer(batches)
            return
        one = self._inserts.one(batches)
        if one is not None:
            # The common case (a checkpoint, a task's writes): one statement, run by
            # the group commit straight on this thread when the writer is idle.
            self._group.call(_Execute(self, *one), single_statement=True, linger=linger)
            return
        statements = self._inserts.all(batches)
        if statements:
            self._group.call(_DriverInserts(self, statements), linger=linger)

    def _defer(self, batches: Sequence[Batch]) -> None:
        one = self._inserts.one(batches)
        if one is not None:
            self._group.defer(_Execute(self, *one), single_statement=True)
            return
        work = self._insert_work(batches)
        if work is not None:
            self._group.defer(work, single_statement=work.single)

    async def ainsert(self, batches: Sequence[Batch]) -> None:
        work = self._insert_work(batches)
        if work is not None:
            await self._group.acall(work, single_statement=work.single)

    def run_driver(self, work: Callable[[sqlite3.Connection], T], *, write: bool) -> T:
        """Run `work` on a sqlite3 connection: the writer's (in the next shared
        transaction) for a write, a pooled one for a read.

        For precompiled statements (`_compiled`) that run once per agent call, where
        SQLAlchemy's per-execute work would cost more than SQLite's.
        """
        if not write:
            self._group.flush()
            pooled = self.engine.raw_connection()
            try:
                return work(pooled.driver_connection)  # type: ignore[arg-type]
            finally:
                pooled.close()
        return self._group.call(functools.partial(self._on_writer_driver, work))

    async def arun_driver(self, work: Callable[[sqlite3.Connection], T], *, write: bool) -> T:
        """Async `run_driver`: reads too join the writer's queue, as in `arun`."""
        task = functools.partial(self._on_writer_driver, work)
        return await self._group.acall(task, read_only=not write)

    def _on_writer_driver(self, work: Callable[[sqlite3.Connection], T]) -> T:
        return work(self._writer_driver)

    def close(self) -> None:
        try:
            self._group.close()
        finally:
            if self._writer is not None:
                self._writer.close()
                self._writer = self._writer_driver = None
            self.engine.dispose()

    async def aclose(self) -> None:
        await asyncio.to_thread(self.close)

    # -- the writer ------------------------------------------------------------

    def _drive_writer(self, plan: Plan[T]) -> T:
        assert self._writer is not None  # opened by _commit_batch
        return drive(plan, functools.partial(execute, self._writer))

    def _insert_work(self, batches: Sequence[Batch]) -> _DriverInserts | None:
        """The driver calls of an insert, their parameters read outside the writer."""
        statements = self._inserts.all(batches)
        return _DriverInserts(self, statements) if statements else None

    def _commit_batch(self, batch: list[Request[Any]], *, wait: bool) -> bool:
        """Run a batch of requests in one transaction, each write of several statements
        in its own savepoint.

        Called by one thread at a time (`GroupCommit`). A write that fails is
        rolled back to its savepoint and fails alone; the COMMIT comes before any
        caller is answered. The transaction is the driver's: SQLAlchemy's "begin"
        finds it open and adds nothing.
        """
        writer = self._writer
        if writer is None or writer.invalidated:
            writer = self._writer_connection()
        driver = self._writer_driver
        if wait and len(batch) == 1 and batch[0].single_statement:
            # One statement is a transaction by itself (autocommit).
            request = batch[0]
            try:
                request.result = request.work()
            except Exception as exc:
                request.error = exc
            return True
        writes = sum(1 for r in batch if not r.read_only)
        # A batch of reads alone takes no write lock: other processes keep writing.
        begin = "BEGIN IMMEDIATE" if writes else "BEGIN"
        if wait:
            driver.execute(begin)
        elif not self._begin_now(driver, begin):
            return False
        grouped = writes > 1
        failed = False
        try:
            for request in batch:
                # A single statement that fails leaves the transaction as it found
                # it (SQLite undoes the statement), so it needs no savepoint.
                undoable = not request.read_only and not request.single_statement
                guarded = grouped and undoable
                if guarded:
                    driver.execute(_SAVEPOINT)
                try:
                    request.result = request.work()
                except Exception as exc:
                    request.error = exc
                    if not driver.in_transaction:
                        raise _TransactionLost(exc) from exc
                    if guarded:
                        driver.execute(_ROLLBACK_TO)
                        driver.execute(_RELEASE)
                    elif undoable:
                        failed = True  # the batch's only write: undo the transaction
                else:
                    if guarded:
                        driver.execute(_RELEASE)
            driver.execute("ROLLBACK" if failed else "COMMIT")
        except BaseException as exc:
            if driver.in_transaction:
                driver.execute("ROLLBACK")
            cause = exc.cause if isinstance(exc, _TransactionLost) else exc
            for request in batch:
                if request.error is None:
                    request.result = None
                    request.error = _lost(cause) if len(batch) > 1 else cause
            if not isinstance(exc, Exception):
                raise
        finally:
            if writer.in_transaction():
                # Only SQLAlchemy's bookkeeping: the driver's transaction has ended,
                # so its rollback() is a no-op.
                writer.rollback()
        return True

    def _begin_now(self, driver: Any, begin: str) -> bool:
        """Begin without waiting for another process's lock; False if one holds it."""
        driver.execute("PRAGMA busy_timeout = 0")
        try:
            driver.execute(begin)
        except sqlite3.OperationalError as exc:
            if "locked" in str(exc) or "busy" in str(exc):
                return False
            raise
        finally:
            driver.execute(f"PRAGMA busy_timeout = {int(self._options.busy_timeout * 1000)}")
        return True


class _Execute:
    """One statement run on the writer, opening it first if need be."""

    __slots__ = ("_args", "_backend", "_sql")

    def __init__(self, backend: SQLiteBackend, sql: str, args: tuple[Any, ...]) -> None:
        self._backend = backend
        self._sql = sql
        self._args = args

    def __call__(self) -> None:
        backend = self._backend
        writer = backend._writer
        if writer is None or writer.invalidated:
            backend._writer_connection()
        backend._writer_driver.execute(self._sql, self._args)


class _DriverInserts:
    """Precompiled INSERTs run straight on the driver.

    A graph step's writes are a few small rows, and SQLAlchemy's bookkeeping
    would cost more than SQLite's work.
    """

    __slots__ = ("_backend", "_statements", "single")

    def __init__(self, backend: SQLiteBackend, statements: list[tuple[str, Any]]) -> None:
        self._backend = backend
        self._statements = statements
        self.single = len(statements) == 1

    def __call__(self) -> None:
        execute_sql = self._backend._writer_driver.execute
        for sql, args in self._statements:
            execute_sql(sql, args)


_SAVEPOINT = "SAVEPOINT orchestra_request"
_ROLLBACK_TO = "ROLLBACK TO orchestra_request"
_RELEASE = "RELEASE orchestra_request"


class _TransactionLost(Exception):
    """SQLite ended the whole transaction while one request failed."""

    def __init__(self, cause: Exception) -> None:
        super().__init__(str(cause))
        self.cause = cause


def _lost(cause: BaseException) -> sqlite3.OperationalError:
    return sqlite3.OperationalError(
        f"nothing was written: the transaction this write shared with others failed "
        f"({type(cause).__name__}: {cause}); retry the call"
    )


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
        # The writer's transactions are opened by `_commit_batch` on the driver.
        if not dbapi_connection.in_transaction:
            dbapi_connection.execute("BEGIN IMMEDIATE")
    else:
        dbapi_connection.execute("BEGIN")
