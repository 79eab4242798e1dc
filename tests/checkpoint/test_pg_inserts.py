"""PostgreSQL: the per-step INSERTs sent straight through libpq (`_pg_inserts`)."""

from __future__ import annotations

from typing import Any

import psycopg
import pytest
from sqlalchemy import make_url

from orchestra.checkpoint import SQLCheckpointer
from orchestra.checkpoint._pg_inserts import PREPARE_AFTER
from orchestra.checkpoint.postgres import PostgresBackend


def _checkpoint(i: int, value: Any) -> dict[str, Any]:
    return {
        "v": 1,
        "id": f"1f{i:031d}",
        "ts": "2024-01-01T00:00:00+00:00",
        "channel_values": {"n": value},
        "channel_versions": {"n": float(i)},
        "versions_seen": {},
        "updated_channels": None,
    }


def _config(thread_id: str, checkpoint_id: str | None = None) -> Any:
    configurable = {"thread_id": thread_id, "checkpoint_ns": ""}
    if checkpoint_id is not None:
        configurable["checkpoint_id"] = checkpoint_id
    return {"configurable": configurable}


def _dsn(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def _held_prepared(saver: SQLCheckpointer) -> dict[bytes, Any]:
    backend = saver._backend
    assert isinstance(backend, PostgresBackend)
    held = backend._held.take()
    assert held is not None
    try:
        return held.prepared
    finally:
        backend._held.give(held)


@pytest.mark.parametrize("prepared", [True, False])
def test_values_of_every_column_type_read_back_as_written(
    postgres_url: str, prepared: bool
) -> None:
    with SQLCheckpointer(postgres_url, prepared_statements=prepared) as saver:
        stored = None
        for i in range(1, PREPARE_AFTER + 3):
            # Text with quotes and non-ASCII, a float, a large value (blob row, bytea).
            value = {"text": "it's ünïcode % $1", "x": i / 3, "big": "b" * 5000}
            metadata = {"step": i, "note": "naïve 'quoted' %s", "nested": {"ok": True}}
            stored = saver.put(
                _config(
                    "typed", None if stored is None else stored["configurable"]["checkpoint_id"]
                ),
                _checkpoint(i, value),  # type: ignore[arg-type]
                metadata,  # type: ignore[arg-type]
                {"n": float(i)},
            )
            saver.put_writes(stored, [("n", {"task": i}), ("other", None)], f"task-{i}")
        found = saver.get_tuple(_config("typed"))
        assert found is not None
        assert found.checkpoint["channel_values"]["n"] == value
        assert found.metadata["note"] == "naïve 'quoted' %s"
        assert found.metadata["nested"] == {"ok": True}
        assert found.parent_config is not None
        assert [(w[1], w[2]) for w in found.pending_writes or []] == [
            ("n", {"task": i}),
            ("other", None),
        ]
        with psycopg.connect(_dsn(postgres_url)) as conn:
            created = conn.execute(
                "SELECT count(*) FROM orchestra_checkpoints "
                "WHERE thread_id = 'typed' AND created_at > 1.7e9"
            ).fetchone()
        assert created == (PREPARE_AFTER + 2,)
        names = [v for v in _held_prepared(saver).values() if isinstance(v, bytes)]
        assert bool(names) is prepared


def test_statements_prepared_by_a_connection_survive_deallocate_all(postgres_url: str) -> None:
    with SQLCheckpointer(postgres_url, pool_size=1, max_overflow=0) as saver:
        config = _config("dealloc")
        for i in range(1, PREPARE_AFTER + 2):
            config = saver.put(config, _checkpoint(i, i), {"step": i}, {"n": float(i)})  # type: ignore[arg-type]
        prepared = _held_prepared(saver)
        assert any(isinstance(v, bytes) for v in prepared.values())
        backend = saver._backend
        assert isinstance(backend, PostgresBackend)
        held = backend._held.take()
        assert held is not None
        held.driver.execute("DEALLOCATE ALL")
        backend._held.give(held)
        # The next put finds its statement gone, runs it unnamed, and prepares anew later.
        for i in range(10, 10 + PREPARE_AFTER + 1):
            config = saver.put(config, _checkpoint(i, i), {"step": i}, {"n": float(i)})  # type: ignore[arg-type]
        found = saver.get_tuple(_config("dealloc"))
        assert found is not None
        assert found.checkpoint["channel_values"] == {"n": 10 + PREPARE_AFTER}
        assert any(isinstance(v, bytes) for v in _held_prepared(saver).values())


def test_a_failing_insert_raises_the_driver_error_and_leaves_the_connection_usable(
    postgres_url: str,
) -> None:
    with SQLCheckpointer(postgres_url, pool_size=1, max_overflow=0) as saver:
        config = saver.put(_config("ok"), _checkpoint(1, 1), {"step": 1}, {"n": 1.0})  # type: ignore[arg-type]
        # PostgreSQL text cannot hold a NUL: the row is refused, not cut short at it.
        with pytest.raises(psycopg.DataError):
            saver.put(_config("bad\x00id"), _checkpoint(2, 2), {"step": 2}, {"n": 2.0})  # type: ignore[arg-type]
        saver.put(config, _checkpoint(3, 3), {"step": 3}, {"n": 3.0})  # type: ignore[arg-type]
        found = saver.get_tuple(_config("ok"))
        assert found is not None
        assert found.checkpoint["channel_values"] == {"n": 3}


def test_a_connection_in_another_client_encoding_stores_text_as_written(
    postgres_url: str,
) -> None:
    url = make_url(postgres_url).update_query_dict({"client_encoding": "latin1"})
    with SQLCheckpointer(url.render_as_string(hide_password=False)) as saver:
        config = _config("lätin")
        for i in range(1, PREPARE_AFTER + 2):
            config = saver.put(config, _checkpoint(i, i), {"note": "é"}, {"n": float(i)})  # type: ignore[arg-type]
    # Read over UTF-8: the saver's own reads do not decode JSON in other encodings.
    with psycopg.connect(_dsn(postgres_url)) as conn:
        rows = conn.execute(
            "SELECT thread_id, metadata->>'note' FROM orchestra_checkpoints"
        ).fetchall()
    assert rows == [("lätin", "é")] * (PREPARE_AFTER + 1)
