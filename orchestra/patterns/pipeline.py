"""`pipeline`: members run one after another, with optional checks between steps;
`validate`: one member whose result is checked, as a workflow usable anywhere."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from langgraph.graph import END, START, StateGraph

from orchestra.agents import Agent
from orchestra.errors import DefinitionError
from orchestra.patterns._gate import Gate, add_gate, add_step, as_check, gate_members, gates_of
from orchestra.patterns._nodes import check_members, check_state
from orchestra.rules import Check, CheckResult, Policy
from orchestra.state import AgentResult, OrchestraState
from orchestra.workflow import Member, Workflow

__all__ = ["Gated", "pipeline", "validate"]

Gated = Check | Agent | Callable[[Any, AgentResult], CheckResult]
"""A gate: a `Check` with its policies, or a bare checker agent or function (which retries)."""


def pipeline(
    *steps: Member,
    gate: Gated | Mapping[str, Gated] | None = None,
    retries: int = 1,
    name: str = "pipeline",
    state: type[OrchestraState] = OrchestraState,
    description: str = "",
) -> Workflow[Any]:
    """Run `steps` in order, each seeing the outputs of the ones before.

    Args:
        *steps: Agents or workflows.
        gate: A check run after every step, or `{step name: check}` for some steps. A
            `Check(rule, on_fail=...)` applies its policies in order, one per failure
            (`Retry`, `Retry(to=earlier step)`, `Reroute`, `EscalateModel`, `Escalate`);
            a bare checker agent or function retries the step with the reason as
            feedback. When the policies run out the pipeline stops there, so a bad result
            does not poison the rest of the chain. Verdicts and policies taken are
            recorded as `gate` decisions.
        retries: How many times a step with a bare checker may run again.
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
    return _chain("pipeline", steps, gate, retries, name, state, description)


def validate(
    member: Member,
    rule: Gated,
    *,
    on_fail: Policy | Sequence[Policy] | None = None,
    name: str | None = None,
    state: type[OrchestraState] = OrchestraState,
    description: str = "",
) -> Workflow[Any]:
    """Check `member`'s result and apply a policy when it fails: a workflow to use anywhere.

    Wrap a router's route, a supervisor's worker or a fan-out branch to validate its
    result where it is produced.

    Args:
        member: The agent or workflow whose result is checked.
        rule: A checker agent (answering a `Verdict`), a function `(state, result) -> ...`,
            or a whole `Check`.
        on_fail: The policies, in order, one per failure (default: `Retry(1)`).
        name: The workflow's name (default: `<member>_checked`).
        state: The state model.
        description: What it is for (default: the member's description).

    Example:
        ```python
        safe = validate(coder, tests_pass, on_fail=[Retry(1), EscalateModel(big_model)])
        ```
    """
    if isinstance(rule, Check):
        if on_fail is not None:
            raise DefinitionError("validate: give on_fail in the Check or here, not both.")
        check = rule
    else:
        check = Check(rule, on_fail=on_fail) if on_fail is not None else as_check(rule, 1)
    return _chain(
        "validate",
        (member,),
        check,
        0,
        name or f"{member.name}_checked",
        state,
        description or member.description,
    )


def _chain(
    pattern: str,
    steps: Sequence[Member],
    gate: Gated | Mapping[str, Gated] | None,
    retries: int,
    name: str,
    state: type[OrchestraState],
    description: str,
) -> Workflow[Any]:
    members = check_members(pattern, steps)
    if not members:
        raise DefinitionError(f"{pattern}: give it at least one step.")
    if retries < 0:
        raise DefinitionError(f"{pattern}: retries must be 0 or more.")
    gates = gates_of(members, gate, retries, pattern)
    order = [m.name for m in members]
    for checked in gates.values():
        checked.validate(order)
    own = list(dict.fromkeys(n for g in gates.values() for n in g.own_nodes()))
    alternatives = gate_members(gates)
    check_members(pattern, [*members, *alternatives], own=own)
    check_state(state)

    def build(graph: StateGraph[Any, Any, Any, Any]) -> None:
        previous: str | None = START  # None after a gate: its conditional edges lead on
        for index, member in enumerate(members):
            checked: Gate | None = gates.get(member.name)
            node = add_step(graph, member, checked)
            if previous is not None:
                graph.add_edge(previous, node)
            following = members[index + 1].name if index + 1 < len(members) else END
            if checked is None:
                previous = node
                continue
            add_gate(graph, checked, following)
            previous = None
        if previous is not None:
            graph.add_edge(previous, END)

    return Workflow(
        name=name,
        pattern=pattern,
        state=state,
        members=[*members, *alternatives],
        build=build,
        nodes=own,
        description=description,
    )
