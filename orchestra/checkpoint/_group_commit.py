"""Group commit: the write requests that queue up while one transaction runs share the next.

SQLite has one writer, so concurrent writes wait for each other whatever the code does;
what group commit saves is everything around the database work. A thousand agents that
each record a call would otherwise cost a thousand transactions, a thousand commits and
two thousand thread hand-offs. Here, whoever finds the writer idle becomes the leader:
it takes every request queued so far, runs them in one transaction and commits, and only
then tells each caller its outcome. Nobody hears "written" before the COMMIT that holds
their rows, so durability is exactly that of one transaction per request.

A sync caller (a LangGraph background thread, a CLI command) leads on its own thread when
the writer is idle: no hand-off at all. An async caller queues its request with a future.
When it finds the writer idle and commits do not fsync, it lets the other ready tasks
queue theirs and commits that burst on the event loop's own thread, provided no other
process holds the write lock: a worker thread would pay a wait for the GIL after every
statement while the loop is busy. Anything left, or a batch that would have to wait for a
lock, goes to one worker thread, which serves every request that arrives while it works.

A sync request may linger: finding the writer idle, it waits a moment (`LINGER`) for
company before it leads. LangGraph hands a task's writes and then the next checkpoint to
two background threads at once; the writes linger, the checkpoint's caller finds them
queued and commits both in one transaction on its own thread, so a step costs one
commit, not two. Any other request ends the wait the instant it arrives. That pays where
a commit fsyncs; where it does not, the wait only moves the writes onto the checkpoint's
path (`sqlite` lingers only with synchronous FULL or EXTRA).

Where commits are cheap a request may be deferred instead: `defer` queues it and returns
at once, before it is written. The next transaction of the writer (normally the
checkpoint's, on the same thread a moment later) runs it first, so a step costs one
commit and nobody waits. One that nothing takes along within `DEFER` (a superstep whose
sibling tasks still run, a run that stopped) is committed by itself, by one thread that
serves every saver of the process; `flush` (before a read), `close` and interpreter exit
commit the queue at once. A deferred write that fails fails the next call.
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import os
import threading
import time
import weakref
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Generic, TypeVar

from orchestra.checkpoint._run_writes import LINGER
from orchestra.errors import DeferredWriteError

__all__ = ["DEFER", "LINGER", "GroupCommit", "Request", "WriterClosedError"]

T = TypeVar("T")

DEFER = 0.01
"""Seconds a deferred write waits to be taken along by another transaction before it is
committed by itself (the flusher looks every `DEFER`, so it may wait up to twice this).

Each look takes the GIL from whatever thread holds it, in the middle of a step: a
pipeline of fast steps ran about 3% slower with looks every 2 ms than every 10 ms. The
writes that wait this long are a finished task's whose sibling tasks still run, and a
crash meanwhile re-runs only that task, its journaled calls replayed."""

_IDLE_LOOKS = 10
"""Looks (`DEFER` apart) the flusher takes with no writer to look at before it sleeps."""

_WAITING, _DONE, _LEAD = 0, 1, 2


class WriterClosedError(RuntimeError):
    """A write was asked of a saver that was closed."""


class Request(Generic[T]):
    """One caller's write: work to run inside the shared transaction, and its outcome."""

    __slots__ = (
        "_future",
        "_loop",
        "_state",
        "_waiter",
        "deferred_at",
        "error",
        "read_only",
        "result",
        "single_statement",
        "work",
    )

    def __init__(
        self,
        work: Callable[[], T],
        *,
        read_only: bool,
        single_statement: bool,
        deferred_at: float | None = None,
    ) -> None:
        self.work = work
        self.read_only = read_only
        """Whether `work` only reads (it needs no write lock and no savepoint)."""
        self.single_statement = single_statement
        """Whether `work` is one statement, atomic without a transaction of its own."""
        self.deferred_at = deferred_at
        """When a deferred request (nobody waits for it) was queued; None for the others."""
        self.result: T | None = None
        self.error: BaseException | None = None
        self._state = _WAITING
        self._waiter: threading.Lock | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._future: asyncio.Future[T] | None = None

    def outcome(self) -> T:
        if self.error is not None:
            raise self.error
        return self.result  # type: ignore[return-value]


