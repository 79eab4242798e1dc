"""Safe by default: no pickle, an allow-list for msgpack, vetted filters, clear errors."""

from __future__ import annotations

import pickle
from pathlib import Path
from typing import Any

import ormsgpack
import pytest
from langgraph.checkpoint.serde.jsonplus import EXT_CONSTRUCTOR_SINGLE_ARG, JsonPlusSerializer
from sqlalchemy import insert, select, update

from orchestra.checkpoint import DEFAULT_URL, SQLCheckpointer
from orchestra.checkpoint.schema import blobs, checkpoints, schema_versions
from orchestra.errors import (
    CheckpointSchemaError,
    InvalidDatabaseURLError,
    InvalidMetadataFilterError,
    UnsafeCheckpointDataError,
)
from tests.checkpoint.graphs import pipeline


class _TouchFile:
    """Unpickling this creates a file: the evidence that pickle ran."""

    def __init__(self, path: str) -> None:
        self.path = path

    def __reduce__(self) -> tuple[Any, tuple[str]]:
        return (Path.touch, (Path(self.path),))


class Opaque:
    """A type msgpack cannot encode, so a pickle-fallback serde would pickle it."""

    __slots__ = ("x",)


def _run_once(saver: SQLCheckpointer, thread_id: str = "t") -> dict[str, Any]:
    config = {"configurable": {"thread_id": thread_id}}
    # Large enough for the blobs table (small values travel in the checkpoint row).
    pipeline(1, saver).invoke({"counter": 0, "doc": "safe " * 100}, config)
    return config


def test_a_pickle_payload_in_the_database_is_refused_unrun(
    saver: SQLCheckpointer, tmp_path: Path
) -> None:
    config = _run_once(saver)
    marker = tmp_path / "pickle-ran"
    with saver.engine.begin() as conn:
        conn.execute(
            update(blobs)
            .where(blobs.c.channel == "doc")
            .values(type="pickle", blob=pickle.dumps(_TouchFile(str(marker))))
        )

    with pytest.raises(UnsafeCheckpointDataError, match="no pickle"):
        saver.get_tuple(config)
    assert not marker.exists()


def test_a_msgpack_payload_naming_a_type_off_the_allow_list_is_not_rebuilt(
    saver: SQLCheckpointer, tmp_path: Path
) -> None:
    config = _run_once(saver)
    marker = tmp_path / "msgpack-ran"
    # What LangGraph's encoder writes for "call os.system(<command>)".
    payload = ormsgpack.packb(
        ormsgpack.Ext(
            EXT_CONSTRUCTOR_SINGLE_ARG, ormsgpack.packb(["os", "system", f"touch {marker}"])
        )
    )
    with saver.engine.begin() as conn:
        conn.execute(
            update(blobs).where(blobs.c.channel == "doc").values(type="msgpack", blob=payload)
        )

    loaded = saver.get_tuple(config)
    assert loaded is not None
    assert loaded.checkpoint["channel_values"]["doc"] == f"touch {marker}"
    assert not marker.exists()


def test_a_serializer_that_falls_back_to_pickle_cannot_write(db_url: str) -> None:
    with SQLCheckpointer(db_url, serde=JsonPlusSerializer(pickle_fallback=True)) as saver:
        config = {"configurable": {"thread_id": "t", "checkpoint_ns": "", "checkpoint_id": "1"}}
        with pytest.raises(UnsafeCheckpointDataError, match="'pickle'"):
            saver.put_writes(config, [("channel", Opaque())], "task")


@pytest.mark.parametrize(
    "key",
    ["source') OR 1=1 --", "a.b", "$.source", "parents[0]", "", "with space", 'q"uote'],
)
def test_a_metadata_filter_key_that_is_not_a_plain_name_is_rejected(
    saver: SQLCheckpointer, key: str
) -> None:
    config = _run_once(saver)
    with pytest.raises(InvalidMetadataFilterError, match="is not allowed"):
        list(saver.list(config, filter={key: "input"}))


def test_a_metadata_filter_value_is_data_not_sql(saver: SQLCheckpointer) -> None:
    config = _run_once(saver)
    assert len(list(saver.list(config, filter={"source": "input"}))) == 1
    assert list(saver.list(config, filter={"source": "x' OR '1'='1"})) == []
    assert list(saver.list(config, filter={"source": "input' --"})) == []


def test_a_metadata_filter_value_that_is_not_json_data_is_rejected(
    saver: SQLCheckpointer,
) -> None:
    with pytest.raises(InvalidMetadataFilterError, match="must be JSON data"):
        list(saver.list(None, filter={"source": object()}))


