"""SQLite's INSERT parameters, read straight off the rows.

Every row reaches SQLite ready for the driver: bytes, floats, ints and text are
stored as they are, and the checkpoint metadata arrives as its JSON text
(`RowCodec(metadata_as_text=True)`). So a row's parameters are one C-level
`itemgetter` call, with none of SQLAlchemy's per-value conversions (which would
only copy bytes into a memoryview and floats into floats). A JSON column given
something other than text is still encoded here.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from operator import itemgetter
from typing import Any

from sqlalchemy import JSON, Insert

from orchestra.checkpoint._backend import MAX_ROWS, Batch, InsertCompiler, Rows
from orchestra.checkpoint._statements import json_text

__all__ = ["DriverInserts"]

Statement = tuple[str, tuple[Any, ...]]
"""SQL text and its positional parameters."""


class _Shape:
    """One INSERT with a fixed number of rows: its SQL and how to read its parameters."""

    __slots__ = ("_count", "_getter", "_json", "sql")

    def __init__(self, sql: str, columns: Sequence[str], json_columns: tuple[int, ...], count: int):
        self.sql = sql
        self._getter: Callable[[Any], tuple[Any, ...]] = itemgetter(*columns)
        self._json = json_columns
        self._count = count

    def args(self, rows: Rows) -> tuple[Any, ...]:
        getter = self._getter
        if self._count == 1 and not self._json:
            return getter(rows[0])
        flat: list[Any] = []
        for row in rows:
            values = getter(row)
            if self._json:
                values = _encode_json(values, self._json)
            flat.extend(values)
        return tuple(flat)


def _encode_json(values: tuple[Any, ...], columns: tuple[int, ...]) -> tuple[Any, ...]:
    encoded = list(values)
    for index in columns:
        value = encoded[index]
        if value is not None and not isinstance(value, str):
            encoded[index] = json_text(value)
    return tuple(encoded)


class DriverInserts:
    """The sqlite3 statements of precompiled INSERT batches, SQL text from SQLAlchemy."""

    def __init__(self, compiler: InsertCompiler) -> None:
        self._compiler = compiler
        self._columns: dict[int, tuple[str, ...]] = {}
        self._shapes: dict[tuple[int, int], _Shape] = {}

    def register(self, statement: Insert, columns: Sequence[str]) -> None:
        self._compiler.register(statement, columns)
        self._columns[id(statement)] = tuple(columns)

    def one(self, batches: Sequence[Batch]) -> Statement | None:
        """The statement of batches that make exactly one (the common case), else None."""
        found = None
        for statement, rows in batches:
            if rows:
                if found is not None or len(rows) > MAX_ROWS:
                    return None
                found = statement, rows
        if found is None:
            return None
        shape = self._shape(found[0], len(found[1]))
        return shape.sql, shape.args(found[1])

    def all(self, batches: Sequence[Batch]) -> list[Statement]:
        """Every batch's statements, a batch of over MAX_ROWS rows split."""
        statements = []
        for statement, rows in batches:
            for start in range(0, len(rows), MAX_ROWS):
                part = rows[start : start + MAX_ROWS]
                shape = self._shape(statement, len(part))
                statements.append((shape.sql, shape.args(part)))
        return statements

    def _shape(self, statement: Insert, count: int) -> _Shape:
        shape = self._shapes.get((id(statement), count))
        if shape is None:
            columns = self._columns[id(statement)]
            table: Any = statement.table
            json_columns = tuple(
                i for i, name in enumerate(columns) if isinstance(table.c[name].type, JSON)
            )
            compiled = self._compiler.single(statement, count)
            # Precompiled INSERTs bind whole rows in the table's column order.
            assert compiled.row_major, compiled.sql
            sql = compiled.sql
            shape = self._shapes[(id(statement), count)] = _Shape(sql, columns, json_columns, count)
        return shape