def _settle(requests: list[Request[Any]]) -> None:
    """Resolve async callers' futures; runs on their event loop."""
    for request in requests:
        future = request._future
        assert future is not None
        if future.done():  # the caller was cancelled; the write happened anyway
            continue
        if request.error is not None:
            future.set_exception(request.error)
        else:
            future.set_result(request.result)


class GroupCommit:
    """Serialises write requests into shared transactions, sync and async callers alike.

    Args:
        commit_batch: `commit_batch(batch, wait=...)` runs every request of a batch in
            one transaction and commits it, setting each request's `result` or `error`
            (a failing request must fail alone: its own work undone, the others' kept),
            and returns True. With `wait=False` it must not block on another process's
            lock: it returns False, having done nothing. Only one thread calls it at a time.
            A sync `single_statement` request that finds the writer idle skips it: its
            `work()` runs directly on the caller's thread, as the lone statement it is
            (so `work` must bring its own connection).
        inline_async: let an async caller that finds the writer idle commit the first
            batch on its event loop's thread (right for commits that do not fsync).
        linger: seconds a lingering request waits for company.
        defer: seconds a deferred request waits to be taken along (`defer`).
    """

    def __init__(
        self,
        commit_batch: Callable[..., bool],
        *,
        inline_async: bool = False,
        linger: float = LINGER,
        defer: float = DEFER,
    ) -> None:
        self._commit_batch = commit_batch
        self._inline = inline_async
        self._linger = linger
        self._defer = defer
        # Deferred requests not yet answered (queued, or in a batch not yet committed).
        self._deferred = 0
        # The first failure of a deferred request, for the next call to raise.
        self._deferred_error: BaseException | None = None
        # Whether the flusher will look at this writer's queue.
        self._watched = False
        # The request waiting for company, queued while nobody leads; whoever takes
        # the lead next takes it along.
        self._lingerer: Request[Any] | None = None
        self._mutex = threading.Lock()
        self._idle = threading.Condition(self._mutex)
        self._queue: list[Request[Any]] = []
        self._leading = False
        self._closed = False
        self._executor: ThreadPoolExecutor | None = None

    def call(
        self,
        work: Callable[[], T],
        *,
        read_only: bool = False,
        single_statement: bool = False,
        linger: bool = False,
    ) -> T:
        """Run `work` in the next shared transaction; returns once it is committed.

        With `linger`, a request that finds the writer idle waits up to `linger` seconds
        for another request to share the transaction with, and goes alone after that.
        """
        if single_statement and not linger:
            with self._mutex:
                alone = not self._leading and not self._queue and self._deferred_error is None
                alone = alone and not self._closed and self._lingerer is None
                if alone:
                    self._leading = True
            if alone:
                # The writer is idle and one statement is a transaction by itself: run
                # it here, with no request to queue and no batch to commit.
                try:
                    return work()
                finally:
                    with self._mutex:
                        self._pass_lead(worker=False)
        request: Request[T] = Request(work, read_only=read_only, single_statement=single_statement)
        lingering = False
        with self._mutex:
            self._check_open()
            waiter = None
            if self._leading or linger:
                waiter = request._waiter = threading.Lock()
                waiter.acquire()
                self._queue.append(request)
                # Another lingerer's wait ends first; this one simply goes with it.
                lingering = not self._leading and self._lingerer is None
                if lingering:
                    self._lingerer = request
            else:
                # Nobody leads, so nothing is queued but a lingerer or deferred requests:
                # lead, taking them along.
                self._leading = True
                self._lingerer = None
        if waiter is None:
            try:
                self._run_batch(request)
            finally:
                with self._mutex:
                    self._pass_lead(worker=False)
            return request.outcome()
        # Released when the request is done, or when it is handed the lead.
        if not lingering:
            waiter.acquire()
        elif not waiter.acquire(timeout=self._linger):
            with self._mutex:
                # Nobody came: lead, with whatever queued meanwhile.
                alone = self._lingerer is request
                if alone:
                    self._lingerer = None
                    self._leading = True
                    request._state = _LEAD
            if not alone:
                # Taken along by a leader that has not answered yet.
                waiter.acquire()
        if request._state == _LEAD:
            self._lead()
        return request.outcome()

    def run_if_idle(self, work: Callable[[], T]) -> tuple[bool, T | None]:
        """Run `work` on this thread if the writer is idle, holding it meanwhile: (True, its
        result). (False, None) at once if the writer is busy, lingered on, or closed.

        For a sync read on the writer's own connection, whose pages and compiled statements
        are warm, where a pooled connection would cost a checkout; a busy writer is never
        waited for (the caller reads elsewhere).
        """
        with self._mutex:
            alone = not self._leading and not self._queue and not self._closed
            if not alone or self._lingerer is not None:
                return False, None
            self._leading = True
        try:
            return True, work()
        finally:
            with self._mutex:
                self._pass_lead(worker=False)

    async def acall(
        self, work: Callable[[], T], *, read_only: bool = False, single_statement: bool = False
    ) -> T:
        """Async `call`: waits on a future, never on a thread of its own."""
        loop = asyncio.get_running_loop()
        request: Request[T] = Request(work, read_only=read_only, single_statement=single_statement)
        future: asyncio.Future[T] = loop.create_future()
        request._future, request._loop = future, loop
        with self._mutex:
            self._check_open()
            self._queue.append(request)
            start = not self._leading
            self._leading = True
            self._lingerer = None  # queued: the batch takes it along
            if start and not self._inline:
                self._worker().submit(self._drain)
        if start and self._inline:
            try:
                # Let the tasks made ready with this one queue their writes first.
                await asyncio.sleep(0)
                self._inline_batch()
            finally:
                with self._mutex:
                    self._pass_lead(worker=False)
        return await future

    def defer(self, work: Callable[[], Any], *, single_statement: bool) -> None:
        """Queue `work` for the next transaction and return at once, before it runs.

        Nobody waits for it: another request's transaction takes it along, or after
        `defer` seconds the flusher commits it. If it fails, the next call raises
        `DeferredWriteError`.
        """
        request: Request[Any] = Request(
            work, read_only=False, single_statement=single_statement, deferred_at=time.monotonic()
        )
        with self._mutex:
            self._check_open()
            self._queue.append(request)
            self._deferred += 1
            watch = not self._watched
            self._watched = True
        if watch:
            _FLUSHER.watch(self)

    def flush(self) -> None:
        """Commit the deferred requests queued so far; raise if one of them failed.

        A no-op unless some are queued or in flight, so a read costs nothing more
        when nothing was deferred.
        """
        if self._deferred or self._deferred_error is not None:
            self.call(_nothing, read_only=True)

    def close(self) -> None:
        """Refuse new requests, and wait for the queued ones to be committed.

        Raises:
            DeferredWriteError: a deferred request failed and no call has said so yet.
        """
        with self._mutex:
            self._closed = True
            lingerer, self._lingerer = self._lingerer, None
            if lingerer is not None:
                # Cut its wait short: it leads now, and the queue is committed.
                assert lingerer._waiter is not None
                self._leading = True
                lingerer._state = _LEAD
                lingerer._waiter.release()
            while self._leading:
                self._idle.wait()
            # Deferred requests nobody took along yet: commit them here.
            leftover = bool(self._queue)
            if leftover:
                self._leading = True
        if leftover:
            self._lead()
        with self._mutex:
            executor, self._executor = self._executor, None
        if executor is not None:
            executor.shutdown(wait=True)
        self._raise_deferred_error()

    def _flush_overdue(self) -> bool:
        """The flusher's look: commit the queue if a deferred request waited `defer`
        seconds with nobody leading. Returns whether deferred requests are still queued."""
        with self._mutex:
            first = next((r for r in self._queue if r.deferred_at is not None), None)
            if first is None or self._closed:  # `close` commits the queue itself
                self._watched = False
                return False
            waited = time.monotonic() - first.deferred_at  # type: ignore[operator]
            if self._leading or waited < self._defer:
                return True
            self._leading = True
            # This batch takes every queued request; the next `defer` asks to be watched.
            self._watched = False
        self._lead()
        return False

    # -- inside -----------------------------------------------------------------

    def _inline_batch(self) -> None:
        """Commit the queue on the event loop's own thread, if the writer is free now.

        No thread hand-off and no wait for the GIL per statement; if another process
        holds the write lock, the batch goes back to the queue for the worker thread,
        which may wait for it without stalling the loop.
        """
        with self._mutex:
            batch, self._queue = self._queue, []
        if not self._commit(batch, wait=False):
            with self._mutex:
                self._queue[:0] = batch

    def _check_open(self) -> None:
        """Refuse a call to a closed writer, or one after a deferred request failed
        (holding the mutex)."""
        if self._closed:
            raise WriterClosedError(
                "this SQLCheckpointer was closed: open a new one to write to the database"
            )
        self._raise_deferred_error()

    def _raise_deferred_error(self) -> None:
        error, self._deferred_error = self._deferred_error, None
        if error is not None:
            raise DeferredWriteError(
                f"a task's writes, queued to share the next commit, were not written "
                f"({type(error).__name__}: {error}); the run's last checkpoint lacks them: "
                f"resume it to run that task again"
            ) from error

    def _worker(self) -> ThreadPoolExecutor:
        if self._executor is None:
            self._executor = ThreadPoolExecutor(1, thread_name_prefix="orchestra-writer")
        return self._executor

    def _lead(self) -> None:
        """Commit one batch (it holds our own request), then pass the lead on."""
        try:
            self._run_batch(None)
        finally:
            with self._mutex:
                self._pass_lead(worker=False)

    def _drain(self) -> None:
        """The worker thread: commit batches until the queue is empty."""
        keep_going = True
        while keep_going:
            try:
                self._run_batch(None)
            except BaseException:
                # This batch's callers were told; the requests queued since still
                # need someone to run them.
                with self._mutex:
                    if self._pass_lead(worker=True):
                        self._worker().submit(self._drain)
                raise
            with self._mutex:
                keep_going = self._pass_lead(worker=True)

    def _pass_lead(self, *, worker: bool) -> bool:
        """After a batch (holding the mutex): whether the worker should go on draining.

        Deferred requests alone are left queued for the next transaction or the flusher.
        """
        queue = self._queue
        if not queue or (self._deferred and all(r.deferred_at is not None for r in queue)):
            self._leading = False
            self._idle.notify_all()
            return False
        if worker:
            return True
        # A sync leader's caller has its answer; someone else serves the rest. A waiting
        # sync caller is awake enough to lead; otherwise the worker thread does.
        for request in self._queue:
            if request._waiter is not None:
                request._state = _LEAD
                request._waiter.release()
                return False
        self._worker().submit(self._drain)
        return False

    def _run_batch(self, own: Request[Any] | None) -> None:
        """Commit `own` (a leader's request, not queued) and everything queued."""
        with self._mutex:
            batch, self._queue = self._queue, []
        if own is not None:
            batch.insert(0, own)
        self._commit(batch, wait=True)

    def _commit(self, batch: list[Request[Any]], *, wait: bool) -> bool:
        """Commit `batch` and answer its callers; False (nobody answered) if it could not
        begin without waiting for another process's lock."""
        try:
            ran = self._commit_batch(batch, wait=wait)
        except BaseException as exc:
            # commit_batch records per-request failures itself; anything escaping it
            # (KeyboardInterrupt, a bug) must still release every caller.
            for request in batch:
                if request.error is None:
                    request.error = exc
            self._resolve(batch)
            raise
        if ran:
            self._resolve(batch)
        return ran

    def _resolve(self, batch: list[Request[Any]]) -> None:
        if self._deferred:
            self._settle_deferred(batch)
        by_loop: dict[asyncio.AbstractEventLoop, list[Request[Any]]] | None = None
        for request in batch:
            if request._loop is not None:
                if by_loop is None:
                    by_loop = {}
                by_loop.setdefault(request._loop, []).append(request)
            elif request._waiter is not None and request._state != _LEAD:
                # A waiting sync caller (the leader's own request is simply returned).
                request._state = _DONE
                request._waiter.release()
        for loop, requests in (by_loop or {}).items():
            # A closed loop raises RuntimeError: nobody is waiting there any more.
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(_settle, requests)

    def _settle_deferred(self, batch: list[Request[Any]]) -> None:
        """Count a batch's deferred requests as answered, keeping the first failure."""
        deferred = [r for r in batch if r.deferred_at is not None]
        if deferred:
            with self._mutex:
                self._deferred -= len(deferred)
                for request in deferred:
                    if request.error is not None and self._deferred_error is None:
                        self._deferred_error = request.error


