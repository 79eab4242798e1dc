"""Full garbage collections postponed while a wide fan-out's branches are in flight.

CPython scans its whole heap (every module, class and schema: 100K objects and more) when
the objects promoted to its oldest generation since the last such scan reach a quarter of
what it held then. A fan-out of a thousand agents keeps a thousand tasks, configs and
coroutines alive until its superstep ends, young collections promote them, and CPython
rescans the heap once or twice mid-superstep only to find it all alive: as costly as the
superstep's own work. Plain LangGraph pays the same.

So a mapped fan-out of `WIDE` items or more postpones full collections from the moment
its branches are sent until its merge starts. Postponed, never skipped: young collections
go on (short-lived garbage is freed as before); a hold lasts at most `LIMIT` seconds,
whatever becomes of the run (a gc callback ends it at the first young collection past
the deadline); and after a hold, none starts again for as long as it lasted, so full
collections are held off at most half the time. When the hold ends, CPython runs the
collection it owes at its next young collection, once the branches' objects are freed.
"""

from __future__ import annotations

import gc
import threading
import time
from typing import Any

__all__ = ["LIMIT", "WIDE", "postpone_full_collections", "resume_full_collections"]

WIDE = 100
"""Mapped branches from which a fan-out postpones full collections."""

LIMIT = 5.0
"""The longest a hold lasts, in seconds."""

_NEVER = 2**30
"""The oldest generation's threshold during a hold: no automatic full collection."""

_lock = threading.Lock()


class _Hold:
    """The hold in force, if any, and when the next may start (process-wide)."""

    until: float | None = None
    started = 0.0
    saved = 0
    next_allowed = 0.0


def postpone_full_collections(limit: float | None = None) -> bool:
    """Hold off automatic full collections for at most `limit` seconds (default `LIMIT`);
    False when a hold is already in force (it is not extended) or one ended too recently."""
    now = time.monotonic()
    limit = LIMIT if limit is None else limit
    with _lock:
        if _Hold.until is not None or now < _Hold.next_allowed:
            return False
        young, middle, oldest = gc.get_threshold()
        _Hold.saved, _Hold.started, _Hold.until = oldest, now, now + limit
        gc.set_threshold(young, middle, _NEVER)
        if _expire not in gc.callbacks:
            gc.callbacks.append(_expire)
        return True


def resume_full_collections() -> None:
    """End the hold in force, if any: the oldest generation's threshold comes back."""
    with _lock:
        _end(time.monotonic())


def _end(now: float) -> None:
    """Restore the threshold (unless changed since by someone else); hold the lock."""
    if _Hold.until is None:
        return
    young, middle, oldest = gc.get_threshold()
    if oldest == _NEVER:
        gc.set_threshold(young, middle, _Hold.saved)
    _Hold.until = None
    _Hold.next_allowed = now + (now - _Hold.started)


def _expire(phase: str, info: dict[str, Any]) -> None:
    """A gc callback: end a hold past its deadline. It may run on any thread, in the middle
    of any allocation, including one made while `_lock` is held: so it never waits for it."""
    until = _Hold.until
    if phase != "start" or until is None:
        return
    now = time.monotonic()
    if now > until and _lock.acquire(blocking=False):
        try:
            if _Hold.until is not None and now > _Hold.until:
                _end(now)
        finally:
            _lock.release()
