"""Exactly-once record of the model, tool and function calls made inside a node.

LangGraph re-runs a whole node after a crash. Every call an agent makes inside a node is
numbered in order and recorded (committed before its result is used) in the journal,
beside the checkpoints; when the node runs again, recorded calls are replayed and only
the calls that had not finished execute. Each call has an idempotency key that is the
same on every execution, so the one call that may have been in flight at the crash can
be de-duplicated by the system it talks to (`idempotency_key()`).

The key of a call is (thread, checkpoint namespace, sequence number): the namespace holds
the task's id, which LangGraph keeps when it re-runs the task from the same checkpoint.
Only a task LangGraph runs again can find its calls recorded: one of the first superstep of
a resumed run, or a retried one (LangGraph marks both as resuming). Any other LangGraph task
comes from a checkpoint its own run just made, so its journal is not read: a wide fan-out
would pay one query per branch for nothing.

A call that failed is not recorded, so it runs again on resume; except when a fallback takes
over from it (`keeping_failures`): then the failure is recorded, and replayed as a failure,
so a resumed run takes the same path and replays the fallback's calls.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from contextvars import ContextVar
from typing import Any, TypeVar

from langchain_core.runnables import RunnableConfig
from langgraph._internal._constants import CONFIG_KEY_RESUMING, CONFIG_KEY_TASK_ID
from langgraph.errors import GraphBubbleUp

from orchestra.checkpoint._journal import JournalEntry
from orchestra.checkpoint.saver import SQLCheckpointer
from orchestra.errors import CallFailedError

__all__ = [
    "JournalCursor",
    "aonce",
    "aonce_in",
    "idempotency_key",
    "journal_open",
    "journaling",
    "keeping_failures",
    "once",
    "once_in",
]

T = TypeVar("T")

_CURSOR: ContextVar[JournalCursor | None] = ContextVar("orchestra_journal", default=None)
_KEY: ContextVar[str | None] = ContextVar("orchestra_idempotency_key", default=None)
_KEEP_FAILURES: ContextVar[bool] = ContextVar("orchestra_keep_failures", default=False)
FAILED = "failed"
"""The kind of a journal entry recording a call that failed and was taken over."""


def idempotency_key() -> str | None:
    """The key of the call being made now (inside a tool or function step), else None.

    It is the same every time the call is executed, including after a crash, so an
    external system can recognise a repeat: pass it along (an HTTP `Idempotency-Key`
    header, a unique column) when the call has side effects.
    """
    return _KEY.get()


def journal_open() -> bool:
    """Whether a call made now would be journaled (inside a node's `journaling` block)."""
    return _CURSOR.get() is not None


class JournalCursor:
    """The journal of one execution of one task: numbers its calls, replays recorded ones."""

    __slots__ = ("_next", "_recorded", "checkpoint_ns", "saver", "thread_id")

    def __init__(
        self, saver: SQLCheckpointer, thread_id: str, checkpoint_ns: str, *, fresh: bool = False
    ) -> None:
        self.saver = saver
        self.thread_id = thread_id
        self.checkpoint_ns = checkpoint_ns
        self._next = 0
        # A task run for the first time has nothing recorded (see the module's docstring).
        self._recorded: dict[int, JournalEntry] | None = {} if fresh else None

    def take(self) -> int:
        """The next call's sequence number."""
        seq = self._next
        self._next += 1
        return seq

    def key(self, seq: int) -> str:
        return f"{self.thread_id}:{self.checkpoint_ns}:{seq}"

    def recorded(self, seq: int) -> JournalEntry | None:
        if self._recorded is None:
            entries = self.saver.read_journal(self.thread_id, self.checkpoint_ns)
            self._recorded = {entry.seq: entry for entry in entries}
        return self._recorded.get(seq)

    async def arecorded(self, seq: int) -> JournalEntry | None:
        if self._recorded is None:
            entries = await self.saver.aread_journal(self.thread_id, self.checkpoint_ns)
            self._recorded = {entry.seq: entry for entry in entries}
        return self._recorded.get(seq)

    def record(self, entry: JournalEntry) -> None:
        self.saver.write_journal(self.thread_id, self.checkpoint_ns, entry)

    async def arecord(self, entry: JournalEntry) -> None:
        await self.saver.awrite_journal(self.thread_id, self.checkpoint_ns, entry)


def _cursor_for(config: RunnableConfig | None) -> JournalCursor | None:
    configurable = (config or {}).get("configurable", {})
    saver = configurable.get("__pregel_checkpointer")
    thread_id = configurable.get("thread_id")
    if not isinstance(saver, SQLCheckpointer) or thread_id is None:
        return None
    namespace = str(configurable.get("checkpoint_ns", ""))
    # Inside a LangGraph task, the flag is set for the first superstep of a run (true when
    # it resumes) and for a retried task; later supersteps run tasks of checkpoints their
    # own run just made. Outside one, nothing is known: read.
    fresh = CONFIG_KEY_TASK_ID in configurable and not configurable.get(CONFIG_KEY_RESUMING)
    return JournalCursor(saver, str(thread_id), namespace, fresh=fresh)


def journaling(config: RunnableConfig | None) -> AbstractContextManager[None]:
    """Journal the calls made inside this block (a node's execution), if the graph's
    checkpointer is Orchestra's SQL saver; otherwise calls run as they are."""
    cursor = _cursor_for(config)
    if cursor is None and _CURSOR.get() is None:
        return _NOT_JOURNALED  # nothing to set: skip the context variable's set and reset
    return _Setting(_CURSOR, cursor)


_NOT_JOURNALED: nullcontext[None] = nullcontext()


class _Setting(AbstractContextManager[None]):
    """A context variable set for the block. A class rather than a `@contextmanager`:
    it is entered once per node and once per call, and allocates one object, not three."""

    __slots__ = ("_token", "_value", "_variable")

    def __init__(self, variable: ContextVar[Any], value: Any) -> None:
        self._variable = variable
        self._value = value

    def __enter__(self) -> None:
        self._token = self._variable.set(self._value)

    def __exit__(self, *_: object) -> None:
        self._variable.reset(self._token)


@contextmanager
def keeping_failures(keep: bool) -> Iterator[None]:
    """Inside this block (with `keep`), record a call that fails, as a failure: a fallback
    is about to take over, and a resumed run must take over at the same place."""
    token = _KEEP_FAILURES.set(_KEEP_FAILURES.get() or keep)
    try:
        yield
    finally:
        _KEEP_FAILURES.reset(token)


def _failure(kind: str, name: str, error: Exception) -> str:
    return json.dumps({"kind": kind, "error": type(error).__name__, "message": str(error)[:500]})


def _replay_failure(entry: JournalEntry) -> CallFailedError:
    failure = json.loads(entry.payload)
    return CallFailedError(
        f"{failure['kind']} call {entry.name!r} failed before this resume "
        f"({failure['error']}: {failure['message']}); its fallback takes over again."
    )


def once(
    kind: str,
    name: str,
    call: Callable[[], T],
    encode: Callable[[T], str],
    decode: Callable[[str], T],
) -> T:
    """Run `call` unless this execution's same call was recorded: then replay its result."""
    cursor = _CURSOR.get()
    if cursor is None:
        return call()
    return _once(cursor, kind, name, call, encode, decode)


async def aonce(
    kind: str,
    name: str,
    call: Callable[[], Awaitable[T]],
    encode: Callable[[T], str],
    decode: Callable[[str], T],
) -> T:
    """Async `once`."""
    cursor = _CURSOR.get()
    if cursor is None:
        return await call()
    return await _aonce(cursor, kind, name, call, encode, decode)


def once_in(
    config: RunnableConfig,
    kind: str,
    name: str,
    call: Callable[[], T],
    encode: Callable[[T], str],
    decode: Callable[[str], T],
) -> T:
    """`once` inside `journaling(config)`, for a node whose only call this is: the same
    record and replay, without a context manager for the block and one for the call."""
    cursor = _cursor_for(config)
    if cursor is None and _CURSOR.get() is None:
        return call()
    token = _CURSOR.set(cursor)
    try:
        if cursor is None:
            return call()
        return _once(cursor, kind, name, call, encode, decode)
    finally:
        _CURSOR.reset(token)


async def aonce_in(
    config: RunnableConfig,
    kind: str,
    name: str,
    call: Callable[[], Awaitable[T]],
    encode: Callable[[T], str],
    decode: Callable[[str], T],
) -> T:
    """Async `once_in`."""
    cursor = _cursor_for(config)
    if cursor is None and _CURSOR.get() is None:
        return await call()
    token = _CURSOR.set(cursor)
    try:
        if cursor is None:
            return await call()
        return await _aonce(cursor, kind, name, call, encode, decode)
    finally:
        _CURSOR.reset(token)


def _once(
    cursor: JournalCursor,
    kind: str,
    name: str,
    call: Callable[[], T],
    encode: Callable[[T], str],
    decode: Callable[[str], T],
) -> T:
    seq = cursor.take()
    entry = cursor.recorded(seq)
    if entry is not None:
        return _replayed(entry, decode)
    key = _KEY.set(cursor.key(seq))
    try:
        value = call()
    except Exception as error:
        if _KEEP_FAILURES.get() and not isinstance(error, GraphBubbleUp):
            cursor.record(JournalEntry(seq, FAILED, name, _failure(kind, name, error)))
        raise
    finally:
        _KEY.reset(key)
    cursor.record(JournalEntry(seq, kind, name, encode(value)))
    return value


async def _aonce(
    cursor: JournalCursor,
    kind: str,
    name: str,
    call: Callable[[], Awaitable[T]],
    encode: Callable[[T], str],
    decode: Callable[[str], T],
) -> T:
    seq = cursor.take()
    # A task run for the first time has nothing to replay: no read, not even a coroutine.
    recorded = cursor._recorded
    entry = recorded.get(seq) if recorded is not None else await cursor.arecorded(seq)
    if entry is not None:
        return _replayed(entry, decode)
    key = _KEY.set(cursor.key(seq))
    try:
        value = await call()
    except Exception as error:
        if _KEEP_FAILURES.get() and not isinstance(error, GraphBubbleUp):
            await cursor.arecord(JournalEntry(seq, FAILED, name, _failure(kind, name, error)))
        raise
    finally:
        _KEY.reset(key)
    entry = JournalEntry(seq, kind, name, encode(value))
    await cursor.saver.awrite_journal(cursor.thread_id, cursor.checkpoint_ns, entry)
    return value


def _replayed(entry: JournalEntry, decode: Callable[[str], T]) -> T:
    if entry.kind == FAILED:
        raise _replay_failure(entry)
    return decode(entry.payload)
