"""Many runs at once on one database: every run finishes with its own state and history.

PostgreSQL: 100 runs from 4 real processes (25 concurrent `arun`s each). SQLite: one
process, runs on several threads, each with its own event loop and many tasks. Each
thread's final state must hold its own outputs and records only, and its checkpoint
history the same count as a run made alone, steps in order, parent links intact.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from itertools import pairwise
from pathlib import Path
from typing import Any

from langgraph.checkpoint.base import BaseCheckpointSaver

from orchestra.checkpoint import SQLCheckpointer
from orchestra.runtime import RunOutcome, arun
from tests.checkpoint.conftest import postgres_url
from tests.load.flow import STAGES, expected_output, flow, run_many

__all__ = ["postgres_url"]

REPO = Path(__file__).resolve().parents[2]


def history(saver: BaseCheckpointSaver[Any], thread_id: str) -> list[Any]:
    """The thread's checkpoints, oldest first."""
    return list(saver.list({"configurable": {"thread_id": thread_id}}))[::-1]


def reference_steps(directory: Path) -> list[int]:
    """The steps of the checkpoints one run makes alone (in its own SQLite file)."""
    with SQLCheckpointer(f"sqlite:///{directory / 'alone.db'}") as saver:
        asyncio.run(arun(flow(), "goal alone", thread_id="alone", checkpointer=saver))
        return [checkpoint.metadata["step"] for checkpoint in history(saver, "alone")]


def check_thread(saver: SQLCheckpointer, thread_id: str, steps: list[int]) -> None:
    goal = f"goal {thread_id}"
    state = flow().compile(checkpointer=saver).get_state({"configurable": {"thread_id": thread_id}})
    values = state.values
    assert values["goal"] == goal
    assert values["output"] == expected_output(goal)
    results = values["results"]
    assert [result.agent for result in results] == list(STAGES)
    # Each stage read its own run's goal and outputs, never another run's.
    assert [result.output for result in results] == [
        "/".join((goal, *STAGES[: i + 1])) for i in range(len(STAGES))
    ]

    checkpoints = history(saver, thread_id)
    assert [c.metadata["step"] for c in checkpoints] == steps, thread_id
    assert checkpoints[0].parent_config is None
    for parent, child in pairwise(checkpoints):
        assert child.parent_config is not None
        assert child.parent_config["configurable"]["checkpoint_id"] == parent.checkpoint["id"]
        assert child.config["configurable"]["thread_id"] == thread_id
    assert checkpoints[-1].checkpoint["id"] == state.config["configurable"]["checkpoint_id"]


def test_100_runs_from_4_processes_on_postgresql_each_keep_their_own_state(
    postgres_url: str, tmp_path: Path
) -> None:
    processes, per_process = 4, 25
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    children = [
        subprocess.Popen(
            [sys.executable, "-m", "tests.load.flow", postgres_url, f"p{i}", str(per_process)],
            env=env,
            cwd=REPO,
            stderr=subprocess.PIPE,
            text=True,
        )
        for i in range(processes)
    ]
    errors = [child.communicate(timeout=120)[1] for child in children]
    assert [child.returncode for child in children] == [0] * processes, errors

    steps = reference_steps(tmp_path)
    with SQLCheckpointer(postgres_url) as saver:
        threads = {c.config["configurable"]["thread_id"] for c in saver.list_threads()}
        expected = {f"p{i}-{n}" for i in range(processes) for n in range(per_process)}
        assert threads == expected
        for thread_id in sorted(expected):
            check_thread(saver, thread_id, steps)


def test_runs_on_many_threads_and_tasks_share_one_sqlite_file(tmp_path: Path) -> None:
    threads, per_thread = 4, 15
    url = f"sqlite:///{tmp_path / 'load.db'}"
    with SQLCheckpointer(url) as saver:

        def many(prefix: str) -> list[RunOutcome]:
            return asyncio.run(run_many(saver, prefix, per_thread))

        with ThreadPoolExecutor(threads) as pool:
            outcomes = [o for batch in pool.map(many, ("t0", "t1", "t2", "t3")) for o in batch]
        assert [o.status for o in outcomes] == ["done"] * threads * per_thread

        steps = reference_steps(tmp_path)
        for outcome in outcomes:
            check_thread(saver, outcome.thread_id, steps)
