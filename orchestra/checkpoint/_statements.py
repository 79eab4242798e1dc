"""Every SQL statement the saver runs, built once per dialect from the tables in `schema`.

Everything a caller supplies travels as a bound parameter, metadata filter
keys included. On SQLite a key becomes part of a bound JSON path (`$.key`),
where a dot or bracket would change its meaning, so `_rows.validate_filter`
restricts keys to plain names first.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Delete,
    Insert,
    Select,
    Text,
    and_,
    bindparam,
    delete,
    func,
    insert,
    literal,
    or_,
    select,
    true,
    type_coerce,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.sql.expression import Update

from orchestra.checkpoint.schema import blobs, checkpoints, journal, schema_versions, writes

__all__ = ["Statements", "json_text"]

# Arbitrary constant: the key of the advisory lock that serialises `setup()`
# across PostgreSQL sessions.
_SETUP_LOCK_KEY = 0x0C4E57AA

_CHECKPOINT_COLUMNS = (
    checkpoints.c.thread_id,
    checkpoints.c.checkpoint_ns,
    checkpoints.c.checkpoint_id,
    checkpoints.c.parent_checkpoint_id,
    checkpoints.c.type,
    checkpoints.c.checkpoint,
    checkpoints.c["metadata"],
)

Key = tuple[str, str, str]
"""(thread_id, checkpoint_ns, checkpoint_id)"""


class Statements:
    """The statements of one SQL dialect (`sqlite` or `postgresql`)."""

    def __init__(self, dialect: str) -> None:
        self.dialect = dialect
        dialect_insert = postgresql.insert if dialect == "postgresql" else sqlite.insert

        upsert = dialect_insert(checkpoints)
        self.upsert_checkpoint: Insert = upsert.on_conflict_do_update(
            index_elements=[
                checkpoints.c.thread_id,
                checkpoints.c.checkpoint_ns,
                checkpoints.c.checkpoint_id,
            ],
            set_={
                "parent_checkpoint_id": upsert.excluded.parent_checkpoint_id,
                "run_id": upsert.excluded.run_id,
                "type": upsert.excluded.type,
                "checkpoint": upsert.excluded.checkpoint,
                "metadata": upsert.excluded["metadata"],
            },
        )
        # A (channel, version) is immutable: a second write of it is a no-op.
        self.insert_blobs: Insert = dialect_insert(blobs).on_conflict_do_nothing()
        # Regular writes are first-write-wins, so a retried task cannot change
        # what a crashed attempt recorded; special channels (error, interrupt,
        # ...) use fixed negative indexes and take the latest value.
        self.insert_writes: Insert = dialect_insert(writes).on_conflict_do_nothing()
        upsert_w = dialect_insert(writes)
        self.upsert_writes: Insert = upsert_w.on_conflict_do_update(
            index_elements=[
                writes.c.thread_id,
                writes.c.checkpoint_ns,
                writes.c.checkpoint_id,
                writes.c.task_id,
                writes.c.idx,
            ],
            set_={
                "channel": upsert_w.excluded.channel,
                "type": upsert_w.excluded.type,
                "blob": upsert_w.excluded.blob,
                "task_path": upsert_w.excluded.task_path,
            },
        )

        self.latest_checkpoint: Select[Any] = (
            select(*_CHECKPOINT_COLUMNS)
            .where(
                checkpoints.c.thread_id == bindparam("thread_id"),
                checkpoints.c.checkpoint_ns == bindparam("checkpoint_ns"),
            )
            .order_by(checkpoints.c.checkpoint_id.desc())
            .limit(1)
        )
        self.checkpoint_by_id: Select[Any] = select(*_CHECKPOINT_COLUMNS).where(
            checkpoints.c.thread_id == bindparam("thread_id"),
            checkpoints.c.checkpoint_ns == bindparam("checkpoint_ns"),
            checkpoints.c.checkpoint_id == bindparam("checkpoint_id"),
        )
        # Channels x versions of one thread's namespace: two IN lists on the
        # primary key, so the lookup is index seeks whatever the history's
        # length; the caller keeps the exact (channel, version) pairs.
        self.blobs_of: Select[Any] = select(
            blobs.c.channel, blobs.c.version, blobs.c.type, blobs.c.blob
        ).where(
            blobs.c.thread_id == bindparam("thread_id"),
            blobs.c.checkpoint_ns == bindparam("checkpoint_ns"),
            blobs.c.channel.in_(bindparam("channels", expanding=True)),
            blobs.c.version.in_(bindparam("versions", expanding=True)),
        )
        self.writes_of: Select[Any] = select(
            writes.c.checkpoint_id,
            writes.c.task_id,
            writes.c.idx,
            writes.c.task_path,
            writes.c.channel,
            writes.c.type,
            writes.c.blob,
        ).where(
            writes.c.thread_id == bindparam("thread_id"),
            writes.c.checkpoint_ns == bindparam("checkpoint_ns"),
            writes.c.checkpoint_id.in_(bindparam("checkpoint_ids", expanding=True)),
        )
        self.schema_version: Select[Any] = select(func.max(schema_versions.c.v))
        self.record_version: Insert = insert(schema_versions)

    def hot_inserts(self) -> list[tuple[Insert, list[str]]]:
        """The inserts every graph step runs, with the columns they bind."""
        checkpoint_columns = [c.name for c in checkpoints.columns]
        write_columns = [c.name for c in writes.columns]
        return [
            (self.upsert_checkpoint, checkpoint_columns),
            (self.insert_blobs, [c.name for c in blobs.columns]),
            (self.insert_writes, write_columns),
            (self.upsert_writes, write_columns),
        ]

    def hot_reads(self) -> list[Select[Any]]:
        """The SELECTs of `get_tuple`, which every invoke runs first."""
        return [self.latest_checkpoint, self.checkpoint_by_id, self.blobs_of, self.writes_of]

    # -- setup ---------------------------------------------------------------

    def setup_lock(self) -> Select[Any] | None:
        """A statement that holds off other `setup()` calls until this transaction ends.

        SQLite needs none: the writer's `BEGIN IMMEDIATE` already excludes
        every other writer, in this process and in others.
        """
        if self.dialect == "postgresql":
            return select(func.pg_advisory_xact_lock(literal(_SETUP_LOCK_KEY)))
        return None

    # -- reads ---------------------------------------------------------------

    def list_checkpoints(
        self,
        *,
        thread_id: str | None,
        checkpoint_ns: str | None,
        checkpoint_id: str | None,
        metadata_filter: Mapping[str, Any],
        before_id: str | None,
        limit: int | None,
    ) -> Select[Any]:
        """Checkpoint rows matching `list()`'s arguments, newest first."""
        clauses: list[ColumnElement[bool]] = []
        if thread_id is not None:
            clauses.append(checkpoints.c.thread_id == thread_id)
        if checkpoint_ns is not None:
            clauses.append(checkpoints.c.checkpoint_ns == checkpoint_ns)
        if checkpoint_id is not None:
            clauses.append(checkpoints.c.checkpoint_id == checkpoint_id)
        if before_id is not None:
            clauses.append(checkpoints.c.checkpoint_id < before_id)
        clauses.extend(self._metadata_equals(k, v) for k, v in metadata_filter.items())
        stmt = (
            select(*_CHECKPOINT_COLUMNS)
            .where(*clauses)
            .order_by(
                checkpoints.c.checkpoint_id.desc(),
                checkpoints.c.thread_id,
                checkpoints.c.checkpoint_ns,
            )
        )
        if limit is not None:
            stmt = stmt.limit(limit)
        return stmt

    def _metadata_equals(self, key: str, value: Any) -> ColumnElement[bool]:
        column = checkpoints.c["metadata"]
        if self.dialect == "postgresql":
            # JSONB containment: one GIN-able operator, typed comparison.
            return type_coerce(column, JSONB).contains({key: value})
        # SQLite's `->` yields the minified JSON text of the member, which the
        # saver's sorted, minified encoding makes comparable to `json.dumps`.
        member = column.op("->", return_type=Text())(literal(f"$.{key}", Text()))
        return member == literal(json_text(value), Text())

    def metadata_has_key(self, key: str) -> ColumnElement[bool]:
        column = checkpoints.c["metadata"]
        if self.dialect == "postgresql":
            has_key: ColumnElement[bool] = type_coerce(column, JSONB).has_key(key)
            return has_key
        return func.json_type(column, literal(f"$.{key}")).is_not(None)

    def checkpoint_heads(self, thread_id: str) -> Select[Any]:
        """The latest checkpoint id of each namespace of a thread."""
        return (
            select(checkpoints.c.checkpoint_ns, func.max(checkpoints.c.checkpoint_id).label("head"))
            .where(checkpoints.c.thread_id == thread_id)
            .group_by(checkpoints.c.checkpoint_ns)
        )

    def threads_using_delta_channels(self, thread_ids: Sequence[str]) -> Select[Any]:
        return (
            select(checkpoints.c.thread_id)
            .where(
                checkpoints.c.thread_id.in_(thread_ids),
                self.metadata_has_key("counters_since_delta_snapshot"),
            )
            .distinct()
        )

    def checkpoint_versions(self, thread_id: str, checkpoint_ns: str) -> Select[Any]:
        """The serialised checkpoints of a namespace, to read their channel versions."""
        return select(checkpoints.c.type, checkpoints.c.checkpoint).where(
            checkpoints.c.thread_id == thread_id,
            checkpoints.c.checkpoint_ns == checkpoint_ns,
        )

    def blob_keys(self, thread_id: str, checkpoint_ns: str) -> Select[Any]:
        return select(blobs.c.channel, blobs.c.version).where(
            blobs.c.thread_id == thread_id, blobs.c.checkpoint_ns == checkpoint_ns
        )

    def checkpoints_of_runs(self, run_ids: Sequence[str]) -> Select[Any]:
        return select(
            checkpoints.c.thread_id, checkpoints.c.checkpoint_ns, checkpoints.c.checkpoint_id
        ).where(checkpoints.c.run_id.in_(run_ids))

    def thread_exists(self, thread_id: str) -> Select[Any]:
        return (
            select(checkpoints.c.checkpoint_id).where(checkpoints.c.thread_id == thread_id).limit(1)
        )

    def all_threads(self) -> Select[Any]:
        return select(checkpoints.c.thread_id).distinct()

    def thread_heads(self, limit: int | None) -> Select[Any]:
        """The latest root checkpoint of every thread, newest first.

        A recursive CTE walks the primary key from one thread id to the next
        (a "loose index scan"), so the cost is one index seek per thread
        rather than a read of every checkpoint.
        """
        later = checkpoints.alias("later")
        newest = checkpoints.alias("newest")
        first = select(func.min(checkpoints.c.thread_id).label("thread_id")).cte(
            "threads", recursive=True
        )
        following = (
            select(func.min(later.c.thread_id))
            .where(later.c.thread_id > first.c.thread_id)
            .scalar_subquery()
        )
        threads = first.union_all(
            select(following.label("thread_id")).where(first.c.thread_id.is_not(None))
        )
        head = (
            select(func.max(newest.c.checkpoint_id))
            .where(newest.c.thread_id == threads.c.thread_id, newest.c.checkpoint_ns == "")
            .scalar_subquery()
        )
        stmt = (
            select(*_CHECKPOINT_COLUMNS)
            .join(threads, checkpoints.c.thread_id == threads.c.thread_id)
            .where(checkpoints.c.checkpoint_ns == "", checkpoints.c.checkpoint_id == head)
            .order_by(checkpoints.c.checkpoint_id.desc(), checkpoints.c.thread_id)
        )
        if limit is not None:
            stmt = stmt.limit(limit)
        return stmt

    def expired_threads(self, cutoff: float) -> Select[Any]:
        """Threads whose newest checkpoint was written before `cutoff` (unix seconds)."""
        return (
            select(checkpoints.c.thread_id)
            .group_by(checkpoints.c.thread_id)
            .having(func.max(checkpoints.c.created_at) < cutoff)
        )

    # -- deletes and copies --------------------------------------------------

    def delete_threads(self, thread_ids: Sequence[str]) -> tuple[Delete, ...]:
        return tuple(
            delete(table).where(table.c.thread_id.in_(thread_ids))
            for table in (writes, checkpoints, blobs, journal)
        )

    def tasks_older_than(self, thread_id: str, checkpoint_ns: str, head: str) -> Select[Any]:
        """The tasks that wrote to a namespace's checkpoints older than `head`."""
        return (
            select(writes.c.task_id)
            .where(
                writes.c.thread_id == thread_id,
                writes.c.checkpoint_ns == checkpoint_ns,
                writes.c.checkpoint_id < head,
            )
            .distinct()
        )

    def tasks_of_checkpoints(self, keys: Sequence[Key]) -> Select[Any]:
        return select(writes.c.thread_id, writes.c.task_id).where(_keys_clause(writes, keys))

    def journal_namespaces(self, thread_id: str) -> Select[Any]:
        return select(journal.c.checkpoint_ns).where(journal.c.thread_id == thread_id).distinct()

    def delete_journal(self, thread_id: str, namespaces: Sequence[str]) -> Delete:
        return delete(journal).where(
            journal.c.thread_id == thread_id, journal.c.checkpoint_ns.in_(namespaces)
        )

    def delete_older_than(
        self, thread_id: str, checkpoint_ns: str, head: str
    ) -> tuple[Delete, Delete]:
        """Delete a namespace's writes and checkpoints older than `head`.

        `<` rather than `<>`: a checkpoint a live run commits meanwhile is
        newer than `head` and is left alone.
        """

        def older(table: Any) -> Delete:
            return delete(table).where(
                table.c.thread_id == thread_id,
                table.c.checkpoint_ns == checkpoint_ns,
                table.c.checkpoint_id < head,
            )

        return older(writes), older(checkpoints)

    def orphan_head(self, thread_id: str, checkpoint_ns: str, head: str) -> Update:
        return (
            update(checkpoints)
            .where(
                checkpoints.c.thread_id == thread_id,
                checkpoints.c.checkpoint_ns == checkpoint_ns,
                checkpoints.c.checkpoint_id == head,
            )
            .values(parent_checkpoint_id=None)
        )

    def delete_checkpoints(self, keys: Sequence[Key]) -> tuple[Delete, ...]:
        return tuple(
            delete(table).where(_keys_clause(table, keys)) for table in (writes, checkpoints)
        )

    def delete_blobs(
        self, thread_id: str, checkpoint_ns: str, channel_versions: Iterable[tuple[str, str]]
    ) -> Delete:
        return delete(blobs).where(
            blobs.c.thread_id == thread_id,
            blobs.c.checkpoint_ns == checkpoint_ns,
            or_(*(and_(blobs.c.channel == c, blobs.c.version == v) for c, v in channel_versions)),
        )

    def copy_thread(self, source: str, target: str) -> tuple[Insert, ...]:
        """INSERT ... SELECT statements that copy every row of `source` to `target`."""
        copies = []
        for table in (checkpoints, blobs, writes):
            names = [c.name for c in table.columns]
            columns = [
                literal(target).label("thread_id") if c.name == "thread_id" else c
                for c in table.columns
            ]
            # `WHERE true AND ...` keeps SQLite's parser from reading a trailing
            # ON CONFLICT as a join clause, should one ever be added here.
            source_rows = select(*columns).where(true(), table.c.thread_id == source)
            copies.append(insert(table).from_select(names, source_rows))
        return tuple(copies)


def _keys_clause(table: Any, keys: Sequence[Key]) -> ColumnElement[bool]:
    """Rows whose (thread_id, checkpoint_ns, checkpoint_id) is one of `keys`.

    Grouped by (thread, namespace) so each group is an index prefix plus an IN.
    """
    groups: dict[tuple[str, str], list[str]] = {}
    for thread_id, ns, checkpoint_id in keys:
        groups.setdefault((thread_id, ns), []).append(checkpoint_id)
    return or_(
        *(
            and_(
                table.c.thread_id == thread_id,
                table.c.checkpoint_ns == ns,
                table.c.checkpoint_id.in_(ids),
            )
            for (thread_id, ns), ids in groups.items()
        )
    )


# `json.dumps` with any option builds a new encoder per call; this is that encoder, built once.
_JSON = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def json_text(value: Any) -> str:
    """The JSON encoding of metadata on SQLite: sorted and minified, see `_metadata_equals`.

    Also the SQLite engine's `json_serializer`, so metadata is encoded the same way wherever.
    """
    return _JSON.encode(value)
