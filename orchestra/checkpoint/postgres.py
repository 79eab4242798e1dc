"""PostgreSQL: a sync and an async connection pool over psycopg 3.

No saver-wide lock: every operation checks a connection out of the pool, so a
pooled saver serves concurrent callers in parallel. `prepared_statements=False`
turns off psycopg's server-side prepared statements, which a pgbouncer in
transaction mode cannot route.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import weakref
from collections.abc import Iterator, Sequence
from typing import Any, TypeVar

from sqlalchemy import Engine, Insert, Select, create_engine, event
from sqlalchemy.engine import URL
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from orchestra.checkpoint._backend import (
    Batch,
    EngineOptions,
    InsertCompiler,
    adrive,
    drive,
    execute,
    split,
)
from orchestra.checkpoint._driver_reads import DriverReads
from orchestra.checkpoint._held import HeldConnections
from orchestra.checkpoint._pg_inserts import DriverInserts, Prepared
from orchestra.checkpoint._pg_inserts import execute as execute_raw
from orchestra.checkpoint._plans import Plan
from orchestra.checkpoint._run_writes import RunWrites
from orchestra.errors import InvalidDatabaseURLError

__all__ = ["PostgresBackend"]

T = TypeVar("T")

_ASYNC_COMMIT = "SET LOCAL synchronous_commit TO off"


def _thread_of(batches: Sequence[Batch]) -> str:
    """The thread id of the rows (every per-step table has one)."""
    for _, rows in batches:
        if rows:
            return str(rows[0].get("thread_id", ""))
    return ""


class PostgresBackend:
    """Runs plans on a PostgreSQL database."""

    dialect = "postgresql"

    def __init__(self, url: URL, options: EngineOptions, *, engine: Engine | None = None) -> None:
        if url.drivername not in ("postgresql", "postgresql+psycopg"):
            raise InvalidDatabaseURLError(
                f"PostgreSQL driver {url.get_driver_name()!r} is not supported: use "
                "postgresql+psycopg://user:password@host/dbname "
                "(pip install 'orchestra-graphs[postgres]')"
            )
        # A bare postgresql:// means psycopg2 to SQLAlchemy; Orchestra uses psycopg 3.
        self._url = url.set(drivername="postgresql+psycopg")
        connect_args: dict[str, Any] = {}
        # `synchronous` NORMAL (or OFF) means synchronous_commit=off: a commit
        # survives a crash of this process, as NORMAL does on SQLite, but not
        # of the database server's host; the commit no longer waits for an
        # fsync. FULL keeps the server's own setting.
        async_commit = options.synchronous in ("OFF", "NORMAL")
        # Behind pgbouncer (prepared_statements=False) a session setting can
        # leak to other clients or be lost, and the `options` startup
        # parameter may be refused; there each write sets it for its own
        # transaction instead.
        # So does a caller's own engine, whose connect options are not ours.
        self._set_local = async_commit and (not options.prepared_statements or engine is not None)
        # pgbouncer before 1.21 does not track a pipeline's outstanding Syncs:
        # at a ReadyForQuery it may hand the server connection to another
        # client while the rest of the pipeline is in flight, which crosses
        # sessions and can stall every client until `query_wait_timeout`.
        # Behind pgbouncer, statements go one round trip at a time.
        self._pipelined = options.prepared_statements
        self._prepare = options.prepared_statements
        if not options.prepared_statements:
            connect_args["prepare_threshold"] = None
        elif async_commit and "options" not in url.query:
            connect_args["options"] = "-c synchronous_commit=off"
        self._engine_args: dict[str, Any] = {
            # Connections opened under load stay open rather than close on return:
            # under sustained load (many concurrent runs) closing them meant
            # reconnecting, a few ms each, for most statements.
            "pool_size": options.pool_size + options.max_overflow,
            "max_overflow": 0,
            "connect_args": connect_args,
        }
        self.engine = engine or create_engine(self._url, **self._engine_args)
        self._inserts = InsertCompiler(self.engine.dialect)
        self._raw = DriverInserts(self._inserts)
        self._reads = DriverReads(self.engine.dialect)
        self._held = HeldConnections(self.engine, options.pool_size)
        self._run_writes = RunWrites(self._insert_together, self._insert_now)
        # An async pool's connections belong to the event loop that opened
        # them, so each loop gets its own engine.
        self._async_engines: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, AsyncEngine] = (
            weakref.WeakKeyDictionary()
        )
        # The driver connections those engines opened, so `close()` can shut the ones
        # whose event loop has ended (psycopg's AsyncConnection).
        self._async_drivers: weakref.WeakSet[Any] = weakref.WeakSet()

    def _async_engine(self) -> AsyncEngine:
        loop = asyncio.get_running_loop()
        engine = self._async_engines.get(loop)
        if engine is None:
            engine = create_async_engine(self._url, **self._engine_args)
            event.listen(engine.sync_engine, "connect", self._opened_async)
            self._async_engines[loop] = engine
        return engine

    def precompile(self, statement: Insert, columns: Sequence[str]) -> None:
        self._inserts.register(statement, columns)

    def precompile_read(self, statement: Select[Any]) -> None:
        """Run read plans that start with `statement` (and whose every step is registered
        so) on a held connection's cursor: see `_driver_reads`."""
        self._reads.register(statement)

    def _statements(self, batches: Sequence[Batch]) -> list[tuple[str, Any]]:
        """One combined statement, or one per chunk when a batch is very large."""
        parts = split(batches)
        if len(parts) == len([b for b in batches if b[1]]):
            if not parts:
                return []
            combined = self._inserts.combined(parts)
            return [(combined.sql, combined.args([rows for _, rows in parts]))]
        chunks = [self._inserts.combined([part]) for part in parts]
        return [(c.sql, c.args([rows])) for c, (_, rows) in zip(chunks, parts, strict=True)]

    def _pipeline(self, driver: Any) -> Any:
        """The driver's pipeline (sync or async), or nothing behind pgbouncer."""
        return driver.pipeline() if self._pipelined else contextlib.nullcontext()

    def insert(self, batches: Sequence[Batch], *, linger: bool = False) -> None:
        if any(rows for _, rows in batches):
            self._run_writes.insert(_thread_of(batches), batches, linger=linger)

    def _insert_now(self, batches: Sequence[Batch]) -> None:
        # One statement in autocommit is atomic by itself: straight through libpq.
        one = None if self._set_local else self._raw.one(batches)
        if one is None:
            statements = self._statements(batches)
            if statements:
                self._write_held(statements)
            return
        with self._autocommit() as (driver, cursor, prepared):
            if driver.pgconn.parameter_status(b"client_encoding") == b"UTF8":
                execute_raw(driver, *one, prepared if self._prepare else None)
            else:
                # The libpq path sends text as UTF-8; psycopg encodes any other.
                self._write(driver, cursor, self._statements(batches))

    def _insert_together(self, requests: list[Sequence[Batch]]) -> None:
        self._insert_now([batch for batches in requests for batch in batches])

    def _write_held(self, statements: Sequence[tuple[str, Any]]) -> None:
        """Run `statements` atomically on a held connection, or a pooled one when all are busy."""
        with self._autocommit() as (driver, cursor, _):
            self._write(driver, cursor, statements)

    @contextlib.contextmanager
    def _autocommit(self) -> Iterator[tuple[Any, Any, Prepared | None]]:
        """A driver connection in autocommit, a cursor on it and its prepared INSERTs: a
        held one, or a pooled one (none prepared) while every held connection is busy."""
        held = self._held.take()
        if held is None:
            with self.engine.connect() as conn:
                driver: Any = conn.connection.driver_connection
                driver.autocommit = True
                try:
                    yield driver, driver, None
                finally:
                    driver.autocommit = False
            return
        try:
            yield held.driver, held.cursor, held.prepared
        finally:
            self._held.give(held)

    def _write(self, driver: Any, cursor: Any, statements: Sequence[tuple[str, Any]]) -> None:
        """Run `statements` atomically on a driver connection in autocommit."""
        if len(statements) == 1 and not self._set_local:
            # One statement in autocommit: one round trip, atomic by itself.
            cursor.execute(*statements[0])
            return
        with self._pipeline(driver), driver.transaction():
            if self._set_local:
                driver.execute(_ASYNC_COMMIT)
            for sql, args in statements:
                driver.execute(sql, args)

    async def ainsert(self, batches: Sequence[Batch]) -> None:
        statements = self._statements(batches)
        if not statements:
            return
        async with self._async_engine().connect() as conn:
            raw = await conn.get_raw_connection()
            driver: Any = raw.driver_connection
            if len(statements) == 1 and not self._set_local:
                await driver.set_autocommit(True)
                try:
                    await driver.execute(*statements[0])
                finally:
                    await driver.set_autocommit(False)
                return
            async with self._pipeline(driver), driver.transaction():
                if self._set_local:
                    await driver.execute(_ASYNC_COMMIT)
                for sql, args in statements:
                    await driver.execute(sql, args)

    def run_statement(self, sql: str, params: dict[str, Any]) -> None:
        """Run one statement straight on the driver: atomic, in one round trip.

        Raises:
            IntegrityError: the statement broke a constraint; it changed nothing.
        """
        import psycopg

        try:
            self._write_held([(sql, params)])
        except psycopg.IntegrityError as exc:
            raise IntegrityError(sql, params, exc) from exc

    async def arun_statement(self, sql: str, params: dict[str, Any]) -> None:
        """Async `run_statement`."""
        import psycopg

        async with self._async_engine().connect() as conn:
            raw = await conn.get_raw_connection()
            driver: Any = raw.driver_connection
            try:
                if not self._set_local:
                    await driver.set_autocommit(True)
                    try:
                        await driver.execute(sql, params)
                    finally:
                        await driver.set_autocommit(False)
                    return
                async with self._pipeline(driver), driver.transaction():
                    await driver.execute(_ASYNC_COMMIT)
                    await driver.execute(sql, params)
            except psycopg.IntegrityError as exc:
                raise IntegrityError(sql, params, exc) from exc

    def fetch(self, sql: str, args: Any) -> list[Any]:
        """Run one precompiled query straight on the driver, in autocommit; its rows."""
        with self._autocommit() as (_, cursor, _):
            return cursor.execute(sql, args).fetchall()  # type: ignore[no-any-return]

    async def afetch(self, sql: str, args: Any) -> list[Any]:
        """Async `fetch`."""
        async with self._async_engine().connect() as conn:
            raw = await conn.get_raw_connection()
            driver: Any = raw.driver_connection
            await driver.set_autocommit(True)
            try:
                cursor = await driver.execute(sql, args)
                return await cursor.fetchall()  # type: ignore[no-any-return]
            finally:
                await driver.set_autocommit(False)

    def run(self, plan: Plan[T], *, write: bool) -> T:
        if not write:
            try:
                first = next(plan)
            except StopIteration as done:
                return done.value  # type: ignore[no-any-return]
            if first in self._reads:
                with self._autocommit() as (_, cursor, _):
                    return self._reads.drive_autocommit(plan, first, cursor)
            # Reads in autocommit: at READ COMMITTED a transaction would add
            # BEGIN and COMMIT round trips and no consistency.
            with self.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                return drive(plan, functools.partial(execute, conn), first)
        with self.engine.begin() as conn:
            return drive(plan, functools.partial(execute, conn))

    async def arun(self, plan: Plan[T], *, write: bool) -> T:
        if not write:
            async with self._async_engine().connect() as conn:
                conn = await conn.execution_options(isolation_level="AUTOCOMMIT")
                return await adrive(conn, plan)
        async with self._async_engine().begin() as conn:
            return await adrive(conn, plan)

    def _opened_async(self, connection: Any, _record: Any) -> None:
        self._async_drivers.add(connection.driver_connection)

    def close(self) -> None:
        self._held.close()
        self.engine.dispose()
        for engine in list(self._async_engines.values()):
            # Without the owning loop the pool cannot close its connections
            # politely: drop it, and close each one's socket below.
            engine.sync_engine.dispose(close=False)
        self._async_engines.clear()
        for driver in list(self._async_drivers):
            if not driver.closed:
                # The loop that opened it may be gone (`asyncio.run` returned), and
                # psycopg's own close needs it; ending the libpq connection does not.
                driver.pgconn.finish()
        self._async_drivers.clear()

    async def aclose(self) -> None:
        current = self._async_engines.pop(asyncio.get_running_loop(), None)
        if current is not None:
            await current.dispose()
        self.close()
