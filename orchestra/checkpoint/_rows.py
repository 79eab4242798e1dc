"""Turning LangGraph checkpoints, blobs and writes into rows and back, shared by sync and async.

All (de)serialisation goes through the saver's serde, and every stored type
tag is checked here: a `pickle` row is refused, whatever serde is configured.
"""

from __future__ import annotations

import random
import re
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, cast

from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.base import (
    WRITES_IDX_MAP,
    ChannelVersions,
    Checkpoint,
    CheckpointMetadata,
    CheckpointTuple,
    PendingWrite,
    get_serializable_checkpoint_metadata,
    writes_sort_key,
)
from langgraph.checkpoint.serde.base import SerializerProtocol
from sqlalchemy import Row

from orchestra.checkpoint._msgpack import encoder_for
from orchestra.checkpoint._statements import json_text
from orchestra.errors import InvalidMetadataFilterError, UnsafeCheckpointDataError

__all__ = [
    "INLINE_LIMIT",
    "LargeValues",
    "RowCodec",
    "next_version",
    "validate_filter",
    "version_key",
]

# A filter key becomes part of a JSON path (`$.key`) on SQLite, so it must be a
# plain member name: no dots, brackets, quotes or whitespace.
_FILTER_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_\-]{0,127}$")
_FILTER_SCALARS = (str, int, float, bool, type(None))

# A value that serialises to at most this many bytes is kept in the checkpoint
# row; a larger one goes to the blobs table, once per version.
INLINE_LIMIT = 256

# Serde type tags a row may carry. Anything else (notably "pickle") is refused.
_SAFE_TYPES = frozenset({"msgpack", "json", "null", "bytes", "bytearray", "empty"})


def validate_filter(metadata_filter: Mapping[str, Any] | None) -> dict[str, Any]:
    """Check a `list(filter=...)` mapping and return it as a plain dict.

    Raises:
        InvalidMetadataFilterError: a key is not a plain identifier, or a value
            is not JSON data.
    """
    if not metadata_filter:
        return {}
    for key, value in metadata_filter.items():
        if not isinstance(key, str) or not _FILTER_KEY.match(key):
            raise InvalidMetadataFilterError(
                f"metadata filter key {key!r} is not allowed: use a name made of letters, "
                "digits, '_' and '-' (for example 'source' or 'run_id')"
            )
        _check_json_value(key, value)
    return dict(metadata_filter)


def _check_json_value(key: str, value: Any) -> None:
    if isinstance(value, _FILTER_SCALARS):
        return
    if isinstance(value, list | tuple):
        for item in value:
            _check_json_value(key, item)
        return
    if isinstance(value, dict) and all(isinstance(k, str) for k in value):
        for item in value.values():
            _check_json_value(key, item)
        return
    raise InvalidMetadataFilterError(
        f"metadata filter value for {key!r} must be JSON data (str, number, bool, None, "
        f"list or dict), not {type(value).__name__}"
    )


def next_version(current: str | int | float | None) -> float:
    """The version after `current`: the next whole number plus a random fraction.

    The fraction matters: two forks of one checkpoint both bump a channel to
    the same whole number, and blobs are keyed by (channel, version), so
    without it the second fork's value would be dropped as a duplicate of the
    first's. A float rather than LangGraph's usual 49-character string keeps
    every checkpoint's version maps (one entry per channel and per node) small.
    """
    if current is None:
        counter = 0
    elif isinstance(current, str):
        counter = int(current.split(".")[0])
    else:
        counter = int(current)
    return counter + 1 + random.random()


def version_key(version: str | int | float) -> str:
    """How a version is spelled in the blobs table."""
    return repr(version) if isinstance(version, float) else str(version)


