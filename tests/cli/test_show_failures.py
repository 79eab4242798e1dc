"""`orchestra show` of a run where agents fell back and a fan-out branch failed."""

from __future__ import annotations

import json
from pathlib import Path

from tests.cli.test_run_show_draw import orchestra

GRAPH = """
from orchestra import Agent, fan_out
from orchestra.models import ScriptedModel

def down(state):
    raise ConnectionError("registry unreachable")

workflow = fan_out(
    Agent(
        "legal",
        model=ScriptedModel(replies=[ValueError("context too long")], model_name="small"),
        fallback=ScriptedModel(replies=["no lawsuits"], model_name="big"),
    ),
    Agent("patents", model=down),
    name="diligence",
)
"""


def test_show_reports_the_fallback_and_the_failed_branch(tmp_path: Path) -> None:
    (tmp_path / "diligence.py").write_text(GRAPH)
    db = f"sqlite:///{tmp_path / 'runs.db'}"
    done = orchestra(
        "run",
        "diligence.py",
        "--goal",
        "Acme",
        "--thread",
        "d1",
        "--db",
        db,
        "--json",
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["output"] == {"legal": "no lawsuits"}

    shown = orchestra("show", "d1", "--db", db, "--json", cwd=tmp_path)
    printed = orchestra("show", "d1", "--db", db, cwd=tmp_path)

    assert shown.returncode == 0, shown.stderr
    entries = json.loads(shown.stdout)["timeline"]
    [fallback] = [e for e in entries if e.get("kind") == "fallback"]
    assert (fallback["at"], fallback["choice"]) == ("legal", "big")
    [failed] = [e for e in entries if e.get("kind") == "error"]
    assert (failed["agent"], failed["error"]) == (
        "patents",
        "ConnectionError: registry unreachable",
    )
    [partial] = [e for e in entries if e.get("kind") == "partial"]
    assert partial["choice"] == "1 of 2"
    assert printed.returncode == 0, printed.stderr
    assert "failed:" in printed.stdout