def _nothing() -> None:
    """The work of a `flush`: the transaction it joins commits the queue."""


class _Flusher:
    """One daemon thread for the process: commits deferred requests nobody took along.

    It looks every `DEFER` seconds while some writer has deferred requests queued, and
    for `_IDLE_LOOKS` looks after the last one, then sleeps until a writer asks again. A
    run defers a task's writes at every step, a fraction of `DEFER` apart: the flusher
    stays awake between them, so a step costs it no wake-up of its own, only a share
    of one timed look. A writer asks to be looked at once per look, not once per request.
    """

    def __init__(self) -> None:
        self._cond = threading.Condition(threading.Lock())
        self._writers: list[GroupCommit] = []
        self._thread: threading.Thread | None = None
        self._idle = False
        # Every writer that deferred, so that interpreter exit commits their queues.
        self.deferring: weakref.WeakSet[GroupCommit] = weakref.WeakSet()

    def forked(self) -> None:
        """In a forked child: the thread did not come along; the next `watch` starts one."""
        self._cond = threading.Condition(threading.Lock())
        self._writers = []
        self._thread = None
        self._idle = False

    def watch(self, writer: GroupCommit) -> None:
        with self._cond:
            self._writers.append(writer)
            self.deferring.add(writer)
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._run, name="orchestra-flusher", daemon=True
                )
                self._thread.start()
            elif self._idle:
                self._cond.notify()

    def _run(self) -> None:
        empty_looks = 0
        while True:
            with self._cond:
                while not self._writers and empty_looks >= _IDLE_LOOKS:
                    self._idle = True
                    self._cond.wait()
                    empty_looks = 0
                self._idle = False
            time.sleep(DEFER)
            with self._cond:
                writers, self._writers = self._writers, []
            empty_looks = 0 if writers else empty_looks + 1
            keep = []
            for writer in writers:
                try:
                    if writer._flush_overdue():
                        keep.append(writer)
                except Exception:
                    # Recorded on the failed requests: the writer's next call raises it.
                    continue
            if keep:
                with self._cond:
                    self._writers.extend(keep)

    def flush_all(self) -> None:
        """Commit every writer's deferred requests (at interpreter exit)."""
        first: BaseException | None = None
        for writer in list(self.deferring):
            try:
                writer.flush()
            except Exception as exc:
                first = first or exc
        if first is not None:
            raise first


_FLUSHER = _Flusher()
atexit.register(_FLUSHER.flush_all)
os.register_at_fork(after_in_child=_FLUSHER.forked)
