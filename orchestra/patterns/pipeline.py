"""`pipeline`: members run one after another, with optional checks between steps."""

from __future__ import annotations

from collections.abc import Callable, Generator, Mapping
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
from orchestra.rules import CheckResult, Verdict, to_verdict
from orchestra.state import AgentResult, Decision, OrchestraState
from orchestra.workflow import Member, Workflow

__all__ = ["Check", "pipeline"]

Check = Agent | Callable[[Any, AgentResult], CheckResult]
"""A gate: a checker agent (answering a `Verdict`) or a function `(state, result) -> ...`."""


def pipeline(
    *steps: Member,
    gate: Check | Mapping[str, Check] | None = None,
    retries: int = 1,
    name: str = "pipeline",
    state: type[OrchestraState] = OrchestraState,
    description: str = "",
) -> Workflow[Any]:
    """Run `steps` in order, each seeing the outputs of the ones before.

    Args:
        *steps: Agents or workflows.
        gate: A check run after every step, or `{step name: check}` for some steps. A step
            whose result fails its check runs again with the reason as feedback, up to
            `retries` times; then the pipeline stops there, so a bad result does not
            poison the rest of the chain. The verdicts are recorded as decisions.
        retries: How many times a rejected step may run again.
        name: The workflow's name (unique among every name in an enclosing workflow).
        state: The state model.
        description: What it is for, shown to a supervisor choosing among workers.

    Example:
        ```python
        flow = pipeline(research, write, edit, gate={"write": lambda s, r: len(r.output) > 200})
        app = flow.compile()
        app.invoke({"goal": "An article on tidal power"})
        ```
    """
    members = check_members("pipeline", steps)
    if not members:
        raise DefinitionError("pipeline: give it at least one step.")
    if retries < 0:
        raise DefinitionError("pipeline: retries must be 0 or more.")
    gates = _gates(members, gate)
    checkers = {g.name for g in gates.values() if isinstance(g, Agent)}
    own = [*(f"{step}.gate" for step in gates), *checkers]
    check_members("pipeline", members, own=own)
    check_state(state)

    def build(graph: StateGraph[Any, Any, Any, Any]) -> None:
        previous: str | None = START  # None after a gate: its conditional edges lead on
        for index, member in enumerate(members):
            node = add_member(graph, member)
            if previous is not None:
                graph.add_edge(previous, node)
            following = members[index + 1].name if index + 1 < len(members) else END
            check = gates.get(node)
            if check is None:
                previous = node
                continue
            gate_node = f"{node}.gate"
            graph.add_node(gate_node, _gate_node(gate_node, node, check, retries))
            graph.add_edge(node, gate_node)
            graph.add_conditional_edges(
                gate_node,
                _route_after_gate(gate_node, node),
                {"pass": following, "retry": node, "stop": END},
            )
            previous = None
        if previous is not None:
            graph.add_edge(previous, END)

    return Workflow(
        name=name,
        pattern="pipeline",
        state=state,
        members=members,
        build=build,
        nodes=own,
        description=description,
    )


def _gates(members: list[Member], gate: Check | Mapping[str, Check] | None) -> dict[str, Check]:
    if gate is None:
        return {}
    if isinstance(gate, Mapping):
        names = {m.name for m in members}
        unknown = set(gate) - names
        if unknown:
            raise DefinitionError(f"pipeline: gate names unknown steps {sorted(unknown)}.")
        return dict(gate)
    return {m.name: gate for m in members}


def _gate_node(gate_node: str, step: str, check: Check, retries: int) -> Any:
    checker = check.with_output(Verdict) if isinstance(check, Agent) else None

    def run(state: Any) -> Generator[Ask, AgentCall, dict[str, Any]]:
        result = state.latest(step)
        update = Update()
        if checker is not None:
            call = yield Ask(checker, kind="control")
            update.add(call, output=False)
            verdict = to_verdict(call.parsed)
        else:
            verdict = to_verdict(check(state, result))  # type: ignore[operator]
        rejected_in_a_row = _rejections(state, gate_node)
        if verdict.passed:
            choice = "pass"
        elif rejected_in_a_row < retries:
            choice = "retry"
        else:
            choice = "stop"
        update.decisions.append(
            Decision(
                kind="gate",
                at=gate_node,
                choice=choice,
                reason=verdict.reason,
                about=result.id,
                rejected=choice == "retry",
                round=rejected_in_a_row + 1,
            )
        )
        return update.as_dict()

    return step_node(gate_node, run)


def _rejections(state: Any, gate_node: str) -> int:
    count = 0
    for decision in reversed(state.decisions):
        if decision.at != gate_node:
            continue
        if decision.choice != "retry":
            break
        count += 1
    return count


def _route_after_gate(gate_node: str, step: str) -> Callable[[Any], str]:
    def route(state: Any) -> str:
        decision = state.latest_decision(gate_node)
        return str(decision.choice)

    route.__name__ = f"after_{step}_gate"
    return route
