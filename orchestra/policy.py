"""Limits for a whole run: visits per agent, steps, tokens, cost and a deadline.

A workflow declares its `Limits` (`Workflow.with_limits`); a run may override any of them
(`run(..., limits=...)`, `resume(..., limits=...)`, or the command line's `--max-*` options).
The engine checks them before every agent call that is about to execute, from the records
already in the state (`orchestra.state.OrchestraState.usage`, `.visits`) plus the calls made
so far in the running step. A breach stops the run in a `halted` state, which `resume`
continues once the limit is raised.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, fields, replace
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from types import MappingProxyType
from typing import Any

from orchestra.errors import DefinitionError
from orchestra.state import AgentResult, Usage

__all__ = ["DEFAULT_PRICES", "Breach", "Limits", "Price", "parse_deadline"]


@dataclass(frozen=True)
class Price:
    """What a model costs, in US dollars per million input and output tokens."""

    input: float
    output: float

    def cost(self, usage: Usage) -> float:
        """The cost of `usage` at this price."""
        return self.tokens_cost(usage.input_tokens, usage.output_tokens)

    def tokens_cost(self, input_tokens: int, output_tokens: int) -> float:
        """The cost of this many input and output tokens at this price."""
        return (input_tokens * self.input + output_tokens * self.output) / 1e6


DEFAULT_PRICES: Mapping[str, Price] = MappingProxyType(
    {
        "gpt-4o": Price(2.50, 10.00),
        "gpt-4o-mini": Price(0.15, 0.60),
        "gpt-4.1": Price(2.00, 8.00),
        "gpt-4.1-mini": Price(0.40, 1.60),
        "gpt-4.1-nano": Price(0.10, 0.40),
        "o3": Price(2.00, 8.00),
        "o4-mini": Price(1.10, 4.40),
    }
)
"""List prices of common OpenAI models (USD per million tokens); override or extend them
with `Limits(prices=...)`. A model missing from the table costs 0, and a run with a cost
budget says which models it could not price."""


@dataclass(frozen=True)
class Breach:
    """A limit a run has reached: which one, how much was used, and how much was allowed."""

    limit: str
    """`visits`, `steps`, `tokens`, `cost` or `deadline`."""
    reason: str
    used: float
    allowed: float
    agent: str | None = None
    """The agent whose visit limit it is (for `visits`)."""
    suggestion: str = ""
    """A raised value for the limit's option (twice what was used)."""

    @property
    def option(self) -> str:
        """The command-line option that raises this limit."""
        return _OPTIONS[self.limit]

    def hint(self, thread_id: str) -> str:
        """How to continue the run: the resume command with this limit raised."""
        return f"orchestra resume {thread_id} {self.option} {self.suggestion}"


_OPTIONS = {
    "visits": "--max-visits",
    "steps": "--max-steps",
    "tokens": "--max-tokens",
    "cost": "--max-cost",
    "deadline": "--deadline",
}


