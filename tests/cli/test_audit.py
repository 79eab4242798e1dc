"""`orchestra audit verify` and `show` as real subprocesses, on a run made by `orchestra run`."""

from __future__ import annotations

import json
import shutil
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from tests.cli.test_resume import PANEL
from tests.cli.test_run_show_draw import orchestra


@pytest.fixture(scope="module")
def answered_once(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A project whose thread `r1` ran a tied panel and got a human's answer."""
    project = tmp_path_factory.mktemp("audited")
    (project / "panel.py").write_text(PANEL)
    db = f"sqlite:///{project / 'runs.db'}"
    assert orchestra("run", "panel.py", "--thread", "r1", "--db", db, cwd=project).returncode == 0
    resumed = orchestra("resume", "r1", "--answer", "no", "--db", db, cwd=project)
    assert resumed.returncode == 0, resumed.stderr
    return project


@pytest.fixture
def answered(answered_once: Path, tmp_path: Path) -> Path:
    """A copy of that project, for a test to tamper with."""
    return Path(shutil.copytree(answered_once, tmp_path / "project"))


def audit(project: Path, *args: str) -> tuple[int, dict[str, Any]]:
    done = orchestra(
        "audit", *args, "--db", f"sqlite:///{project / 'runs.db'}", "--json", cwd=project
    )
    return done.returncode, json.loads(done.stdout)


def test_verify_json_reports_an_intact_chain_and_exits_zero(answered: Path) -> None:
    code, report = audit(answered, "verify", "r1")

    assert code == 0
    assert report["ok"] is True
    assert report["problems"] == []
    assert report["head"]["seq"] == report["entries"]


def test_verify_json_names_the_entry_edited_in_sql_and_exits_one(answered: Path) -> None:
    _, listing = audit(answered, "show", "r1")
    answer = next(e for e in listing["entries"] if e["kind"] == "answer")
    with sqlite3.connect(answered / "runs.db") as conn:
        conn.execute(
            "UPDATE orchestra_audit SET choice = 'yes' WHERE thread_id = 'r1' AND seq = ?",
            (answer["seq"],),
        )

    code, report = audit(answered, "verify", "r1")

    assert code == 1
    assert report["ok"] is False
    assert [(p["seq"], p["problem"]) for p in report["problems"]] == [(answer["seq"], "edited")]


def test_show_json_lists_the_human_answer_and_the_question(answered: Path) -> None:
    code, listing = audit(answered, "show", "r1")

    assert code == 0
    kinds = [(e["kind"], e["node"]) for e in listing["entries"]]
    assert ("interrupt", "panel.escalate") in kinds
    answer = next(e for e in listing["entries"] if e["kind"] == "answer")
    assert answer["detail"]["answer"] == "no"


def test_verify_of_an_unknown_thread_says_what_to_check(answered: Path) -> None:
    code, error = audit(answered, "verify", "nope")

    assert code == 1
    assert error["error_type"] == "ThreadNotFound"
    assert "--db" in str(error["error"])