def _strip_nul(value: Any) -> Any:
    """`value` without NUL characters, which PostgreSQL's JSONB cannot hold."""
    if isinstance(value, str):
        return value.replace("\x00", "")
    if isinstance(value, dict):
        return {_strip_nul(k): _strip_nul(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_strip_nul(v) for v in value]
    return value


class LargeValues:
    """Channel versions known to hold a value too large to inline (bounded, LRU-ish).

    Spares a `put` from serialising a big unchanged value just to learn that
    it is big. Shared by every clone of a saver; safe across threads.
    """

    def __init__(self, capacity: int = 65_536) -> None:
        self._keys: dict[tuple[str, str, str, str], None] = {}
        self._capacity = capacity
        self._lock = threading.Lock()

    def __contains__(self, key: object) -> bool:
        return key in self._keys

    def add(self, key: tuple[str, str, str, str]) -> None:
        with self._lock:
            self._keys[key] = None
            if len(self._keys) > self._capacity:
                del self._keys[next(iter(self._keys))]


class RowCodec:
    """Encodes and decodes rows with one serde.

    Args:
        serde: the saver's serializer.
        metadata_as_text: put a checkpoint row's metadata in as its JSON text (for
            SQLite, whose driver takes it as it is), not as a dict for the driver
            to encode.
    """

    def __init__(self, serde: SerializerProtocol, *, metadata_as_text: bool = False) -> None:
        self.serde = serde
        self.metadata_as_text = metadata_as_text
        self._dumps: Callable[[Any], tuple[str, bytes]] = encoder_for(serde)

    def dump(self, value: Any) -> tuple[str, bytes]:
        type_, data = self._dumps(value)
        if type_ not in _SAFE_TYPES:
            raise UnsafeCheckpointDataError(
                f"the serializer produced {type_!r} data, which Orchestra does not store; "
                "make the value msgpack-serialisable (plain data, pydantic models, dataclasses)"
            )
        return type_, data

    def load(self, type_: str, data: bytes | None) -> Any:
        if type_ not in _SAFE_TYPES:
            raise UnsafeCheckpointDataError(
                f"refusing to load checkpoint data of type {type_!r}: only msgpack/json "
                "data is ever deserialised (no pickle)"
            )
        return self.serde.loads_typed((type_, data or b""))

    # -- put -----------------------------------------------------------------

    def encode_put(
        self,
        config: RunnableConfig,
        checkpoint: Checkpoint,
        metadata: CheckpointMetadata,
        new_versions: ChannelVersions,
        large: LargeValues,
    ) -> tuple[dict[str, Any], list[dict[str, Any]]]:
        """The checkpoint row of a `put`, and the blob rows of its new large values.

        A value that serialises to at most `INLINE_LIMIT` bytes travels inside
        the checkpoint row, so a step over a small state is one row in one
        table. A larger value is written to the blobs table once, when its
        channel gets a new version, and only referenced after that.
        """
        configurable = config["configurable"]
        thread_id = configurable["thread_id"]
        checkpoint_ns = configurable.get("checkpoint_ns", "")
        values = checkpoint["channel_values"]
        inline: dict[str, list[Any]] = {}
        blob_rows = []
        for channel, version in checkpoint["channel_versions"].items():
            # A channel with a version but no value needs nothing stored: a
            # missing value loads as "no value".
            if channel not in values:
                continue
            key = (thread_id, checkpoint_ns, channel, version_key(version))
            changed = channel in new_versions
            if not changed and key in large:
                continue  # stored as a blob when it changed
            value = values[channel]
            if not changed and isinstance(value, str | bytes) and len(value) > INLINE_LIMIT:
                large.add(key)  # too big to inline, no need to serialise to know
                continue
            type_, data = self.dump(value)
            if len(data) <= INLINE_LIMIT:
                inline[channel] = [type_, data]
                continue
            large.add(key)
            if changed:
                blob_rows.append(
                    {
                        "thread_id": thread_id,
                        "checkpoint_ns": checkpoint_ns,
                        "channel": channel,
                        "version": key[3],
                        "type": type_,
                        "blob": data,
                    }
                )
        stored = {k: v for k, v in checkpoint.items() if k != "channel_values"}
        stored["inline"] = inline
        type_, data = self.dump(stored)
        clean_metadata = get_serializable_checkpoint_metadata(config, metadata)
        stored_metadata: Any
        if self.metadata_as_text:
            # JSON spells a NUL \u0000 (a false alarm from a literal "\u0000" only
            # costs a walk): the encoding doubles as the test.
            stored_metadata = json_text(clean_metadata)
            if "\\u0000" in stored_metadata:
                clean_metadata = _strip_nul(clean_metadata)
                stored_metadata = json_text(clean_metadata)
        else:
            # repr() shows a NUL as the text \x00: a cheap test before walking.
            if "\\x00" in repr(clean_metadata):
                clean_metadata = _strip_nul(clean_metadata)
            stored_metadata = clean_metadata
        run_id = clean_metadata.get("run_id")
        row = {
            "thread_id": thread_id,
            "checkpoint_ns": checkpoint_ns,
            "checkpoint_id": checkpoint["id"],
            "parent_checkpoint_id": configurable.get("checkpoint_id"),
            "run_id": str(run_id) if run_id is not None else None,
            "created_at": time.time(),
            "type": type_,
            "checkpoint": data,
            "metadata": stored_metadata,
        }
        return row, blob_rows

    def write_rows(
        self,
        config: RunnableConfig,
        writes: Sequence[tuple[str, Any]],
        task_id: str,
        task_path: str,
    ) -> list[dict[str, Any]]:
        configurable = config["configurable"]
        rows = []
        for idx, (channel, value) in enumerate(writes):
            type_, data = self.dump(value)
            rows.append(
                {
                    "thread_id": configurable["thread_id"],
                    "checkpoint_ns": configurable.get("checkpoint_ns", ""),
                    "checkpoint_id": configurable["checkpoint_id"],
                    "task_id": task_id,
                    "task_path": task_path,
                    "idx": WRITES_IDX_MAP.get(channel, idx),
                    "channel": channel,
                    "type": type_,
                    "blob": data,
                }
            )
        return rows

    # -- get -----------------------------------------------------------------

    def stored_versions(self, type_: str, data: bytes) -> ChannelVersions:
        """The channel versions a serialised checkpoint refers to."""
        stored = self.load(type_, data)
        return cast(ChannelVersions, stored.get("channel_versions") or {})

    def decode(self, rows: Sequence[Row[Any]]) -> list[tuple[Row[Any], dict[str, Any]]]:
        """Each checkpoint row with its decoded checkpoint (values not yet filled in)."""
        return [(row, self.load(row.type, row.checkpoint)) for row in rows]

    @staticmethod
    def blob_keys(
        decoded: Sequence[tuple[Row[Any], dict[str, Any]]],
    ) -> dict[tuple[str, str], set[tuple[str, str]]]:
        """(channel, version) of every blob the checkpoints refer to, by (thread, ns)."""
        keys: dict[tuple[str, str], set[tuple[str, str]]] = {}
        for row, stored in decoded:
            wanted = keys.setdefault((row.thread_id, row.checkpoint_ns), set())
            inline = stored.get("inline") or {}
            for channel, version in (stored.get("channel_versions") or {}).items():
                if channel not in inline:
                    wanted.add((channel, version_key(version)))
        return keys

    def tuples(
        self,
        decoded: Sequence[tuple[Row[Any], dict[str, Any]]],
        blob_rows: Iterable[tuple[str, str, Row[Any]]],
        write_rows: Iterable[tuple[str, str, Row[Any]]],
    ) -> list[CheckpointTuple]:
        """Assemble `CheckpointTuple`s from decoded checkpoints, blob and write rows.

        Blob and write rows come with the (thread_id, checkpoint_ns) they were
        fetched for.
        """
        values: dict[tuple[str, str, str, str], Any] = {}
        for thread_id, ns, b in blob_rows:
            if b.type != "empty":
                values[(thread_id, ns, b.channel, b.version)] = self.load(b.type, b.blob)
        pending: dict[tuple[str, str, str], list[tuple[tuple[str, str, int], PendingWrite]]] = {}
        for thread_id, ns, w in write_rows:
            pending.setdefault((thread_id, ns, w.checkpoint_id), []).append(
                (
                    writes_sort_key(w.task_path, w.task_id, w.idx),
                    (w.task_id, w.channel, self.load(w.type, w.blob)),
                )
            )
        result = []
        for row, stored in decoded:
            fields = dict(stored)
            inline = fields.pop("inline", None) or {}
            channel_values = {ch: self.load(t, data) for ch, (t, data) in inline.items()}
            for channel, version in (fields.get("channel_versions") or {}).items():
                key = (row.thread_id, row.checkpoint_ns, channel, version_key(version))
                if channel not in channel_values and key in values:
                    channel_values[channel] = values[key]
            checkpoint = cast(Checkpoint, {**fields, "channel_values": channel_values})
            key3 = (row.thread_id, row.checkpoint_ns, row.checkpoint_id)
            ordered = sorted(pending.get(key3, []), key=lambda item: item[0])
            result.append(
                CheckpointTuple(
                    config=_config(row.thread_id, row.checkpoint_ns, row.checkpoint_id),
                    checkpoint=checkpoint,
                    metadata=cast(CheckpointMetadata, row._mapping["metadata"]),
                    parent_config=(
                        _config(row.thread_id, row.checkpoint_ns, row.parent_checkpoint_id)
                        if row.parent_checkpoint_id
                        else None
                    ),
                    pending_writes=[write for _, write in ordered],
                )
            )
        return result


def _config(thread_id: str, checkpoint_ns: str, checkpoint_id: str) -> RunnableConfig:
    return {
        "configurable": {
            "thread_id": thread_id,
            "checkpoint_ns": checkpoint_ns,
            "checkpoint_id": checkpoint_id,
        }
    }