def test_nul_characters_in_metadata_are_dropped_not_fatal(saver: SQLCheckpointer) -> None:
    # PostgreSQL's JSONB cannot hold U+0000 at any depth.
    config = {
        "configurable": {"thread_id": "nul", "tenant": "a\x00b"},
        "metadata": {"note": "x\x00y"},
    }
    pipeline(1, saver).invoke({"counter": 0, "doc": "d"}, config)
    from_graph = saver.get_tuple(config)
    assert from_graph is not None
    assert from_graph.metadata["note"] == "xy"  # type: ignore[typeddict-item]
    assert from_graph.metadata["tenant"] == "ab"  # type: ignore[typeddict-item]

    nested = {"source": "update", "step": 9, "nested": {"k\x00": ["v\x00w"]}}
    saver.put(
        from_graph.config,
        {
            "v": 1,
            "id": "1f9999999999999999999999999999999",
            "ts": "2026-01-01T00:00:00+00:00",
            "channel_values": {},
            "channel_versions": {},
            "versions_seen": {},
            "updated_channels": None,
        },
        nested,  # type: ignore[arg-type]
        {},
    )
    latest = saver.get_tuple({"configurable": {"thread_id": "nul"}})
    assert latest is not None
    assert latest.metadata["nested"] == {"k": ["vw"]}  # type: ignore[typeddict-item]
    assert len(list(saver.list(None, filter={"tenant": "ab"}))) == 3


@pytest.mark.parametrize(
    "url",
    ["mysql://user@host/db", "postgresql+asyncpg://u@h/db", "sqlite://", "not a url"],
)
def test_an_unsupported_database_url_is_rejected_with_the_supported_forms(url: str) -> None:
    with pytest.raises(InvalidDatabaseURLError, match=r"sqlite:///|postgresql\+psycopg|file"):
        SQLCheckpointer(url)


def test_the_sqlite_url_parent_directory_is_created(tmp_path: Path) -> None:
    assert DEFAULT_URL == "sqlite:///checkpoints/orchestra.db"
    with SQLCheckpointer(f"sqlite:///{tmp_path}/nested/dir/orchestra.db") as saver:
        saver.setup()
    assert (tmp_path / "nested" / "dir" / "orchestra.db").is_file()


def test_a_database_from_a_newer_orchestra_is_refused(db_url: str) -> None:
    with SQLCheckpointer(db_url) as saver:
        saver.setup()
        with saver.engine.begin() as conn:
            conn.execute(insert(schema_versions).values(v=99))
    with (
        SQLCheckpointer(db_url) as newer,
        pytest.raises(CheckpointSchemaError, match="upgrade Orchestra"),
    ):
        newer.get_tuple({"configurable": {"thread_id": "t"}})


def test_a_pickle_payload_inside_a_checkpoint_row_is_refused_unrun(
    saver: SQLCheckpointer, tmp_path: Path
) -> None:
    config = _run_once(saver)
    marker = tmp_path / "inline-pickle-ran"
    latest = saver.get_tuple(config)
    assert latest is not None
    checkpoint_id = latest.config["configurable"]["checkpoint_id"]
    with saver.engine.begin() as conn:
        data = conn.execute(
            select(checkpoints.c.checkpoint).where(checkpoints.c.checkpoint_id == checkpoint_id)
        ).scalar_one()
        stored = ormsgpack.unpackb(data)
        # Small values travel inside the checkpoint row, as (type, bytes).
        stored["inline"]["counter"] = ["pickle", pickle.dumps(_TouchFile(str(marker)))]
        conn.execute(
            update(checkpoints)
            .where(checkpoints.c.checkpoint_id == checkpoint_id)
            .values(checkpoint=ormsgpack.packb(stored))
        )

    with pytest.raises(UnsafeCheckpointDataError, match="no pickle"):
        saver.get_tuple(config)
    assert not marker.exists()


def test_metadata_that_spells_out_backslash_u0000_is_kept_as_written(
    saver: SQLCheckpointer,
) -> None:
    # The text \u0000 (six characters), not a NUL: nothing to strip.
    config = {"configurable": {"thread_id": "spelled"}, "metadata": {"note": "a\\u0000b"}}
    pipeline(1, saver).invoke({"counter": 0, "doc": "d"}, config)
    loaded = saver.get_tuple(config)
    assert loaded is not None
    assert loaded.metadata["note"] == "a\\u0000b"  # type: ignore[typeddict-item]
    assert len(list(saver.list(None, filter={"note": "a\\u0000b"}))) == 3
