"""Appending to a thread's audit chain from the head this process last wrote there.

Reading the head and looking up the records already audited on every append costs a
recording step several statements (and on PostgreSQL a lock). A saver remembers each
chain's head instead and links new entries to it: one statement on PostgreSQL, a
transaction of three on SQLite. That append changes nothing unless the remembered head
is still the head and no record is audited yet; when it fails (another process
appended, a record is delivered again, this process never saw the thread), the careful
append runs in its place. Appends to one thread from this process take turns, so the
branches of a fan-out do not race each other onto the careful path: on PostgreSQL by a
lock per thread, on SQLite inside the one writer, where they share its group commit.
"""

from __future__ import annotations

import asyncio
import sqlite3
import threading
import weakref
from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING, Any, cast

from sqlalchemy.exc import IntegrityError

from orchestra.audit.chain import GENESIS, ChainHead, link
from orchestra.audit.entry import AuditEntry
from orchestra.checkpoint import _audit
from orchestra.checkpoint._backend import MAX_ROWS, Backend, Batch

if TYPE_CHECKING:
    from orchestra.checkpoint.postgres import PostgresBackend
    from orchestra.checkpoint.sqlite import SQLiteBackend

__all__ = ["AuditAppender"]

# Chain heads remembered; past this the least recently appended are forgotten (and
# found again, by the careful path, on their next append).
_MAX_HEADS = 10_000
# Locks that appends to one thread take turns on; threads share one by hash.
_STRIPES = 64
_NEW_CHAIN = ChainHead(0, GENESIS)
# Why a quick SQLite append gave way to the careful one, having written nothing.
_QUICK_FAILED = (IntegrityError, sqlite3.IntegrityError, _audit.HeadMoved)


