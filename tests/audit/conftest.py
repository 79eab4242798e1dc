"""The checkpoint tests' databases (a SQLite file, a fresh PostgreSQL database) and a flow.

The flow has every kind of audited record: a route, parallel voters, a tally, an
escalation to a human and its answer, and a nested workflow's summary.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from orchestra import Agent, Workflow, router, vote
from orchestra.models import ScriptedModel
from tests.checkpoint.conftest import db_url, postgres_url, saver
from tests.conftest import scripted_agent

__all__ = ["db_url", "postgres_url", "review_desk", "saver"]


class Review(BaseModel):
    verdict: str
    note: str = ""


def _voter(name: str, verdict: str) -> Agent:
    return Agent(
        name,
        "Review the change.",
        model=ScriptedModel(replies=[{"verdict": verdict, "note": name}]),
        output=Review,
    )


def review_desk() -> Workflow[Any]:
    """triage routes to a tied panel of two voters, whose tie a human breaks."""
    panel = vote(
        _voter("qa", "approve"),
        _voter("security", "reject"),
        key="verdict",
        tie_break="escalate",
        name="panel",
    )
    triage = Agent(
        "triage",
        "Classify the change.",
        model=ScriptedModel(replies=[{"label": "review", "reason": "touches auth"}]),
    )
    return router(triage, routes={"review": panel, "trivial": scripted_agent("merger", "merged")})
