"""PostgreSQL: a sync and an async connection pool over psycopg 3.

No saver-wide lock: every operation checks a connection out of the pool, so a
pooled saver serves concurrent callers in parallel. `prepared_statements=False`
turns off psycopg's server-side prepared statements, which a pgbouncer in
transaction mode cannot route.
"""

from __future__ import annotations

import asyncio
import functools
import weakref
from collections.abc import Sequence
from typing import Any, TypeVar

from sqlalchemy import Engine, Insert, bindparam, create_engine
from sqlalchemy.engine import URL, Dialect
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from orchestra.checkpoint._backend import (
    Batch,
    EngineOptions,
    Rows,
    adrive,
    drive,
    execute,
)
from orchestra.checkpoint._plans import Plan
from orchestra.errors import InvalidDatabaseURLError

__all__ = ["PostgresBackend"]

T = TypeVar("T")

_ASYNC_COMMIT = "SET LOCAL synchronous_commit TO off"


class _OneStatement:
    """Batches of INSERTs as a single statement, compiled once per shape.

    Every batch but the last becomes a data-modifying CTE of the last one, so
    a checkpoint and its new channel values are written by one statement:
    atomic without BEGIN/COMMIT, and one round trip to the server.
    """

    def __init__(
        self, parts: Sequence[tuple[Insert, Sequence[str], int]], dialect: Dialect
    ) -> None:
        self._names: list[list[dict[str, str]]] = []
        statements = []
        for index, (statement, columns, count) in enumerate(parts):
            table: Any = statement.table
            names = [{c: f"b{index}_{row}_{c}" for c in columns} for row in range(count)]
            self._names.append(names)
            values = [
                {c: bindparam(name, type_=table.c[c].type) for c, name in row.items()}
                for row in names
            ]
            statements.append(statement.values(values))
        combined = statements[-1]
        for index, statement in enumerate(statements[:-1]):
            combined = combined.add_cte(statement.cte(f"batch{index}"))
        compiled = combined.compile(dialect=dialect)
        self.sql = compiled.string
        self._processors = {
            name: bind.type.dialect_impl(dialect).bind_processor(dialect)
            for name, bind in compiled.binds.items()
        }

    def params(self, batches: Sequence[Rows]) -> dict[str, Any]:
        params: dict[str, Any] = {}
        for names, rows in zip(self._names, batches, strict=True):
            for row_names, row in zip(names, rows, strict=True):
                for column, name in row_names.items():
                    process = self._processors[name]
                    params[name] = row[column] if process is None else process(row[column])
        return params


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
        if not options.prepared_statements:
            connect_args["prepare_threshold"] = None
        elif async_commit and "options" not in url.query:
            connect_args["options"] = "-c synchronous_commit=off"
        self._engine_args: dict[str, Any] = {
            "pool_size": options.pool_size,
            "max_overflow": options.max_overflow,
            "connect_args": connect_args,
        }
        self.engine = engine or create_engine(self._url, **self._engine_args)
        self._columns: dict[int, tuple[str, ...]] = {}
        self._statements: dict[tuple[tuple[int, int], ...], _OneStatement] = {}
        # An async pool's connections belong to the event loop that opened
        # them, so each loop gets its own engine.
        self._async_engines: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, AsyncEngine] = (
            weakref.WeakKeyDictionary()
        )

    def _async_engine(self) -> AsyncEngine:
        loop = asyncio.get_running_loop()
        engine = self._async_engines.get(loop)
        if engine is None:
            engine = create_async_engine(self._url, **self._engine_args)
            self._async_engines[loop] = engine
        return engine

    def precompile(self, statement: Insert, columns: Sequence[str]) -> None:
        self._columns[id(statement)] = tuple(columns)

    def _one_statement(self, batches: Sequence[Batch]) -> tuple[str, dict[str, Any]] | None:
        present = [(statement, rows) for statement, rows in batches if rows]
        if not present:
            return None
        shape = tuple((id(statement), len(rows)) for statement, rows in present)
        compiled = self._statements.get(shape)
        if compiled is None:
            compiled = _OneStatement(
                [(st, self._columns[id(st)], len(rows)) for st, rows in present],
                self.engine.dialect,
            )
            self._statements[shape] = compiled
        return compiled.sql, compiled.params([rows for _, rows in present])

    def insert(self, batches: Sequence[Batch]) -> None:
        statement = self._one_statement(batches)
        if statement is None:
            return
        sql, params = statement
        with self.engine.connect() as conn:
            driver: Any = conn.connection.driver_connection
            if self._set_local:
                with driver.pipeline(), driver.transaction():
                    driver.execute(_ASYNC_COMMIT)
                    driver.execute(sql, params)
                return
            # One statement in autocommit: one round trip, atomic by itself.
            driver.autocommit = True
            try:
                driver.execute(sql, params)
            finally:
                driver.autocommit = False

    async def ainsert(self, batches: Sequence[Batch]) -> None:
        statement = self._one_statement(batches)
        if statement is None:
            return
        sql, params = statement
        async with self._async_engine().connect() as conn:
            raw = await conn.get_raw_connection()
            driver: Any = raw.driver_connection
            if self._set_local:
                async with driver.pipeline(), driver.transaction():
                    await driver.execute(_ASYNC_COMMIT)
                    await driver.execute(sql, params)
                return
            await driver.set_autocommit(True)
            try:
                await driver.execute(sql, params)
            finally:
                await driver.set_autocommit(False)

    def run(self, plan: Plan[T], *, write: bool) -> T:
        with self.engine.begin() as conn:
            return drive(plan, functools.partial(execute, conn))

    async def arun(self, plan: Plan[T], *, write: bool) -> T:
        async with self._async_engine().begin() as conn:
            return await adrive(conn, plan)

    def close(self) -> None:
        self.engine.dispose()
        for engine in list(self._async_engines.values()):
            # Without the owning loop the connections cannot be closed
            # politely; dropping the pool lets them be collected.
            engine.sync_engine.dispose(close=False)
        self._async_engines.clear()

    async def aclose(self) -> None:
        current = self._async_engines.pop(asyncio.get_running_loop(), None)
        if current is not None:
            await current.dispose()
        self.close()
