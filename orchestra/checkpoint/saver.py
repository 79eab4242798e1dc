"""`SQLCheckpointer`: LangGraph's `BaseCheckpointSaver` on SQLAlchemy Core, sync and async."""

from __future__ import annotations

import threading
import time
from collections.abc import AsyncIterator, Collection, Iterator, Sequence
from dataclasses import dataclass
from datetime import timedelta
from types import TracebackType
from typing import Any, Self

from langchain_core.runnables import RunnableConfig
from langgraph._internal._constants import ERROR
from langgraph.checkpoint.base import (
    BaseCheckpointSaver,
    ChannelVersions,
    Checkpoint,
    CheckpointMetadata,
    CheckpointTuple,
    get_checkpoint_id,
)
from langgraph.checkpoint.serde.base import SerializerProtocol
from langgraph.checkpoint.serde.jsonplus import JsonPlusSerializer
from sqlalchemy import Engine, Row

from orchestra.audit import _entries as _audit_entries
from orchestra.audit.chain import ChainHead
from orchestra.audit.entry import AuditEntry
from orchestra.checkpoint import _audit, _journal, _leases, _plans
from orchestra.checkpoint._appender import AuditAppender
from orchestra.checkpoint._backend import (
    Backend,
    Batch,
    EngineOptions,
    Synchronous,
    open_backend,
)
from orchestra.checkpoint._rows import LargeValues, RowCodec, next_version, validate_filter
from orchestra.checkpoint._statements import Statements
from orchestra.checkpoint.allowlist import state_allowlist
from orchestra.checkpoint.schema import journal as journal_table
from orchestra.state import OrchestraState

__all__ = ["DEFAULT_URL", "RetentionResult", "SQLCheckpointer"]

DEFAULT_URL = "sqlite:///checkpoints/orchestra.db"
"""Where Orchestra keeps checkpoints when no database is configured."""

# Checkpoints whose blobs and writes are fetched together while listing.
_LIST_PAGE = 50

_PRUNE_STRATEGIES = ("keep_latest", "delete")

# Runs remembered as using a DeltaChannel (the oldest is forgotten first).
_DELTA_THREADS = 4096

# Run namespaces whose latest checkpoint's parent is remembered (the oldest is forgotten first).
_FOLLOWED = 4096


@dataclass(frozen=True)
class RetentionResult:
    """What `SQLCheckpointer.retain` removed."""

    expired_threads: tuple[str, ...] = ()
    """Threads deleted whole because their newest checkpoint outlived the TTL."""
    pruned_checkpoints: int = 0
    """Older checkpoints deleted by keep-latest."""
    skipped_threads: tuple[str, ...] = ()
    """Threads keep-latest left alone because they use a DeltaChannel."""


