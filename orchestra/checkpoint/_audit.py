"""The audit trail's statements and plans, run by the saver's backend like its own.

`append` stores a task's pending writes and their audit entries in one transaction, so
the trail is exactly as complete as the checkpoints. Appends to one thread's chain are
serialised: SQLite has a single writer anyway, and on PostgreSQL a transaction-scoped
advisory lock on the thread makes a parallel branch wait for the head it extends.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import Any, NamedTuple

from sqlalchemy import (
    BindParameter,
    Delete,
    Insert,
    Integer,
    Select,
    bindparam,
    delete,
    func,
    literal,
    select,
)
from sqlalchemy.dialects import postgresql, sqlite

from orchestra.audit.chain import GENESIS, ChainHead, link
from orchestra.audit.entry import ENTRY_FIELDS, AuditEntry, fields_of
from orchestra.checkpoint._plans import Plan, Step
from orchestra.checkpoint.schema import audit, audit_heads

__all__ = ["append", "delete_audit", "read_audit"]

# Record ids per lookup of those already audited, well under any bound-parameter limit.
_CHUNK = 500


# Arbitrary constant: the first half of the advisory lock key that serialises appends
# to one thread's chain on PostgreSQL (the second half is a hash of the thread id).
_APPEND_LOCK_KEY = 0x0A0D17


class _Statements(NamedTuple):
    lock_chain: Select[Any] | None
    read_head: Select[Any]
    known_records: Select[Any]
    insert_entries: Insert
    save_head: Insert


@functools.cache
def _statements(dialect: str) -> _Statements:
    dialect_insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    thread: BindParameter[str] = bindparam("thread_id")
    save_head = dialect_insert(audit_heads)
    return _Statements(
        # SQLite needs no lock: its one writer holds the whole database already.
        lock_chain=select(
            func.pg_advisory_xact_lock(literal(_APPEND_LOCK_KEY, Integer), func.hashtext(thread))
        )
        if dialect == "postgresql"
        else None,
        read_head=select(audit_heads.c.seq, audit_heads.c.hash).where(
            audit_heads.c.thread_id == thread
        ),
        known_records=select(audit.c.record_id).where(
            audit.c.thread_id == thread,
            audit.c.record_id.in_(bindparam("record_ids", expanding=True)),
        ),
        insert_entries=dialect_insert(audit),
        save_head=save_head.on_conflict_do_update(
            index_elements=[audit_heads.c.thread_id],
            set_={"seq": save_head.excluded.seq, "hash": save_head.excluded.hash},
        ),
    )


def append(
    dialect: str,
    batches: Sequence[tuple[Insert, list[dict[str, Any]]]],
    drafts: Sequence[AuditEntry],
) -> Plan[int]:
    """Run the write `batches`, then chain the `drafts` not yet audited; returns how many.

    Records already in the thread's trail (LangGraph re-delivering a task's writes, or a
    nested workflow handing its records back) add nothing.
    """
    sql = _statements(dialect)
    for statement, rows in batches:
        if rows:
            yield Step(statement, rows)
    by_thread: dict[str, list[AuditEntry]] = {}
    for draft in drafts:
        by_thread.setdefault(draft.thread_id, []).append(draft)
    added = 0
    for thread_id, group in by_thread.items():
        if sql.lock_chain is not None:
            yield Step(sql.lock_chain, {"thread_id": thread_id})
        heads = (yield Step(sql.read_head, {"thread_id": thread_id})).rows
        seq, head = (int(heads[0].seq), str(heads[0].hash)) if heads else (0, GENESIS)
        ids = [d.record_id for d in group]
        known: set[str] = set()
        for start in range(0, len(ids), _CHUNK):
            found = yield Step(
                sql.known_records,
                {"thread_id": thread_id, "record_ids": ids[start : start + _CHUNK]},
            )
            known.update(row.record_id for row in found.rows)
        entries = link([d for d in group if d.record_id not in known], seq, head)
        if not entries:
            continue
        yield Step(sql.insert_entries, [fields_of(e) for e in entries])
        last = entries[-1]
        yield Step(sql.save_head, {"thread_id": thread_id, "seq": last.seq, "hash": last.hash})
        added += len(entries)
    return added


def read_audit(thread_id: str) -> Plan[tuple[list[AuditEntry], ChainHead | None]]:
    """A thread's entries in `seq` order, and its chain head (None if it never had one)."""
    rows = (
        yield Step(
            select(*(audit.c[name] for name in ENTRY_FIELDS))
            .where(audit.c.thread_id == thread_id)
            .order_by(audit.c.seq)
        )
    ).rows
    heads = (
        yield Step(
            select(audit_heads.c.seq, audit_heads.c.hash).where(
                audit_heads.c.thread_id == thread_id
            )
        )
    ).rows
    entries = [AuditEntry(**row._mapping) for row in rows]
    head = ChainHead(int(heads[0].seq), str(heads[0].hash)) if heads else None
    return entries, head


def delete_audit(thread_ids: Sequence[str]) -> Plan[None]:
    """Forget the audit trails of these threads."""
    statements: tuple[Delete, ...] = (
        delete(audit).where(audit.c.thread_id.in_(list(thread_ids))),
        delete(audit_heads).where(audit_heads.c.thread_id.in_(list(thread_ids))),
    )
    for statement in statements:
        yield Step(statement)
