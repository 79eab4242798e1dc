"""The checkpoint tables (SQLAlchemy Core) and the migrations that build them.

`MIGRATIONS[v]` holds the statements that take a database to schema version `v`
(a step wrapped in `OnlyOn` runs on one dialect); the version table records
which ones ran. A migration, once released, is never
edited: a change to the tables is a new entry at the end of the list.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

from sqlalchemy import (
    JSON,
    Column,
    Executable,
    Float,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    Table,
    Text,
    insert,
    select,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.schema import CreateIndex, CreateTable, DropIndex, DropTable

__all__ = [
    "MIGRATIONS",
    "SCHEMA_VERSION",
    "MigrationStep",
    "OnlyOn",
    "audit",
    "audit_heads",
    "blobs",
    "checkpoints",
    "journal",
    "leases",
    "migration",
    "schema_versions",
    "tables",
    "writes",
]

tables = MetaData()

# Every name carries the `orchestra_` prefix so the tables can share a database
# with LangGraph's own savers (which use `checkpoints`, `checkpoint_blobs`, ...).
schema_versions = Table(
    "orchestra_checkpoint_migrations",
    tables,
    Column("v", Integer, primary_key=True, autoincrement=False),
)


def _checkpoint_columns() -> list[Column[Any]]:
    return [
        Column("thread_id", Text, primary_key=True),
        Column("checkpoint_ns", Text, primary_key=True),
        # uuid6 ids sort by creation time, so "latest" is the greatest id.
        Column("checkpoint_id", Text, primary_key=True),
        Column("parent_checkpoint_id", Text, nullable=True),
        # Copied out of the metadata so `delete_for_runs` is an index lookup (only
        # rows that have one are indexed: a NULL never matches a run).
        Column("run_id", Text, nullable=True),
        # Unix seconds at which the row was written, for age-based retention. Not
        # indexed: retention asks for each thread's newest row, a full scan anyway,
        # and an index would cost every step a b-tree update.
        Column("created_at", Float, nullable=False),
        # The checkpoint without its channel values, plus its small values
        # ("inline"), as (serde type, bytes).
        Column("type", Text, nullable=False),
        Column("checkpoint", LargeBinary, nullable=False),
        # JSON so `list(filter=...)` can match keys inside the database.
        Column("metadata", JSON().with_variant(JSONB(), "postgresql"), nullable=False),
    ]


# On SQLite an ordinary (rowid) table: its primary key is a separate index of the
# keys alone, and the row, appended at the table's end, fits in one page (a row of a
# WITHOUT ROWID table spills to overflow pages past ~1,000 bytes, and a checkpoint
# row is often larger), so a step writes two small pages, not three or more.
checkpoints = Table("orchestra_checkpoints", tables, *_checkpoint_columns())


def _blob_columns() -> list[Column[Any]]:
    return [
        Column("thread_id", Text, primary_key=True),
        Column("checkpoint_ns", Text, primary_key=True),
        Column("channel", Text, primary_key=True),
        Column("version", Text, primary_key=True),
        Column("type", Text, nullable=False),
        # NULL with type "empty": the channel had a version but no value (rows
        # written by this version of the code never are; a missing row says so).
        Column("blob", LargeBinary, nullable=True),
    ]


def _write_columns() -> list[Column[Any]]:
    return [
        Column("thread_id", Text, primary_key=True),
        Column("checkpoint_ns", Text, primary_key=True),
        Column("checkpoint_id", Text, primary_key=True),
        Column("task_id", Text, primary_key=True),
        Column("idx", Integer, primary_key=True, autoincrement=False),
        Column("task_path", Text, nullable=False),
        Column("channel", Text, nullable=False),
        Column("type", Text, nullable=False),
        Column("blob", LargeBinary, nullable=False),
    ]


# One row per (channel, version) of a large value: a channel that did not
# change since the last checkpoint keeps its version, so its value is never
# written again. Values of at most `_rows.INLINE_LIMIT` bytes travel inside the
# checkpoint row instead, so a step over a small state writes one row.
# Blobs and writes are rowid tables on SQLite, like the checkpoints: a WITHOUT ROWID
# table keeps whole rows in its key b-tree, and SQLite compares a key with a row
# that overflowed by reading the entire row, so every insert or lookup near a
# 100 KB value copied it (and its overflow pages) again.
blobs = Table("orchestra_checkpoint_blobs", tables, *_blob_columns())

writes = Table("orchestra_checkpoint_writes", tables, *_write_columns())

# The journal (`orchestra.journal`): each model, tool or function call made inside a node,
# recorded before its result is used, so a node re-run after a crash replays it. The
# namespace holds the task id, and a task keeps its id when it re-runs from the same
# checkpoint, so (thread, namespace, seq) names "the seq-th call of this task".
journal = Table(
    "orchestra_journal",
    tables,
    Column("thread_id", Text, primary_key=True),
    Column("checkpoint_ns", Text, primary_key=True),
    Column("seq", Integer, primary_key=True, autoincrement=False),
    Column("kind", Text, nullable=False),
    Column("name", Text, nullable=False),
    Column("payload", Text, nullable=False),
    Column("created_at", Float, nullable=False),
    sqlite_with_rowid=False,
)

# Leases (`orchestra.lease`): a process running a thread holds its row and renews it every
# few seconds; a row whose time ran out belongs to a process that died. One row per thread.
leases = Table(
    "orchestra_leases",
    tables,
    Column("thread_id", Text, primary_key=True),
    Column("owner", Text, nullable=False),
    Column("expires_at", Float, nullable=False),
    Column("renewed_at", Float, nullable=False),
)

# The audit trail (`orchestra.audit`): one row per recorded fact of a run (an agent's
# call, a decision, an escalation, a human answer), hash-chained per thread in `seq`
# order. Every column but `hash` is covered by `hash`, so an edit made in SQL shows.
audit = Table(
    "orchestra_audit",
    tables,
    Column("thread_id", Text, primary_key=True),
    Column("seq", Integer, primary_key=True, autoincrement=False),
    Column("record_id", Text, nullable=False),
    Column("kind", Text, nullable=False),
    Column("record_kind", Text, nullable=False),
    Column("node", Text, nullable=False),
    Column("checkpoint_ns", Text, nullable=False),
    Column("checkpoint_id", Text, nullable=False),
    Column("task_id", Text, nullable=False),
    Column("input_digest", Text, nullable=True),
    Column("output_digest", Text, nullable=True),
    Column("choice", Text, nullable=True),
    Column("reason", Text, nullable=False),
    # Canonical JSON text, not a JSON column: the hash covers these exact bytes.
    Column("detail", Text, nullable=False),
    Column("recorded_at", Float, nullable=False),
    Column("prev_hash", Text, nullable=False),
    Column("hash", Text, nullable=False),
    sqlite_with_rowid=False,
)

# The newest entry of each thread's chain: appends extend it, and `verify` compares
# it with the last entry, so entries cut off the end of a chain are noticed too.
audit_heads = Table(
    "orchestra_audit_heads",
    tables,
    Column("thread_id", Text, primary_key=True),
    Column("seq", Integer, nullable=False),
    Column("hash", Text, nullable=False),
)

# Schema versions 1-4 indexed every checkpoint's run_id, NULL included.
_by_run = Index("ix_orchestra_checkpoints_run_id", checkpoints.c.run_id)
# Only the checkpoints that have a run_id: `delete_for_runs` asks for given ids, which
# a NULL never matches, and a run without one (Orchestra's own runs, the usual case)
# spares every step a second b-tree to update.
_by_set_run = Index(
    "ix_orchestra_checkpoints_set_run_id",
    checkpoints.c.run_id,
    sqlite_where=checkpoints.c.run_id.is_not(None),
    postgresql_where=checkpoints.c.run_id.is_not(None),
)
# A record is audited once per thread, however often LangGraph re-delivers it.
_audit_record = Index(
    "ux_orchestra_audit_record", audit.c.thread_id, audit.c.record_id, unique=True
)

# Schema versions 1-5 kept the checkpoints in a WITHOUT ROWID table.
_released = MetaData()
_checkpoints_v1 = Table(
    checkpoints.name, _released, *_checkpoint_columns(), sqlite_with_rowid=False
)
_by_run_v1 = Index(_by_run.name, _checkpoints_v1.c.run_id)
# Schema versions 1-6 kept blobs and writes in WITHOUT ROWID tables.
_blobs_v1 = Table(blobs.name, _released, *_blob_columns(), sqlite_with_rowid=False)
_writes_v1 = Table(writes.name, _released, *_write_columns(), sqlite_with_rowid=False)
# The rebuilt table, under a temporary name until the old one is dropped.
_checkpoints_v6 = Table(f"{checkpoints.name}_v6", _released, *_checkpoint_columns())
_columns = [c.name for c in checkpoints.columns]


def _rebuild(old: Table, columns: Callable[[], list[Column[Any]]]) -> tuple[Executable, ...]:
    """SQLite: `old` rebuilt as a rowid table of `columns`, rows kept (it has no index)."""
    staging = Table(f"{old.name}_rebuilt", MetaData(), *columns())
    names = [c.name for c in staging.columns]
    return (
        CreateTable(staging),
        insert(staging).from_select(names, select(*old.c)),
        DropTable(old),
        text(f"ALTER TABLE {staging.name} RENAME TO {old.name}"),
    )


class OnlyOn(NamedTuple):
    """A migration step that runs on one dialect only (`sqlite` or `postgresql`)."""

    dialect: str
    statement: Executable


MigrationStep = Executable | OnlyOn

MIGRATIONS: list[tuple[MigrationStep, ...]] = [
    (CreateTable(schema_versions, if_not_exists=True),),
    (
        CreateTable(_checkpoints_v1, if_not_exists=True),
        CreateTable(_blobs_v1, if_not_exists=True),
        CreateTable(_writes_v1, if_not_exists=True),
        CreateIndex(_by_run_v1, if_not_exists=True),
    ),
    (CreateTable(journal, if_not_exists=True),),
    (CreateTable(leases, if_not_exists=True),),
    (
        CreateTable(audit, if_not_exists=True),
        CreateTable(audit_heads, if_not_exists=True),
        CreateIndex(_audit_record, if_not_exists=True),
    ),
    (
        CreateIndex(_by_set_run, if_not_exists=True),
        DropIndex(_by_run, if_exists=True),
    ),
    # SQLite: the checkpoints move to a rowid table (see `checkpoints`), rows kept.
    # PostgreSQL tables always were heaps with a separate key index: nothing to do.
    tuple(
        OnlyOn("sqlite", step)
        for step in (
            CreateTable(_checkpoints_v6),
            insert(_checkpoints_v6).from_select(_columns, select(*_checkpoints_v1.c)),
            DropTable(_checkpoints_v1),
            text(f"ALTER TABLE {_checkpoints_v6.name} RENAME TO {checkpoints.name}"),
            CreateIndex(_by_set_run),
        )
    ),
    # SQLite: blobs and writes move to rowid tables too (see `blobs`), rows kept.
    tuple(
        OnlyOn("sqlite", step)
        for old, columns in ((_blobs_v1, _blob_columns), (_writes_v1, _write_columns))
        for step in _rebuild(old, columns)
    ),
]


def migration(version: int, dialect: str) -> list[Executable]:
    """The statements that take a `dialect` database to schema `version`."""
    return [
        step.statement if isinstance(step, OnlyOn) else step
        for step in MIGRATIONS[version]
        if not isinstance(step, OnlyOn) or step.dialect == dialect
    ]


SCHEMA_VERSION = len(MIGRATIONS) - 1
"""The schema version this code reads and writes."""
