"""Fallbacks and the journal: a resumed step takes the same path and repeats no call."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import select

from orchestra.checkpoint import SQLCheckpointer
from orchestra.checkpoint.schema import journal
from orchestra.runtime import run
from tests import fallback_flow
from tests.checkpoint.test_journal import kill_when, lines

ROOT = Path(__file__).resolve().parents[2]

CHILD = """
import sys
from orchestra.checkpoint import SQLCheckpointer
from orchestra.runtime import run
from tests.fallback_flow import build

with SQLCheckpointer(sys.argv[1]) as saver:
    run(build(), "Reserve A1", thread_id="order-7", checkpointer=saver)
"""


@pytest.fixture
def log_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "calls.log"
    path.touch()
    monkeypatch.setenv("JOURNAL_LOG", str(path))
    monkeypatch.delenv("SLOW_SECOND_CALL", raising=False)
    return path


def test_the_failure_a_fallback_took_over_from_is_journaled_as_a_failure(
    db_url: str, log_file: Path
) -> None:
    with SQLCheckpointer(db_url) as saver:
        outcome = run(fallback_flow.build(), "Reserve A1", thread_id="t", checkpointer=saver)
        with saver.engine.connect() as connection:
            kinds = connection.execute(select(journal.c.kind).order_by(journal.c.created_at)).all()

    assert outcome.output == "customer told"
    assert [k for (k,) in kinds] == ["failed", "model", "tool", "model", "function"]
    [fallback] = [d for d in outcome.state["decisions"] if d.kind == "fallback"]
    assert (fallback.at, fallback.choice) == ("clerk", "backup")


def test_a_step_killed_during_its_fallback_resumes_without_calling_the_primary_again(
    db_url: str, log_file: Path
) -> None:
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, db_url],
        env={**os.environ, "PYTHONPATH": str(ROOT), "SLOW_SECOND_CALL": "30"},
    )
    kill_when(child, log_file, "backup second")

    with SQLCheckpointer(db_url) as saver:
        outcome = run(fallback_flow.build(), thread_id="order-7", checkpointer=saver)

    assert lines(log_file) == ["primary", "backup first", "tool", "backup second", "backup second"]
    assert outcome.output == "customer told"
    clerk = outcome.state["results"][0]
    assert (clerk.agent, clerk.output) == ("clerk", "A1 is reserved.")
