"""The journal's statements and plans, run by the saver's backend like its own."""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import NamedTuple

from sqlalchemy import Insert, select
from sqlalchemy.dialects import postgresql, sqlite

from orchestra.checkpoint._plans import Plan, Step
from orchestra.checkpoint.schema import journal

__all__ = ["JournalEntry", "read_journal", "write_journal"]


class JournalEntry(NamedTuple):
    """One recorded call: its place in the task, what it was, and its JSON result."""

    seq: int
    kind: str
    name: str
    payload: str


def read_journal(thread_id: str, checkpoint_ns: str) -> Plan[Sequence[JournalEntry]]:
    """Every call recorded for one task (its namespace holds its id), in order."""
    statement = (
        select(journal.c.seq, journal.c.kind, journal.c.name, journal.c.payload)
        .where(journal.c.thread_id == thread_id, journal.c.checkpoint_ns == checkpoint_ns)
        .order_by(journal.c.seq)
    )
    rows = (yield Step(statement)).rows
    return [JournalEntry(int(r.seq), str(r.kind), str(r.name), str(r.payload)) for r in rows]


def write_journal(
    dialect: str, thread_id: str, checkpoint_ns: str, entry: JournalEntry
) -> Plan[None]:
    """Record a call; a second record of the same call (a retried write) changes nothing."""
    values = {
        "thread_id": thread_id,
        "checkpoint_ns": checkpoint_ns,
        "seq": entry.seq,
        "kind": entry.kind,
        "name": entry.name,
        "payload": entry.payload,
        "created_at": time.time(),
    }
    statement: Insert
    if dialect == "postgresql":
        statement = postgresql.insert(journal).values(values).on_conflict_do_nothing()
    else:
        statement = sqlite.insert(journal).values(values).on_conflict_do_nothing()
    yield Step(statement)
