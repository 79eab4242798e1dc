"""A one-batch INSERT's parameters are read straight off its rows, even when the rows
give their columns in another order than the table binds them (a task's writes name
`task_path` before `idx`; the table has `idx` first)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from sqlalchemy import create_engine
from sqlalchemy.dialects import sqlite as sqlite_dialect
from sqlalchemy.dialects.sqlite import insert

from orchestra.checkpoint._backend import CombinedInsert
from orchestra.checkpoint.schema import tables, writes

COLUMNS = [
    "thread_id",
    "checkpoint_ns",
    "checkpoint_id",
    "task_id",
    "task_path",
    "idx",
    "channel",
    "type",
    "blob",
]


def _row(idx: int) -> dict[str, object]:
    return {
        "thread_id": "t",
        "checkpoint_ns": "",
        "checkpoint_id": "c1",
        "task_id": "task",
        "task_path": f"path{idx}",
        "idx": idx,
        "channel": "results",
        "type": "msgpack",
        "blob": bytes([idx]),
    }


def test_rows_in_another_column_order_are_bound_as_the_table_orders_them(tmp_path: Path) -> None:
    statement = insert(writes)
    combined = CombinedInsert([(statement, COLUMNS, 2)], sqlite_dialect.dialect())
    rows = [_row(0), _row(1)]
    args = combined.args([rows])
    # Not in the rows' own order, so the precompiled-INSERT lane (which binds rows as
    # they come) must not take this statement.
    assert not combined.row_major
    engine = create_engine(f"sqlite:///{tmp_path / 'rows.db'}")
    tables.create_all(engine, tables=[writes])
    engine.dispose()
    with sqlite3.connect(tmp_path / "rows.db") as connection:
        connection.execute(combined.sql, args)
        stored = connection.execute(
            "SELECT task_path, idx, blob FROM orchestra_checkpoint_writes ORDER BY idx"
        ).fetchall()
    assert stored == [("path0", 0, b"\x00"), ("path1", 1, b"\x01")]


def test_rows_in_the_table_order_are_row_major() -> None:
    in_order = [column.name for column in writes.columns if column.name in COLUMNS]
    combined = CombinedInsert([(insert(writes), in_order, 1)], sqlite_dialect.dialect())
    assert combined.row_major
