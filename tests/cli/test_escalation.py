"""A failed check escalated to a human: `orchestra run` waits, `resume --answer` decides."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.cli.test_run_show_draw import orchestra

QUOTE = """
from orchestra import Agent, Check, Escalate, pipeline

GOAL = "Quote ACME for 500 seats."
workflow = pipeline(
    Agent("quote", model=lambda state: "500 seats at a 40% discount"),
    Agent("send", model=lambda state: "sent: " + state.latest("quote").output),
    gate={"quote": Check(lambda state, result: "over the 20% discount limit",
                         on_fail=Escalate("Approve this discount?"))},
    name="sales",
)
"""


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "quote.py").write_text(QUOTE)
    return tmp_path


def run_json(project: Path, *args: str) -> tuple[int, dict[str, Any]]:
    done = orchestra(*args, "--db", f"sqlite:///{project / 'runs.db'}", "--json", cwd=project)
    return done.returncode, json.loads(done.stdout)


def test_a_check_escalated_to_a_human_waits_then_resumes_with_the_recorded_answer(
    project: Path,
) -> None:
    code, waiting = run_json(project, "run", "quote.py", "--thread", "q1")
    assert (code, waiting["status"]) == (0, "waiting")
    question = waiting["questions"][0]["value"]
    assert question["question"] == "Approve this discount?"
    assert question["reason"] == "over the 20% discount limit"

    code, done = run_json(project, "resume", "q1", "--answer", "accept: approved by Ana")
    assert (code, done["status"], done["output"]) == (
        0,
        "done",
        "sent: 500 seats at a 40% discount",
    )

    code, shown = run_json(project, "show", "q1")
    assert code == 0
    order = [e["agent"] if e["type"] == "call" else e["at"] for e in shown["timeline"]]
    # The human's note sits in time order (between the question and the next step).
    assert order == ["quote", "quote.gate", *["quote.escalate"] * 2, "send"]
    decisions = [
        (e["kind"], e["choice"], e["reason"]) for e in shown["timeline"] if e["type"] == "decision"
    ]
    assert decisions == [
        ("gate", "escalate", "over the 20% discount limit"),
        ("escalation", "accept", "approved by Ana"),
    ]
