"""Requests queued behind a write that holds the SQLite writer, so they share one batch."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
import time
from collections.abc import Callable, Coroutine
from typing import Any

from sqlalchemy import event, insert

from orchestra.checkpoint._plans import Plan, Step
from orchestra.checkpoint.schema import journal
from orchestra.checkpoint.sqlite import SQLiteBackend


def journal_row(name: str) -> dict[str, Any]:
    """A journal row named `name` (its own namespace, so rows never collide)."""
    return {
        "thread_id": "t",
        "checkpoint_ns": name,
        "seq": 0,
        "kind": "model",
        "name": name,
        "payload": "{}",
        "created_at": time.time(),
    }


def traced(engine: Any) -> list[str]:
    """Every SQL statement the engine's connections run from now on, in order."""
    statements: list[str] = []

    @event.listens_for(engine, "connect")
    def trace(dbapi_connection: sqlite3.Connection, _record: Any) -> None:
        dbapi_connection.set_trace_callback(statements.append)

    return statements


def _hold(started: threading.Event, release: threading.Event) -> Plan[None]:
    """A write that keeps the writer busy until released, so the next requests queue up."""
    started.set()
    assert release.wait(10)
    yield Step(insert(journal).values(journal_row("holder")))


async def behind_a_held_writer(
    backend: SQLiteBackend, requests: list[Callable[[], Coroutine[Any, Any, Any]]]
) -> list[Any]:
    """Start `requests` while a sync write (row `holder`) holds the writer, so they queue
    and share one batch; their outcomes, exceptions included, once the holder lets go."""
    started, release = threading.Event(), threading.Event()
    # A sync caller leads on its own thread, so the async requests queue behind it.
    holder = asyncio.create_task(
        asyncio.to_thread(backend.run, _hold(started, release), write=True)
    )
    assert await asyncio.to_thread(started.wait, 10)
    queued = [asyncio.create_task(request()) for request in requests]
    await asyncio.sleep(0.01)  # every request is queued behind the holder
    release.set()
    outcomes = await asyncio.gather(holder, *queued, return_exceptions=True)
    assert outcomes[0] is None
    return outcomes[1:]
