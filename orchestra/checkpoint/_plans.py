"""Each saver operation written once, as a plan that both the sync and async drivers run.

A plan is a generator: it yields `Step`s (a statement and its parameters),
receives each step's `Outcome`, and returns the operation's result. The
backend runs the whole plan inside one transaction, so every operation is
atomic. `put` and `put_writes`, which run on every graph step, are plain
batches of inserts instead (`put_batches`, `put_writes_batches`), which the
backends run on a faster path. Encoding happens before, outside any lock.
"""

from __future__ import annotations

from collections.abc import Generator, Sequence
from typing import Any, NamedTuple, TypeVar

from langgraph.checkpoint.base import WRITES_IDX_MAP, CheckpointTuple
from sqlalchemy import Executable, Insert, Row

from orchestra.checkpoint._rows import RowCodec, version_key
from orchestra.checkpoint._statements import Key, Statements
from orchestra.checkpoint.schema import SCHEMA_VERSION, migration
from orchestra.errors import CheckpointSchemaError, ThreadExistsError

__all__ = ["Outcome", "Plan", "Step"]

T = TypeVar("T")

# Rows per IN/OR list, well under SQLite's 32766 bound parameters.
_CHUNK = 200


class Step(NamedTuple):
    statement: Executable
    params: dict[str, Any] | list[dict[str, Any]] | None = None


class Outcome(NamedTuple):
    rows: Sequence[Row[Any]]
    rowcount: int


Plan = Generator[Step, Outcome, T]


def _chunks(items: Sequence[T], size: int = _CHUNK) -> list[Sequence[T]]:
    return [items[i : i + size] for i in range(0, len(items), size)]


def setup(sql: Statements) -> Plan[int]:
    """Apply every migration the database lacks; returns the schema version."""
    lock = sql.setup_lock()
    if lock is not None:
        yield Step(lock)
    for ddl in migration(0, sql.dialect):
        yield Step(ddl)
    found = (yield Step(sql.schema_version)).rows[0][0]
    current = -1 if found is None else int(found)
    if current > SCHEMA_VERSION:
        raise CheckpointSchemaError(
            f"the checkpoint database is at schema version {current}, but this Orchestra "
            f"only knows up to {SCHEMA_VERSION}: upgrade Orchestra (pip install -U "
            "orchestra-graphs) before using this database"
        )
    for version in range(current + 1, SCHEMA_VERSION + 1):
        if version > 0:
            for ddl in migration(version, sql.dialect):
                yield Step(ddl)
        yield Step(sql.record_version, {"v": version})
    return SCHEMA_VERSION


def put_batches(
    sql: Statements, checkpoint_row: dict[str, Any], blob_rows: list[dict[str, Any]]
) -> list[tuple[Insert, list[dict[str, Any]]]]:
    """The inserts of `put`: new channel values first, then the checkpoint."""
    return [(sql.insert_blobs, blob_rows), (sql.upsert_checkpoint, [checkpoint_row])]


def put_writes_batches(
    sql: Statements, write_rows: list[dict[str, Any]]
) -> list[tuple[Insert, list[dict[str, Any]]]]:
    """The insert of `put_writes`.

    Regular writes are first-write-wins, so a retried task cannot change what
    an earlier attempt recorded; when every write is to a special channel
    (error, interrupt, resume, scheduled), the latest value wins.
    """
    special = bool(write_rows) and all(row["channel"] in WRITES_IDX_MAP for row in write_rows)
    return [(sql.upsert_writes if special else sql.insert_writes, write_rows)]


def load_tuples(
    sql: Statements, codec: RowCodec, rows: Sequence[Row[Any]]
) -> Plan[list[CheckpointTuple]]:
    """Fetch the blobs and pending writes of checkpoint rows and assemble the tuples."""
    if not rows:
        return []
    decoded = codec.decode(rows)
    blob_rows: list[tuple[str, str, Row[Any]]] = []
    for (thread_id, ns), wanted in codec.blob_keys(decoded).items():
        if not wanted:
            continue
        found = yield Step(
            sql.blobs_of,
            {
                "thread_id": thread_id,
                "checkpoint_ns": ns,
                "channels": sorted({c for c, _ in wanted}),
                "versions": sorted({v for _, v in wanted}),
            },
        )
        # The query matches channels x versions; keep the exact pairs.
        blob_rows.extend((thread_id, ns, r) for r in found.rows if (r.channel, r.version) in wanted)
    ids: dict[tuple[str, str], list[str]] = {}
    for r in rows:
        ids.setdefault((r.thread_id, r.checkpoint_ns), []).append(r.checkpoint_id)
    write_rows: list[tuple[str, str, Row[Any]]] = []
    for (thread_id, ns), checkpoint_ids in ids.items():
        found = yield Step(
            sql.writes_of,
            {"thread_id": thread_id, "checkpoint_ns": ns, "checkpoint_ids": checkpoint_ids},
        )
        write_rows.extend((thread_id, ns, r) for r in found.rows)
    return codec.tuples(decoded, blob_rows, write_rows)


def get_tuple(
    sql: Statements,
    codec: RowCodec,
    thread_id: str,
    checkpoint_ns: str,
    checkpoint_id: str | None,
) -> Plan[CheckpointTuple | None]:
    params = {"thread_id": thread_id, "checkpoint_ns": checkpoint_ns}
    if checkpoint_id is None:
        found = yield Step(sql.latest_checkpoint, params)
    else:
        found = yield Step(sql.checkpoint_by_id, {**params, "checkpoint_id": checkpoint_id})
    tuples = yield from load_tuples(sql, codec, found.rows)
    return tuples[0] if tuples else None


