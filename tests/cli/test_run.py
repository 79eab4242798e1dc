"""`orchestra run`: a real subprocess running a workflow file on a SQLite database."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

GRAPH = """
from orchestra import Agent, pipeline
from orchestra.models import ScriptedModel

GOAL = "Summarise the quarter."
workflow = pipeline(
    Agent("analyst", model=ScriptedModel(replies=["revenue up 4%"])),
    Agent("editor", model=ScriptedModel(replies=["Revenue rose 4% this quarter."])),
    name="report",
)
"""


def orchestra(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "ORCHESTRA_"))}
    return subprocess.run(
        [sys.executable, "-m", "orchestra", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "report.py").write_text(GRAPH)
    return tmp_path


def test_run_json_reports_the_thread_status_output_and_usage(project: Path) -> None:
    db = f"sqlite:///{project / 'runs.db'}"

    done = orchestra("run", "report.py", "--thread", "q3", "--db", db, "--json", cwd=project)

    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["thread_id"] == "q3"
    assert report["status"] == "done"
    assert report["output"] == "Revenue rose 4% this quarter."
    assert report["usage"]["total_tokens"] > 0
    assert (project / "runs.db").exists()


def test_run_shows_each_agent_as_it_finishes_and_prints_the_answer(project: Path) -> None:
    done = orchestra("run", "report.py", "--goal", "Q3 please", cwd=project)

    assert done.returncode == 0, done.stderr
    assert "analyst" in done.stderr
    assert "editor" in done.stderr
    assert "goal: Q3 please" in done.stderr
    assert done.stdout.startswith("Revenue rose 4% this quarter.")
    assert (project / "checkpoints" / "orchestra.db").exists()


def test_run_of_an_unknown_graph_says_what_to_give(project: Path) -> None:
    failed = orchestra("run", "nowhere", "--json", cwd=project)

    assert failed.returncode == 1
    assert json.loads(failed.stdout)["error_type"] == "GraphNotFound"
