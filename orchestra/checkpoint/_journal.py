"""The journal's statements and plans, run by the saver's backend like its own.

Every agent call writes one journal row and every task reads its journal once, so both
statements are built once per dialect: the insert is one of the backend's precompiled
inserts, and the read binds its parameters.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Sequence
from typing import Any, NamedTuple

from sqlalchemy import Insert, Select, bindparam, select
from sqlalchemy.dialects import postgresql, sqlite

from orchestra.checkpoint._plans import Plan, Step
from orchestra.checkpoint.schema import journal

__all__ = ["JournalEntry", "insert_statement", "journal_row", "read_journal"]


class JournalEntry(NamedTuple):
    """One recorded call: its place in the task, what it was, and its JSON result."""

    seq: int
    kind: str
    name: str
    payload: str


_READ: Select[Any] = (
    select(journal.c.seq, journal.c.kind, journal.c.name, journal.c.payload)
    .where(
        journal.c.thread_id == bindparam("thread_id"),
        journal.c.checkpoint_ns == bindparam("checkpoint_ns"),
    )
    .order_by(journal.c.seq)
)


@functools.cache
def insert_statement(dialect: str) -> Insert:
    """Record a call; a second record of the same call (a retried write) changes nothing."""
    dialect_insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    return dialect_insert(journal).on_conflict_do_nothing()


def journal_row(thread_id: str, checkpoint_ns: str, entry: JournalEntry) -> dict[str, Any]:
    """The row `insert_statement` stores for one call."""
    return {
        "thread_id": thread_id,
        "checkpoint_ns": checkpoint_ns,
        "seq": entry.seq,
        "kind": entry.kind,
        "name": entry.name,
        "payload": entry.payload,
        "created_at": time.time(),
    }


def read_journal(thread_id: str, checkpoint_ns: str) -> Plan[Sequence[JournalEntry]]:
    """Every call recorded for one task (its namespace holds its id), in order."""
    rows = (yield Step(_READ, {"thread_id": thread_id, "checkpoint_ns": checkpoint_ns})).rows
    return [JournalEntry(int(r.seq), str(r.kind), str(r.name), str(r.payload)) for r in rows]
