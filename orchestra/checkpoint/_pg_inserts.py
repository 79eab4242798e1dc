"""PostgreSQL's per-step INSERTs, sent straight through libpq.

A step's checkpoint (with its task's writes) is one statement, whose round trip
costs the server about 0.1 ms; psycopg's cursor spent as long again on the client
(query conversion, adapting each value, a Jsonb wrapper encoded in Python, its
prepared-statement bookkeeping). Here each statement shape is converted once: its
SQL text (SQLAlchemy's, placeholders numbered), each parameter's PostgreSQL type
and wire format, and where on the rows its value is. A call then makes one bytes
value per parameter (bytea in binary) and sends them with the prepared statement
of its connection, or unnamed when prepared statements are off (pgbouncer).
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable, Sequence
from typing import Any

from psycopg import errors, generators, waiting
from psycopg.pq import ExecStatus
from sqlalchemy import JSON, Float, LargeBinary

from orchestra.checkpoint._backend import Batch, InsertCompiler, Rows, split
from orchestra.checkpoint._statements import json_text

__all__ = ["DriverInserts", "Prepared", "RawInsert", "execute"]

Prepared = dict[bytes, bytes | int]
"""One connection's statements: a prepared one's name, or how often it ran unnamed."""

PREPARE_AFTER = 2
"""Runs of a statement shape, unnamed, before a connection prepares it (a one-off
shape does not pay the extra round trip of preparing)."""

MAX_PREPARED = 200
"""Statement shapes a connection remembers; later ones run unnamed."""

_BYTEA_OID = 17
_WAIT_INTERVAL = 0.1  # as psycopg's own waits: wakes to notice an interrupt
_PLACEHOLDER = re.compile(r"%\((\w+)\)s|%%")
_MISSING_STATEMENT = "26000"  # invalid_sql_statement_name: deallocated under us
_names = itertools.count()


def _text(value: Any) -> bytes:
    text = value if type(value) is str else str(value)
    if "\x00" in text:
        # libpq reads a text parameter up to its first NUL: refuse, as psycopg does.
        raise errors.DataError("PostgreSQL text fields cannot contain NUL (0x00) bytes")
    return text.encode()


def _float(value: Any) -> bytes:
    return repr(float(value)).encode()


def _json(value: Any) -> bytes:
    return _text(value if type(value) is str else json_text(value))


def _bytes(value: Any) -> bytes:
    return bytes(value)


def _dumper(column_type: Any) -> tuple[Callable[[Any], bytes], int, int]:
    """How a column's values travel: the dump, the parameter's type OID (0: the
    server infers it) and the wire format (1: binary)."""
    if isinstance(column_type, LargeBinary):
        return _bytes, _BYTEA_OID, 1
    if isinstance(column_type, JSON):
        return _json, 0, 0
    if isinstance(column_type, Float):
        return _float, 0, 0
    return _text, 0, 0  # text, and integers in their decimal text


class RawInsert:
    """One combined INSERT shape: its libpq SQL and how to make its parameters."""

    __slots__ = ("_plan", "formats", "sql", "types")

    def __init__(self, sql: str, where: Sequence[tuple[str, int, int, str]], tables: list[Any]):
        index = {name: position for position, (name, *_) in enumerate(where)}

        def number(match: re.Match[str]) -> str:
            name = match.group(1)
            return "%" if name is None else f"${index[name] + 1}"

        self.sql: bytes = _PLACEHOLDER.sub(number, sql).encode()
        plan = []
        types, formats = [], []
        for _, batch, row, column in where:
            dump, oid, fmt = _dumper(tables[batch].c[column].type)
            plan.append((batch, row, column, dump))
            types.append(oid)
            formats.append(fmt)
        self._plan = tuple(plan)
        self.types: tuple[int, ...] = tuple(types)
        self.formats: tuple[int, ...] = tuple(formats)

    def params(self, batches: Sequence[Rows]) -> list[bytes | None]:
        """The wire values for these batches' rows (in the shape's order)."""
        out: list[bytes | None] = []
        append = out.append
        for batch, row, column, dump in self._plan:
            value = batches[batch][row][column]
            append(None if value is None else dump(value))
        return out


class DriverInserts:
    """The libpq statements of precompiled INSERT batches, SQL text from SQLAlchemy."""

    def __init__(self, compiler: InsertCompiler) -> None:
        self._compiler = compiler
        self._shapes: dict[tuple[tuple[int, int], ...], RawInsert] = {}

    def one(self, batches: Sequence[Batch]) -> tuple[RawInsert, list[bytes | None]] | None:
        """The one statement of these batches and its parameters; None when a batch
        is too large for one statement (or there is nothing to insert)."""
        parts = [(statement, rows) for statement, rows in batches if rows]
        if not parts:
            return None
        shape = tuple((id(statement), len(rows)) for statement, rows in parts)
        raw = self._shapes.get(shape)
        if raw is None:
            if len(split(parts)) != len(parts):
                return None
            combined = self._compiler.combined(parts)
            tables = [statement.table for statement, _ in parts]
            raw = self._shapes[shape] = RawInsert(combined.sql, combined.where, tables)
        return raw, raw.params([rows for _, rows in parts])


def execute(
    driver: Any, raw: RawInsert, params: list[bytes | None], prepared: Prepared | None
) -> None:
    """Run one INSERT on a psycopg connection outside any transaction (atomic by
    itself); `prepared`: the connection's prepared statements, None for none.

    Raises:
        psycopg.Error: the statement failed; it changed nothing.
    """
    pgconn = driver.pgconn
    name = _name(pgconn, raw, prepared) if prepared is not None else None
    if name is None:
        pgconn.send_query_params(raw.sql, params, param_types=raw.types, param_formats=raw.formats)
    else:
        pgconn.send_query_prepared(name, params, param_formats=raw.formats)
    results = waiting.wait(generators.execute(pgconn), pgconn.socket, interval=_WAIT_INTERVAL)
    for result in results:
        if result.status == ExecStatus.COMMAND_OK:
            continue
        error = errors.error_from_result(result, encoding=driver.info.encoding)
        if name is not None and error.sqlstate == _MISSING_STATEMENT and prepared is not None:
            # Something deallocated every prepared statement (psycopg does after a
            # rolled-back transaction): forget ours and run this one unnamed.
            prepared.clear()
            execute(driver, raw, params, None)
            return
        raise error


def _name(pgconn: Any, raw: RawInsert, prepared: Prepared) -> bytes | None:
    """The name `raw` is prepared under on this connection, preparing it on its
    PREPARE_AFTER-th run; None while it runs unnamed."""
    known = prepared.get(raw.sql)
    if type(known) is bytes:
        return known
    runs = int(known or 0) + 1
    if runs < PREPARE_AFTER:
        if len(prepared) < MAX_PREPARED:
            prepared[raw.sql] = runs
        return None
    name = f"_orchestra_{next(_names)}".encode()
    result = pgconn.prepare(name, raw.sql, param_types=raw.types)
    if result.status != ExecStatus.COMMAND_OK:
        return None  # the statement's own run reports what is wrong
    prepared[raw.sql] = name
    return name