@dataclass(frozen=True)
class Limits:
    """Bounds on one run ("no agent may run more than N times per goal", budgets, a deadline).

    Every field is optional; None means no bound. Limits combine with `merged`: the fields
    a run sets override the ones the workflow declares.

    Args:
        max_visits: Most calls of any one agent in the run.
        visits: Per-agent bounds, `{agent name: most calls}`, overriding `max_visits`.
        max_steps: Most agent calls in the run, all agents together (model, function and
            routing calls; a nested workflow counts by its members' calls).
        max_tokens: Token budget: no new call starts once the run has used this many.
        max_cost: Cost budget in US dollars, priced with `prices`.
        prices: `{model name: Price}` entries added to (or replacing) `DEFAULT_PRICES`.
        deadline: A duration from the run's start, or an absolute time (timezone-aware or
            UTC); no new call starts after it.

    Example:
        ```python
        flow = supervisor([writer, editor], manager=lead).with_limits(
            Limits(max_visits=5, max_tokens=50_000, deadline=timedelta(minutes=10))
        )
        ```
    """

    max_visits: int | None = None
    visits: Mapping[str, int] = field(default_factory=dict, hash=False)
    max_steps: int | None = None
    max_tokens: int | None = None
    max_cost: float | None = None
    prices: Mapping[str, Price] = field(default_factory=dict, hash=False)
    deadline: timedelta | datetime | None = None

    def __post_init__(self) -> None:
        for name in ("max_visits", "max_steps", "max_tokens"):
            value = getattr(self, name)
            if value is not None and (isinstance(value, bool) or not isinstance(value, int)):
                raise DefinitionError(f"Limits: {name} must be a whole number, not {value!r}.")
            if value is not None and value < 0:
                raise DefinitionError(f"Limits: {name} must not be negative, not {value!r}.")
        for agent, bound in self.visits.items():
            if isinstance(bound, bool) or not isinstance(bound, int) or bound < 0:
                raise DefinitionError(
                    f"Limits: visits[{agent!r}] must be a whole number >= 0, not {bound!r}."
                )
        if self.max_cost is not None and (
            isinstance(self.max_cost, bool)
            or not isinstance(self.max_cost, int | float)
            or self.max_cost < 0
        ):
            raise DefinitionError(f"Limits: max_cost must be dollars >= 0, not {self.max_cost!r}.")
        if self.deadline is not None and not isinstance(self.deadline, timedelta | datetime):
            raise DefinitionError(
                "Limits: deadline must be a timedelta (from the run's start) or a datetime."
            )
        object.__setattr__(self, "visits", MappingProxyType(dict(self.visits)))
        object.__setattr__(self, "prices", MappingProxyType(dict(self.prices)))

    @property
    def empty(self) -> bool:
        """True when no field bounds anything (nor prices anything)."""
        return self is _NO_LIMITS or self == _NO_LIMITS

    def merged(self, override: Limits | None) -> Limits:
        """These limits with every field `override` sets taking precedence."""
        if override is None:
            return self
        changes: dict[str, Any] = {}
        for spec in fields(self):
            value = getattr(override, spec.name)
            if spec.name in ("visits", "prices"):
                if value:
                    changes[spec.name] = {**getattr(self, spec.name), **value}
            elif value is not None:
                changes[spec.name] = value
        return replace(self, **changes)

    def price(self, model: str | None) -> Price | None:
        """The price of `model` (the run's table over the defaults), or None if unknown."""
        if model is None:
            return None
        return self.prices.get(model) or DEFAULT_PRICES.get(model)

    def cost(self, results: Iterable[AgentResult]) -> tuple[float, set[str]]:
        """The cost of `results` (nested workflow summaries left out), and unpriced models."""
        total, unpriced = 0.0, set()
        for result in results:
            if result.kind == "workflow" or not result.usage.total_tokens:
                continue
            price = self.price(result.model)
            if price is None:
                unpriced.add(result.model or "?")
            else:
                total += price.cost(result.usage)
        return total, unpriced

    def breach(
        self,
        agent: str,
        results: Iterable[AgentResult],
        *,
        started_at: float,
        now: float,
    ) -> Breach | None:
        """The first limit that forbids another call of `agent`, given the run's `results`.

        Budgets are checked before a call, as its cost is known only after: a run stops at
        the first call that would start with the budget already spent.
        """
        calls = [r for r in results if r.kind != "workflow"]
        bound = self.visits.get(agent, self.max_visits)
        if bound is not None:
            visits = sum(1 for r in calls if r.agent == agent)
            if visits >= bound:
                return Breach(
                    "visits",
                    f"agent {agent!r} reached its limit of {bound} visits",
                    visits,
                    bound,
                    agent,
                    f"{agent}={2 * max(visits, 1)}",
                )
        if self.max_steps is not None and len(calls) >= self.max_steps:
            return Breach(
                "steps",
                f"the run reached its limit of {self.max_steps} steps (agent calls)",
                len(calls),
                self.max_steps,
                suggestion=str(2 * max(len(calls), 1)),
            )
        if self.max_tokens is not None:
            tokens = sum(r.usage.total_tokens for r in calls)
            if tokens >= self.max_tokens:
                return Breach(
                    "tokens",
                    f"the run used {tokens} tokens of its {self.max_tokens} budget",
                    tokens,
                    self.max_tokens,
                    suggestion=str(2 * max(tokens, 1)),
                )
        if self.max_cost is not None:
            spent, unpriced = self.cost(calls)
            if spent >= self.max_cost:
                note = f" (no price for {', '.join(sorted(unpriced))}: counted as 0)"
                return Breach(
                    "cost",
                    f"the run spent ${spent:.4f} of its ${self.max_cost:g} budget"
                    + (note if unpriced else ""),
                    round(spent, 6),
                    self.max_cost,
                    suggestion=f"{2 * max(spent, 0.01):.2f}",
                )
        if self.deadline is not None:
            until = self.deadline_at(started_at)
            if now >= until:
                return Breach(
                    "deadline",
                    f"the run passed its deadline of {_when(until)} "
                    f"({now - started_at:.0f}s after it started)",
                    now,
                    until,
                    suggestion=f"{2 * max(now - started_at, 60):.0f}s",
                )
        return None

    def deadline_at(self, started_at: float) -> float:
        """The deadline as seconds since the epoch, for a run that started at `started_at`."""
        if isinstance(self.deadline, timedelta):
            return started_at + self.deadline.total_seconds()
        if isinstance(self.deadline, datetime):
            moment = self.deadline
            if moment.tzinfo is None:
                moment = moment.replace(tzinfo=UTC)
            return moment.timestamp()
        return float("inf")

    # -- storage: limits travel in checkpoint metadata, which holds plain strings --------

    def to_json(self) -> str:
        """The limits as a JSON string (kept in checkpoint metadata, so they survive a crash)."""
        data: dict[str, Any] = {}
        for spec in fields(self):
            value = getattr(self, spec.name)
            if spec.name == "prices":
                if value:
                    data["prices"] = {m: [p.input, p.output] for m, p in value.items()}
            elif spec.name == "visits":
                if value:
                    data["visits"] = dict(value)
            elif isinstance(value, timedelta):
                data["deadline_seconds"] = value.total_seconds()
            elif isinstance(value, datetime):
                data["deadline_at"] = value.isoformat()
            elif value is not None:
                data[spec.name] = value
        return json.dumps(data, sort_keys=True)

    @classmethod
    def from_json(cls, text: str | None) -> Limits:
        """The limits `to_json` wrote (no limits for None or an empty string)."""
        return _parse(text) if text else _NO_LIMITS

    def describe(self) -> dict[str, Any]:
        """The limits as JSON data, for `--json` output."""
        data: dict[str, Any] = json.loads(self.to_json())
        return data


