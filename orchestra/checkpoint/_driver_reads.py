"""`get_tuple`'s SELECTs, compiled once and run straight on the DB-API driver.

`get_tuple` runs at the start of every invoke, when SQLAlchemy's execute path (pool
checkout events, execution context, result wrapping: some 270 Python calls) runs on
cold CPU caches and costs several times what SQLite does (on PostgreSQL, as much as the
round trip). The driver is sqlite3 (qmark parameters) or a psycopg cursor (named ones).
The SQL text, the bound parameters' defaults and the result conversions (the metadata's
JSON) stay SQLAlchemy's; rows come back as SQLAlchemy `Row`s, so the plans read them as
they always did.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from sqlalchemy import Row, Select
from sqlalchemy.engine import Dialect
from sqlalchemy.engine.result import result_tuple
from sqlalchemy.sql.compiler import SQLCompiler

from orchestra.checkpoint._plans import Outcome, Plan, Step

__all__ = ["CompiledRead", "DriverReads"]

T = TypeVar("T")


class CompiledRead:
    """A SELECT in the dialect's SQL, with its parameters' order and its columns' conversions.

    Expanding parameters (`IN` lists) are expanded by SQLAlchemy per call; a statement
    without them builds its driver parameters with no SQLAlchemy call at all.
    """

    __slots__ = (
        "_compiled",
        "_convert",
        "_defaults",
        "_expanding",
        "_keys",
        "_make_row",
        "_names",
        "_positional",
        "sql",
    )

    def __init__(self, statement: Select[Any], dialect: Dialect) -> None:
        compiled = statement.compile(dialect=dialect)
        assert isinstance(compiled, SQLCompiler)
        self._compiled = compiled
        self.sql: str = compiled.string
        binds = compiled.binds
        self._positional = compiled.positional
        # Positional: the bind keys in order. Named: each key's name in the SQL text.
        self._names: tuple[str, ...] = tuple(compiled.positiontup or ())
        self._keys = tuple((compiled.bind_names[bind], key) for key, bind in binds.items())
        self._expanding = any(bind.expanding for bind in binds.values())
        # Literal values SQLAlchemy bound itself (LIMIT 1 is `LIMIT ? OFFSET ?`).
        self._defaults = {
            name: bind.effective_value for name, bind in binds.items() if not bind.required
        }
        assert not any(
            bind.type.dialect_impl(dialect).bind_processor(dialect) for bind in binds.values()
        ), "parameters are passed to sqlite3 as they are"
        columns = list(statement.selected_columns)
        self._make_row: Callable[[Any], Row[Any]] = result_tuple(
            list(statement.selected_columns.keys())
        )
        self._convert = tuple(
            (index, process)
            for index, column in enumerate(columns)
            if (process := column.type.dialect_impl(dialect).result_processor(dialect, None))
        )

    def execute(self, driver: Any, params: Mapping[str, Any]) -> list[Row[Any]]:
        """The rows the statement finds for these named values (`driver`: a sqlite3
        connection or a psycopg cursor)."""
        defaults = self._defaults
        args: Any
        if self._expanding:
            state = self._compiled.construct_expanded_state(dict(params))
            sql = state.statement
            args = state.positional_parameters if self._positional else state.parameters
        elif self._positional:
            sql = self.sql
            args = tuple(params[n] if n in params else defaults[n] for n in self._names)
        else:
            sql = self.sql
            args = {
                name: params[key] if key in params else defaults[key] for name, key in self._keys
            }
        cursor = driver.execute(sql, args)
        found = cursor.fetchall()
        if not found:
            return []
        make_row, convert = self._make_row, self._convert
        if not convert:
            return [make_row(values) for values in found]
        rows = []
        for values in found:
            converted = list(values)
            for index, process in convert:
                converted[index] = process(converted[index])
            rows.append(make_row(converted))
        return rows


class DriverReads:
    """The SELECTs registered to run on the driver, by statement."""

    def __init__(self, dialect: Dialect) -> None:
        self._dialect = dialect
        # Keyed by id: the statements are long-lived attributes of `Statements`, held here too.
        self._reads: dict[int, tuple[Select[Any], CompiledRead]] = {}

    def register(self, statement: Select[Any]) -> None:
        self._reads[id(statement)] = (statement, CompiledRead(statement, self._dialect))

    def __contains__(self, step: Step) -> bool:
        """Whether the step's statement was registered."""
        return id(step.statement) in self._reads

    def drive(self, plan: Plan[T], first: Step, driver: Any) -> T:
        """Run `plan`, whose first step is `first`, in one read transaction on a
        sqlite3 connection.

        Raises:
            KeyError: a step's statement was not registered.
        """
        driver.execute("BEGIN")
        try:
            return self.drive_autocommit(plan, first, driver)
        finally:
            driver.rollback()

    def drive_autocommit(self, plan: Plan[T], first: Step, driver: Any) -> T:
        """Run `plan` on `driver` as it is: on PostgreSQL a cursor in autocommit, where
        (at READ COMMITTED) a transaction would add round trips and no consistency.

        Raises:
            KeyError: a step's statement was not registered.
        """
        try:
            step = first
            while True:
                read = self._reads[id(step.statement)][1]
                rows = read.execute(driver, step.params or {})  # type: ignore[arg-type]
                step = plan.send(Outcome(rows, -1))
        except StopIteration as done:
            return done.value  # type: ignore[no-any-return]
