"""Leases: a live run shows as running and keeps other processes off its thread."""

from __future__ import annotations

import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from orchestra import Agent, pipeline
from orchestra.checkpoint import SQLCheckpointer
from orchestra.errors import ThreadBusy
from orchestra.lease import Lease, held, running
from orchestra.models import ScriptedModel
from orchestra.runtime import arun, resume, run, thread_status
from tests.checkpoint.conftest import postgres_url

__all__ = ["postgres_url"]


@pytest.fixture(params=["sqlite", "postgres"])
def saver(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[SQLCheckpointer]:
    url = (
        f"sqlite:///{tmp_path / 'runs.db'}"
        if request.param == "sqlite"
        else request.getfixturevalue("postgres_url")
    )
    with SQLCheckpointer(url) as checkpointer:
        yield checkpointer


def test_a_lease_is_held_by_one_owner_until_released(saver: SQLCheckpointer) -> None:
    assert saver.acquire_lease("t", "first", 30)
    assert not saver.acquire_lease("t", "second", 30)
    assert saver.acquire_lease("t", "first", 30), "the holder may take it again"

    saver.release_lease("t", "second")
    assert "t" in saver.live_leases(), "only the holder can release it"

    saver.release_lease("t", "first")
    assert saver.acquire_lease("t", "second", 30)


def test_an_expired_lease_can_be_taken_over(saver: SQLCheckpointer) -> None:
    assert saver.acquire_lease("t", "dead", 0.2)
    time.sleep(0.3)

    assert "t" not in saver.live_leases()
    assert saver.acquire_lease("t", "next", 30)
    assert not saver.renew_lease("t", "dead", 30), "the old holder has lost it"


def test_a_lease_whose_process_is_gone_is_taken_over_at_once(saver: SQLCheckpointer) -> None:
    gone = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        capture_output=True,
        text=True,
        check=True,
    )
    dead = f"{socket.gethostname()}:{gone.stdout.strip()}:0"
    assert saver.acquire_lease("t", dead, 600)

    assert not held(saver.lease_holder("t"))
    assert running(saver) == set()
    with Lease(saver, "t") as lease:
        assert saver.lease_holder("t").owner == lease.owner  # type: ignore[union-attr]
        assert running(saver) == {"t"}


def test_the_heartbeat_keeps_a_short_lease_alive(saver: SQLCheckpointer) -> None:
    with Lease(saver, "t", seconds=0.6) as lease:
        first = saver.lease_holder("t")
        assert first is not None
        assert first.owner == lease.owner
        time.sleep(1.0)  # past the first expiry: only a renewal keeps the lease
        renewed = saver.lease_holder("t")
        assert renewed is not None
        assert renewed.owner == lease.owner
        assert renewed.expires_at > first.expires_at, "the heartbeat moved the expiry on"
    assert saver.lease_holder("t") is None


def slow_flow(gate: threading.Event | None = None) -> Any:
    def first(state: Any) -> str:
        if gate is not None:
            gate.wait(30)
        return "one"

    return pipeline(
        Agent("a", model=first),
        Agent("b", model=ScriptedModel(replies=["two"])),
        name="slow",
    )


def test_a_live_run_shows_as_running_and_a_second_run_is_refused(
    saver: SQLCheckpointer,
) -> None:
    gate = threading.Event()
    flow = slow_flow(gate)
    app = flow.compile(checkpointer=saver)
    worker = threading.Thread(
        target=run, args=(flow, "go"), kwargs={"thread_id": "t", "checkpointer": saver}
    )
    worker.start()
    deadline = time.time() + 5
    while saver.lease_holder("t") is None and time.time() < deadline:
        time.sleep(0.02)

    assert thread_status(app, "t") == "running"
    with pytest.raises(ThreadBusy, match="running in"):
        run(flow, "go", thread_id="t", checkpointer=saver)
    with pytest.raises(ThreadBusy, match="orchestra resume t"):
        resume(flow, "t", checkpointer=saver)

    gate.set()
    worker.join()
    assert thread_status(app, "t") == "done"
    assert saver.lease_holder("t") is None


async def test_arun_holds_the_lease_while_it_runs(saver: SQLCheckpointer) -> None:
    flow = slow_flow()
    seen: list[bool] = []

    def look(event: object) -> None:
        seen.append("t" in saver.live_leases())

    outcome = await arun(flow, "go", thread_id="t", checkpointer=saver, on_progress=look)

    assert outcome.status == "done"
    assert seen
    assert all(seen)
    assert saver.lease_holder("t") is None
