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

from sqlalchemy import Engine, Insert, create_engine
from sqlalchemy.engine import URL
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from orchestra.checkpoint._backend import EngineOptions, adrive, drive, execute
from orchestra.checkpoint._plans import Plan
from orchestra.errors import InvalidDatabaseURLError

__all__ = ["PostgresBackend"]

T = TypeVar("T")


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
        if not options.prepared_statements:
            connect_args["prepare_threshold"] = None
        self._engine_args: dict[str, Any] = {
            "pool_size": options.pool_size,
            "max_overflow": options.max_overflow,
            "connect_args": connect_args,
        }
        self.engine = engine or create_engine(self._url, **self._engine_args)
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
        # Steps here are bound by round trips to the server, not by Python.
        return None

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