_NO_LIMITS = Limits()
"""Compared with on every step of every run: built once."""


@lru_cache(maxsize=64)
def _parse(text: str) -> Limits:
    # Cached: every step reads the run's limits from its config.
    data = json.loads(text)
    deadline: timedelta | datetime | None = None
    if "deadline_seconds" in data:
        deadline = timedelta(seconds=float(data["deadline_seconds"]))
    elif "deadline_at" in data:
        deadline = datetime.fromisoformat(str(data["deadline_at"]))
    return Limits(
        max_visits=data.get("max_visits"),
        visits={str(k): int(v) for k, v in data.get("visits", {}).items()},
        max_steps=data.get("max_steps"),
        max_tokens=data.get("max_tokens"),
        max_cost=data.get("max_cost"),
        prices={str(m): Price(float(p[0]), float(p[1])) for m, p in data.get("prices", {}).items()},
        deadline=deadline,
    )


_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(s|m|h|d)?\s*$")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_deadline(text: str) -> timedelta | datetime:
    """A deadline from the command line: `90s`, `10m`, `2h`, `1d` (from the run's start), or
    an ISO time such as `2030-01-31T17:00:00+00:00`.

    Raises:
        DefinitionError: the text is neither.
    """
    match = _DURATION.match(text)
    if match:
        return timedelta(seconds=float(match.group(1)) * _UNITS[match.group(2) or "s"])
    try:
        return datetime.fromisoformat(text.strip())
    except ValueError:
        raise DefinitionError(
            f"--deadline {text!r} is not a duration (90s, 10m, 2h, 1d) or an ISO time "
            "(2030-01-31T17:00:00+00:00)."
        ) from None


def _when(moment: float) -> str:
    return datetime.fromtimestamp(moment, UTC).isoformat(timespec="seconds")
