"""The journal: calls recorded inside a node are replayed, not repeated, after SIGKILL."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from orchestra import Agent, OrchestraState, fan_out
from orchestra.checkpoint import SQLCheckpointer
from orchestra.checkpoint._journal import JournalEntry
from orchestra.checkpoint.schema import journal
from orchestra.runtime import resume, run
from tests import journal_flow

ROOT = Path(__file__).resolve().parents[2]


class Items(OrchestraState):
    items: list[str] = []


CHILD = """
import sys
from orchestra import Agent, OrchestraState, fan_out
from orchestra.checkpoint import SQLCheckpointer
from orchestra.runtime import run
from tests.journal_flow import build

with SQLCheckpointer(sys.argv[1]) as saver:
    run(build(), "Reserve A1", thread_id="order-7", checkpointer=saver)
"""


@pytest.fixture
def log_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "calls.log"
    path.touch()
    monkeypatch.setenv("JOURNAL_LOG", str(path))
    monkeypatch.delenv("SLOW_TOOL", raising=False)
    monkeypatch.delenv("SLOW_SECOND_CALL", raising=False)
    return path


def lines(path: Path) -> list[str]:
    return path.read_text().splitlines()


def calls(path: Path) -> list[str]:
    """The calls logged: model answers and tool starts (with the tool's idempotency key)."""
    return [entry for entry in lines(path) if entry != "tool done"]


def kill_when(child: subprocess.Popen[bytes], path: Path, line: str) -> None:
    """SIGKILL the child once `line` starts a line of the log."""
    deadline = time.monotonic() + 60
    while not any(entry.startswith(line) for entry in lines(path)):
        assert child.poll() is None, "the child ended before the moment to kill it"
        assert time.monotonic() < deadline, f"the child never logged {line!r}"
        time.sleep(0.02)
    child.send_signal(signal.SIGKILL)
    child.wait()


def start(url: str, **env: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-c", CHILD, url],
        env={**os.environ, "PYTHONPATH": str(ROOT), **env},
    )


def test_every_call_inside_a_node_is_recorded(db_url: str, log_file: Path) -> None:
    with SQLCheckpointer(db_url) as saver:
        run(journal_flow.build(), "Reserve A1", thread_id="t", checkpointer=saver)
        with saver.engine.connect() as connection:
            kinds = connection.execute(
                select(journal.c.kind, func.count()).group_by(journal.c.kind)
            ).all()

    assert dict(kinds) == {"model": 2, "tool": 1, "function": 1}


def test_a_node_killed_mid_way_replays_its_finished_calls_on_resume(
    db_url: str, log_file: Path
) -> None:
    url = db_url
    child = start(url, SLOW_SECOND_CALL="30")
    kill_when(child, log_file, "model second")

    with SQLCheckpointer(url) as saver:
        outcome = run(journal_flow.build(), thread_id="order-7", checkpointer=saver)

    made = [entry.split()[0] if entry.startswith("tool") else entry for entry in calls(log_file)]
    assert made == ["model first", "tool", "model second", "model second"]
    assert outcome.output == "customer told"
    assert [r.agent for r in outcome.state["results"]] == ["clerk", "notify"]


def test_the_call_in_flight_at_the_kill_runs_again_with_the_same_idempotency_key(
    db_url: str, log_file: Path
) -> None:
    url = db_url
    child = start(url, SLOW_TOOL="30")
    kill_when(child, log_file, "tool ")

    with SQLCheckpointer(url) as saver:
        run(journal_flow.build(), thread_id="order-7", checkpointer=saver)

    tools = [entry.split()[1] for entry in calls(log_file) if entry.startswith("tool")]
    assert len(tools) == 2
    assert tools[0] == tools[1]
    assert tools[0].startswith("order-7:clerk:")
    assert lines(log_file).count("model first") == 1


@pytest.mark.parametrize("prepared", [True, False])
async def test_journal_reads_on_postgres_prepare_only_when_allowed(
    postgres_url: str, prepared: bool
) -> None:
    # The read runs on the driver, so it must honour prepared_statements=False too
    # (pgbouncer in transaction mode breaks on server-side prepared statements).
    from orchestra.checkpoint.postgres import PostgresBackend

    entry = JournalEntry(0, "model", "worker", '"answer"')
    async with SQLCheckpointer(
        postgres_url, pool_size=1, max_overflow=0, prepared_statements=prepared
    ) as saver:
        await saver.asetup()
        await saver.awrite_journal("t", "worker:1", entry)
        for _ in range(8):  # psycopg prepares a query from its 5th run on a connection
            assert await saver.aread_journal("t", "worker:1") == [entry]
            assert saver.read_journal("t", "worker:1") == [entry]
        # The sync reads ran on the connection the saver holds for its driver calls.
        backend = saver._backend
        assert isinstance(backend, PostgresBackend)
        held = backend._held.take()
        assert held is not None
        try:
            statements = held.cursor.execute("SELECT statement FROM pg_prepared_statements")
            journal_reads = [s for (s,) in statements.fetchall() if "orchestra_journal" in s]
        finally:
            backend._held.give(held)
    assert bool(journal_reads) is prepared


def test_only_a_task_run_again_reads_its_journal(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A task of a checkpoint its own run just made has nothing recorded; one that LangGraph
    # runs again on resume (the branch that failed) may have.
    failures = ["b"]

    def work(state: Any) -> str:
        if state.item in failures:
            failures.remove(state.item)
            raise ConnectionError(f"{state.item} is down")
        return f"{state.item} done"

    flow = fan_out(Agent("worker", model=work), over="items", state=Items, on_error="fail")
    with SQLCheckpointer(f"sqlite:///{tmp_path / 'runs.db'}") as saver:
        read = saver.read_journal
        reads: list[str] = []

        def counted(thread_id: str, checkpoint_ns: str) -> Sequence[JournalEntry]:
            reads.append(checkpoint_ns)
            return read(thread_id, checkpoint_ns)

        monkeypatch.setattr(saver, "read_journal", counted)
        with pytest.raises(ConnectionError):
            run(flow, inputs={"items": ["a", "b", "c"]}, thread_id="t1", checkpointer=saver)
        assert reads == []
        outcome = resume(flow, "t1", checkpointer=saver)

    # The failed branch (and any cut short with it) ran again; the merge ran for the first time.
    assert outcome.output == ["a done", "b done", "c done"]
    assert reads
    assert all(namespace.startswith("worker:") for namespace in reads)
