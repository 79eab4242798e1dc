"""What the saver writes: each channel value once per version, nothing more."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest
from sqlalchemy import delete, func, inspect, select, text

from orchestra.checkpoint import SQLCheckpointer
from orchestra.checkpoint.schema import SCHEMA_VERSION, blobs, checkpoints, schema_versions
from orchestra.errors import ThreadExistsError
from tests.checkpoint.graphs import pipeline

DOC = "lorem ipsum " * 9_000  # ~100 KB


def _count(saver: SQLCheckpointer, statement: object) -> int:
    with saver.engine.connect() as conn:
        return int(conn.execute(statement).scalar_one())  # type: ignore[call-overload]


def test_unchanged_channel_is_stored_once_however_many_steps_run(saver: SQLCheckpointer) -> None:
    app = pipeline(20, saver)
    config = {"configurable": {"thread_id": "doc"}}
    app.invoke({"counter": 0, "doc": DOC}, config)

    doc_rows = _count(
        saver,
        select(func.count()).where(blobs.c.thread_id == "doc", blobs.c.channel == "doc"),
    )
    assert doc_rows == 1
    assert _count(saver, select(func.count()).where(checkpoints.c.thread_id == "doc")) == 22


def test_a_step_that_leaves_a_large_document_alone_stores_under_2_kb(
    saver: SQLCheckpointer,
) -> None:
    app = pipeline(20, saver)
    config = {"configurable": {"thread_id": "doc"}}
    app.invoke({"counter": 0, "doc": DOC}, config)

    def stored_bytes() -> int:
        with saver.engine.connect() as conn:
            cp = conn.execute(select(func.sum(func.length(checkpoints.c.checkpoint)))).scalar_one()
            bl = conn.execute(
                select(func.sum(func.coalesce(func.length(blobs.c.blob), 0)))
            ).scalar_one()
            return int(cp) + int(bl)

    before = stored_bytes()
    app.invoke({"counter": 0}, config)  # 20 more steps; `doc` is still in the state
    assert app.get_state(config).values["doc"] == DOC
    assert (stored_bytes() - before) / 20 < 2_048


def test_put_stores_a_large_value_once_per_version_and_small_ones_inline(
    saver: SQLCheckpointer,
) -> None:
    config = {"configurable": {"thread_id": "t", "checkpoint_ns": ""}}
    a1, a2, b = "A1" * 200, "A2" * 200, "B" * 400  # over the inline limit
    v1 = saver.get_next_version(None, None)
    first = {
        "v": 1,
        "id": "1f0000000000000000000000000000001",
        "ts": "2026-01-01T00:00:00+00:00",
        "channel_values": {"a": a1, "b": b, "small": 1},
        "channel_versions": {"a": v1, "b": v1, "small": v1},
        "versions_seen": {},
        "updated_channels": None,
    }
    stored = saver.put(config, first, {"step": 0}, {"a": v1, "b": v1, "small": v1})  # type: ignore[arg-type]
    v2 = saver.get_next_version(v1, None)
    second = {
        **first,
        "id": "1f0000000000000000000000000000002",
        "channel_values": {"a": a2, "b": b, "small": 2},
        "channel_versions": {"a": v2, "b": v1, "small": v2},
    }
    saver.put(stored, second, {"step": 1}, {"a": v2, "small": v2})  # type: ignore[arg-type]

    assert _count(saver, select(func.count()).where(blobs.c.channel == "b")) == 1
    assert _count(saver, select(func.count()).where(blobs.c.channel == "a")) == 2
    assert _count(saver, select(func.count()).where(blobs.c.channel == "small")) == 0
    latest = saver.get_tuple(config)
    assert latest is not None
    assert latest.checkpoint["channel_values"] == {"a": a2, "b": b, "small": 2}
    earlier = saver.get_tuple(stored)
    assert earlier is not None
    assert earlier.checkpoint["channel_values"] == {"a": a1, "b": b, "small": 1}


def test_copy_thread_refuses_a_target_that_already_has_checkpoints(
    saver: SQLCheckpointer,
) -> None:
    app = pipeline(1, saver)
    for thread in ("source", "target"):
        app.invoke({"counter": 0, "doc": thread}, {"configurable": {"thread_id": thread}})

    with pytest.raises(ThreadExistsError, match="'target' already has checkpoints"):
        saver.copy_thread("source", "target")
    target = app.get_state({"configurable": {"thread_id": "target"}})
    assert target.values["doc"] == "target"


def test_setup_records_every_migration_once(saver: SQLCheckpointer) -> None:
    saver.setup()
    saver.setup()
    with saver.engine.connect() as conn:
        versions = conn.execute(select(schema_versions.c.v).order_by(schema_versions.c.v)).all()
    assert [v for (v,) in versions] == list(range(SCHEMA_VERSION + 1))


def _checkpoint_indexes(saver: SQLCheckpointer) -> set[str]:
    return {str(index["name"]) for index in inspect(saver.engine).get_indexes(checkpoints.name)}


def test_an_older_database_trades_its_run_id_index_for_one_of_set_run_ids(
    saver: SQLCheckpointer,
) -> None:
    saver.setup()
    with saver.engine.begin() as conn:
        # Back to schema version 4, which indexed every checkpoint's run_id.
        conn.execute(text("DROP INDEX ix_orchestra_checkpoints_set_run_id"))
        conn.execute(
            text("CREATE INDEX ix_orchestra_checkpoints_run_id ON orchestra_checkpoints (run_id)")
        )
        conn.execute(delete(schema_versions).where(schema_versions.c.v >= 5))
    assert "ix_orchestra_checkpoints_run_id" in _checkpoint_indexes(saver)

    with SQLCheckpointer(saver.engine.url.render_as_string(hide_password=False)) as upgraded:
        upgraded.setup()
        indexes = _checkpoint_indexes(upgraded)
    assert "ix_orchestra_checkpoints_set_run_id" in indexes
    assert "ix_orchestra_checkpoints_run_id" not in indexes


def test_delete_for_runs_seeks_the_index_that_leaves_out_runless_checkpoints(
    tmp_path: Path,
) -> None:
    with SQLCheckpointer(f"sqlite:///{tmp_path}/plan.db") as saver:
        saver.setup()
        query = saver._sql.checkpoints_of_runs(["run-a", "run-b"]).compile(
            saver.engine, compile_kwargs={"render_postcompile": True}
        )
        with saver.engine.connect() as conn:
            plan = conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {query}", ("run-a", "run-b")).all()
            (definition,) = conn.execute(
                text("SELECT sql FROM sqlite_master WHERE name = :name"),
                {"name": "ix_orchestra_checkpoints_set_run_id"},
            ).one()
    assert "WHERE run_id IS NOT NULL" in definition
    assert any("ix_orchestra_checkpoints_set_run_id" in str(row[-1]) for row in plan)


def test_a_task_with_more_writes_than_one_statement_holds_keeps_them_all_in_order(
    saver: SQLCheckpointer,
) -> None:
    config = {"configurable": {"thread_id": "many", "checkpoint_ns": ""}}
    checkpoint = {
        "v": 1,
        "id": "1f0000000000000000000000000000001",
        "ts": "2026-01-01T00:00:00+00:00",
        "channel_values": {f"c{i}": i for i in range(1_200)},
        "channel_versions": {f"c{i}": 1.5 for i in range(1_200)},
        "versions_seen": {},
        "updated_channels": None,
    }
    stored = saver.put(config, checkpoint, {}, checkpoint["channel_versions"])  # type: ignore[arg-type]
    saver.put_writes(stored, [(f"w{i}", i) for i in range(1_300)], "task")

    loaded = saver.get_tuple(config)
    assert loaded is not None
    assert loaded.checkpoint["channel_values"] == checkpoint["channel_values"]
    assert [value for _, _, value in loaded.pending_writes or []] == list(range(1_300))


def test_sqlite_stores_metadata_as_sorted_minified_json_text_once_encoded(
    tmp_path: Path,
) -> None:
    path = tmp_path / "metadata.db"
    with SQLCheckpointer(f"sqlite:///{path}") as saver:
        app = pipeline(2, saver)
        # The first step also stores the document as a blob: two inserts in one put.
        config = {"configurable": {"thread_id": "doc"}, "metadata": {"tenant": "t1"}}
        app.invoke({"counter": 0, "doc": DOC}, config)
        stored = [t.metadata for t in saver.list(config)]
    with sqlite3.connect(path) as conn:
        raw = conn.execute(
            "SELECT typeof(metadata), metadata FROM orchestra_checkpoints "
            "ORDER BY checkpoint_id DESC"
        ).fetchall()
    assert len(raw) == len(stored) == 4
    for (kind, text_), metadata in zip(raw, stored, strict=True):
        assert kind == "text"
        assert text_ == json.dumps(metadata, sort_keys=True, separators=(",", ":"))
        assert metadata["tenant"] == "t1"  # type: ignore[typeddict-item]
