"""Leases: how `orchestra runs` tells a thread that is running from one whose process died.

While `run` or `resume` executes a thread it holds the thread's lease, a row beside the
checkpoints that a background thread (a task under `arun`) renews every third of the lease's
length. The lease is released when the run returns or raises; a lease that ran out means its
process died (SIGKILL, out of memory, a lost host), and the thread shows as `interrupted`. A
lease names its holder's host and process id, so on the same host a dead holder is seen at
once, without waiting for the lease to run out. A second process asking to run a thread
whose lease is live is refused (`ThreadBusy`).
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

from orchestra.checkpoint._leases import LeaseHolder
from orchestra.checkpoint.saver import SQLCheckpointer
from orchestra.errors import OrchestraError, ThreadBusy

__all__ = ["DEFAULT_LEASE_SECONDS", "Lease", "LeaseHolder", "held", "lease_seconds", "running"]

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


def held(holder: LeaseHolder | None, now: float | None = None) -> bool:
    """True while `holder`'s lease is live: not expired, and its process not seen to be gone."""
    if holder is None or holder.expires_at <= (time.time() if now is None else now):
        return False
    host, _, rest = holder.owner.partition(":")
    pid = rest.partition(":")[0]
    return not (host == socket.gethostname() and pid.isdigit() and _gone(int(pid)))


def running(saver: SQLCheckpointer) -> set[str]:
    """The threads a live process is running now."""
    now = time.time()
    return {thread for thread, holder in saver.live_leases().items() if held(holder, now)}


def _gone(pid: int) -> bool:
    """True if no process `pid` runs on this host (a zombie, killed but not reaped, counts)."""
    if pid == os.getpid():
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as stat:
            return stat.read().rpartition(")")[2].split()[0] == "Z"
    except (OSError, IndexError):
        return False


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
                holder = self.saver.lease_holder(self.thread_id)
                if held(holder) or not self.saver.acquire_lease(
                    self.thread_id, self.owner, self.seconds, replacing=_owner(holder)
                ):
                    raise self._busy(holder)
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
                holder = await self.saver.alease_holder(self.thread_id)
                if held(holder) or not await self.saver.aacquire_lease(
                    self.thread_id, self.owner, self.seconds, replacing=_owner(holder)
                ):
                    raise self._busy(holder)
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

    def _busy(self, holder: LeaseHolder | None) -> ThreadBusy:
        by, left = ("another process", self.seconds)
        if holder is not None:
            by, left = holder.owner, max(0.0, holder.expires_at - time.time())
        return ThreadBusy(
            f"thread {self.thread_id!r} is running in {by}: wait for it to finish "
            f"(`orchestra runs` shows its status). If that process is gone, its lease runs "
            f"out in {left:.0f}s and `orchestra resume {self.thread_id}` can take over."
        )


def _owner(holder: LeaseHolder | None) -> str | None:
    return holder.owner if holder is not None else None
