"""PostgreSQL driver connections held open in autocommit for the per-step statements.

A graph step writes one statement for its checkpoint and one for its task's
writes. Through SQLAlchemy's pool each also paid a checkout, a reset on
return and two autocommit switches, together about as much client time as
the statement's own round trip. These connections come from the engine (so
its connect arguments and event hooks apply), are detached from its pool and
stay in autocommit, each with a cursor to reuse.
"""

from __future__ import annotations

import os
import threading
from collections import deque
from typing import Any

from psycopg.pq import TransactionStatus
from sqlalchemy import Engine

from orchestra.checkpoint._pg_inserts import Prepared

__all__ = ["HeldConnection", "HeldConnections"]

# Also what a closed or broken connection is not: its status is UNKNOWN.
_IDLE = TransactionStatus.IDLE


class HeldConnection:
    """One psycopg connection in autocommit, and a cursor on it."""

    __slots__ = ("_fairy", "cursor", "driver", "prepared")

    def __init__(self, fairy: Any, driver: Any) -> None:
        self._fairy = fairy  # kept so the detached connection is not finalised
        self.driver: Any = driver
        self.driver.autocommit = True
        self.cursor: Any = self.driver.cursor()
        self.prepared: Prepared = {}
        """The per-step INSERTs prepared on this connection (`_pg_inserts`)."""

    def reusable(self) -> bool:
        """Open, healthy and outside any transaction: safe for the next caller."""
        status: int = self.driver.pgconn.transaction_status
        return status == _IDLE

    def close(self) -> None:
        self._fairy.close()


class HeldConnections:
    """At most `capacity` held connections, handed to one caller at a time.

    `take` gives an idle one, opens one while fewer than `capacity` are open,
    and otherwise gives None: the caller then uses the engine's pool, so a
    burst of concurrent callers is never refused. An engine with checkout or
    checkin hooks gets no held connections, since those hooks expect every
    use to pass through its pool. A process forked after connections were
    opened drops them without closing them, since their sockets belong to
    the parent.
    """

    def __init__(self, engine: Engine, capacity: int) -> None:
        self._engine = engine
        pool_events = engine.pool.dispatch
        hooked = bool(pool_events.checkout or pool_events.checkin or pool_events.reset)
        self._capacity = 0 if hooked else capacity
        self._idle: deque[HeldConnection] = deque()
        self._open = 0
        self._lock = threading.Lock()
        self._pid = os.getpid()
        self._closed = False

    def take(self) -> HeldConnection | None:
        """An idle connection, a new one, or None when `capacity` are busy."""
        if self._pid != os.getpid():
            self._forget()
        try:
            return self._idle.pop()
        except IndexError:
            pass
        with self._lock:
            if self._closed or self._open >= self._capacity:
                return None
            self._open += 1
        try:
            fairy = self._engine.raw_connection()
            driver = fairy.driver_connection
            fairy.detach()
            return HeldConnection(fairy, driver)
        except BaseException:
            with self._lock:
                self._open -= 1
            raise

    def give(self, held: HeldConnection) -> None:
        """Return a connection from `take`; one that is broken, mid-transaction or
        outlived `close()` is closed instead."""
        if not self._closed and held.reusable() and self._pid == os.getpid():
            self._idle.append(held)
            return
        with self._lock:
            self._open -= 1
        held.close()

    def close(self) -> None:
        """Close the idle connections; busy ones close when given back."""
        with self._lock:
            self._closed = True
        while True:
            try:
                held = self._idle.pop()
            except IndexError:
                return
            with self._lock:
                self._open -= 1
            held.close()

    def _forget(self) -> None:
        with self._lock:
            if self._pid == os.getpid():
                return
            self._idle = deque()
            self._open = 0
            self._pid = os.getpid()
