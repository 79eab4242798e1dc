"""`supervisor`: a manager delegates to workers, one at a time, until it says FINISH."""

from __future__ import annotations

from collections.abc import Callable, Generator, Sequence
from typing import Any

from langgraph.graph import END, START, StateGraph

from orchestra.agents import Agent, AgentCall
from orchestra.errors import DefinitionError
from orchestra.patterns._nodes import (
    Ask,
    Update,
    add_member,
    ask_choice,
    check_members,
    check_state,
    describe,
    step_node,
)
from orchestra.rules import FINISH, check_label, choice_schema
from orchestra.state import Decision, OrchestraState
from orchestra.workflow import Member, Workflow

__all__ = ["supervisor"]


def supervisor(
    workers: Sequence[Member],
    *,
    manager: Agent | Callable[[Any], str],
    max_rounds: int = 10,
    name: str = "supervisor",
    state: type[OrchestraState] = OrchestraState,
    description: str = "",
) -> Workflow[Any]:
    """A manager picks the next worker, sees its work, and picks again until it finishes.

    Workers may themselves be supervisors (manager -> sub-managers -> workers) or any
    other workflow.

    Args:
        workers: Agents or workflows the manager delegates to.
        manager: An agent (its model answers with one of the worker names or FINISH,
            through structured output), or a rule `(state) -> worker name | "FINISH"`.
        max_rounds: Most delegations in one activation; then the supervisor finishes and
            records why.
        name: The workflow's name (unique among every name in an enclosing workflow).
        state: The state model.
        description: What it is for, shown to a supervisor choosing among workers.

    Example:
        ```python
        team = supervisor([researcher, analyst], manager=Agent("lead", "Plan.", model=model))
        team.compile().invoke({"goal": "Assess Acme's Q3 results"})
        ```
    """
    members = check_members("supervisor", workers)
    check_state(state)
    if not members:
        raise DefinitionError("supervisor: give it at least one worker.")
    if max_rounds < 1:
        raise DefinitionError("supervisor: max_rounds must be at least 1.")
    lead = manager.name if isinstance(manager, Agent) else f"{name}.manager"
    own = [lead]
    check_members("supervisor", members, own=own)
    names = [m.name for m in members]

    def build(graph: StateGraph[Any, Any, Any, Any]) -> None:
        graph.add_node(lead, step_node(lead, _manage(lead, manager, members, max_rounds)))
        graph.add_edge(START, lead)
        graph.add_conditional_edges(lead, _route(lead), {**{n: n for n in names}, FINISH: END})
        for member in members:
            add_member(graph, member)
            graph.add_edge(member.name, lead)

    return Workflow(
        name=name,
        pattern="supervisor",
        state=state,
        members=members,
        build=build,
        nodes=own,
        description=description,
        deciders={"manager": manager} if isinstance(manager, Agent) else None,
    )


def _manage(
    lead: str, manager: Agent | Callable[[Any], str], members: list[Member], max_rounds: int
) -> Any:
    options = [*(m.name for m in members), FINISH]
    deciding: Agent | None = None
    if isinstance(manager, Agent):
        schema = choice_schema(
            "Delegation", "next", options, "Which worker acts next, or FINISH when done."
        )
        roster = describe([(m.name, m) for m in members])
        deciding = manager.with_output(schema)
        deciding.instructions = (
            f"{manager.instructions}\n\nYour workers:\n{roster}\n\n"
            f"Choose the worker who should act next, or {FINISH} when the goal is met."
        ).strip()

    def run(state: Any) -> Generator[Ask, AgentCall, dict[str, Any]]:
        round_ = _round(state, lead)
        update = Update()
        if round_ > max_rounds:
            update.decisions.append(
                Decision(
                    kind="limit",
                    at=lead,
                    choice=FINISH,
                    round=round_,
                    reason=f"stopped after max_rounds={max_rounds} delegations",
                )
            )
            return update.as_dict()
        valid, reason = True, ""
        if deciding is not None:
            parsed, error = yield from ask_choice(deciding, update)
            if parsed is None:
                choice, valid = FINISH, False
                reason = f"invalid answer {getattr(error, 'answer', '?')!r}; finishing"
            else:
                choice, reason = parsed.next, parsed.reason
        else:
            choice = check_label(manager(state), options, f"supervisor {lead!r}")  # type: ignore[operator]
        update.decisions.append(
            Decision(
                kind="delegate", at=lead, choice=choice, reason=reason, valid=valid, round=round_
            )
        )
        return update.as_dict()

    return run


def _round(state: Any, lead: str) -> int:
    """This delegation's number within the current activation (1 after a FINISH)."""
    previous = state.latest_decision(lead)
    if previous is None or previous.choice == FINISH:
        return 1
    return int(previous.round) + 1


def _route(lead: str) -> Callable[[Any], str]:
    def route(state: Any) -> str:
        decision = state.latest_decision(lead)
        return str(decision.choice) if decision is not None else FINISH

    route.__name__ = f"{lead}_delegates"
    return route
