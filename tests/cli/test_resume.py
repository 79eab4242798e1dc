"""`orchestra run` then `orchestra resume`: idempotent submission and human answers."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.cli.test_run_show_draw import orchestra

PANEL = """
from orchestra import Agent, vote

GOAL = "Ship release 2.0?"
workflow = vote(
    Agent("qa", model=lambda state: {"answer": "yes"}),
    Agent("security", model=lambda state: {"answer": "no"}),
    tie_break="escalate",
    name="panel",
)
"""


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "panel.py").write_text(PANEL)
    return tmp_path


def run_json(project: Path, *args: str) -> tuple[int, dict[str, object]]:
    done = orchestra(*args, "--db", f"sqlite:///{project / 'runs.db'}", "--json", cwd=project)
    return done.returncode, json.loads(done.stdout)


def test_a_tied_panel_waits_and_resume_with_the_answer_finishes_it(project: Path) -> None:
    code, waiting = run_json(project, "run", "panel.py", "--thread", "r2")
    assert (code, waiting["status"]) == (0, "waiting")
    assert waiting["questions"][0]["value"]["options"] == ["yes", "no"]

    code, refused = run_json(project, "resume", "r2")
    assert code == 1
    assert "orchestra resume r2 --answer" in str(refused["error"])

    code, done = run_json(project, "resume", "r2", "--answer", "no")
    assert (code, done["status"], done["output"]) == (0, "done", {"answer": "no"})


def test_running_a_finished_thread_again_returns_its_result_without_running(
    project: Path,
) -> None:
    run_json(project, "run", "panel.py", "--thread", "r2")
    run_json(project, "resume", "r2", "--answer", "yes")

    code, again = run_json(project, "run", "panel.py", "--thread", "r2")

    assert (code, again["status"], again["executed"]) == (0, "done", False)
    assert again["output"] == {"answer": "yes"}


def test_running_an_unfinished_thread_again_points_to_resume(project: Path) -> None:
    run_json(project, "run", "panel.py", "--thread", "r2")

    code, refused = run_json(project, "run", "panel.py", "--thread", "r2")

    assert code == 1
    assert refused["error_type"] == "ThreadUnfinished"


def test_runs_lists_each_thread_with_its_status(project: Path) -> None:
    run_json(project, "run", "panel.py", "--thread", "waits")
    run_json(project, "run", "panel.py", "--thread", "answered")
    run_json(project, "resume", "answered", "--answer", "yes")

    code, listing = run_json(project, "runs")

    assert code == 0
    statuses = {row["thread_id"]: row["status"] for row in listing["runs"]}
    assert statuses == {"waits": "waiting", "answered": "done"}
    assert {row["graph"] for row in listing["runs"]} == {"panel.py"}
