"""Due-diligence research: one analyst per source in the data room, then an investment memo.

A deterministic scoping step looks the target up in the data room and lists its sources;
a dynamic `fan_out` (`over="sources"`) runs the analyst once per source, in parallel, each
seeing only its own excerpt; a synthesiser merges the findings into a memo with a
recommendation. How many analysts run is decided at run time by the data room.

Patterns: pipeline, fan_out (dynamic, mapped over a state field, merged by an agent).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any, Literal

from langchain_core.language_models import BaseChatModel
from pydantic import BaseModel, Field
from typing_extensions import TypedDict

from orchestra import Agent, Limits, OrchestraState, Workflow, fan_out, pipeline

__all__ = [
    "DATA_ROOM",
    "GOAL",
    "LIMITS",
    "DiligenceState",
    "Finding",
    "Memo",
    "Source",
    "build",
    "scope",
    "workflow",
]

GOAL = "Due diligence on Acme Robotics before a $20M Series B investment."


class Source(TypedDict):
    name: str
    kind: str
    excerpt: str


DATA_ROOM: dict[str, list[Source]] = {
    "Acme Robotics": [
        Source(
            name="FY2025 audited accounts",
            kind="financials",
            excerpt="Revenue $48.2M (+31%). Net loss $6.1M. Cash $22M; burn $1.4M a month.",
        ),
        Source(
            name="Litigation search",
            kind="legal",
            excerpt="Kinetix v. Acme (2025): open patent suit over the gripper design; "
            "$12M damages sought.",
        ),
        Source(
            name="Customer interviews",
            kind="commercial",
            excerpt="8 of 10 customers would renew. Top customer is 38% of revenue.",
        ),
        Source(
            name="Cap table",
            kind="ownership",
            excerpt="Founders 41%, Series A investors 33%, option pool 12%, other 14%.",
        ),
    ],
    "Borealis Foods": [
        Source(
            name="FY2025 management accounts",
            kind="financials",
            excerpt="Revenue $12.5M (+8%). EBITDA $1.1M. Unaudited.",
        ),
        Source(
            name="Food safety records",
            kind="regulatory",
            excerpt="One product recall in 2024 (labelling); no findings since.",
        ),
    ],
}


class DiligenceState(OrchestraState):
    """The base state plus the sources the analysts are mapped over."""

    sources: list[Source] = Field(default_factory=list)


class Finding(BaseModel):
    """One analyst's reading of one source."""

    risk: Literal["low", "medium", "high"] = Field(description="Risk to an investor.")
    finding: str = Field(description="The main point, in one sentence.")


class Memo(BaseModel):
    """The synthesiser's investment memo."""

    recommendation: Literal["proceed", "proceed_with_conditions", "decline"]
    key_risks: list[str] = Field(description="At most 3 risks, a few words each.")
    summary: str = Field(description="Two sentences.")


def scope(state: Any) -> list[Source]:
    """The data-room sources of the company the goal names (none for an unknown one)."""
    goal = state.goal.lower()
    for company, sources in DATA_ROOM.items():
        if company.lower() in goal:
            return list(sources)
    return []


def build(model: BaseChatModel | None = None) -> Workflow[Any]:
    """The diligence workflow; `model` for every model step (None: the default model)."""
    scoper = Agent("scope", model=scope, writes="sources")
    analyst = Agent(
        "analyst",
        "Read your source excerpt. Rate its risk to an investor and state the main point.",
        model=model,
        output=Finding,
        reads=[],
        retry=3,  # a rate limit on one source should not lose it; one that keeps failing
        # is left out of the memo (fan_out's on_error="continue")
    )
    synthesiser = Agent(
        "synthesiser",
        "Combine the analysts' findings into an investment memo for the goal.",
        model=model,
        output=Memo,
        max_context_chars=600,
        retry=3,
    )
    review = fan_out(
        analyst, over="sources", merge=synthesiser, name="review", state=DiligenceState
    )
    return pipeline(scoper, review, name="diligence", state=DiligenceState)


# One analyst call per source: bound the spend however many sources the scoper lists.
LIMITS = Limits(max_steps=40, max_tokens=200_000, deadline=timedelta(minutes=20))
workflow = build().with_limits(LIMITS)
