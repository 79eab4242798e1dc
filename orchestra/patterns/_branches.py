"""Branches of a fan-out: members that fail without failing the run, and mapped branches.

A fan-out with `on_error="continue"` adds its branches so that a branch's error becomes a
record in the state, and the merge still gets the branches that succeeded. Interrupts (a
human being asked) are not failures and pass through.

A fan-out mapped over items goes on to its merge through the first item's branch alone
(`then`): LangGraph applies a superstep's writes together, so one trigger starts the merge
after every branch, as one from each did; the others leave two pending writes, not three,
and LangGraph rescans the pending writes of the step once per branch.
"""

from __future__ import annotations

import time
from typing import Any

from langchain_core.runnables import RunnableConfig
from langgraph._internal._runnable import RunnableCallable
from langgraph.errors import GraphBubbleUp
from langgraph.graph import StateGraph
from langgraph.types import Command

from orchestra.agents import Agent, model_label
from orchestra.patterns._nodes import member_runners
from orchestra.state import AgentResult, Decision
from orchestra.workflow import Member

__all__ = ["add_mapped_branch", "add_tolerant_branch", "failure_update"]


def add_tolerant_branch(
    graph: StateGraph[Any, Any, Any, Any],
    member: Member,
    *,
    publishes: bool = True,
    then: str | None = None,
) -> str:
    """Add `member` as a node whose permanent failure is recorded instead of raised (its
    output made the state's `output` only if it `publishes`). With `then`, a mapped
    branch: the first item's goes on to node `then` (see the module's docstring)."""
    # The member's own functions, not its node: a node of their own would add a layer of
    # calls (and a suspended coroutine for as long as the call waits) to every branch.
    inner, ainner = member_runners(member, publishes=publishes)

    def run(state: Any, config: RunnableConfig) -> Any:
        started, clock = time.time(), time.perf_counter()
        try:
            update = inner(state, config)
        except GraphBubbleUp:
            raise
        except Exception as error:
            update = failure_update(member, state, error, started, clock)
        return _onward(update, state, then)

    async def arun(state: Any, config: RunnableConfig) -> Any:
        started, clock = time.time(), time.perf_counter()
        try:
            update = await ainner(state, config)
        except GraphBubbleUp:
            raise
        except Exception as error:
            update = failure_update(member, state, error, started, clock)
        return _onward(update, state, then)

    _add(graph, member.name, RunnableCallable(run, arun, name=member.name, trace=False), then)
    return member.name


def add_mapped_branch(graph: StateGraph[Any, Any, Any, Any], member: Member, then: str) -> str:
    """Add `member` as a mapped branch whose failure fails the run, its output left to the
    merge; the first item's branch goes on to node `then` (see the module's docstring)."""
    inner, ainner = member_runners(member, publishes=False)

    def run(state: Any, config: RunnableConfig) -> Any:
        return _onward(inner(state, config), state, then)

    async def arun(state: Any, config: RunnableConfig) -> Any:
        return _onward(await ainner(state, config), state, then)

    _add(graph, member.name, RunnableCallable(run, arun, name=member.name, trace=False), then)
    return member.name


def _add(
    graph: StateGraph[Any, Any, Any, Any], name: str, node: RunnableCallable, then: str | None
) -> None:
    if then is None:
        graph.add_node(name, node)
    else:
        graph.add_node(name, node, destinations=(then,))


def _onward(update: Any, state: Any, then: str | None) -> Any:
    """The branch's update, going on to `then` from the first item's branch."""
    if then is None or getattr(state, "item_index", None) != 0:
        return update
    return Command(update=update, goto=then)


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
