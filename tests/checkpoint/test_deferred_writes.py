"""SQLite with synchronous NORMAL: a task's writes are deferred to the next commit.

`put_writes` queues them and returns; the checkpoint that follows commits them in its own
transaction. Nothing may get lost on the way but what the docs admit (the writes of a task
with no checkpoint after it, at a process crash): reads see them, another connection sees
them within moments, close and interpreter exit commit them, and a failure is reported.
"""

from __future__ import annotations

import operator
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Any, TypedDict

import pytest
from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.base import empty_checkpoint
from langgraph.graph import END, START, StateGraph

from orchestra.checkpoint import SQLCheckpointer, _group_commit
from orchestra.errors import DeferredWriteError
from orchestra.journal import once_in

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "checkpoints.db"


def _never_flushed(saver: SQLCheckpointer) -> SQLCheckpointer:
    """The saver, with deferred writes left for the next transaction however long it takes,
    so a test sees where they went rather than the flusher's doing."""
    saver._backend._group._defer = 3600.0  # type: ignore[attr-defined]
    return saver


@pytest.fixture
def saver(db_path: Path) -> Iterator[SQLCheckpointer]:
    with SQLCheckpointer(f"sqlite:///{db_path}") as opened:
        yield _never_flushed(opened)


def _committed_writes(db_path: Path, thread_id: str = "t") -> list[tuple[str, str]]:
    """(task, channel) of the writes another connection sees committed."""
    with sqlite3.connect(db_path) as conn:
        rows = conn.execute(
            "SELECT task_id, channel FROM orchestra_checkpoint_writes WHERE thread_id = ?"
            " ORDER BY task_id, idx",
            (thread_id,),
        )
        return [(str(task), str(channel)) for task, channel in rows]


def _checkpoint(saver: SQLCheckpointer) -> RunnableConfig:
    """A first checkpoint for thread `t`, and the config its tasks' writes go to."""
    config: RunnableConfig = {"configurable": {"thread_id": "t", "checkpoint_ns": ""}}
    return saver.put(config, empty_checkpoint(), {"source": "input", "step": -1}, {})


def test_writes_wait_for_the_next_checkpoint_and_share_its_commit(
    saver: SQLCheckpointer, db_path: Path
) -> None:
    stored = _checkpoint(saver)
    saver.put_writes(stored, [("x", 1)], "task-1")
    assert _committed_writes(db_path) == []  # queued, not written by itself
    checkpoint = empty_checkpoint()
    saver.put(stored, checkpoint, {"source": "loop", "step": 0}, {})
    assert _committed_writes(db_path) == [("task-1", "x")]


@pytest.mark.parametrize("read", ["get_tuple", "list", "close"])
def test_a_saver_reads_its_own_deferred_writes(
    saver: SQLCheckpointer, db_path: Path, read: str
) -> None:
    stored = _checkpoint(saver)
    saver.put_writes(stored, [("x", 1), ("y", 2)], "task-1")
    assert _committed_writes(db_path) == []
    if read == "get_tuple":
        found = saver.get_tuple(stored)
        assert found is not None
        assert found.pending_writes == [("task-1", "x", 1), ("task-1", "y", 2)]
    elif read == "list":
        (found,) = saver.list(stored)
        assert found.pending_writes == [("task-1", "x", 1), ("task-1", "y", 2)]
    else:
        saver.close()
    assert _committed_writes(db_path) == [("task-1", "x"), ("task-1", "y")]


def test_a_deferred_write_that_fails_fails_the_next_call(
    saver: SQLCheckpointer, db_path: Path
) -> None:
    stored = _checkpoint(saver)
    with sqlite3.connect(db_path) as conn:
        conn.execute(
            "CREATE TRIGGER refuse BEFORE INSERT ON orchestra_checkpoint_writes"
            " BEGIN SELECT RAISE(ABORT, 'refused by a trigger'); END"
        )
    saver.put_writes(stored, [("x", 1)], "task-1")
    following = saver.put(stored, empty_checkpoint(), {"source": "loop", "step": 0}, {})
    with pytest.raises(DeferredWriteError, match="refused by a trigger"):
        saver.get_tuple(following)
    # Said once: the saver goes on working.
    assert saver.get_tuple(following) is not None
    assert _committed_writes(db_path) == []


def _results(db_path: Path) -> list[str]:
    """The committed writes of finished branches (not those of the step that started them)."""
    return [channel for _, channel in _committed_writes(db_path) if channel == "results"]


class _Branches(TypedDict, total=False):
    goal: str  # the input's channel; the branches write only `results`
    results: Annotated[list[str], operator.add]


def _two_branches(fast: Any, slow: Any) -> StateGraph[_Branches]:
    """`fast` and `slow` side by side, from the start to the end."""
    graph = StateGraph(_Branches)
    graph.add_node("fast", fast)
    graph.add_node("slow", slow)
    graph.add_edge(START, "fast")
    graph.add_edge(START, "slow")
    graph.add_edge("fast", END)
    graph.add_edge("slow", END)
    return graph


def _wait_until(done: Any, seconds: float = 5.0) -> bool:
    """Poll `done()` until it holds; whether it did within `seconds` (loose, for loaded CI)."""
    deadline = time.monotonic() + seconds
    while not done():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.001)
    return True


