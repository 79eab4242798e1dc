"""`router`: one classification picks which declared route handles the goal."""

from __future__ import annotations

from collections.abc import Callable, Generator, Mapping
from typing import Any

from langgraph.graph import END, START, StateGraph

from orchestra.agents import Agent, AgentCall
from orchestra.errors import DefinitionError, RouteError
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
from orchestra.rules import check_label, choice_schema
from orchestra.state import Decision, OrchestraState
from orchestra.workflow import Member, Workflow

__all__ = ["router"]


def router(
    classify: Agent | Callable[[Any], str],
    routes: Mapping[str, Member],
    *,
    default: str | None = None,
    name: str = "router",
    state: type[OrchestraState] = OrchestraState,
    description: str = "",
) -> Workflow[Any]:
    """Send the work to exactly one of `routes`, chosen by a model or by a rule.

    A model answers through structured output whose label is a `Literal` of the route
    labels; an answer outside them never reaches a node: it goes to `default` (recorded as
    an invalid decision) or, without a default, fails with `RouteError`.

    Args:
        classify: An agent choosing a label, or a rule `(state) -> label`.
        routes: Route label -> the agent or workflow handling it.
        default: The label to use when the classifier's answer is not a declared label.
        name: The workflow's name (unique among every name in an enclosing workflow).
        state: The state model.
        description: What it is for, shown to a supervisor choosing among workers.

    Example:
        ```python
        desk = router(
            Agent("triage", "Classify the ticket.", model=model),
            routes={"billing": billing, "technical": tech, "general": general},
            default="general",
        )
        ```
    """
    if not routes:
        raise DefinitionError("router: declare at least one route.")
    labels = list(routes)
    for label in labels:
        if not isinstance(label, str) or not label:
            raise DefinitionError(f"router: route labels must be non-empty strings: {label!r}")
    if default is not None and default not in routes:
        raise DefinitionError(f"router: default {default!r} is not one of the routes {labels}.")
    # Several labels may share one handler: it is one node.
    members = check_members("router", list({id(m): m for m in routes.values()}.values()))
    check_state(state)
    point = classify.name if isinstance(classify, Agent) else f"{name}.classify"
    own = [point]
    check_members("router", members, own=own)

    def build(graph: StateGraph[Any, Any, Any, Any]) -> None:
        graph.add_node(point, step_node(point, _classify(point, classify, routes, default)))
        graph.add_edge(START, point)
        graph.add_conditional_edges(
            point, _route(point, routes), {label: m.name for label, m in routes.items()}
        )
        for member in members:
            add_member(graph, member)
            graph.add_edge(member.name, END)

    return Workflow(
        name=name,
        pattern="router",
        state=state,
        members=members,
        build=build,
        nodes=own,
        description=description,
        deciders={"router": classify} if isinstance(classify, Agent) else None,
    )


def _classify(
    point: str,
    classify: Agent | Callable[[Any], str],
    routes: Mapping[str, Member],
    default: str | None,
) -> Any:
    labels = list(routes)
    deciding: Agent | None = None
    if isinstance(classify, Agent):
        deciding = classify.with_output(
            choice_schema("Route", "label", labels, "The route that should handle the goal.")
        )
        roster = describe(list(routes.items()))
        deciding.instructions = (
            f"{classify.instructions}\n\nRoutes:\n{roster}\n\nChoose exactly one route label."
        ).strip()

    def run(state: Any) -> Generator[Ask, AgentCall, dict[str, Any]]:
        update = Update()
        valid, reason = True, ""
        if deciding is not None:
            parsed, error = yield from ask_choice(deciding, update)
            if parsed is None:
                answer = getattr(error, "answer", None)
                label = answer.get("label") if isinstance(answer, dict) else answer
                label, valid, reason = _fallback(point, label, labels, default)
            else:
                label, reason = parsed.label, parsed.reason
        else:
            raw = classify(state)  # type: ignore[operator]
            if isinstance(raw, str) and raw in routes:
                label = raw
            else:
                label, valid, reason = _fallback(point, raw, labels, default)
        update.decisions.append(
            Decision(kind="route", at=point, choice=label, reason=reason, valid=valid)
        )
        return update.as_dict()

    return run


def _fallback(
    point: str, label: Any, labels: list[str], default: str | None
) -> tuple[str, bool, str]:
    if default is None:
        check_label(label, labels, f"router {point!r}")
        raise RouteError(f"router {point!r}: no valid label")  # unreachable: check raised
    return default, False, f"answered {label!r}, not a declared route; used default {default!r}"


def _route(point: str, routes: Mapping[str, Member]) -> Callable[[Any], str]:
    def route(state: Any) -> str:
        decision = state.latest_decision(point)
        if decision is None or decision.choice not in routes:
            raise RouteError(f"router {point!r} has no valid decision to follow")
        return str(decision.choice)

    route.__name__ = f"{point}_routes"
    return route
