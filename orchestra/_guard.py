"""The engine's side of `orchestra.policy`: check a run's limits before each agent call.

A run's limits travel in its config metadata (so they are stored with every checkpoint and
survive a crash). A breach halts the run with a LangGraph `interrupt` whose value says it is
a halt: an interrupt, unlike an exception, is never retried by a retry policy, keeps the
work of parallel branches that finished, and re-runs only the halted step on resume. The
halting `Decision(kind="limit")` is the interrupt's value while the run is halted, and joins
the state when the step goes on after the limit was raised.
"""

from __future__ import annotations

import time
import warnings
from dataclasses import replace
from typing import Any

from langchain_core.runnables import RunnableConfig
from langgraph.types import interrupt

from orchestra.agents import AgentCall
from orchestra.policy import Limits
from orchestra.state import AgentResult, Decision, Usage

__all__ = [
    "HALT_KEY",
    "LIFTED_KEY",
    "LIMITS_KEY",
    "STARTED_KEY",
    "Guard",
    "halt_of",
    "priced",
    "unguarded",
]

LIMITS_KEY = "orchestra_limits"
"""Config (and checkpoint) metadata key of the run's limits, as `Limits.to_json()`."""
STARTED_KEY = "orchestra_started_at"
"""Config (and checkpoint) metadata key of when the run started (seconds since the epoch)."""
LIFTED_KEY = "orchestra_lifted"
"""Configurable key of the halts a resume lifts (`Decision`s), to record where they happened."""
HALT_KEY = "orchestra_halt"
"""Key of the halting decision in a halt's interrupt value."""

_NO_LIMITS = Limits.from_json(None)


def halt_of(value: Any) -> Decision | None:
    """The halting decision an interrupt value carries, or None for any other interrupt."""
    if isinstance(value, dict) and isinstance(value.get(HALT_KEY), dict):
        return Decision.model_validate(value[HALT_KEY])
    return None


def unguarded(config: RunnableConfig) -> bool:
    """True when the run has no limits and lifts no halt: a `Guard` would check nothing,
    so a node may call its agent directly (and only price the call, with `priced`)."""
    metadata = config.get("metadata")
    configurable = config.get("configurable")
    return not (metadata and LIMITS_KEY in metadata) and not (
        configurable and LIFTED_KEY in configurable
    )


def priced(call: AgentCall, limits: Limits = _NO_LIMITS) -> AgentCall:
    """`call` with its cost, from `limits`' price table over the default prices."""
    result = call.result
    if not result.usage.total_tokens:
        return call
    price = limits.price(result.model)
    if price is not None:
        usage = result.usage.model_copy(update={"cost": price.cost(result.usage)})
        return replace(call, result=result.model_copy(update={"usage": usage}))
    if limits.max_cost is not None:
        warnings.warn(
            f"no price for model {result.model!r}: its calls count as $0 against the run's "
            "cost budget. Price it with Limits(prices={name: Price(input, output)}).",
            RuntimeWarning,
            stacklevel=3,
        )
    return call


class Guard:
    """One execution of a step: knows the run's usage so far and stops a call over a limit."""

    def __init__(self, state: Any, config: RunnableConfig) -> None:
        metadata = config.get("metadata") or {}
        text = metadata.get(LIMITS_KEY)
        self.limits = Limits.from_json(text) if isinstance(text, str) else _NO_LIMITS
        self.active = not self.limits.empty or LIFTED_KEY in config.get("configurable", {})
        self._state = state
        self._config = config
        self._results: list[AgentResult] | None = None
        self._calls = 0
        self.decisions: list[Decision] = []

    def before(self, agent: str) -> None:
        """Halt the run (an `interrupt`) if a limit forbids calling `agent` now."""
        index = self._calls
        self._calls += 1
        if not self.active:
            return
        configurable = self._config.get("configurable", {})
        namespace = str(configurable.get("checkpoint_ns", ""))
        results = self._results_so_far()
        breach = self.limits.breach(agent, results, started_at=self._started(), now=time.time())
        if breach is not None:
            thread = str(configurable.get("thread_id", "THREAD"))
            decision = Decision(
                kind="limit",
                at=agent,
                choice="halt",
                reason=f"{breach.reason}; to go on, raise it: `{breach.hint(thread)}`",
                detail={
                    "limit": breach.limit,
                    "used": breach.used,
                    "allowed": breach.allowed,
                    "agent": breach.agent,
                    "option": breach.option,
                    "namespace": namespace,
                    "call": index,
                },
            )
            interrupt({HALT_KEY: decision.model_dump(mode="json")})
        for lifted in configurable.get(LIFTED_KEY, ()):
            if lifted.detail.get("namespace") == namespace and lifted.detail.get("call") == index:
                self.decisions.append(lifted)

    def after(self, call: AgentCall) -> AgentCall:
        """Count `call`, priced with the run's price table."""
        call = priced(call, self.limits)
        if self._results is not None:
            self._results.append(call.result)
        return call

    def failed(self, agent: str, error: Exception) -> None:
        """Count a call that failed after spending tokens (an invalid structured answer)."""
        if self._results is not None:
            usage = getattr(error, "usage", None)
            self._results.append(
                AgentResult(agent=agent, usage=usage if isinstance(usage, Usage) else Usage())
            )

    def finish(self, update: dict[str, Any]) -> dict[str, Any]:
        """The step's update, with the halts it went past once their limits were raised."""
        if self.decisions:
            update = {**update, "decisions": [*self.decisions, *update.get("decisions", ())]}
        return update

    def _results_so_far(self) -> list[AgentResult]:
        if self._results is None:
            self._results = list(getattr(self._state, "results", ()))
        return self._results

    def _started(self) -> float:
        started = (self._config.get("metadata") or {}).get(STARTED_KEY)
        if isinstance(started, int | float):
            return float(started)
        # Run without `orchestra.run` (app.invoke): the first recorded call marks the start.
        times = [r.started_at for r in self._results_so_far() if r.started_at]
        return min(times, default=time.time())
