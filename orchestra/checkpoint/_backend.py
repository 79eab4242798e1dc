"""The backend interface: run a plan in one transaction, sync or async; and picking one by URL."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from operator import itemgetter
from typing import TYPE_CHECKING, Any, Literal, Protocol, TypeVar

from sqlalchemy import Connection, Engine, Insert, Select, bindparam, make_url
from sqlalchemy.engine import URL, Dialect
from sqlalchemy.exc import ArgumentError

from orchestra.checkpoint._compiled import CompiledStatement
from orchestra.checkpoint._plans import Outcome, Plan, Step
from orchestra.errors import InvalidDatabaseURLError

if TYPE_CHECKING:
    # sqlalchemy.ext.asyncio needs greenlet, which only the postgres extra installs.
    from sqlalchemy.ext.asyncio import AsyncConnection

__all__ = [
    "MAX_ROWS",
    "Backend",
    "Batch",
    "CombinedInsert",
    "EngineOptions",
    "InsertCompiler",
    "Synchronous",
    "adrive",
    "bind_rows",
    "drive",
    "execute",
    "open_backend",
    "split",
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

    def precompile_read(self, statement: Select[Any]) -> None:
        """Run read plans that start with this SELECT straight on the driver."""

    def insert(self, batches: Sequence[Batch], *, linger: bool = False) -> None:
        """Run precompiled INSERTs, each with its rows, in one transaction.

        With `linger`, the rows may share a commit with the next insert of their run:
        waiting a moment for it (PostgreSQL; SQLite where commits fsync), or queued for
        it and this returns before they are committed (SQLite where commits do not).
        """

    async def ainsert(self, batches: Sequence[Batch]) -> None:
        """Async `insert`."""

    async def arun(self, plan: Plan[T], *, write: bool) -> T: ...

    def close(self) -> None: ...

    async def aclose(self) -> None: ...


# Rows per compiled INSERT: keeps the bound parameters well under SQLite's
# 32766 and PostgreSQL's 65535 limits.
MAX_ROWS = 500


class CombinedInsert:
    """Batches of INSERTs as one multi-row statement, compiled once per shape.

    The checkpoint, blob and write inserts run on every graph step, and
    SQLAlchemy's per-execute work (cache key, execution context, result)
    costs more than the database spends on them; so they are compiled once
    per (statements, row counts) and run straight on the DB-API driver. The
    SQL text and the value conversions are still SQLAlchemy's.

    Every batch but the last becomes a data-modifying CTE of the last one
    (PostgreSQL only), so a checkpoint and its new channel values are one
    statement: atomic without BEGIN/COMMIT, one round trip.
    """

    __slots__ = ("_rows_args", "_statement", "_where", "sql")

    def __init__(
        self, parts: Sequence[tuple[Insert, Sequence[str], int]], dialect: Dialect
    ) -> None:
        names: list[list[dict[str, str]]] = []
        statements = []
        for index, (statement, columns, count) in enumerate(parts):
            batch_names, bound = bind_rows(statement, columns, count, f"b{index}")
            names.append(batch_names)
            statements.append(bound)
        combined = statements[-1]
        for index, statement in enumerate(statements[:-1]):
            combined = combined.add_cte(statement.cte(f"batch{index}"))
        self._statement = CompiledStatement(combined, dialect)
        self.sql = self._statement.sql
        where = {
            name: (batch, row, column)
            for batch, rows in enumerate(names)
            for row, row_names in enumerate(rows)
            for column, name in row_names.items()
        }
        # For each driver parameter, in order: its bind name and where its value is.
        self._where = tuple((name, *where[name]) for name, _ in self._statement.parameters)
        self._rows_args = (
            _RowsArgs.for_statement(self._statement, self._where, parts)
            if self._statement.positional
            else None
        )

    @property
    def where(self) -> tuple[tuple[str, int, int, str], ...]:
        """For each driver parameter, in order: its bind name, batch, row and column."""
        return self._where

    @property
    def row_major(self) -> bool:
        """Whether the driver's parameters are the rows' columns in order (one batch, qmark)."""
        return self._rows_args is not None and self._rows_args.in_order

    def args(self, batches: Sequence[Rows]) -> Any:
        """The driver's parameters: a tuple (qmark) or a dict (pyformat)."""
        if self._rows_args is not None:
            return self._rows_args(batches[0])
        return self._statement.args({name: batches[b][r][c] for name, b, r, c in self._where})


