"""Branches that fail without failing the run: their error becomes a record in the state.

A fan-out with `on_error="continue"` adds its branches this way, so the merge still gets the
branches that succeeded. Interrupts (a human being asked) are not failures and pass through.
"""

from __future__ import annotations

import time
from typing import Any

from langchain_core.runnables import RunnableConfig
from langgraph._internal._runnable import RunnableCallable
from langgraph.errors import GraphBubbleUp
from langgraph.graph import StateGraph

from orchestra.agents import Agent, model_label
from orchestra.patterns._nodes import member_runners
from orchestra.state import AgentResult, Decision
from orchestra.workflow import Member

__all__ = ["add_tolerant_branch", "failure_update"]


def add_tolerant_branch(
    graph: StateGraph[Any, Any, Any, Any], member: Member, *, publishes: bool = True
) -> str:
    """Add `member` as a node whose permanent failure is recorded instead of raised (its
    output made the state's `output` only if it `publishes`)."""
    # The member's own functions, not its node: a node of their own would add a layer of
    # calls (and a suspended coroutine for as long as the call waits) to every branch.
    inner, ainner = member_runners(member, publishes=publishes)

    def run(state: Any, config: RunnableConfig) -> Any:
        started, clock = time.time(), time.perf_counter()
        try:
            return inner(state, config)
        except GraphBubbleUp:
            raise
        except Exception as error:
            return failure_update(member, state, error, started, clock)

    async def arun(state: Any, config: RunnableConfig) -> Any:
        started, clock = time.time(), time.perf_counter()
        try:
            return await ainner(state, config)
        except GraphBubbleUp:
            raise
        except Exception as error:
            return failure_update(member, state, error, started, clock)

    graph.add_node(member.name, RunnableCallable(run, arun, name=member.name, trace=False))
    return member.name


def failure_update(
    member: Member, state: Any, error: Exception, started: float, clock: float
) -> dict[str, Any]:
    """The state update recording that `member` failed: an `error` result (no output), and
    the retries and fallbacks it went through."""
    reason = " ".join(f"{type(error).__name__}: {error}".split())
    record = AgentResult(
        agent=member.name,
        kind="error",
        model=model_label(member.model) if isinstance(member, Agent) else member.pattern,
        output=None,
        error=reason[:1000],
        latency_ms=(time.perf_counter() - clock) * 1000,
        started_at=started,
        item_index=getattr(state, "item_index", None),
    )
    tried: list[Decision] = list(getattr(error, "decisions", ()))
    return {"results": [record], "decisions": tried} if tried else {"results": [record]}