class _Shared:
    """State shared by a saver and the clones `with_allowlist` makes."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.ready = False  # whether setup() has run
        self.large_values = LargeValues()
        self.audit = AuditAppender()
        # Runs with a DeltaChannel: LangGraph holds their next checkpoint until the
        # tasks' writes are stored, so those writes must not wait for it.
        self.delta_threads: dict[str, None] = {}
        # Per (thread, namespace), the parent of the latest checkpoint put: writes
        # stored on that parent have no checkpoint left to wait for.
        self.followed: dict[tuple[str, str], str | None] = {}

    def saw_checkpoint(self, thread_id: str, checkpoint_ns: str, parent_id: str | None) -> None:
        followed = self.followed
        followed[(thread_id, checkpoint_ns)] = parent_id
        if len(followed) > _FOLLOWED:
            with self.lock:
                while len(followed) > _FOLLOWED:
                    followed.pop(next(iter(followed)), None)

    def may_linger(self, config: RunnableConfig, writes: Sequence[tuple[str, Any]]) -> bool:
        """Whether a task's writes may wait for the checkpoint that follows them: not when
        it has been put already, when none follows (the task failed), or when LangGraph
        waits for the writes before putting it."""
        configurable = config["configurable"]
        thread_id = configurable["thread_id"]
        if thread_id in self.delta_threads:
            return False
        followed = self.followed.get((thread_id, configurable.get("checkpoint_ns", "")))
        if followed is not None and followed == configurable.get("checkpoint_id"):
            return False
        # A failed task's writes (ERROR): no checkpoint follows them. An interrupt's
        # writes are audited, so they never reach here.
        return not any(channel == ERROR for channel, _ in writes)

    def saw_delta_thread(self, thread_id: str) -> None:
        with self.lock:
            self.delta_threads[thread_id] = None
            if len(self.delta_threads) > _DELTA_THREADS:
                del self.delta_threads[next(iter(self.delta_threads))]


class SQLCheckpointer(BaseCheckpointSaver[float]):
    """A durable LangGraph checkpoint saver on SQLite or PostgreSQL.

    One object serves sync (`invoke`) and async (`ainvoke`) graphs. A large
    channel value is stored once per version, so one that does not change
    costs nothing on later steps; small values ride in the checkpoint row, so
    a step over a small state writes one row. Data is (de)serialised with
    LangGraph's msgpack serializer in strict mode: no pickle, and only
    allow-listed types are rebuilt.

    Args:
        url: `sqlite:///path/to/file.db` (the parent directory is created) or
            `postgresql+psycopg://user:password@host/dbname`; or an existing
            SQLAlchemy `Engine` for one of them, used for the sync calls (on
            SQLite, its new connections get the same WAL/pragma set-up).
        synchronous: SQLite's durability level. `NORMAL` survives a process
            crash; `FULL` also survives power loss, at an fsync per commit. With
            `NORMAL` or `OFF` a task's writes (unless audited or an error) are
            deferred: `put_writes` returns before they are committed, and the next
            write (the checkpoint that follows) commits them in its own transaction,
            or they go alone within 20 ms. A process crash can lose
            the writes of a task that finished just before it with no checkpoint
            after them; resuming runs that task again, and its journaled calls
            replay from the journal, so none is made twice. This saver's reads,
            `close` and interpreter exit commit them first; if committing them
            fails, the next call raises `DeferredWriteError`.
        busy_timeout: seconds a SQLite connection waits for another
            process's lock before failing.
        pool_size: connections kept open per pool. On PostgreSQL the sync per-step
            writes and reads also hold up to this many connections of their own,
            open in autocommit, so a saver may open up to twice this (plus overflow).
        max_overflow: extra connections a pool may open under load (on
            PostgreSQL kept open once opened, since reconnecting costs more).
        prepared_statements: PostgreSQL only; set `False` behind pgbouncer in
            transaction mode.
        serde: serializer to use instead of the strict default.
        allowed_msgpack_modules: extra `(module, name)` types the default
            serializer may rebuild. Orchestra's own records (`AgentResult`,
            `Decision`, ...) are always allowed, so a saver opened without a
            workflow (`orchestra runs`, `show`) reads them back as themselves;
            a compiled workflow adds its state's types.

    Raises:
        InvalidDatabaseURLError: the URL is not a SQLite file or PostgreSQL database.

    Example:
        ```python
        from orchestra.checkpoint import SQLCheckpointer

        with SQLCheckpointer("sqlite:///checkpoints/orchestra.db") as saver:
            app = graph.compile(checkpointer=saver)
            app.invoke({"goal": "..."}, {"configurable": {"thread_id": "run-1"}})
        ```
    """

    def __init__(
        self,
        url: str | Engine = DEFAULT_URL,
        *,
        synchronous: Synchronous = "NORMAL",
        busy_timeout: float = 30.0,
        pool_size: int = 5,
        max_overflow: int = 10,
        prepared_statements: bool = True,
        serde: SerializerProtocol | None = None,
        allowed_msgpack_modules: Collection[tuple[str, ...]] = (),
    ) -> None:
        super().__init__(
            serde=serde
            or JsonPlusSerializer(
                pickle_fallback=False,
                # Strict: only LangGraph's safe types plus these.
                allowed_msgpack_modules=tuple(
                    sorted({*state_allowlist([OrchestraState]), *allowed_msgpack_modules})
                ),
            )
        )
        self._backend: Backend = open_backend(
            url,
            EngineOptions(
                synchronous=synchronous,
                busy_timeout=busy_timeout,
                pool_size=pool_size,
                max_overflow=max_overflow,
                prepared_statements=prepared_statements,
            ),
        )
        self._sql = Statements(self._backend.dialect)
        for statement, columns in self._sql.hot_inserts():
            self._backend.precompile(statement, columns)
        self._journal_insert = _journal.insert_statement(self._backend.dialect)
        self._backend.precompile(self._journal_insert, [c.name for c in journal_table.columns])
        self._journal_reader = _journal.JournalReader(self._backend)
        for read in self._sql.hot_reads():
            self._backend.precompile_read(read)
        self._shared = _Shared()

    @property
    def engine(self) -> Engine:
        """The SQLAlchemy engine behind the sync calls."""
        return self._backend.engine

    @property
    def _codec(self) -> RowCodec:
        # Cached per serde: `with_allowlist` clones swap `self.serde`, so check identity.
        codec: RowCodec | None = self.__dict__.get("_row_codec")
        if codec is None or codec.serde is not self.serde:
            # SQLite's driver takes the metadata's JSON text as it is (`_sqlite_inserts`).
            codec = RowCodec(self.serde, metadata_as_text=self._backend.dialect == "sqlite")
            self.__dict__["_row_codec"] = codec
        return codec

    # -- lifecycle -----------------------------------------------------------

    def setup(self) -> None:
        """Create or migrate the tables. Idempotent, and safe to run from many processes at once.

        Every other method calls it on first use; call it yourself to fail fast.

        Raises:
            CheckpointSchemaError: the database was written by a newer Orchestra.
        """
        with self._shared.lock:
            self._backend.run(_plans.setup(self._sql), write=True)
            self._shared.ready = True

    async def asetup(self) -> None:
        """Async `setup()`."""
        await self._backend.arun(_plans.setup(self._sql), write=True)
        self._shared.ready = True

    def _ready(self) -> None:
        if not self._shared.ready:
            with self._shared.lock:
                if not self._shared.ready:
                    self._backend.run(_plans.setup(self._sql), write=True)
                    self._shared.ready = True

    async def _aready(self) -> None:
        if not self._shared.ready:
            await self.asetup()

    def close(self) -> None:
        """Close every connection. The saver must not be used afterwards."""
        self._backend.close()

    async def aclose(self) -> None:
        """Async `close()`; closes the async pool of the running event loop politely."""
        await self._backend.aclose()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    # -- plans ---------------------------------------------------------------

    def _put_batches(
        self,
        config: RunnableConfig,
        checkpoint: Checkpoint,
        metadata: CheckpointMetadata,
        new_versions: ChannelVersions,
    ) -> tuple[list[Batch], RunnableConfig]:
        row, blob_rows = self._codec.encode_put(
            config, checkpoint, metadata, new_versions, self._shared.large_values
        )
        stored: RunnableConfig = {
            "configurable": {
                "thread_id": row["thread_id"],
                "checkpoint_ns": row["checkpoint_ns"],
                "checkpoint_id": row["checkpoint_id"],
            }
        }
        return _plans.put_batches(self._sql, row, blob_rows), stored

    def _put_writes_batches(
        self,
        config: RunnableConfig,
        writes: Sequence[tuple[str, Any]],
        task_id: str,
        task_path: str,
    ) -> list[Batch]:
        rows = self._codec.write_rows(config, writes, task_id, task_path)
        return _plans.put_writes_batches(self._sql, rows)

    def _get_tuple_plan(self, config: RunnableConfig) -> _plans.Plan[CheckpointTuple | None]:
        configurable = config["configurable"]
        return _plans.get_tuple(
            self._sql,
            self._codec,
            configurable["thread_id"],
            configurable.get("checkpoint_ns", ""),
            get_checkpoint_id(config),
        )

    def _list_plan(
        self,
        config: RunnableConfig | None,
        metadata_filter: dict[str, Any] | None,
        before: RunnableConfig | None,
        limit: int | None,
    ) -> _plans.Plan[Sequence[Row[Any]]]:
        configurable = (config or {}).get("configurable", {})
        return _plans.select_rows(
            self._sql.list_checkpoints(
                thread_id=configurable.get("thread_id"),
                checkpoint_ns=configurable.get("checkpoint_ns"),
                checkpoint_id=configurable.get("checkpoint_id"),
                metadata_filter=validate_filter(metadata_filter),
                before_id=get_checkpoint_id(before) if before else None,
                limit=limit,
            )
        )

    @staticmethod
    def _check_strategy(strategy: str) -> None:
        if strategy not in _PRUNE_STRATEGIES:
            raise ValueError(f"unknown prune strategy {strategy!r}: use 'keep_latest' or 'delete'")

    # -- sync ----------------------------------------------------------------

    def get_tuple(self, config: RunnableConfig) -> CheckpointTuple | None:
        """The checkpoint `config` names, or the thread's latest; `None` if there is none."""
        self._ready()
        return self._backend.run(self._get_tuple_plan(config), write=False)

    def list(
        self,
        config: RunnableConfig | None,
        *,
        filter: dict[str, Any] | None = None,
        before: RunnableConfig | None = None,
        limit: int | None = None,
    ) -> Iterator[CheckpointTuple]:
        """Checkpoints matching `config` and the metadata `filter`, newest first.

        Raises:
            InvalidMetadataFilterError: a filter key is not a plain name.
        """
        self._ready()
        rows = self._backend.run(self._list_plan(config, filter, before, limit), write=False)
        for start in range(0, len(rows), _LIST_PAGE):
            page = rows[start : start + _LIST_PAGE]
            yield from self._backend.run(
                _plans.load_tuples(self._sql, self._codec, page), write=False
            )

    def list_threads(self, *, limit: int | None = None) -> Iterator[CheckpointTuple]:
        """The latest root checkpoint of every thread, newest first.

        Unlike `list(None)`, which reads every checkpoint, this costs one
        indexed query for the threads plus the values of their latest checkpoints.

        Args:
            limit: at most this many threads (the most recently updated).
        """
        self._ready()
        rows = self._backend.run(_plans.select_rows(self._sql.thread_heads(limit)), write=False)
        for start in range(0, len(rows), _LIST_PAGE):
            page = rows[start : start + _LIST_PAGE]
            yield from self._backend.run(
                _plans.load_tuples(self._sql, self._codec, page), write=False
            )

    def put(
        self,
        config: RunnableConfig,
        checkpoint: Checkpoint,
        metadata: CheckpointMetadata,
        new_versions: ChannelVersions,
    ) -> RunnableConfig:
        """Store a checkpoint; only the channels in `new_versions` are written."""
        self._ready()
        batches, stored = self._put_batches(config, checkpoint, metadata, new_versions)
        stored_at = stored["configurable"]
        self._shared.saw_checkpoint(
            stored_at["thread_id"],
            stored_at["checkpoint_ns"],
            config["configurable"].get("checkpoint_id"),
        )
        self._backend.insert(batches)
        if "counters_since_delta_snapshot" in metadata:
            self._shared.saw_delta_thread(stored["configurable"]["thread_id"])
        return stored

    def put_writes(
        self,
        config: RunnableConfig,
        writes: Sequence[tuple[str, Any]],
        task_id: str,
        task_path: str = "",
    ) -> None:
        """Store a task's pending writes, and append its records to the thread's audit trail.

        A retry of the same task is a no-op. The audit entries are written in the same
        transaction as the writes; a step that records nothing skips the audit entirely.
        Writes a checkpoint will follow share its commit (see `synchronous`); the others
        are committed before this returns.
        """
        self._ready()
        if writes:
            batches = self._put_writes_batches(config, writes, task_id, task_path)
            trail = _audit_entries.drafts(config, writes, task_id, task_path)
            if trail:
                self._shared.audit.append(self._backend, batches, trail)
            else:
                # May share a commit with the next checkpoint: waiting a moment for it
                # where commits fsync, deferred to it where they do not.
                linger = self._shared.may_linger(config, writes)
                self._backend.insert(batches, linger=linger)

    def delete_thread(self, thread_id: str) -> None:
        """Delete every checkpoint, blob and write of a thread, its journal and its audit trail."""
        self._ready()
        self._backend.run(_plans.delete_threads(self._sql, [thread_id]), write=True)
        self._backend.run(_audit.delete_audit([thread_id]), write=True)
        self._shared.audit.forget([thread_id])

    # -- journal (orchestra.journal) ------------------------------------------

    def read_journal(self, thread_id: str, checkpoint_ns: str) -> Sequence[_journal.JournalEntry]:
        """The calls recorded for one task (its namespace holds its id), in order."""
        self._ready()
        return self._journal_reader.read(thread_id, checkpoint_ns)

    def write_journal(
        self, thread_id: str, checkpoint_ns: str, entry: _journal.JournalEntry
    ) -> None:
        """Record one call, committed before this returns."""
        self._ready()
        self._backend.insert(
            [(self._journal_insert, [_journal.journal_row(thread_id, checkpoint_ns, entry)])]
        )

    async def aread_journal(
        self, thread_id: str, checkpoint_ns: str
    ) -> Sequence[_journal.JournalEntry]:
        """Async `read_journal`."""
        await self._aready()
        return await self._journal_reader.aread(thread_id, checkpoint_ns)

    async def awrite_journal(
        self, thread_id: str, checkpoint_ns: str, entry: _journal.JournalEntry
    ) -> None:
        """Async `write_journal`."""
        if not self._shared.ready:  # once per call: no coroutine for the common answer
            await self.asetup()
        row = _journal.journal_row(thread_id, checkpoint_ns, entry)
        await self._backend.ainsert([(self._journal_insert, [row])])

    # -- leases (orchestra.lease) -------------------------------------------------

    def acquire_lease(
        self, thread_id: str, owner: str, seconds: float, *, replacing: str | None = None
    ) -> bool:
        """Take the thread's lease for `seconds` unless another owner holds a live one
        (`replacing` names a holder known to be dead, whose lease may be taken)."""
        self._ready()
        now = time.time()
        plan = _leases.acquire(self._backend.dialect, thread_id, owner, now, seconds, replacing)
        return self._backend.run(plan, write=True)

    def renew_lease(self, thread_id: str, owner: str, seconds: float) -> bool:
        """Extend `owner`'s lease by `seconds` from now; False if it is not theirs any more."""
        self._ready()
        plan = _leases.renew(thread_id, owner, time.time(), seconds)
        return self._backend.run(plan, write=True)

    def release_lease(self, thread_id: str, owner: str) -> None:
        """Give up `owner`'s lease on the thread."""
        self._ready()
        self._backend.run(_leases.release(thread_id, owner), write=True)

    def lease_holder(self, thread_id: str) -> _leases.LeaseHolder | None:
        """The thread's lease (live or expired), if one was taken and not released."""
        self._ready()
        return self._backend.run(_leases.holder(thread_id), write=False)

    def live_leases(self) -> dict[str, _leases.LeaseHolder]:
        """Every thread whose lease has not expired: the threads a live process is running."""
        self._ready()
        return self._backend.run(_leases.live(time.time()), write=False)

    async def aacquire_lease(
        self, thread_id: str, owner: str, seconds: float, *, replacing: str | None = None
    ) -> bool:
        """Async `acquire_lease`."""
        await self._aready()
        now = time.time()
        plan = _leases.acquire(self._backend.dialect, thread_id, owner, now, seconds, replacing)
        return await self._backend.arun(plan, write=True)

    async def alease_holder(self, thread_id: str) -> _leases.LeaseHolder | None:
        """Async `lease_holder`."""
        await self._aready()
        return await self._backend.arun(_leases.holder(thread_id), write=False)

    async def arenew_lease(self, thread_id: str, owner: str, seconds: float) -> bool:
        """Async `renew_lease`."""
        await self._aready()
        plan = _leases.renew(thread_id, owner, time.time(), seconds)
        return await self._backend.arun(plan, write=True)

    async def arelease_lease(self, thread_id: str, owner: str) -> None:
        """Async `release_lease`."""
        await self._aready()
        await self._backend.arun(_leases.release(thread_id, owner), write=True)

    # -- audit trail (orchestra.audit) -----------------------------------------

    def read_audit(self, thread_id: str) -> tuple[Sequence[AuditEntry], ChainHead | None]:
        """A thread's audit entries in chain order, and its chain head (None: never audited)."""
        self._ready()
        return self._backend.run(_audit.read_audit(thread_id), write=False)

    async def aread_audit(self, thread_id: str) -> tuple[Sequence[AuditEntry], ChainHead | None]:
        """Async `read_audit`."""
        await self._aready()
        return await self._backend.arun(_audit.read_audit(thread_id), write=False)

    def delete_for_runs(self, run_ids: Sequence[str]) -> None:
        """Delete the checkpoints (and their writes) made by these runs."""
        self._ready()
        self._backend.run(_plans.delete_for_runs(self._sql, self._codec, run_ids), write=True)

    def copy_thread(self, source_thread_id: str, target_thread_id: str) -> None:
        """Copy a whole thread, every namespace and ancestor, to a new thread id.

        Raises:
            ThreadExistsError: the target thread already has checkpoints.
        """
        self._ready()
        self._backend.run(
            _plans.copy_thread(self._sql, source_thread_id, target_thread_id), write=True
        )

    def prune(self, thread_ids: Sequence[str], *, strategy: str = "keep_latest") -> None:
        """Keep each namespace's latest checkpoint (`keep_latest`) or drop the threads (`delete`).

        The journal goes with what is dropped: a whole thread's, or that of the
        tasks which ran from the deleted checkpoints. The tasks of the latest
        checkpoint, which a resume re-runs, keep theirs.

        Raises:
            NotImplementedError: `keep_latest` on a thread that uses a DeltaChannel.
        """
        self._check_strategy(strategy)
        self._ready()
        if strategy == "delete":
            self._backend.run(_plans.delete_threads(self._sql, thread_ids), write=True)
            return
        self._backend.run(_plans.refuse_delta_threads(self._sql, thread_ids), write=True)
        for thread_id in thread_ids:
            self._backend.run(_plans.keep_latest(self._sql, self._codec, thread_id), write=True)

    def retain(self, *, ttl: timedelta | None = None, keep_latest: bool = False) -> RetentionResult:
        """Apply a retention policy to every thread in the database.

        Args:
            ttl: delete whole threads whose newest checkpoint is older than this.
            keep_latest: then keep only the latest checkpoint of each remaining
                thread's namespaces (threads using a DeltaChannel are skipped).
        """
        self._ready()
        expired: list[str] = []
        if ttl is not None:
            cutoff = time.time() - ttl.total_seconds()
            expired = self._backend.run(_plans.expire(self._sql, cutoff), write=True)
        pruned, skipped = 0, []
        if keep_latest:
            threads = self._backend.run(_plans.select_rows(self._sql.all_threads()), write=False)
            for (thread_id,) in threads:
                try:
                    pruned += self._backend.run(
                        _plans.keep_latest(self._sql, self._codec, thread_id), write=True
                    )
                except NotImplementedError:
                    skipped.append(thread_id)
        return RetentionResult(tuple(expired), pruned, tuple(skipped))

    # -- async ---------------------------------------------------------------

    async def aget_tuple(self, config: RunnableConfig) -> CheckpointTuple | None:
        """Async `get_tuple`."""
        await self._aready()
        return await self._backend.arun(self._get_tuple_plan(config), write=False)

    async def alist(
        self,
        config: RunnableConfig | None,
        *,
        filter: dict[str, Any] | None = None,
        before: RunnableConfig | None = None,
        limit: int | None = None,
    ) -> AsyncIterator[CheckpointTuple]:
        """Async `list`."""
        await self._aready()
        rows = await self._backend.arun(self._list_plan(config, filter, before, limit), write=False)
        for start in range(0, len(rows), _LIST_PAGE):
            page = rows[start : start + _LIST_PAGE]
            for item in await self._backend.arun(
                _plans.load_tuples(self._sql, self._codec, page), write=False
            ):
                yield item

    async def alist_threads(self, *, limit: int | None = None) -> AsyncIterator[CheckpointTuple]:
        """Async `list_threads`."""
        await self._aready()
        plan = _plans.select_rows(self._sql.thread_heads(limit))
        rows = await self._backend.arun(plan, write=False)
        for start in range(0, len(rows), _LIST_PAGE):
            page = rows[start : start + _LIST_PAGE]
            for item in await self._backend.arun(
                _plans.load_tuples(self._sql, self._codec, page), write=False
            ):
                yield item

    async def aput(
        self,
        config: RunnableConfig,
        checkpoint: Checkpoint,
        metadata: CheckpointMetadata,
        new_versions: ChannelVersions,
    ) -> RunnableConfig:
        """Async `put`."""
        await self._aready()
        batches, stored = self._put_batches(config, checkpoint, metadata, new_versions)
        await self._backend.ainsert(batches)
        return stored

    async def aput_writes(
        self,
        config: RunnableConfig,
        writes: Sequence[tuple[str, Any]],
        task_id: str,
        task_path: str = "",
    ) -> None:
        """Async `put_writes`."""
        await self._aready()
        if writes:
            batches = self._put_writes_batches(config, writes, task_id, task_path)
            trail = _audit_entries.drafts(config, writes, task_id, task_path)
            if trail:
                await self._shared.audit.aappend(self._backend, batches, trail)
            else:
                await self._backend.ainsert(batches)

    async def adelete_thread(self, thread_id: str) -> None:
        """Async `delete_thread`."""
        await self._aready()
        await self._backend.arun(_plans.delete_threads(self._sql, [thread_id]), write=True)
        await self._backend.arun(_audit.delete_audit([thread_id]), write=True)
        self._shared.audit.forget([thread_id])

    async def adelete_for_runs(self, run_ids: Sequence[str]) -> None:
        """Async `delete_for_runs`."""
        await self._aready()
        await self._backend.arun(
            _plans.delete_for_runs(self._sql, self._codec, run_ids), write=True
        )

    async def acopy_thread(self, source_thread_id: str, target_thread_id: str) -> None:
        """Async `copy_thread`."""
        await self._aready()
        await self._backend.arun(
            _plans.copy_thread(self._sql, source_thread_id, target_thread_id), write=True
        )

    async def aprune(self, thread_ids: Sequence[str], *, strategy: str = "keep_latest") -> None:
        """Async `prune`."""
        self._check_strategy(strategy)
        await self._aready()
        if strategy == "delete":
            await self._backend.arun(_plans.delete_threads(self._sql, thread_ids), write=True)
            return
        await self._backend.arun(_plans.refuse_delta_threads(self._sql, thread_ids), write=True)
        for thread_id in thread_ids:
            await self._backend.arun(
                _plans.keep_latest(self._sql, self._codec, thread_id), write=True
            )

    async def aretain(
        self, *, ttl: timedelta | None = None, keep_latest: bool = False
    ) -> RetentionResult:
        """Async `retain`."""
        await self._aready()
        expired: list[str] = []
        if ttl is not None:
            cutoff = time.time() - ttl.total_seconds()
            expired = await self._backend.arun(_plans.expire(self._sql, cutoff), write=True)
        pruned, skipped = 0, []
        if keep_latest:
            threads = await self._backend.arun(
                _plans.select_rows(self._sql.all_threads()), write=False
            )
            for (thread_id,) in threads:
                try:
                    pruned += await self._backend.arun(
                        _plans.keep_latest(self._sql, self._codec, thread_id), write=True
                    )
                except NotImplementedError:
                    skipped.append(thread_id)
        return RetentionResult(tuple(expired), pruned, tuple(skipped))

    # -- versions ------------------------------------------------------------

    def get_next_version(self, current: float | None, channel: None) -> float:
        """See `_rows.next_version`: a counter plus a random fraction, safe across forks."""
        return next_version(current)