class _RowsArgs:
    """Positional parameters of a one-batch statement, read straight off its rows.

    The common case on SQLite: the parameters are the rows' columns row by row (in
    the table's column order, which may differ from the rows'), and most columns need
    no conversion, so a C-level `itemgetter` reads each row and only the few
    converted columns (JSON, floats) cost a call.
    """

    __slots__ = ("_convert", "_getter", "in_order")

    def __init__(
        self, columns: Sequence[str], convert: tuple[tuple[int, Any], ...], *, in_order: bool
    ) -> None:
        self._getter = itemgetter(*columns)
        self._convert = convert
        self.in_order = in_order
        """Whether the statement binds each row's columns in the order the rows give them."""

    @classmethod
    def for_statement(
        cls,
        statement: CompiledStatement,
        where: Sequence[tuple[str, int, int, str]],
        parts: Sequence[tuple[Insert, Sequence[str], int]],
    ) -> _RowsArgs | None:
        """The reader for `statement`, whose parameters come from `where`, when it has
        that simple shape; else None."""
        if len(parts) != 1 or len(parts[0][1]) < 2:
            return None
        _, columns, count = parts[0]
        order = [column for _, _, _, column in where[: len(columns)]]
        if sorted(order) != sorted(columns):
            return None
        expected = [(0, row, column) for row in range(count) for column in order]
        if [entry[1:] for entry in where] != expected:
            return None
        first_row = statement.parameters[: len(columns)]
        convert = tuple((index, process) for index, (_, process) in enumerate(first_row) if process)
        return cls(order, convert, in_order=order == list(columns))

    def __call__(self, rows: Rows) -> tuple[Any, ...]:
        getter, convert = self._getter, self._convert
        if not convert and len(rows) == 1:
            return getter(rows[0])  # type: ignore[no-any-return]
        flat: list[Any] = []
        for row in rows:
            values = list(getter(row))
            for index, process in convert:
                values[index] = process(values[index])
            flat.extend(values)
        return tuple(flat)


def bind_rows(
    statement: Insert, columns: Sequence[str], count: int, prefix: str
) -> tuple[list[dict[str, str]], Insert]:
    """`statement` with `count` rows of bound parameters, and each row's parameter names
    by column (`{prefix}_{row}_{column}`, unique within one combined statement)."""
    table: Any = statement.table
    names = [{c: f"{prefix}_{row}_{c}" for c in columns} for row in range(count)]
    values = [
        {c: bindparam(name, type_=table.c[c].type) for c, name in row.items()} for row in names
    ]
    return names, statement.values(values)


class InsertCompiler:
    """Compiles and caches `CombinedInsert`s for the statements a backend registered."""

    def __init__(self, dialect: Dialect) -> None:
        self._dialect = dialect
        self._columns: dict[int, tuple[str, ...]] = {}
        self._cache: dict[tuple[tuple[int, int], ...], CombinedInsert] = {}
        self._singles: dict[tuple[int, int], CombinedInsert] = {}

    def register(self, statement: Insert, columns: Sequence[str]) -> None:
        self._columns[id(statement)] = tuple(columns)

    def single(self, statement: Insert, count: int) -> CombinedInsert:
        """`combined` for one batch of `count` (at most MAX_ROWS) rows."""
        key = (id(statement), count)
        compiled = self._singles.get(key)
        if compiled is None:
            compiled = self._singles[key] = self.combined([(statement, [{}] * count)])
        return compiled

    def combined(self, batches: Sequence[Batch]) -> CombinedInsert:
        """One statement for these (non-empty, at most MAX_ROWS each) batches."""
        shape = tuple((id(statement), len(rows)) for statement, rows in batches)
        compiled = self._cache.get(shape)
        if compiled is None:
            compiled = CombinedInsert(
                [(st, self._columns[id(st)], len(rows)) for st, rows in batches], self._dialect
            )
            self._cache[shape] = compiled
        return compiled


def split(batches: Sequence[Batch]) -> list[Batch]:
    """The non-empty batches, each cut to at most MAX_ROWS rows."""
    return [
        (statement, rows[start : start + MAX_ROWS])
        for statement, rows in batches
        for start in range(0, len(rows), MAX_ROWS)
    ]


def execute(conn: Connection, step: Step) -> Outcome:
    """Run one step through SQLAlchemy."""
    result = conn.execute(step.statement, step.params)
    return Outcome(result.all() if result.returns_rows else [], result.rowcount)


def drive(plan: Plan[T], run_step: Callable[[Step], Outcome], first: Step | None = None) -> T:
    """Run `plan`, feeding each step's outcome back into it (`first`: its first step,
    already taken from it)."""
    try:
        step = next(plan) if first is None else first
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
