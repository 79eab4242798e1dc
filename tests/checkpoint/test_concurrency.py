"""Many writers at once: processes running setup(), async puts, a pooled PostgreSQL saver."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select, text

from orchestra.checkpoint import SQLCheckpointer
from orchestra.checkpoint.postgres import PostgresBackend
from orchestra.checkpoint.schema import SCHEMA_VERSION, schema_versions
from tests.checkpoint.graphs import pipeline

REPO = Path(__file__).resolve().parents[2]

_SETUP_CHILD = """
import sys, time
from pathlib import Path
from orchestra.checkpoint import SQLCheckpointer
url, ready, go = sys.argv[1], Path(sys.argv[2]), Path(sys.argv[3])
saver = SQLCheckpointer(url)
ready.touch()
while not go.exists():
    time.sleep(0.001)
saver.setup()
saver.close()
"""


def _checkpoint(i: int) -> dict[str, Any]:
    return {
        "v": 1,
        "id": f"1f{i:031d}",
        "ts": "2026-01-01T00:00:00+00:00",
        "channel_values": {"n": i},
        "channel_versions": {"n": float(i + 1)},
        "versions_seen": {},
        "updated_channels": None,
    }


def test_processes_running_setup_at_the_same_moment_all_succeed(
    db_url: str, tmp_path: Path
) -> None:
    children = 4
    go = tmp_path / "go"
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", _SETUP_CHILD, db_url, str(tmp_path / f"ready{i}"), str(go)],
            env=env,
            stderr=subprocess.PIPE,
            text=True,
        )
        for i in range(children)
    ]
    deadline = time.monotonic() + 60
    while not all((tmp_path / f"ready{i}").exists() for i in range(children)):
        assert time.monotonic() < deadline, "children did not start"
        time.sleep(0.01)
    go.touch()  # release them together

    errors = [p.communicate(timeout=60)[1] for p in procs]
    assert [p.returncode for p in procs] == [0] * children, "\n".join(errors)
    with SQLCheckpointer(db_url) as saver, saver.engine.connect() as conn:
        versions = conn.execute(select(schema_versions.c.v).order_by(schema_versions.c.v)).all()
    assert [v for (v,) in versions] == list(range(SCHEMA_VERSION + 1))


async def test_concurrent_async_writes_to_one_sqlite_file_never_hit_a_locked_database(
    tmp_path: Path,
) -> None:
    url = f"sqlite:///{tmp_path / 'busy.db'}"
    # Two savers on one file: two writer connections, as two processes would have.
    async with SQLCheckpointer(url) as a, SQLCheckpointer(url) as b:

        async def put(saver: SQLCheckpointer, i: int) -> None:
            config = {"configurable": {"thread_id": f"t{i % 7}", "checkpoint_ns": ""}}
            stored = await saver.aput(config, _checkpoint(i), {"step": i}, {"n": float(i + 1)})  # type: ignore[arg-type]
            await saver.aput_writes(stored, [("n", i), ("m", -i)], f"task{i}")

        await asyncio.gather(*(put(a if i % 2 else b, i) for i in range(200)))

        stored = [t async for t in a.alist(None)]
    assert len(stored) == 200
    assert all(len(t.pending_writes or []) == 2 for t in stored)


async def test_a_pooled_postgres_saver_is_not_serialised_by_one_blocked_call(
    postgres_url: str,
) -> None:
    async with SQLCheckpointer(postgres_url, pool_size=4) as saver:
        config = {"configurable": {"thread_id": "locked", "checkpoint_ns": ""}}
        await saver.aput(config, _checkpoint(1), {"step": 1}, {"n": 2.0})  # type: ignore[arg-type]
        free = {"configurable": {"thread_id": "free", "checkpoint_ns": ""}}
        await saver.aput(free, _checkpoint(2), {"step": 2}, {"n": 3.0})  # type: ignore[arg-type]

        # Another session holds the row lock that a re-put of checkpoint 1 needs.
        with saver.engine.connect() as blocker:
            blocker.execute(
                text("SELECT 1 FROM orchestra_checkpoints WHERE thread_id = 'locked' FOR UPDATE")
            )
            blocked = asyncio.create_task(
                saver.aput(config, _checkpoint(1), {"step": 1}, {})  # type: ignore[arg-type]
            )
            await asyncio.sleep(0.2)
            assert not blocked.done()
            # While that call waits on the lock, the same saver still answers.
            found = await asyncio.wait_for(saver.aget_tuple(free), timeout=5)
            assert found is not None
            assert found.checkpoint["channel_values"] == {"n": 2}
            blocker.rollback()
        await asyncio.wait_for(blocked, timeout=10)


@pytest.mark.parametrize("prepared", [True, False])
def test_prepared_statements_false_leaves_no_server_side_statements(
    postgres_url: str, prepared: bool
) -> None:
    # pgbouncer in transaction mode breaks on server-side prepared statements.
    with SQLCheckpointer(
        postgres_url, pool_size=1, max_overflow=0, prepared_statements=prepared
    ) as saver:
        config = {"configurable": {"thread_id": "t", "checkpoint_ns": ""}}
        for i in range(1, 4):  # the per-step INSERT is prepared from its 2nd run
            saver.put(config, _checkpoint(i), {"step": i}, {"n": float(i + 1)})  # type: ignore[arg-type]
        for _ in range(10):  # psycopg prepares a query from its 5th run
            saver.get_tuple(config)
            list(saver.list(config))  # on a pooled connection
        with saver.engine.connect() as conn:
            prepared_count = conn.execute(
                text("SELECT count(*) FROM pg_prepared_statements")
            ).scalar_one()
        # The per-step statements run on a connection the saver holds apart from its pool.
        backend = saver._backend
        assert isinstance(backend, PostgresBackend)
        held = backend._held.take()
        assert held is not None
        try:
            found = held.driver.execute("SELECT count(*) FROM pg_prepared_statements").fetchone()
        finally:
            backend._held.give(held)
    assert (prepared_count > 0) is prepared
    assert (found[0] > 0) is prepared


@pytest.mark.parametrize("synchronous", ["NORMAL", "FULL"])
def test_the_saver_works_through_pgbouncer_in_transaction_mode(
    pgbouncer_url: str, synchronous: Any
) -> None:
    # pgbouncer hands each transaction to whichever of its two server
    # sessions is free, so nothing may rely on session state. NORMAL sets
    # synchronous_commit per transaction; FULL sends each step's INSERT alone.
    with SQLCheckpointer(
        pgbouncer_url, prepared_statements=False, pool_size=6, synchronous=synchronous
    ) as saver:
        app = pipeline(10, saver)

        def run(i: int) -> int:
            config = {"configurable": {"thread_id": f"bounced-{i}"}}
            result = app.invoke({"counter": i, "doc": "d"}, config)
            assert len(list(app.get_state_history(config))) == 12
            return int(result["counter"])

        with ThreadPoolExecutor(max_workers=6) as pool:
            results = list(pool.map(run, range(12)))
    assert results == [i + 10 for i in range(12)]


async def test_the_async_saver_works_through_pgbouncer_in_transaction_mode(
    pgbouncer_url: str,
) -> None:
    async with SQLCheckpointer(pgbouncer_url, prepared_statements=False) as saver:
        app = pipeline(10, saver)
        results = await asyncio.gather(
            *(
                app.ainvoke({"counter": i, "doc": "d"}, {"configurable": {"thread_id": f"a{i}"}})
                for i in range(8)
            )
        )
    assert [r["counter"] for r in results] == [i + 10 for i in range(8)]


_WRITER_CHILD = """
import sys, time
from pathlib import Path
from orchestra.checkpoint import SQLCheckpointer
from tests.checkpoint.graphs import pipeline
url, name, go = sys.argv[1], sys.argv[2], Path(sys.argv[3])
with SQLCheckpointer(url) as saver:
    saver.setup()
    app = pipeline(5, saver)
    while not go.exists():
        time.sleep(0.001)
    for i in range(20):
        app.invoke({"counter": 0, "doc": name}, {"configurable": {"thread_id": f"{name}-{i}"}})
"""


def test_processes_writing_one_sqlite_file_at_once_all_succeed(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'shared.db'}"
    with SQLCheckpointer(url) as saver:
        saver.setup()
    go = tmp_path / "go"
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", _WRITER_CHILD, url, f"p{n}", str(go)],
            env=env,
            stderr=subprocess.PIPE,
            text=True,
        )
        for n in range(3)
    ]
    time.sleep(1.0)
    go.touch()
    errors = [p.communicate(timeout=120)[1] for p in procs]
    assert [p.returncode for p in procs] == [0, 0, 0], "\n".join(errors)
    with SQLCheckpointer(url) as saver:
        threads = {t.config["configurable"]["thread_id"] for t in saver.list(None)}
    assert len(threads) == 60
