"""A statement compiled once by SQLAlchemy and run straight on the DB-API driver.

The journal read and the audit append run once per agent call, where SQLAlchemy's
per-execute work (cache key, execution context, result wrapping) costs more than the
database does. Compiling once keeps SQLAlchemy the source of the SQL text and of the
value conversions; only the execution skips it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from sqlalchemy import ClauseElement
from sqlalchemy.engine import Dialect
from sqlalchemy.sql.compiler import SQLCompiler

__all__ = ["CompiledStatement"]


class CompiledStatement:
    """`statement` in `dialect`'s SQL, with a way to turn named values into driver parameters.

    Args:
        statement: a statement whose parameters are all `bindparam`s (no expanding ones).
        dialect: the engine's dialect, whose paramstyle and type conversions apply.
    """

    __slots__ = ("parameters", "positional", "sql")

    def __init__(self, statement: ClauseElement, dialect: Dialect) -> None:
        compiled = statement.compile(dialect=dialect)
        assert isinstance(compiled, SQLCompiler)
        self.sql: str = compiled.string
        order = compiled.positiontup if compiled.positional else list(compiled.binds)
        plan: list[tuple[str, Callable[[Any], Any] | None]] = []
        for name in order or ():
            bind = compiled.binds[name]
            plan.append((name, bind.type.dialect_impl(dialect).bind_processor(dialect)))
        self.parameters: tuple[tuple[str, Callable[[Any], Any] | None], ...] = tuple(plan)
        """The driver's parameters in order: each bind name and its conversion (or None)."""
        self.positional = bool(compiled.positional)
        """Whether the driver takes a tuple (qmark) rather than a dict (pyformat)."""

    def args(self, values: Mapping[str, Any]) -> Any:
        """The driver's parameters for these values by bind name: a tuple or a dict.

        Raises:
            KeyError: a parameter of the statement has no value.
        """
        converted = [
            values[name] if convert is None else convert(values[name])
            for name, convert in self.parameters
        ]
        if self.positional:
            return tuple(converted)
        return {name: value for (name, _), value in zip(self.parameters, converted, strict=True)}
