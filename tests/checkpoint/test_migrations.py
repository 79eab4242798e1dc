"""Schema migrations carry a database written by an older Orchestra forward, rows intact."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, insert

from orchestra.checkpoint import SQLCheckpointer
from orchestra.checkpoint.schema import SCHEMA_VERSION, migration, schema_versions
from tests.checkpoint.graphs import pipeline

DOC = "lorem ipsum " * 9_000  # ~100 KB, stored as a blob
_TABLES = ("orchestra_checkpoints", "orchestra_checkpoint_blobs", "orchestra_checkpoint_writes")


def _database_at(path: Path, version: int) -> None:
    """An empty database built by the migrations up to `version`, as a release left it."""
    engine = create_engine(f"sqlite:///{path}")
    with engine.begin() as conn:
        for v in range(version + 1):
            for statement in migration(v, "sqlite"):
                conn.execute(statement)
            conn.execute(insert(schema_versions).values(v=v))
    engine.dispose()


def _rows(path: Path) -> dict[str, list[tuple[Any, ...]]]:
    with sqlite3.connect(path) as conn:
        return {
            t: conn.execute(f"SELECT * FROM {t} ORDER BY 1, 2, 3, 4, 5").fetchall() for t in _TABLES
        }


def _table_sql(path: Path, table: str = "orchestra_checkpoints") -> str:
    with sqlite3.connect(path) as conn:
        (sql,) = conn.execute("SELECT sql FROM sqlite_master WHERE name = ?", (table,)).fetchone()
    return str(sql)


def _history(saver: SQLCheckpointer, thread_id: str) -> list[tuple[Any, ...]]:
    config = {"configurable": {"thread_id": thread_id}}
    return [
        (t.config, t.parent_config, t.checkpoint, t.metadata, t.pending_writes)
        for t in saver.list(config)
    ]


def _filled_copy(tmp_path: Path, version: int) -> tuple[Path, dict[str, list[tuple[Any, ...]]]]:
    """A database at `version` holding the rows of real runs (a tiny state, a 100 KB
    document, a run id), and each thread's history as the current code reads it."""
    source, old = tmp_path / "source.db", tmp_path / "old.db"
    threads = {"tiny": "", "doc": DOC}
    with SQLCheckpointer(f"sqlite:///{source}") as writer:
        app = pipeline(5, writer)
        for thread_id, doc in threads.items():
            app.invoke({"counter": 0, "doc": doc}, {"configurable": {"thread_id": thread_id}})
        # A run id, so the partial index has a row to carry over.
        app.invoke(
            {"counter": 0, "doc": ""},
            {"configurable": {"thread_id": "run"}, "metadata": {"run_id": "r1"}},
        )
        expected = {t: _history(writer, t) for t in (*threads, "run")}

    _database_at(old, version)
    with sqlite3.connect(old) as conn:
        conn.execute("ATTACH DATABASE ? AS source", (str(source),))
        for table in _TABLES:
            conn.execute(f"INSERT INTO {table} SELECT * FROM source.{table}")
    return old, expected


def test_version_5_checkpoints_move_to_a_rowid_table_and_read_back_identically(
    tmp_path: Path,
) -> None:
    old, expected = _filled_copy(tmp_path, 5)
    assert "WITHOUT ROWID" in _table_sql(old)
    before = _rows(old)
    assert len(before["orchestra_checkpoints"]) > 3 * 5
    assert any(row[4] == "r1" for row in before["orchestra_checkpoints"])

    with SQLCheckpointer(f"sqlite:///{old}") as upgraded:
        upgraded.setup()
        assert _rows(old) == before
        assert "WITHOUT ROWID" not in _table_sql(old)
        assert {t: _history(upgraded, t) for t in expected} == expected
        upgraded.delete_for_runs(["r1"])
        assert _history(upgraded, "run") == []
        # The upgraded table takes new checkpoints, replacing one on a second put.
        app = pipeline(5, upgraded)
        resumed = app.invoke(None, {"configurable": {"thread_id": "tiny"}})
        assert resumed["counter"] == 5
        fresh = app.invoke({"counter": 0, "doc": ""}, {"configurable": {"thread_id": "new"}})
        assert fresh["counter"] == 5
    with sqlite3.connect(old) as conn:
        versions = [v for (v,) in conn.execute("SELECT v FROM orchestra_checkpoint_migrations")]
    assert sorted(versions) == list(range(SCHEMA_VERSION + 1))


def test_version_6_blobs_and_writes_move_to_rowid_tables_and_read_back_identically(
    tmp_path: Path,
) -> None:
    old, expected = _filled_copy(tmp_path, 6)
    rowid_tables = ("orchestra_checkpoint_blobs", "orchestra_checkpoint_writes")
    for table in rowid_tables:
        assert "WITHOUT ROWID" in _table_sql(old, table)
    before = _rows(old)
    assert any(len(row[-1]) > len(DOC) for row in before["orchestra_checkpoint_blobs"])
    assert any(len(row[-1]) > len(DOC) for row in before["orchestra_checkpoint_writes"])

    with SQLCheckpointer(f"sqlite:///{old}") as upgraded:
        upgraded.setup()
        assert _rows(old) == before
        for table in rowid_tables:
            assert "WITHOUT ROWID" not in _table_sql(old, table)
        assert {t: _history(upgraded, t) for t in expected} == expected
        # The rebuilt tables keep their keys unique: a write or blob stored again is
        # ignored, and a resumed and a new thread store theirs.
        app = pipeline(5, upgraded)
        latest = upgraded.get_tuple({"configurable": {"thread_id": "doc"}})
        assert latest is not None
        upgraded.put_writes(latest.config, [("doc", "changed")], "task-1")
        upgraded.put_writes(latest.config, [("doc", "again")], "task-1")
        assert upgraded.get_tuple(latest.config).pending_writes == [  # type: ignore[union-attr]
            ("task-1", "doc", "changed")
        ]
        fresh = app.invoke({"counter": 0, "doc": DOC}, {"configurable": {"thread_id": "new"}})
        assert fresh == {"counter": 5, "doc": DOC}
        assert upgraded.get_tuple({"configurable": {"thread_id": "new"}}) is not None
