"""The audit trail's statements and plans, run by the saver's backend like its own.

Both ways of appending store a task's pending writes and their audit entries in one
transaction, so the trail is exactly as complete as the checkpoints. The quick way
(`Extension`, one statement on PostgreSQL; `DriverExtension`, three on SQLite's driver)
links the entries to a chain head remembered from the last append and lands only if
that is still the head and none of the records is in the trail yet; otherwise it fails
(`IntegrityError`, or `HeadMoved`) having changed nothing. `append` is the careful way:
appends to one thread's chain are serialised (SQLite has a single writer anyway, and on
PostgreSQL a transaction-scoped advisory lock on the thread makes a parallel branch wait
for the head it extends), then it reads the head and skips the records already audited.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, NamedTuple

from sqlalchemy import (
    BindParameter,
    Delete,
    Insert,
    Integer,
    Select,
    Update,
    bindparam,
    delete,
    func,
    insert,
    literal,
    select,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Dialect

from orchestra.audit.chain import GENESIS, ChainHead, link
from orchestra.audit.entry import ENTRY_FIELDS, AuditEntry, fields_of
from orchestra.checkpoint._backend import CombinedInsert, bind_rows
from orchestra.checkpoint._compiled import CompiledStatement
from orchestra.checkpoint._plans import Plan, Step
from orchestra.checkpoint.schema import audit, audit_heads

if TYPE_CHECKING:
    import sqlite3

__all__ = [
    "MANY",
    "DriverExtension",
    "Extension",
    "HeadMoved",
    "append",
    "delete_audit",
    "read_audit",
]

MANY = -1
"""The row count `DriverExtension` is given for a write of more than `MAX_ROWS` rows."""

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
    start_head: Insert
    move_head: Update


@functools.cache
def _statements(dialect: str) -> _Statements:
    dialect_insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    thread: BindParameter[str] = bindparam("thread_id")
    # Not "thread_id": that name is the column's own in an INSERT or UPDATE.
    chain: BindParameter[str] = bindparam("chain")
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
        # A new chain's head, unless the thread has one already.
        start_head=dialect_insert(audit_heads)
        .values(thread_id=chain, seq=bindparam("head_seq"), hash=bindparam("head_hash"))
        .on_conflict_do_nothing()
        .returning(audit_heads.c.seq),
        # The head moved on, if it is still the one the entries were linked to.
        move_head=update(audit_heads)
        .where(
            audit_heads.c.thread_id == chain,
            audit_heads.c.seq == bindparam("prev_seq"),
            audit_heads.c.hash == bindparam("prev_hash"),
        )
        .values(seq=bindparam("head_seq"), hash=bindparam("head_hash"))
        .returning(audit_heads.c.seq),
    )


def append(
    dialect: str,
    batches: Sequence[tuple[Insert, list[dict[str, Any]]]],
    drafts: Sequence[AuditEntry],
) -> Plan[dict[str, ChainHead]]:
    """Run the write `batches`, then chain the `drafts` not yet audited; returns the heads.

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
    heads = {}
    for thread_id, group in by_thread.items():
        heads[thread_id] = yield from _chain(sql, thread_id, group)
    return heads


def _chain(sql: _Statements, thread_id: str, group: Sequence[AuditEntry]) -> Plan[ChainHead]:
    """Lock the thread's chain, read its head, and link the drafts not yet audited to it."""
    if sql.lock_chain is not None:
        yield Step(sql.lock_chain, {"thread_id": thread_id})
    heads = (yield Step(sql.read_head, {"thread_id": thread_id})).rows
    head = ChainHead(int(heads[0].seq), str(heads[0].hash)) if heads else ChainHead(0, GENESIS)
    ids = [d.record_id for d in group]
    known: set[str] = set()
    for start in range(0, len(ids), _CHUNK):
        found = yield Step(
            sql.known_records,
            {"thread_id": thread_id, "record_ids": ids[start : start + _CHUNK]},
        )
        known.update(row.record_id for row in found.rows)
    entries = link([d for d in group if d.record_id not in known], *head)
    if not entries:
        return head
    yield Step(sql.insert_entries, [fields_of(e) for e in entries])
    last = entries[-1]
    yield Step(sql.save_head, {"thread_id": thread_id, "seq": last.seq, "hash": last.hash})
    return ChainHead(last.seq, last.hash)