def test_a_finished_branch_is_visible_to_others_while_its_sibling_runs(db_path: Path) -> None:
    release, slow_started = threading.Event(), threading.Event()

    def fast(state: _Branches) -> dict[str, list[str]]:
        return {"results": ["fast"]}

    def slow(state: _Branches) -> dict[str, list[str]]:
        slow_started.set()
        assert release.wait(30)
        return {"results": ["slow"]}

    graph = _two_branches(fast, slow)
    with SQLCheckpointer(f"sqlite:///{db_path}") as saver:
        app = graph.compile(checkpointer=saver)
        outcome: list[Any] = []
        runner = threading.Thread(
            target=lambda: outcome.append(
                app.invoke({"goal": "go"}, {"configurable": {"thread_id": "t"}}, durability="sync")
            )
        )
        runner.start()
        try:
            assert slow_started.wait(30)
            # The fast branch's writes are deferred, and no checkpoint follows while its
            # sibling runs: the flusher commits them within 20 ms (the bound
            # here is loose for a loaded machine, far below the sibling's 30 s).
            assert _wait_until(lambda: bool(_results(db_path)))
            assert _results(db_path) == ["results"]
            assert runner.is_alive()
        finally:
            release.set()
            runner.join(30)
    assert sorted(outcome[0]["results"]) == ["fast", "slow"]


def test_the_flusher_sleeps_once_nothing_is_deferred_and_wakes_for_the_next(
    db_path: Path,
) -> None:
    flusher = _group_commit._FLUSHER
    with SQLCheckpointer(f"sqlite:///{db_path}") as saver:
        stored = _checkpoint(saver)
        for task in ("task-1", "task-2"):
            # No checkpoint follows: the flusher commits the write by itself...
            saver.put_writes(stored, [("x", 1)], task)
            assert _wait_until(lambda task=task: task in dict(_committed_writes(db_path)))
            # ...and, with nothing left to look at, goes back to sleep (a thread that
            # polled for ever would cost every process a wake-up every `DEFER`).
            assert _wait_until(lambda: flusher._idle)
    assert _committed_writes(db_path) == [("task-1", "x"), ("task-2", "x")]


_EXITING_CHILD = """
import sys
from langgraph.checkpoint.base import empty_checkpoint
from orchestra.checkpoint import SQLCheckpointer

saver = SQLCheckpointer(sys.argv[1])
saver._backend._group._defer = 3600.0
config = {"configurable": {"thread_id": "t", "checkpoint_ns": ""}}
stored = saver.put(config, empty_checkpoint(), {"source": "input", "step": -1}, {})
saver.put_writes(stored, [("x", 1)], "task-1")
# Exits without closing the saver: the queue is committed on the way out.
"""


def test_interpreter_exit_commits_deferred_writes(db_path: Path) -> None:
    subprocess.run(
        [sys.executable, "-c", _EXITING_CHILD, f"sqlite:///{db_path}"],
        cwd=ROOT,
        check=True,
        timeout=120,
    )
    assert _committed_writes(db_path) == [("task-1", "x")]


def build_branches(log: Path, *, stall: bool) -> Any:
    """Two parallel branches: `fast` makes one journaled call, `slow` stalls (if asked)."""

    def note(line: str) -> None:
        with log.open("a") as file:
            file.write(line + "\n")

    def fast(state: _Branches, config: RunnableConfig) -> dict[str, list[str]]:
        def call() -> str:
            note("fast called")
            return "fast answer"

        return {"results": [once_in(config, "model", "fast", call, str, str)]}

    def slow(state: _Branches) -> dict[str, list[str]]:
        if stall:
            note("slow stalls")
            time.sleep(600)
        return {"results": ["slow answer"]}

    return _two_branches(fast, slow)


_CRASHING_CHILD = """
import sys
from pathlib import Path
from orchestra.checkpoint import SQLCheckpointer
from tests.checkpoint.test_deferred_writes import build_branches

url, log = sys.argv[1], Path(sys.argv[2])


class Noting(SQLCheckpointer):
    def put_writes(self, config, writes, task_id, task_path=""):
        super().put_writes(config, writes, task_id, task_path)
        with log.open("a") as file:
            file.write("writes stored\\n")


saver = Noting(url)
saver._backend._group._defer = 3600.0
app = build_branches(log, stall=True).compile(checkpointer=saver)
# sync: the first step's checkpoint is stored before the branches run, so the fast
# branch's writes have no checkpoint left to travel with.
app.invoke({"goal": "go"}, {"configurable": {"thread_id": "t"}}, durability="sync")
"""


def test_a_crash_loses_only_deferred_writes_and_their_journaled_calls_replay(
    db_path: Path, tmp_path: Path
) -> None:
    """The documented cost of deferring: a process crash may lose a finished task's writes
    when no checkpoint followed them; resuming runs the task again, and its journaled call
    replays from the journal instead of running again."""
    log = tmp_path / "calls.log"
    url = f"sqlite:///{db_path}"
    child = subprocess.Popen(
        [sys.executable, "-c", _CRASHING_CHILD, url, str(log)],
        cwd=ROOT,
    )
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            lines = log.read_text().splitlines() if log.exists() else []
            if "writes stored" in lines and "slow stalls" in lines:
                break
            assert child.poll() is None
            time.sleep(0.01)
        else:
            pytest.fail("the child never got both branches going")
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait(30)
    assert child.returncode == -signal.SIGKILL
    assert _results(db_path) == []  # the fast branch's writes were still queued
    with SQLCheckpointer(url) as saver:
        app = build_branches(log, stall=False).compile(checkpointer=saver)
        final = app.invoke(None, {"configurable": {"thread_id": "t"}})
    assert sorted(final["results"]) == ["fast answer", "slow answer"]
    assert log.read_text().splitlines().count("fast called") == 1
