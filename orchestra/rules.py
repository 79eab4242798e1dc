"""Routing and conflict-resolution rules: the decisions on a workflow's edges.

Models choose among declared options through schemas whose fields are `Literal`s of those
options, so a structured-output model cannot name an undeclared node; a rule written in
Python is checked against the same options.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Hashable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal, TypeAlias

from langchain_core.language_models import BaseChatModel
from pydantic import BaseModel, Field, create_model

from orchestra.agents import Agent
from orchestra.errors import DefinitionError, RouteError

if TYPE_CHECKING:
    from orchestra.state import AgentResult
    from orchestra.workflow import Member

__all__ = [
    "Check",
    "Conflict",
    "Critique",
    "Escalate",
    "EscalateModel",
    "Policy",
    "Reroute",
    "Retry",
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


# -- validation policies ---------------------------------------------------------------


@dataclass(frozen=True)
class Retry:
    """On failure, run the work again with the reason as feedback, up to `times` times.

    Args:
        times: How many more attempts.
        to: In a `pipeline`, an earlier step to send the work back to (a fact check on
            the edited article sending the draft back to the writer); the steps after it
            run again. None: the step that was checked.
    """

    times: int = 1
    to: str | None = None

    def __post_init__(self) -> None:
        if isinstance(self.times, bool) or not isinstance(self.times, int) or self.times < 1:
            raise DefinitionError(f"Retry: times must be 1 or more, got {self.times!r}.")


@dataclass(frozen=True)
class Reroute:
    """On failure, an alternative agent (or workflow) does the work instead; its result is
    checked by the same rule."""

    agent: Member

    def __post_init__(self) -> None:
        from orchestra.workflow import Workflow

        if not isinstance(self.agent, Agent | Workflow):
            raise DefinitionError("Reroute: give the alternative as an Agent or a Workflow.")


@dataclass(frozen=True)
class EscalateModel:
    """On failure, the same agent runs again on a stronger `model`, with the reason as
    feedback."""

    model: BaseChatModel

    def __post_init__(self) -> None:
        if not isinstance(self.model, BaseChatModel):
            raise DefinitionError("EscalateModel: model must be a LangChain chat model.")


@dataclass(frozen=True)
class Escalate:
    """On failure, ask a human (a LangGraph `interrupt`) and continue with the answer.

    The question carries the check's reason and the results it judged. The answer starts
    with `accept`, `retry` or `stop` (anything else is taken as `accept`); the rest is a
    note, recorded and shown to later agents (and, on `retry`, given as feedback). Resume
    with `orchestra resume THREAD --answer "accept: refund approved"`.

    Args:
        question: What the human is asked.
        to: In a `pipeline`, an earlier step that a `retry` answer sends the work back to.
            None: the step that was checked.
    """

    question: str = "A check failed. Accept the result, retry it, or stop?"
    to: str | None = None


Policy: TypeAlias = Retry | Reroute | EscalateModel | Escalate
"""What to do when a check fails; a sequence of them is tried in order, one per failure."""

Rule: TypeAlias = "Agent | Callable[[Any, AgentResult], CheckResult]"
"""A check: a checker agent (answering a `Verdict`) or a function `(state, result) -> ...`."""


@dataclass(frozen=True)
class Check:
    """A validation rule on a result and the policies to apply, in order, when it fails.

    Each failure takes the next policy (`Retry(2)` counts twice); when none is left, the
    work stops there. Every verdict and the policy taken are recorded as `gate` decisions.

    Args:
        rule: A checker agent, whose answer is a `Verdict`, or a function
            `(state, result) -> Verdict | bool | str | None` (a str is a problem).
        on_fail: A policy or a sequence of them: `Retry`, `Reroute`, `EscalateModel`,
            `Escalate`. Empty: stop at the first failure.

    Example:
        ```python
        Check(fact_checker, on_fail=[Retry(1, to="writer"), Escalate()])
        ```
    """

    rule: Rule
    on_fail: Policy | Sequence[Policy] = field(default_factory=Retry)

    def __post_init__(self) -> None:
        if not isinstance(self.rule, Agent) and not callable(self.rule):
            raise DefinitionError("Check: rule must be a checker Agent or a function.")
        policies = (self.on_fail,) if isinstance(self.on_fail, Policy) else tuple(self.on_fail)
        for policy in policies:
            if not isinstance(policy, Policy):
                raise DefinitionError(
                    f"Check: on_fail takes Retry, Reroute, EscalateModel or Escalate, "
                    f"not {type(policy).__name__}."
                )
        object.__setattr__(self, "on_fail", policies)

    @property
    def policies(self) -> tuple[Policy, ...]:
        """The declared policies, in order."""
        return self.on_fail  # type: ignore[return-value]

    @property
    def ladder(self) -> tuple[Policy, ...]:
        """One policy per failure, in order (`Retry(2)` appears twice)."""
        steps: list[Policy] = []
        for policy in self.policies:
            steps.extend([policy] * policy.times if isinstance(policy, Retry) else [policy])
        return tuple(steps)


ESCALATION_CHOICES = ("accept", "retry", "stop")


def read_answer(answer: Any) -> tuple[str, str]:
    """A human's answer as `(choice, note)`: `accept`, `retry` or `stop`, and the rest.

    Text starting with a choice (`"retry: offer store credit"`) picks it; other text is
    an `accept` with the text as the note. A dict may give `choice` and `note`.
    """
    if isinstance(answer, Mapping):
        choice = str(answer.get("choice", "accept")).strip().lower()
        note = str(answer.get("note", "")).strip()
    else:
        text = str(answer if answer is not None else "").strip()
        head, _, rest = text.partition(" ")
        word = head.rstrip(":,.").lower()
        if word in ESCALATION_CHOICES:
            choice, note = word, rest.strip()
        else:
            choice, note = "accept", text
    if choice not in ESCALATION_CHOICES:
        raise RouteError(
            f"the human answer chose {choice!r}; answer with one of {list(ESCALATION_CHOICES)}."
        )
    return choice, note


# -- conflicts between parallel results --------------------------------------------------

Resolve: TypeAlias = Literal["vote", "escalate"] | Agent
TieBreak: TypeAlias = "Agent | Callable[[Any, Tally], str] | Literal['escalate']"
"""Who settles a tie: a judge agent, a function `(state, tally) -> answer`, or a human."""


@dataclass(frozen=True)
class Conflict:
    """How parallel branches that answer the same structured question settle a disagreement.

    Args:
        key: What in an output is the answer: a field name, a function, or by default the
            `answer` field if there is one, else the whole output.
        resolve: `"vote"` (the most common answer wins if it meets the `quorum`), a judge
            agent choosing among the different answers with a reason, or `"escalate"` to
            ask a human.
        tie_break: With `"vote"`, who settles a tie: a judge agent, a function
            `(state, tally) -> answer`, or `"escalate"`. None records no consensus.
        quorum: With `"vote"`, the share (float) or number (int) of votes the winner needs.

    Example:
        ```python
        fan_out(a, b, c, conflict=Conflict(key="verdict", resolve="vote", tie_break=judge))
        ```
    """

    key: str | Callable[[Any], Hashable] | None = None
    resolve: Resolve = "vote"
    tie_break: TieBreak | None = None
    quorum: float | int = 0.5

    def __post_init__(self) -> None:
        if not isinstance(self.resolve, Agent) and self.resolve not in ("vote", "escalate"):
            raise DefinitionError("Conflict: resolve is 'vote', 'escalate' or a judge Agent.")
        if self.tie_break is not None and self.resolve != "vote":
            raise DefinitionError("Conflict: tie_break applies only to resolve='vote'.")
        if isinstance(self.tie_break, str) and self.tie_break != "escalate":
            raise DefinitionError("Conflict: tie_break is an Agent, a function, or 'escalate'.")