class Extension:
    """PostgreSQL: the writes, the head's move and the entries as one statement.

    The writes ride as CTEs (as in `CombinedInsert`), the head's move as another, and
    the entries come from arrays (one statement for any number of them), numbered only
    if the head moved: when it did not (another process appended, or the thread's trail
    was deleted), their `seq` is NULL and the statement fails whole with a NOT NULL
    violation, as it does with a unique violation for a record already audited. One
    round trip, atomic without BEGIN/COMMIT, nothing written unless all of it is.
    """

    def __init__(
        self, writes: Sequence[tuple[Insert, Sequence[str], int]], new_chain: bool, dialect: Dialect
    ) -> None:
        sql = _statements("postgresql")
        head = (sql.start_head if new_chain else sql.move_head).cte("head")
        columns = [audit.c[name] for name in ENTRY_FIELDS]
        rows = (
            func.unnest(
                *(bindparam(f"entry_{c.name}", type_=postgresql.ARRAY(c.type)) for c in columns)
            )
            .table_valued(*ENTRY_FIELDS)
            .render_derived()
            .alias("entry")
        )
        numbered = [
            select(rows.c.seq).select_from(head).scalar_subquery().label("seq")
            if name == "seq"
            else rows.c[name]
            for name in ENTRY_FIELDS
        ]
        statement = insert(audit).from_select(list(ENTRY_FIELDS), select(*numbered))
        self._writes: list[list[dict[str, str]]] = []
        for index, (write, write_columns, count) in enumerate(writes):
            names, bound = bind_rows(write, write_columns, count, f"w{index}")
            self._writes.append(names)
            statement = statement.add_cte(bound.cte(f"writes{index}"))
        compiled = statement.add_cte(head).compile(dialect=dialect)
        self.sql = compiled.string
        self._convert = {
            name: processor
            for name, bind in compiled.binds.items()
            if (processor := bind.type.dialect_impl(dialect).bind_processor(dialect))
        }

    def args(
        self,
        writes: Sequence[list[dict[str, Any]]],
        entries: Sequence[AuditEntry],
        prev: ChainHead,
    ) -> dict[str, Any]:
        """The driver's parameters for these write rows and linked entries."""
        last = entries[-1]
        values: dict[str, Any] = {
            "chain": last.thread_id,
            "head_seq": last.seq,
            "head_hash": last.hash,
            "prev_seq": prev.seq,
            "prev_hash": prev.hash,
        }
        for name in ENTRY_FIELDS:
            values[f"entry_{name}"] = [getattr(e, name) for e in entries]
        for names, rows in zip(self._writes, writes, strict=True):
            for row_names, row in zip(names, rows, strict=True):
                for column, name in row_names.items():
                    values[name] = row[column]
        for name, convert in self._convert.items():
            if name in values:
                values[name] = convert(values[name])
        return values


class HeadMoved(Exception):
    """The chain head an append was linked to is no longer the thread's head."""


class DriverExtension:
    """SQLite: the writes, the head's move and the entries, compiled once per shape and
    run on the writer's driver.

    Three statements inside the one writer's transaction (SQLite has no data-modifying
    CTEs): SQLAlchemy's per-execute work would cost more than SQLite spends on them. If
    the head moved, `run` raises `HeadMoved`; a record already audited raises
    `sqlite3.IntegrityError`. Either way the caller's savepoint or rollback undoes the
    writes, and the careful `append` takes over.

    A write of more than `MAX_ROWS` rows (a wide fan-out's sends) has its rows inserted by
    one `executemany` of a one-row insert: a statement of that many rows would take longer
    to compile than to run.

    Args:
        writes: each write insert, the columns of its rows and how many rows it has
            (`MANY` for more than `MAX_ROWS`).
        entries: how many audit entries each append of this shape links.
        dialect: the SQLite engine's dialect.
    """

    def __init__(
        self, writes: Sequence[tuple[Insert, Sequence[str], int]], entries: int, dialect: Dialect
    ) -> None:
        sql = _statements("sqlite")
        self._writes = [
            CombinedInsert([(statement, columns, 1 if count == MANY else count)], dialect)
            for statement, columns, count in writes
        ]
        self._many = [count == MANY for _, _, count in writes]
        self._start = CompiledStatement(sql.start_head, dialect)
        self._move = CompiledStatement(sql.move_head, dialect)
        self._entries = CombinedInsert([(sql.insert_entries, ENTRY_FIELDS, entries)], dialect)

    def write_args(self, writes: Sequence[list[dict[str, Any]]]) -> list[tuple[str, Any, bool]]:
        """The writes' statements, driver parameters (a list of them for an `executemany`)
        and whether each is one; they do not depend on the head."""
        return [
            (compiled.sql, [compiled.args([[row]]) for row in rows], True)
            if many
            else (compiled.sql, compiled.args([rows]), False)
            for compiled, many, rows in zip(self._writes, self._many, writes, strict=True)
        ]

    def run(
        self,
        driver: sqlite3.Connection,
        writes: Sequence[tuple[str, Any, bool]],
        entries: Sequence[AuditEntry],
        prev: ChainHead,
    ) -> None:
        """Store the writes and `entries`, linked to `prev`, in the open transaction.

        Raises:
            HeadMoved: `prev` is not the thread's head (or the thread already has one).
            sqlite3.IntegrityError: a record is already in the thread's trail.
        """
        for sql, args, many in writes:
            if many:
                driver.executemany(sql, args)
            else:
                driver.execute(sql, args)
        last = entries[-1]
        values = {"chain": last.thread_id, "head_seq": last.seq, "head_hash": last.hash}
        if prev.seq == 0:
            head = self._start
        else:
            head = self._move
            values["prev_seq"] = prev.seq
            values["prev_hash"] = prev.hash
        if not driver.execute(head.sql, head.args(values)).fetchall():
            raise HeadMoved(last.thread_id)
        rows = [fields_of(entry) for entry in entries]
        driver.execute(self._entries.sql, self._entries.args([rows]))


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
