"""`--max-*` options halt a run; `orchestra runs` tells running, halted and interrupted apart."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from orchestra.cli import app
from tests.checkpoint.conftest import postgres_url
from tests.command import command, environment

__all__ = ["postgres_url"]

GRAPH = """
import os

from orchestra import Agent, pipeline
from orchestra.models import ScriptedModel

GOAL = "Write the release notes."
SLOW = float(os.environ.get("SLOW_SECONDS", "0"))
workflow = pipeline(
    Agent("outline", model=ScriptedModel(replies=["one two three four five"])),
    Agent("draft", model=ScriptedModel(replies=["the draft"], latency=SLOW)),
    Agent("polish", model=ScriptedModel(replies=["the notes"])),
    name="notes",
)
"""


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "notes.py").write_text(GRAPH)
    return tmp_path


def orchestra(project: Path, db: str, *args: str) -> tuple[int, dict[str, Any]]:
    """The command line, in this process (the test's), from the project's directory."""
    here = Path.cwd()
    os.chdir(project)
    try:
        done = CliRunner().invoke(app, [*args, "--db", db, "--json"])
    finally:
        os.chdir(here)
    return done.exit_code, json.loads(done.stdout)


def statuses(project: Path, db: str) -> dict[str, str]:
    code, listing = orchestra(project, db, "runs")
    assert code == 0
    return {row["thread_id"]: row["status"] for row in listing["runs"]}


def test_a_token_budget_halts_the_run_and_resume_with_a_higher_one_finishes_it(
    project: Path,
) -> None:
    db = f"sqlite:///{project / 'runs.db'}"

    code, halted = orchestra(project, db, "run", "notes.py", "--thread", "n", "--max-tokens", "5")

    assert (code, halted["status"]) == (0, "halted")
    assert halted["limits"] == {"max_tokens": 5}
    (halt,) = halted["halts"]
    assert (halt["agent"], halt["limit"], halt["option"]) == ("draft", "tokens", "--max-tokens")
    assert "orchestra resume n --max-tokens" in halt["reason"]

    code, listing = orchestra(project, db, "runs")
    (row,) = listing["runs"]
    assert (row["status"], row["reason"]) == ("halted", f"draft: {halt['reason']}")

    code, done = orchestra(project, db, "resume", "n", "--max-tokens", "1000")

    assert (code, done["status"], done["output"]) == (0, "done", "the notes")
    assert done["limits"] == {"max_tokens": 1000}


def test_limit_options_are_checked_before_anything_runs(project: Path) -> None:
    db = f"sqlite:///{project / 'runs.db'}"

    bad_deadline = orchestra(project, db, "run", "notes.py", "--deadline", "soon")
    bad_visits = orchestra(project, db, "run", "notes.py", "--max-visits", "draft=many")
    with pytest.warns(RuntimeWarning, match="no price for model 'scripted'"):
        code, visits = orchestra(
            project, db, "run", "notes.py", "--max-visits", "9", "--max-visits", "draft=0",
            "--max-steps", "10", "--max-cost", "2.5", "--deadline", "10m",
        )  # fmt: skip

    assert bad_deadline[0] == 1
    assert "not a duration" in bad_deadline[1]["error"]
    assert bad_visits[0] == 1
    assert "AGENT=NUMBER" in bad_visits[1]["error"]
    assert code == 0
    assert visits["limits"] == {
        "deadline_seconds": 600.0,
        "max_cost": 2.5,
        "max_steps": 10,
        "max_visits": 9,
        "visits": {"draft": 0},
    }
    assert (visits["status"], visits["halts"][0]["agent"]) == ("halted", "draft")


def wait_for(predicate: Any, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.2)


def test_a_live_run_shows_running_and_after_sigkill_interrupted_then_resumes(
    project: Path, postgres_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ORCHESTRA_LEASE_SECONDS", "1.5")
    live = subprocess.Popen(
        command("run", "notes.py", "--thread", "live", "--db", postgres_url, "--json"),
        cwd=project,
        env=environment(SLOW_SECONDS="120", ORCHESTRA_LEASE_SECONDS="1.5"),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_for(lambda: statuses(project, postgres_url).get("live") == "running")

        code, refused = orchestra(project, postgres_url, "resume", "live")
        assert (code, refused["error_type"]) == (1, "ThreadBusy")
        code, refused = orchestra(project, postgres_url, "run", "notes.py", "--thread", "live")
        assert (code, refused["error_type"]) == (1, "ThreadBusy")
    finally:
        live.send_signal(signal.SIGKILL)
        live.wait()

    wait_for(lambda: statuses(project, postgres_url)["live"] == "interrupted", timeout=10)
    code, done = orchestra(project, postgres_url, "resume", "live")
    assert (code, done["status"], done["output"]) == (0, "done", "the notes")
