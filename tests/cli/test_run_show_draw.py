"""`orchestra run`, `show` and `draw` as real subprocesses, on a SQLite database."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.command import orchestra

GRAPH = """
from orchestra import Agent, pipeline, router
from orchestra.models import ScriptedModel

GOAL = "Summarise the quarter."
workflow = pipeline(
    router(
        lambda state: "numbers",
        routes={
            "numbers": Agent("analyst", model=ScriptedModel(replies=["revenue up 4%"])),
            "words": Agent("writer", model=lambda state: "prose"),
        },
        name="desk",
    ),
    Agent("editor", model=ScriptedModel(replies=["Revenue rose 4% this quarter."])),
    name="report",
)
"""


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


def test_show_lists_every_call_and_decision_of_a_run_in_order(project: Path) -> None:
    db = f"sqlite:///{project / 'runs.db'}"
    assert orchestra("run", "report.py", "--thread", "q3", "--db", db, cwd=project).returncode == 0

    shown = orchestra("show", "q3", "--db", db, "--json", cwd=project)

    assert shown.returncode == 0, shown.stderr
    timeline = json.loads(shown.stdout)
    steps = [(e["type"], e.get("agent") or e.get("at")) for e in timeline["timeline"]]
    assert steps == [
        ("decision", "desk.classify"),
        ("call", "analyst"),
        ("call", "desk"),
        ("call", "editor"),
    ]
    editor = timeline["timeline"][-1]
    assert "revenue up 4%" in editor["input"][-1]["content"]
    assert editor["usage"]["total_tokens"] > 0
    assert timeline["output"] == "Revenue rose 4% this quarter."


def test_show_prints_a_readable_timeline(project: Path) -> None:
    db = f"sqlite:///{project / 'runs.db'}"
    orchestra("run", "report.py", "--thread", "q3", "--db", db, cwd=project)

    shown = orchestra("show", "q3", "--db", db, cwd=project)

    assert shown.returncode == 0, shown.stderr
    assert "route → numbers" in shown.stdout
    assert "answer: Revenue rose 4% this quarter." in shown.stdout


def test_show_of_an_unknown_thread_says_what_to_check(project: Path) -> None:
    db = f"sqlite:///{project / 'runs.db'}"

    shown = orchestra("show", "nope", "--db", db, "--json", cwd=project)

    assert shown.returncode == 1
    assert json.loads(shown.stdout)["error_type"] == "ThreadNotFound"


def test_draw_prints_mermaid_with_every_agent_and_nested_team(project: Path) -> None:
    drawn = orchestra("draw", "report.py", "--json", cwd=project)

    assert drawn.returncode == 0, drawn.stderr
    diagram = json.loads(drawn.stdout)["diagram"]
    assert diagram.startswith("flowchart TD")
    for name in ("analyst", "writer", "editor", "subgraph c_desk"):
        assert name in diagram


def test_draw_writes_the_diagram_to_a_file(project: Path) -> None:
    drawn = orchestra("draw", "report.py", "--out", "out/report.mmd", cwd=project)

    assert drawn.returncode == 0, drawn.stderr
    assert (project / "out" / "report.mmd").read_text().startswith("flowchart TD")


def test_prune_keep_latest_leaves_one_checkpoint_and_the_timeline_intact(project: Path) -> None:
    db = f"sqlite:///{project / 'runs.db'}"
    orchestra("run", "report.py", "--thread", "q3", "--db", db, cwd=project)

    pruned = orchestra("prune", "--keep-latest", "--db", db, "--json", cwd=project)

    assert pruned.returncode == 0, pruned.stderr
    assert json.loads(pruned.stdout)["pruned_checkpoints"] > 0
    shown = json.loads(orchestra("show", "q3", "--db", db, "--json", cwd=project).stdout)
    assert shown["output"] == "Revenue rose 4% this quarter."


def test_prune_older_than_deletes_idle_threads_only(project: Path) -> None:
    db = f"sqlite:///{project / 'runs.db'}"
    orchestra("run", "report.py", "--thread", "q3", "--db", db, cwd=project)

    kept = orchestra("prune", "--older-than", "1d", "--db", db, "--json", cwd=project)
    dropped = orchestra("prune", "--older-than", "0s", "--db", db, "--json", cwd=project)

    assert json.loads(kept.stdout)["expired_threads"] == []
    assert json.loads(dropped.stdout)["expired_threads"] == ["q3"]


def test_prune_without_a_policy_or_with_a_bad_age_says_what_to_write(project: Path) -> None:
    nothing = orchestra("prune", "--json", cwd=project)
    bad_age = orchestra("prune", "--older-than", "soon", "--json", cwd=project)

    assert nothing.returncode == 1
    assert "--older-than 30d" in json.loads(nothing.stdout)["error"]
    assert "12h or 30d" in json.loads(bad_age.stdout)["error"]


def test_fork_from_a_listed_checkpoint_then_resume_the_fork(project: Path) -> None:
    db = f"sqlite:///{project / 'runs.db'}"
    orchestra("run", "report.py", "--thread", "q3", "--db", db, cwd=project)
    shown = json.loads(
        orchestra("show", "q3", "--history", "--db", db, "--json", cwd=project).stdout
    )
    first_step = next(c for c in shown["checkpoints"] if c["step"] == 1)

    forked = orchestra(
        "fork", "q3", "--checkpoint", first_step["checkpoint_id"], "--thread", "q3b",
        "--db", db, "--json", cwd=project,
    )  # fmt: skip
    assert forked.returncode == 0, forked.stderr
    resumed = orchestra("resume", "q3b", "--db", db, "--json", cwd=project)

    assert resumed.returncode == 0, resumed.stderr
    outcome = json.loads(resumed.stdout)
    assert (outcome["status"], outcome["executed"]) == ("done", True)
    assert outcome["output"] == "Revenue rose 4% this quarter."