def select_rows(statement: Executable) -> Plan[Sequence[Row[Any]]]:
    return (yield Step(statement)).rows


def delete_threads(sql: Statements, thread_ids: Sequence[str]) -> Plan[None]:
    for chunk in _chunks(list(thread_ids)):
        for statement in sql.delete_threads(chunk):
            yield Step(statement)


def _collect_garbage(
    sql: Statements, codec: RowCodec, thread_id: str, checkpoint_ns: str
) -> Plan[None]:
    """Delete the namespace's blobs that no remaining checkpoint refers to.

    Blob keys are read before checkpoints: a checkpoint committed in between
    brings its blobs with it atomically, so they are either in neither read
    or referenced by the second one, and never wrongly collected.
    """
    existing = {
        (r.channel, r.version) for r in (yield Step(sql.blob_keys(thread_id, checkpoint_ns))).rows
    }
    if not existing:
        return
    referenced = set()
    for row in (yield Step(sql.checkpoint_versions(thread_id, checkpoint_ns))).rows:
        for channel, version in codec.stored_versions(row.type, row.checkpoint).items():
            referenced.add((channel, version_key(version)))
    garbage = sorted(existing - referenced)
    for chunk in _chunks(garbage):
        yield Step(sql.delete_blobs(thread_id, checkpoint_ns, chunk))


def _forget_tasks(sql: Statements, thread_id: str, task_ids: set[str]) -> Plan[None]:
    """Delete the journal of these finished tasks, and of the subgraphs they ran.

    A journal namespace is the task's checkpoint namespace, `node:task_id`,
    nested with `|` inside subgraphs. Only tasks that wrote to a deleted
    checkpoint are named here: the tasks of the checkpoint a thread would
    resume from (still running, crashed or waiting) keep their journal.
    """
    if not task_ids:
        return
    namespaces = [
        str(r.checkpoint_ns) for r in (yield Step(sql.journal_namespaces(thread_id))).rows
    ]
    finished = [
        ns
        for ns in namespaces
        if any(part.rpartition(":")[2] in task_ids for part in ns.split("|"))
    ]
    for chunk in _chunks(finished):
        yield Step(sql.delete_journal(thread_id, chunk))


def delete_for_runs(sql: Statements, codec: RowCodec, run_ids: Sequence[str]) -> Plan[None]:
    if not run_ids:
        return
    keys: list[Key] = []
    for chunk in _chunks(list(run_ids)):
        rows = (yield Step(sql.checkpoints_of_runs(chunk))).rows
        keys.extend((r.thread_id, r.checkpoint_ns, r.checkpoint_id) for r in rows)
    tasks: dict[str, set[str]] = {}
    for chunk3 in _chunks(keys):
        for r in (yield Step(sql.tasks_of_checkpoints(chunk3))).rows:
            tasks.setdefault(str(r.thread_id), set()).add(str(r.task_id))
        for statement in sql.delete_checkpoints(chunk3):
            yield Step(statement)
    for thread_id, ns in sorted({(t, ns) for t, ns, _ in keys}):
        yield from _collect_garbage(sql, codec, thread_id, ns)
    for thread_id, task_ids in sorted(tasks.items()):
        yield from _forget_tasks(sql, thread_id, task_ids)


def copy_thread(sql: Statements, source: str, target: str) -> Plan[None]:
    if (yield Step(sql.thread_exists(target))).rows:
        raise ThreadExistsError(
            f"cannot copy thread {source!r} onto {target!r}: {target!r} already has "
            "checkpoints; pick a new thread id or delete the target thread first"
        )
    for statement in sql.copy_thread(source, target):
        yield Step(statement)


def refuse_delta_threads(sql: Statements, thread_ids: Sequence[str]) -> Plan[None]:
    delta: list[str] = []
    for chunk in _chunks(list(thread_ids)):
        delta.extend(
            r.thread_id for r in (yield Step(sql.threads_using_delta_channels(chunk))).rows
        )
    if delta:
        # Dropping ancestors would silently empty a DeltaChannel (see
        # BaseCheckpointSaver.prune), so such threads are refused, as
        # PostgresSaver does.
        raise NotImplementedError(
            f"keep_latest can't prune threads that use a DeltaChannel: {', '.join(sorted(delta))}"
        )


def keep_latest(sql: Statements, codec: RowCodec, thread_id: str) -> Plan[int]:
    """Keep only the newest checkpoint of each namespace of one thread.

    The journal of the tasks that ran from the deleted checkpoints goes too.
    Returns the number of checkpoints deleted.
    """
    yield from refuse_delta_threads(sql, [thread_id])
    heads = (yield Step(sql.checkpoint_heads(thread_id))).rows
    deleted = 0
    finished: set[str] = set()
    for row in heads:
        checkpoint_ns, head = str(row.checkpoint_ns), str(row.head)
        finished.update(
            str(r.task_id)
            for r in (yield Step(sql.tasks_older_than(thread_id, checkpoint_ns, head))).rows
        )
        delete_writes, delete_checkpoints = sql.delete_older_than(thread_id, checkpoint_ns, head)
        yield Step(delete_writes)
        deleted += (yield Step(delete_checkpoints)).rowcount
        yield Step(sql.orphan_head(thread_id, checkpoint_ns, head))
        yield from _collect_garbage(sql, codec, thread_id, checkpoint_ns)
    yield from _forget_tasks(sql, thread_id, finished)
    return deleted


def expire(sql: Statements, cutoff: float) -> Plan[list[str]]:
    """Delete every thread whose newest checkpoint is older than `cutoff`."""
    expired = [r.thread_id for r in (yield Step(sql.expired_threads(cutoff))).rows]
    yield from delete_threads(sql, expired)
    return expired
