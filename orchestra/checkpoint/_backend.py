"""The backend interface: run a plan in one transaction, sync or async; and picking one by URL."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal, Protocol, TypeVar

from sqlalchemy import Connection, Engine, Insert, make_url
from sqlalchemy.engine import URL, Dialect
from sqlalchemy.exc import ArgumentError

from orchestra.checkpoint._plans import Outcome, Plan, Step
from orchestra.errors import InvalidDatabaseURLError

if TYPE_CHECKING:
    # sqlalchemy.ext.asyncio needs greenlet, which only the postgres extra installs.
    from sqlalchemy.ext.asyncio import AsyncConnection

__all__ = [
    "Backend",
    "Batch",
    "CompiledInsert",
    "EngineOptions",
    "Synchronous",
    "adrive",
    "drive",
    "execute",
    "open_backend",
]

T = TypeVar("T")

Rows = list[dict[str, Any]]
Batch = tuple[Insert, Rows]
"""An INSERT and the rows to run it with."""

Synchronous = Literal["OFF", "NORMAL", "FULL", "EXTRA"]


@dataclass(frozen=True)
class EngineOptions:
    """Tuning shared by the backends; each reads the fields that apply to it."""

    synchronous: Synchronous = "NORMAL"
    busy_timeout: float = 30.0
    pool_size: int = 5
    max_overflow: int = 10
    prepared_statements: bool = True


class Backend(Protocol):
    """Runs plans against one database."""

    dialect: str
    engine: Engine

    def run(self, plan: Plan[T], *, write: bool) -> T: ...

    def precompile(self, statement: Insert, columns: Sequence[str]) -> None:
        """Compile an INSERT that `insert` will run, binding these columns."""

    def insert(self, batches: Sequence[Batch]) -> None:
        """Run precompiled INSERTs, each with its rows, in one transaction."""

    async def ainsert(self, batches: Sequence[Batch]) -> None:
        """Async `insert`."""

    async def arun(self, plan: Plan[T], *, write: bool) -> T: ...

    def close(self) -> None: ...

    async def aclose(self) -> None: ...


class CompiledInsert:
    """An INSERT compiled once by SQLAlchemy, run straight on the DB-API driver.

    The checkpoint, blob and write inserts run on every graph step, and
    SQLAlchemy's per-execute work (cache key, execution context, result)
    costs more than the database spends on them. The SQL text and the value
    conversions are still SQLAlchemy's, taken from the compiled statement.
    """

    def __init__(self, statement: Insert, columns: Sequence[str], dialect: Dialect) -> None:
        compiled = statement.compile(dialect=dialect, column_keys=list(columns))
        self.sql = compiled.string
        self.positional = bool(compiled.positional)
        self.names = tuple(compiled.positiontup or ()) if self.positional else tuple(compiled.binds)
        self._pairs = tuple(
            (name, compiled.binds[name].type.dialect_impl(dialect).bind_processor(dialect))
            for name in self.names
        )

    def args(self, rows: Rows) -> list[Any]:
        """The driver's parameters for `rows`: tuples (qmark) or dicts (pyformat)."""
        pairs = self._pairs
        if self.positional:
            return [
                tuple([row[name] if p is None else p(row[name]) for name, p in pairs])
                for row in rows
            ]
        return [
            {name: row[name] if p is None else p(row[name]) for name, p in pairs} for row in rows
        ]


def execute(conn: Connection, step: Step) -> Outcome:
    """Run one step through SQLAlchemy."""
    result = conn.execute(step.statement, step.params)
    return Outcome(result.all() if result.returns_rows else [], result.rowcount)


def drive(plan: Plan[T], run_step: Callable[[Step], Outcome]) -> T:
    """Run `plan`, feeding each step's outcome back into it."""
    try:
        step = next(plan)
        while True:
            step = plan.send(run_step(step))
    except StopIteration as done:
        return done.value  # type: ignore[no-any-return]


async def adrive(conn: AsyncConnection, plan: Plan[T]) -> T:
    """`drive` on an async connection."""
    try:
        step = next(plan)
        while True:
            result = await conn.execute(step.statement, step.params)
            rows = result.all() if result.returns_rows else []
            step = plan.send(Outcome(rows, result.rowcount))
    except StopIteration as done:
        return done.value  # type: ignore[no-any-return]


def open_backend(url: str | URL | Engine, options: EngineOptions) -> Backend:
    """The backend for a database URL (or an existing SQLAlchemy Engine).

    Raises:
        InvalidDatabaseURLError: not a SQLite file or a PostgreSQL database.
    """
    if options.synchronous not in ("OFF", "NORMAL", "FULL", "EXTRA"):
        raise InvalidDatabaseURLError(
            f"synchronous={options.synchronous!r} is not a durability level: use NORMAL "
            "(survives a crash of the application) or FULL (also survives power loss)"
        )
    engine = url if isinstance(url, Engine) else None
    try:
        parsed = engine.url if engine is not None else make_url(url)  # type: ignore[arg-type]
    except ArgumentError as exc:
        raise InvalidDatabaseURLError(
            f"{url!r} is not a database URL: use sqlite:///path/to/file.db or "
            "postgresql+psycopg://user:password@host/dbname"
        ) from exc
    backend_name = parsed.get_backend_name()
    if backend_name == "sqlite":
        from orchestra.checkpoint.sqlite import SQLiteBackend

        return SQLiteBackend(parsed, options, engine=engine)
    if backend_name == "postgresql":
        from orchestra.checkpoint.postgres import PostgresBackend

        return PostgresBackend(parsed, options, engine=engine)
    raise InvalidDatabaseURLError(
        f"checkpoint database {parsed.render_as_string(hide_password=True)!r} is not supported: "
        "use sqlite:///path/to/file.db or postgresql+psycopg://user:password@host/dbname"
    )
