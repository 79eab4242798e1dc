"""`refine`: a worker revises its work until a critic approves it, or the rounds run out."""

from __future__ import annotations

from collections.abc import Callable, Generator
from typing import Any

from langgraph.graph import END, START, StateGraph

from orchestra.agents import Agent, AgentCall
from orchestra.errors import DefinitionError
from orchestra.patterns._nodes import (
    Ask,
    Update,
    add_member,
    check_members,
    check_state,
    step_node,
)
from orchestra.rules import CheckResult, Critique, Verdict, to_verdict
from orchestra.state import Decision, OrchestraState
from orchestra.workflow import Member, Workflow

__all__ = ["refine"]

Critic = Agent | Callable[[Any], CheckResult]
"""An agent (answering a `Critique` unless it has its own output) or a check `(state) -> ...`."""


def refine(
    worker: Member,
    critic: Critic,
    *,
    until: Callable[[Any], bool] | None = None,
    max_rounds: int = 3,
    name: str = "refine",
    state: type[OrchestraState] = OrchestraState,
    description: str = "",
) -> Workflow[Any]:
    """Worker, critic, worker again with the critique... until approved or `max_rounds`.

    Args:
        worker: The agent or workflow producing the work.
        critic: An agent reviewing it (by default it answers a `Critique`: approved and
            feedback), or a check function `(state) -> Verdict | bool | problem text`.
        until: Decides approval from the state instead, e.g. a score threshold; required
            when the critic agent has an output schema of its own.
        max_rounds: Most worker attempts; the loop stops there and records why.
        name: The workflow's name (unique among every name in an enclosing workflow).
        state: The state model.
        description: What it is for, shown to a supervisor choosing among workers.

    Example:
        ```python
        polished = refine(writer, Agent("editor", "Approve or give feedback.", model=m))
        ```
    """
    members = check_members("refine", [worker])
    check_state(state)
    if max_rounds < 1:
        raise DefinitionError("refine: max_rounds must be at least 1.")
    point = critic.name if isinstance(critic, Agent) else f"{name}.critic"
    own = [point]
    check_members("refine", members, own=own)
    if isinstance(critic, Agent) and critic.output is not None and until is None:
        raise DefinitionError(
            f"refine: critic {critic.name!r} has its own output schema; pass until=... to say "
            "when the work is approved."
        )

    def build(graph: StateGraph[Any, Any, Any, Any]) -> None:
        add_member(graph, worker)
        graph.add_node(
            point, step_node(point, _critique(point, worker.name, critic, until, max_rounds))
        )
        graph.add_edge(START, worker.name)
        graph.add_edge(worker.name, point)
        graph.add_conditional_edges(
            point, _after_critique(point), {"revise": worker.name, "done": END}
        )

    return Workflow(
        name=name,
        pattern="refine",
        state=state,
        members=members,
        build=build,
        nodes=own,
        description=description,
        deciders={"critic": critic} if isinstance(critic, Agent) else None,
    )


def _critique(
    point: str,
    worker: str,
    critic: Critic,
    until: Callable[[Any], bool] | None,
    max_rounds: int,
) -> Any:
    reviewing = critic
    if isinstance(critic, Agent) and critic.output is None:
        reviewing = critic.with_output(Critique)

    def run(state: Any) -> Generator[Ask, AgentCall, dict[str, Any]]:
        work = state.latest(worker)
        update = Update()
        if isinstance(reviewing, Agent):
            call = yield Ask(reviewing, kind="control" if reviewing is not critic else None)
            update.add(call, critic.writes if isinstance(critic, Agent) else None, output=False)
            seen = state.model_copy(update={"results": [*state.results, call.result]})
            verdict = (
                Verdict(passed=bool(until(seen)), reason=_feedback(call.parsed))
                if until is not None
                else to_verdict(call.parsed)
            )
        else:
            verdict = to_verdict(critic(state))  # type: ignore[operator]
            if until is not None:
                verdict = Verdict(passed=bool(until(state)), reason=verdict.reason)
        round_ = _round(state, point)
        if verdict.passed:
            choice = "approve"
        elif round_ < max_rounds:
            choice = "revise"
        else:
            choice = "limit"
        reason = verdict.reason
        if choice == "limit":
            reason = f"not approved after max_rounds={max_rounds}: {verdict.reason}".strip(": ")
        update.decisions.append(
            Decision(
                kind="critique",
                at=point,
                choice=choice,
                reason=reason,
                about=work.id if work is not None else None,
                rejected=choice == "revise",
                round=round_,
            )
        )
        return update.as_dict()

    return run


def _feedback(parsed: Any) -> str:
    for field in ("feedback", "reason", "comments"):
        value = getattr(parsed, field, None)
        if isinstance(value, str):
            return value
    return ""


def _round(state: Any, point: str) -> int:
    """This critique's number within the current loop (1 after an approval or a limit)."""
    previous = state.latest_decision(point)
    if previous is None or previous.choice != "revise":
        return 1
    return int(previous.round) + 1


def _after_critique(point: str) -> Callable[[Any], str]:
    def route(state: Any) -> str:
        decision = state.latest_decision(point)
        return "revise" if decision is not None and decision.choice == "revise" else "done"

    route.__name__ = f"{point}_decides"
    return route
