"""Workflows from graphs/ killed with SIGKILL mid-run resume to the same final state.

A real child process runs the workflow on the database; the test kills it at a random
moment while one of its model calls works, resumes the thread in this process, and compares with
an uninterrupted run: same answer and records; every model call made exactly once in
total, except calls in flight at the kill, made twice under one idempotency key.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from orchestra.agents import render
from orchestra.checkpoint import SQLCheckpointer
from orchestra.runtime import run
from tests.checkpoint.crash_graphs import NAMES, build_graph

ROOT = Path(__file__).resolve().parents[2]
LATENCY = 0.15
TRIALS = 9
"""Kills per graph and back-end: 3 graphs x 2 back-ends x 9 = 54 per run (at least 50)."""

CHILD = """
import sys
from orchestra.checkpoint import SQLCheckpointer
from orchestra.runtime import run
from tests.checkpoint.crash_graphs import build_graph

name, url, thread, latency = sys.argv[1], sys.argv[2], sys.argv[3], float(sys.argv[4])
workflow, goal = build_graph(name, latency)
with SQLCheckpointer(url) as saver:
    run(workflow, goal, thread_id=thread, checkpointer=saver)
"""


def calls(state: dict[str, Any]) -> Counter[tuple[str, str]]:
    return Counter((r.agent, render(r.output)) for r in state["results"])


def checkpoints(saver: SQLCheckpointer, thread: str) -> int:
    config = {"configurable": {"thread_id": thread, "checkpoint_ns": ""}}
    return sum(1 for _ in saver.list(config))


def started_calls(path: Path) -> int:
    """Calls the child has logged so far (each logs before it works)."""
    return path.read_text().count("\n") if path.exists() else 0


def logged_calls(path: Path) -> list[tuple[str, str]]:
    return [tuple(line.split(" ", 1)) for line in path.read_text().splitlines()]  # type: ignore[misc]


@pytest.mark.parametrize("trial", range(TRIALS))
@pytest.mark.parametrize("name", NAMES)
def test_a_graph_killed_at_a_random_moment_resumes_to_the_uninterrupted_result(
    name: str, trial: int, db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    seed = random.randrange(1_000_000)
    chance = random.Random(seed)
    reference_log, crash_log = tmp_path / "reference.log", tmp_path / "crash.log"
    monkeypatch.setenv("CRASH_LOG", str(reference_log))
    workflow, goal = build_graph(name)
    with SQLCheckpointer(db_url) as saver:
        reference = run(workflow, goal, thread_id="reference", checkpointer=saver).state
        assert checkpoints(saver, "reference") > 1
        n_calls = len(logged_calls(reference_log))
        monkeypatch.setenv("CRASH_LOG", str(crash_log))

        child = subprocess.Popen(
            [sys.executable, "-c", CHILD, name, db_url, "crashed", str(LATENCY)],
            env={**os.environ, "PYTHONPATH": str(ROOT)},
        )
        # Killed while a call it has started still works: after the k-th call logs its
        # start, within that call's latency. Parallel branches make the run shorter than
        # its calls' sum, so a moment drawn from that sum could fall after the end.
        started = chance.randint(1, n_calls)
        deadline = time.monotonic() + 60
        while started_calls(crash_log) < started and time.monotonic() < deadline:
            if child.poll() is not None:
                break
            time.sleep(0.005)
        time.sleep(chance.uniform(0.0, 0.6) * LATENCY)
        alive = child.poll() is None
        child.send_signal(signal.SIGKILL)
        child.wait()
        assert alive, f"seed {seed}: the run ended before the kill at call {started}"

        workflow, _ = build_graph(name)
        resumed = run(workflow, thread_id="crashed", checkpointer=saver).state

    assert resumed["output"] == reference["output"], f"seed {seed}"
    assert calls(resumed) == calls(reference), f"seed {seed}"
    made = Counter(call for call, _ in logged_calls(crash_log))
    assert set(made) == {call for call, _ in logged_calls(reference_log)}, f"seed {seed}"
    repeated = {call for call, times in made.items() if times > 1}
    assert all(made[call] == 2 for call in repeated), f"seed {seed}: a call ran 3+ times"
    keys = {(call, key) for call, key in logged_calls(crash_log) if call in repeated}
    assert len(keys) == len(repeated), f"seed {seed}: a repeated call changed its key"