class AuditAppender:
    """Appends audit entries for one saver (and its clones), remembering chain heads."""

    def __init__(self) -> None:
        self._heads: dict[str, ChainHead] = {}
        self._heads_lock = threading.Lock()
        self._turns = tuple(threading.Lock() for _ in range(_STRIPES))
        self._async_turns: weakref.WeakKeyDictionary[
            asyncio.AbstractEventLoop, tuple[asyncio.Lock, ...]
        ] = weakref.WeakKeyDictionary()
        self._extensions: dict[tuple[bool, tuple[tuple[int, int], ...]], _audit.Extension] = {}
        self._driver_extensions: dict[
            tuple[int, tuple[tuple[int, int], ...]], _audit.DriverExtension
        ] = {}

    def append(
        self, backend: Backend, batches: Sequence[Batch], drafts: Sequence[AuditEntry]
    ) -> None:
        """Store the write `batches` and chain the `drafts` not yet audited, in one transaction."""
        thread_id = _one_thread(batches, drafts, backend.dialect)
        if thread_id is None:
            self._careful(backend, batches, drafts)
            return
        if backend.dialect != "postgresql":
            sqlite_backend = cast("SQLiteBackend", backend)
            try:
                sqlite_backend.run_driver(
                    self._linked(backend, thread_id, batches, drafts), write=True
                )
            except _QUICK_FAILED:
                self._careful(backend, batches, drafts)
            return
        with self._turns[hash(thread_id) % _STRIPES]:
            prev = self._head(thread_id)
            entries = link(drafts, *prev)
            pg = cast("PostgresBackend", backend)
            try:
                pg.run_statement(*self._extension(pg, batches, entries, prev))
            except IntegrityError:
                self._careful(backend, batches, drafts)
                return
            self._remember(thread_id, ChainHead(entries[-1].seq, entries[-1].hash))

    async def aappend(
        self, backend: Backend, batches: Sequence[Batch], drafts: Sequence[AuditEntry]
    ) -> None:
        """Async `append`."""
        thread_id = _one_thread(batches, drafts, backend.dialect)
        if thread_id is None:
            await self._acareful(backend, batches, drafts)
            return
        if backend.dialect != "postgresql":
            sqlite_backend = cast("SQLiteBackend", backend)
            work = self._linked(backend, thread_id, batches, drafts)
            try:
                await sqlite_backend.arun_driver(work, write=True)
            except _QUICK_FAILED:
                await self._acareful(backend, batches, drafts)
            return
        async with self._async_turn(thread_id):
            prev = self._head(thread_id)
            entries = link(drafts, *prev)
            pg = cast("PostgresBackend", backend)
            try:
                await pg.arun_statement(*self._extension(pg, batches, entries, prev))
            except IntegrityError:
                await self._acareful(backend, batches, drafts)
                return
            self._remember(thread_id, ChainHead(entries[-1].seq, entries[-1].hash))

    def _linked(
        self,
        backend: Backend,
        thread_id: str,
        batches: Sequence[Batch],
        drafts: Sequence[AuditEntry],
    ) -> Callable[[sqlite3.Connection], None]:
        """SQLite: the work that links the drafts to the remembered head when the one
        writer runs it, on the writer's driver.

        Work runs one request at a time inside the writer's transaction, so appends to a
        thread need no turns of their own and the branches of a fan-out share one commit.
        A head remembered from a transaction that then failed to commit is only a wrong
        guess: the next append finds the head elsewhere and chains carefully.
        """
        parts = [(statement, rows) for statement, rows in batches if rows]
        counts = [len(rows) if len(rows) <= MAX_ROWS else _audit.MANY for _, rows in parts]
        shape = (len(drafts), tuple((id(st), n) for (st, _), n in zip(parts, counts, strict=True)))
        extension = self._driver_extensions.get(shape)
        if extension is None:
            extension = _audit.DriverExtension(
                [(st, list(rows[0]), n) for (st, rows), n in zip(parts, counts, strict=True)],
                len(drafts),
                backend.engine.dialect,
            )
            self._driver_extensions[shape] = extension
        return _LinkedAppend(
            self, extension, extension.write_args([rows for _, rows in parts]), thread_id, drafts
        )

    def forget(self, thread_ids: Iterable[str]) -> None:
        """Drop the remembered heads of threads whose trails were deleted."""
        with self._heads_lock:
            for thread_id in thread_ids:
                self._heads.pop(thread_id, None)

    def _careful(
        self, backend: Backend, batches: Sequence[Batch], drafts: Sequence[AuditEntry]
    ) -> None:
        heads = backend.run(_audit.append(backend.dialect, batches, drafts), write=True)
        for thread_id, head in heads.items():
            self._remember(thread_id, head)

    async def _acareful(
        self, backend: Backend, batches: Sequence[Batch], drafts: Sequence[AuditEntry]
    ) -> None:
        heads = await backend.arun(_audit.append(backend.dialect, batches, drafts), write=True)
        for thread_id, head in heads.items():
            self._remember(thread_id, head)

    def _head(self, thread_id: str) -> ChainHead:
        # A thread not seen yet is most likely a new run: guess a new chain.
        with self._heads_lock:
            return self._heads.get(thread_id, _NEW_CHAIN)

    def _remember(self, thread_id: str, head: ChainHead) -> None:
        with self._heads_lock:
            self._heads.pop(thread_id, None)
            self._heads[thread_id] = head
            if len(self._heads) > _MAX_HEADS:
                del self._heads[next(iter(self._heads))]

    def _async_turn(self, thread_id: str) -> asyncio.Lock:
        loop = asyncio.get_running_loop()
        turns = self._async_turns.get(loop)
        if turns is None:
            turns = tuple(asyncio.Lock() for _ in range(_STRIPES))
            self._async_turns[loop] = turns
        return turns[hash(thread_id) % _STRIPES]

    def _extension(
        self,
        backend: PostgresBackend,
        batches: Sequence[Batch],
        entries: Sequence[AuditEntry],
        prev: ChainHead,
    ) -> tuple[str, dict[str, Any]]:
        parts = [(statement, rows) for statement, rows in batches if rows]
        shape = (prev.seq == 0, tuple((id(statement), len(rows)) for statement, rows in parts))
        extension = self._extensions.get(shape)
        if extension is None:
            extension = _audit.Extension(
                [(statement, list(rows[0]), len(rows)) for statement, rows in parts],
                new_chain=prev.seq == 0,
                dialect=backend.engine.dialect,
            )
            self._extensions[shape] = extension
        return extension.sql, extension.args([rows for _, rows in parts], entries, prev)


class _LinkedAppend:
    """One quick SQLite append, as the writer runs it: link to the head remembered then.

    A slotted object rather than a closure: one allocation per branch instead of a
    function, its cells and their tuple.
    """

    __slots__ = ("_appender", "_drafts", "_extension", "_thread_id", "_writes")

    def __init__(
        self,
        appender: AuditAppender,
        extension: _audit.DriverExtension,
        writes: list[tuple[str, Any, bool]],
        thread_id: str,
        drafts: Sequence[AuditEntry],
    ) -> None:
        self._appender = appender
        self._extension = extension
        self._writes = writes
        self._thread_id = thread_id
        self._drafts = drafts

    def __call__(self, driver: sqlite3.Connection) -> None:
        prev = self._appender._head(self._thread_id)
        entries = link(self._drafts, *prev)
        self._extension.run(driver, self._writes, entries, prev)
        self._appender._remember(self._thread_id, ChainHead(entries[-1].seq, entries[-1].hash))


def _one_thread(batches: Sequence[Batch], drafts: Sequence[AuditEntry], dialect: str) -> str | None:
    """The thread whose chain the quick append can extend: the one all `drafts` belong to
    (one `put_writes` call's always do), unless the rows are too many for its statements
    (PostgreSQL's is one statement; SQLite's inserts a long write's rows one by one)."""
    thread_id = drafts[0].thread_id
    if len(drafts) > MAX_ROWS:
        return None
    if dialect == "postgresql" and any(len(rows) > MAX_ROWS for _, rows in batches):
        return None
    return thread_id if all(d.thread_id == thread_id for d in drafts) else None
