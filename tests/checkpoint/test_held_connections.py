"""PostgreSQL: the connections a saver holds open for the per-step writes."""

from __future__ import annotations

import asyncio
import gc
import time
import warnings
from typing import Any

import psycopg
import pytest
from sqlalchemy import event, make_url

from orchestra.checkpoint import SQLCheckpointer
from orchestra.checkpoint.postgres import PostgresBackend


def _checkpoint(i: int) -> dict[str, Any]:
    return {
        "v": 1,
        "id": f"1f{i:031d}",
        "ts": "2024-01-01T00:00:00+00:00",
        "channel_values": {"n": i},
        "channel_versions": {"n": float(i)},
        "versions_seen": {},
        "updated_channels": None,
    }


def _put(saver: SQLCheckpointer, i: int) -> None:
    config = {"configurable": {"thread_id": "t", "checkpoint_ns": ""}}
    saver.put(config, _checkpoint(i), {"step": i}, {"n": float(i)})  # type: ignore[arg-type]


def _sessions(url: str) -> list[tuple[int, str]]:
    """(pid, state) of every other session on the test database."""
    dsn = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(dsn, autocommit=True) as conn:
        rows = conn.execute(
            "SELECT pid, state FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()"
        ).fetchall()
    return [(int(pid), str(state)) for pid, state in rows]


def _sessions_after_close(url: str) -> list[tuple[int, str]]:
    """The sessions still open once the server has ended the closed ones (or 5 s passed).

    A client's close returns when it has sent Terminate; the server's backend leaves
    `pg_stat_activity` a moment later, as it exits."""
    deadline = time.monotonic() + 5
    while (sessions := _sessions(url)) and time.monotonic() < deadline:
        time.sleep(0.05)
    return sessions


def _backend(saver: SQLCheckpointer) -> PostgresBackend:
    backend = saver._backend
    assert isinstance(backend, PostgresBackend)
    return backend


def test_sequential_steps_write_through_one_idle_session(postgres_url: str) -> None:
    with SQLCheckpointer(postgres_url) as saver:
        saver.setup()
        saver.engine.dispose()  # leave only the sessions the writes open
        for i in range(1, 21):
            _put(saver, i)
            saver.put_writes(
                {"configurable": {"thread_id": "t", "checkpoint_ns": "", "checkpoint_id": "x"}},
                [("n", i)],
                f"task-{i}",
            )
        sessions = _sessions(postgres_url)
    # Every write ran in autocommit and ended its transaction: one session, idle.
    assert [state for _, state in sessions] == ["idle"]


def test_close_closes_the_held_sessions(postgres_url: str) -> None:
    saver = SQLCheckpointer(postgres_url)
    _put(saver, 1)
    assert _sessions(postgres_url)
    saver.close()
    assert _sessions_after_close(postgres_url) == []


def test_a_held_session_the_server_ended_is_replaced(postgres_url: str) -> None:
    with SQLCheckpointer(postgres_url) as saver:
        _put(saver, 1)
        saver.engine.dispose()
        (pid, _), *_ = _sessions(postgres_url)
        dsn = make_url(postgres_url).set(drivername="postgresql").render_as_string(False)
        with psycopg.connect(dsn, autocommit=True) as admin:
            admin.execute("SELECT pg_terminate_backend(%s)", (pid,))
        # The write on the dead session fails, as a dead pooled connection's would...
        with pytest.raises(psycopg.OperationalError):
            _put(saver, 2)
        # ...and the next one runs on a new session instead of the dead one.
        _put(saver, 3)
        latest = saver.get_tuple({"configurable": {"thread_id": "t", "checkpoint_ns": ""}})
    assert latest is not None
    assert latest.checkpoint["channel_values"] == {"n": 3}


def test_writes_use_the_pool_while_every_held_session_is_busy(postgres_url: str) -> None:
    with SQLCheckpointer(postgres_url, pool_size=1, max_overflow=0) as saver:
        _put(saver, 1)
        held = _backend(saver)._held
        busy = held.take()
        assert busy is not None
        assert held.take() is None
        _put(saver, 2)
        held.give(busy)
        latest = saver.get_tuple({"configurable": {"thread_id": "t", "checkpoint_ns": ""}})
    assert latest is not None
    assert latest.checkpoint["channel_values"] == {"n": 2}


def test_an_engine_with_checkout_hooks_gets_no_held_sessions(postgres_url: str) -> None:
    from sqlalchemy import create_engine

    engine = create_engine(make_url(postgres_url).set(drivername="postgresql+psycopg"))
    checkouts: list[object] = []
    event.listen(engine, "checkout", lambda *args: checkouts.append(args))
    with SQLCheckpointer(engine) as saver:
        saver.setup()
        before = len(checkouts)
        _put(saver, 1)
        _put(saver, 2)
    # Every write still passed through the pool, where the hook runs.
    assert len(checkouts) - before == 2
    engine.dispose()


def test_close_after_asyncio_run_ends_the_async_sessions(postgres_url: str) -> None:
    """A saver used under `asyncio.run`, then closed from sync code: the loop that opened
    the async connections is gone, and they must still be closed, not left to the GC."""
    saver = SQLCheckpointer(postgres_url)
    config: Any = {"configurable": {"thread_id": "t", "checkpoint_ns": ""}}

    async def use() -> None:
        await saver.aget_tuple(config)

    asyncio.run(use())
    assert _sessions(postgres_url), "the async read left no pooled session to close"
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        saver.close()
        gc.collect()
    leaked = [w for w in caught if issubclass(w.category, ResourceWarning)]
    assert not leaked, [str(w.message) for w in leaked]
    assert _sessions_after_close(postgres_url) == []
