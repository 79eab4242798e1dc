"""PostgreSQL: one run's inserts take turns, and a task's writes share the next checkpoint's.

LangGraph hands a task's writes and then the next checkpoint to two background threads
at once. Sent side by side on two connections they cost more than in turn (both threads
then wait for the CPU and the GIL as well as for the server); sent in turn the
checkpoint waits a whole round trip for the writes. So the writes wait a moment for the
checkpoint that follows them, and the two go as one statement: one round trip, one
commit, and nobody hears "written" before the commit that holds their rows.

Runs are spread over lanes by thread id; a lane runs one batch at a time, so other runs
are not held up (except by sharing a lane, one in `LANES`).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from typing import Any

__all__ = ["LANES", "LINGER", "RunWrites"]

Batches = Sequence[Any]

LANES = 64

LINGER = 0.002
"""Seconds a task's writes wait for a checkpoint to travel with. The next checkpoint
follows within a fraction of this; when none does (parallel tasks still running, the
run ending) the writes go alone, or with the other tasks' writes that queued meanwhile."""


class _Request:
    __slots__ = ("batches", "done", "error", "linger_until")

    def __init__(self, batches: Batches, linger_until: float) -> None:
        self.batches = batches
        self.linger_until = linger_until
        self.done = False
        self.error: BaseException | None = None


class _Lane:
    __slots__ = ("busy", "queue", "turn")

    def __init__(self) -> None:
        self.turn = threading.Condition(threading.Lock())
        self.queue: list[_Request] = []
        self.busy = False


class RunWrites:
    """Runs inserts through per-run lanes.

    Args:
        write: runs a list of requests' batches atomically in one round trip where it
            can (it raises if any of them fails, having written none).
        write_one: runs one request's batches atomically.
        linger: seconds a lingering insert waits for company.
    """

    def __init__(
        self,
        write: Callable[[list[Batches]], None],
        write_one: Callable[[Batches], None],
        *,
        linger: float = LINGER,
    ) -> None:
        self._write = write
        self._write_one = write_one
        self._linger = linger
        self._lanes = tuple(_Lane() for _ in range(LANES))

    def insert(self, thread_id: str, batches: Batches, *, linger: bool) -> None:
        """Insert `batches` (one run's rows); returns once they are committed.

        With `linger`, wait a moment (`LINGER`) for another insert of the lane to go with.
        """
        lane = self._lanes[hash(thread_id) % LANES]
        request = _Request(batches, time.monotonic() + self._linger if linger else 0.0)
        turn = lane.turn
        with turn:
            lane.queue.append(request)
            while not request.done:
                wait = None
                if not lane.busy:
                    wait = _linger(lane.queue)
                    if wait <= 0:
                        lane.busy = True
                        batch, lane.queue = lane.queue, []
                        break
                turn.wait(wait)
            else:
                batch = []
        if batch:
            escaped: BaseException | None = None
            try:
                self._run(batch)
            except BaseException as exc:
                escaped = exc
                raise
            finally:
                with turn:
                    lane.busy = False
                    for queued in batch:
                        # Whatever escaped the batch (an interrupt, say) reaches every
                        # waiter: none of them may hear "written" for rows not committed.
                        if escaped is not None and queued.error is None:
                            queued.error = escaped
                        queued.done = True
                    turn.notify_all()
        if request.error is not None:
            raise request.error

    def _run(self, batch: list[_Request]) -> None:
        if len(batch) > 1:
            try:
                self._write([request.batches for request in batch])
                return
            except Exception:
                # One of them failed and took the rest with it: each again on its own
                # below, so a failing request fails alone. The inserts are idempotent,
                # so a retry after a lost acknowledgement changes nothing.
                pass
        for request in batch:
            try:
                self._write_one(request.batches)
            except BaseException as exc:
                request.error = exc


def _linger(queue: list[_Request]) -> float:
    """Seconds until the queue goes: none once it holds a request that does not
    linger, or one that has lingered long enough."""
    return min(request.linger_until for request in queue) - time.monotonic()
