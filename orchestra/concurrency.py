"""How many agent calls run at once, per run and per process.

A 1,000-way fan-out should not open 1,000 model connections. Every journaled agent call
(`Agent.invoke`/`ainvoke`) first takes a slot from its run's limit, then one from the
process's. Sync runs wait on threading semaphores; async runs on asyncio semaphores made
lazily for the running event loop (so the process limit holds per event loop).
"""

from __future__ import annotations

import asyncio
import os
import threading
import weakref
from collections.abc import AsyncIterator, Iterator
from contextlib import (
    AbstractAsyncContextManager,
    AbstractContextManager,
    asynccontextmanager,
    contextmanager,
    nullcontext,
)
from enum import Enum, auto
from typing import Any

from langchain_core.runnables import RunnableConfig

__all__ = ["PROCESS_LIMIT_ENV", "RUN_LIMIT_KEY", "process_limit", "set_process_limit"]

RUN_LIMIT_KEY = "max_concurrent_calls"
"""The `configurable` key holding a run's limit on agent calls at once (an int)."""

PROCESS_LIMIT_ENV = "ORCHESTRA_MAX_CONCURRENT_CALLS"
"""The environment variable giving the process's limit when `set_process_limit` was not called.

Read when the limit is first needed, and again after `set_process_limit(None)`."""


class _Gate:
    """`limit` slots, shared by threads and by the tasks of each event loop."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._threads = threading.BoundedSemaphore(limit)
        self._loops: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Semaphore]
        self._loops = weakref.WeakKeyDictionary()
        self._lock = threading.Lock()

    @contextmanager
    def hold(self) -> Iterator[None]:
        with self._threads:
            yield

    @asynccontextmanager
    async def ahold(self) -> AsyncIterator[None]:
        loop = asyncio.get_running_loop()
        with self._lock:
            semaphore = self._loops.get(loop)
            if semaphore is None:
                semaphore = self._loops[loop] = asyncio.Semaphore(self.limit)
        async with semaphore:
            yield


class _Unread(Enum):
    UNREAD = auto()


_UNREAD = _Unread.UNREAD
# The process's gate (None: unbounded), or _UNREAD until the environment is next read. One
# global, so a call reads the gate and whether it is known at once.
_process: _Gate | _Unread | None = _UNREAD
_process_lock = threading.Lock()

# A run's gate lives while any of its calls holds or waits for it (each keeps a reference);
# one made afresh between calls starts with every slot free, as the old one had.
_runs: weakref.WeakValueDictionary[tuple[str | None, int], _Gate] = weakref.WeakValueDictionary()
_runs_lock = threading.Lock()


def set_process_limit(limit: int | None) -> None:
    """Bound the agent calls running at once in this process.

    Overrides `$ORCHESTRA_MAX_CONCURRENT_CALLS`; None goes back to it, reading it again
    when the limit is next needed (no bound when it is unset). Calls already holding a slot
    keep it; new calls wait on the new bound.

    Raises:
        ValueError: `limit` is not a positive integer.
    """
    global _process
    gate = _UNREAD if limit is None else _Gate(positive_limit(limit, "set_process_limit"))
    with _process_lock:
        _process = gate


def process_limit() -> int | None:
    """The process's bound on agent calls at once (None: unbounded)."""
    gate = _process_gate()
    return None if gate is None else gate.limit


def _process_gate() -> _Gate | None:
    gate = _process
    return _read_process_limit() if gate is _UNREAD else gate


def _read_process_limit() -> _Gate | None:
    """The gate `$ORCHESTRA_MAX_CONCURRENT_CALLS` asks for, kept until `set_process_limit`.

    Read once, not on every call: looking up an unset variable raises and catches two
    KeyErrors, a measurable share of a short agent call.
    """
    global _process
    raw = os.environ.get(PROCESS_LIMIT_ENV, "").strip()
    gate = None
    if raw:
        try:
            gate = _Gate(positive_limit(int(raw), PROCESS_LIMIT_ENV))
        except ValueError:
            raise ValueError(
                f"{PROCESS_LIMIT_ENV}={raw!r} is not a positive integer: set it to one, or unset it"
            ) from None
    with _process_lock:
        if isinstance(_process, _Unread):  # else another thread read it or set a limit
            _process = gate
        return _process


def _run_gate(config: RunnableConfig | None) -> _Gate | None:
    configurable: dict[str, Any] = (config or {}).get("configurable") or {}
    limit = configurable.get(RUN_LIMIT_KEY)
    if limit is None:
        return None
    key = (configurable.get("thread_id"), positive_limit(limit, RUN_LIMIT_KEY))
    with _runs_lock:
        gate = _runs.get(key)
        if gate is None:
            gate = _runs[key] = _Gate(key[1])
        return gate


def call_slot(config: RunnableConfig | None) -> AbstractContextManager[None]:
    """Hold a slot of the run's limit, then of the process's, around a sync agent call."""
    run, process = _run_gate(config), _process_gate()
    if run is None and process is None:
        return _NO_SLOT  # the common unbounded case: nothing to hold, nothing to build
    return _held(run, process)


def acall_slot(config: RunnableConfig | None) -> AbstractAsyncContextManager[None]:
    """Async twin of `call_slot`, on semaphores of the running event loop."""
    run, process = _run_gate(config), _process_gate()
    if run is None and process is None:
        return _NO_SLOT
    return _aheld(run, process)


_NO_SLOT: nullcontext[None] = nullcontext()
"""Reusable (it holds nothing), in both `with` and `async with`."""


@contextmanager
def _held(run: _Gate | None, process: _Gate | None) -> Iterator[None]:
    with run.hold() if run else _NO_SLOT, process.hold() if process else _NO_SLOT:
        yield


@asynccontextmanager
async def _aheld(run: _Gate | None, process: _Gate | None) -> AsyncIterator[None]:
    async with run.ahold() if run else _NO_SLOT, process.ahold() if process else _NO_SLOT:
        yield


def positive_limit(limit: Any, where: str) -> int:
    """`limit` when it is a positive int; else a ValueError naming `where` it came from."""
    if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
        raise ValueError(f"{where}: the limit must be a positive integer, got {limit!r}")
    return limit
