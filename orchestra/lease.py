"""Leases: how `orchestra runs` tells a thread that is running from one whose process died.

While `run` or `resume` executes a thread it holds the thread's lease, a row beside the
checkpoints that a background thread (a task under `arun`) renews every third of the lease's
length. The lease is released when the run returns or raises; a lease that ran out means its
process died (SIGKILL, out of memory, a lost host), and the thread shows as `interrupted`. A
second process asking to run a thread whose lease is live is refused (`ThreadBusy`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import threading
import time
import uuid
from types import TracebackType
from typing import Any

from orchestra.checkpoint.saver import SQLCheckpointer
from orchestra.errors import OrchestraError, ThreadBusy

__all__ = ["DEFAULT_LEASE_SECONDS", "Lease", "lease_seconds"]

DEFAULT_LEASE_SECONDS = 15.0
"""How long a lease lasts unless renewed (a heartbeat every 5 seconds renews it)."""

_log = logging.getLogger(__name__)


def lease_seconds(seconds: float | None = None) -> float:
    """The lease length: `seconds`, else `$ORCHESTRA_LEASE_SECONDS`, else 15."""
    if seconds is None:
        text = os.environ.get("ORCHESTRA_LEASE_SECONDS")
        try:
            seconds = float(text) if text else DEFAULT_LEASE_SECONDS
        except ValueError:
            raise OrchestraError(
                f"ORCHESTRA_LEASE_SECONDS={text!r} is not a number of seconds."
            ) from None
    if seconds <= 0:
        raise OrchestraError(f"a lease must last more than 0 seconds, not {seconds}.")
    return seconds


class Lease:
    """Holds a thread's lease while a run executes it: `with` (sync) or `async with`.

    Does nothing when the checkpointer is not a `SQLCheckpointer` (an in-memory run has no
    other process to tell).

    Raises:
        ThreadBusy: another live process holds the thread's lease.
    """

    def __init__(self, saver: Any, thread_id: str, seconds: float | None = None) -> None:
        self.saver = saver if isinstance(saver, SQLCheckpointer) else None
        self.thread_id = thread_id
        self.seconds = lease_seconds(seconds)
        self.owner = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self._stop = threading.Event()
        self._beat: threading.Thread | None = None
        self._abeat: asyncio.Task[None] | None = None

    def __enter__(self) -> Lease:
        if self.saver is not None:
            if not self.saver.acquire_lease(self.thread_id, self.owner, self.seconds):
                raise self._busy()
            self._beat = threading.Thread(
                target=self._heartbeat, name=f"orchestra-lease-{self.thread_id}", daemon=True
            )
            self._beat.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if self.saver is None or self._beat is None:
            return
        self._stop.set()
        self._beat.join()
        self.saver.release_lease(self.thread_id, self.owner)

    async def __aenter__(self) -> Lease:
        if self.saver is not None:
            if not await self.saver.aacquire_lease(self.thread_id, self.owner, self.seconds):
                raise self._busy()
            self._abeat = asyncio.create_task(self._aheartbeat())
        return self

    async def __aexit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if self.saver is None or self._abeat is None:
            return
        self._abeat.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._abeat
        await self.saver.arelease_lease(self.thread_id, self.owner)

    def _heartbeat(self) -> None:
        assert self.saver is not None
        while not self._stop.wait(self.seconds / 3):
            try:
                self.saver.renew_lease(self.thread_id, self.owner, self.seconds)
            except Exception:  # a missed beat is retried; the run itself must go on
                _log.warning("could not renew the lease of %s", self.thread_id, exc_info=True)

    async def _aheartbeat(self) -> None:
        assert self.saver is not None
        while True:
            await asyncio.sleep(self.seconds / 3)
            try:
                await self.saver.arenew_lease(self.thread_id, self.owner, self.seconds)
            except Exception:  # as in `_heartbeat`
                _log.warning("could not renew the lease of %s", self.thread_id, exc_info=True)

    def _busy(self) -> ThreadBusy:
        assert self.saver is not None
        held = self.saver.lease_holder(self.thread_id)
        by, left = ("another process", self.seconds)
        if held is not None:
            by, left = held.owner, max(0.0, held.expires_at - time.time())
        return ThreadBusy(
            f"thread {self.thread_id!r} is running in {by}: wait for it to finish "
            f"(`orchestra runs` shows its status). If that process is gone, its lease runs "
            f"out in {left:.0f}s and `orchestra resume {self.thread_id}` can take over."
        )
