"""Routing and conflict-resolution rules: the decisions on a workflow's edges.

Models choose among declared options through schemas whose fields are `Literal`s of those
options, so a structured-output model cannot name an undeclared node; a rule written in
Python is checked against the same options.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Hashable, Mapping, Sequence
from typing import Any, Literal

from pydantic import BaseModel, Field, create_model

from orchestra.errors import DefinitionError, RouteError

__all__ = [
    "Critique",
    "Tally",
    "Verdict",
    "choice_schema",
    "tally_votes",
    "to_verdict",
]

FINISH = "FINISH"


class Verdict(BaseModel):
    """The outcome of a check: passed, or failed with a reason the author gets as feedback."""

    passed: bool = Field(description="True if the work is acceptable as it is.")
    reason: str = Field(default="", description="What is wrong, when it is not acceptable.")

    @classmethod
    def ok(cls, reason: str = "") -> Verdict:
        return cls(passed=True, reason=reason)

    @classmethod
    def fail(cls, reason: str) -> Verdict:
        return cls(passed=False, reason=reason)


class Critique(BaseModel):
    """A critic's answer in a `refine` loop."""

    approved: bool = Field(description="True when the work needs no further revision.")
    feedback: str = Field(default="", description="What to change, when not approved.")


CheckResult = Verdict | bool | str | None
"""What a check function may return: a Verdict; True/None (pass); False; or a problem text."""


def to_verdict(value: Any) -> Verdict:
    """Read a check's return value: None/True pass, False fails, a non-empty str is a problem."""
    if isinstance(value, Verdict):
        return value
    if isinstance(value, Critique):
        return Verdict(passed=value.approved, reason=value.feedback)
    if value is None or value is True:
        return Verdict.ok()
    if value is False:
        return Verdict.fail("rejected by the check")
    if isinstance(value, str):
        return Verdict.ok() if not value.strip() else Verdict.fail(value)
    raise DefinitionError(
        f"a check returned {type(value).__name__}; return a Verdict, a bool, or a problem text."
    )


def choice_schema(
    title: str,
    field: str,
    options: Sequence[str],
    description: str,
) -> type[BaseModel]:
    """A schema whose `field` must be one of `options`, plus a free-text `reason`."""
    if not options:
        raise DefinitionError(f"{title}: there is nothing to choose from.")
    choice = Literal[tuple(options)]  # type: ignore[valid-type]
    fields: dict[str, Any] = {
        field: (choice, Field(description=f"One of: {', '.join(options)}.")),
        "reason": (str, Field(default="", description="Why, in one sentence.")),
    }
    model: type[BaseModel] = create_model(title, __doc__=description, **fields)
    return model


def check_label(label: Any, options: Sequence[str], where: str) -> str:
    """`label` if it is one of `options`, else a `RouteError` naming the valid ones."""
    if isinstance(label, str) and label in options:
        return label
    raise RouteError(
        f"{where} chose {label!r}, which is not one of the declared options {list(options)}. "
        "Fix the rule, or give the router a default= route."
    )


class Tally(BaseModel):
    """A vote count: who voted what, how many each answer got, and the winner if any."""

    votes: dict[str, str]
    """Voter name -> the answer it gave (as text)."""
    counts: dict[str, int]
    winner: str | None
    tied: list[str]
    """The answers sharing the top count when there is no winner."""


def answer_key(output: Any, key: str | Callable[[Any], Hashable] | None) -> str:
    """The part of a voter's output that is its vote, as text."""
    if callable(key):
        value = key(output)
    elif isinstance(key, str):
        if not isinstance(output, Mapping) or key not in output:
            raise DefinitionError(f"vote: a voter's output has no field {key!r}: {output!r}")
        value = output[key]
    elif isinstance(output, Mapping) and "answer" in output:
        value = output["answer"]
    else:
        value = output
    if isinstance(value, str):
        return value.strip()
    return json.dumps(value, sort_keys=True, default=str)


def tally_votes(votes: Mapping[str, str], quorum: float | int) -> Tally:
    """Count `votes`; the top answer wins if it is alone at the top and meets the quorum.

    A float quorum is the share of all votes the winner needs (0.5: at least half); an int
    is a number of votes.
    """
    counts: dict[str, int] = {}
    for answer in votes.values():
        counts[answer] = counts.get(answer, 0) + 1
    top = max(counts.values(), default=0)
    leaders = [answer for answer, count in counts.items() if count == top]
    needed = quorum if isinstance(quorum, int) else quorum * len(votes)
    winner = leaders[0] if len(leaders) == 1 and top >= needed else None
    return Tally(votes=dict(votes), counts=counts, winner=winner, tied=[] if winner else leaders)
