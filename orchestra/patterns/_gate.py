"""Validation gates: a `Check` on a step's result, and the declared policy when it fails.

A gate node `<step>.gate` judges the latest result of the step (or of the alternative it
was rerouted to), records a `gate` decision naming the policy taken, and routes: on to the
next step, back to the step (`retry`, `escalate_model`) or to an earlier one (`Retry(to=)`),
to an alternative (`reroute`), to a human (`<step>.escalate`), or to the end (`stop`).
"""

from __future__ import annotations

import copy
import time
from collections.abc import Callable, Generator, Hashable, Mapping
from dataclasses import dataclass
from typing import Any

from langgraph.graph import END, StateGraph
from langgraph.types import interrupt

from orchestra.agents import Agent, AgentCall, model_label, to_json
from orchestra.errors import DefinitionError, RouteError
from orchestra.patterns._nodes import Ask, Update, add_member, agent_step, step_node
from orchestra.rules import (
    ESCALATION_CHOICES,
    Check,
    Escalate,
    EscalateModel,
    Reroute,
    Retry,
    Verdict,
    read_answer,
    to_verdict,
)
from orchestra.state import AgentResult, Decision
from orchestra.workflow import Member, Workflow

_SETTLED = frozenset({"pass", "stop", "accept"})
"""Choices that end a run of failures: the next failure starts the policies over."""


@dataclass(frozen=True)
class Gate:
    """A check on one step's result, with everything it adds to the graph."""

    step: Member
    check: Check

    @property
    def node(self) -> str:
        return f"{self.step.name}.gate"

    @property
    def escalate_node(self) -> str:
        return f"{self.step.name}.escalate"

    @property
    def alternatives(self) -> list[Member]:
        return [p.agent for p in self.check.policies if isinstance(p, Reroute)]

    @property
    def stronger(self) -> list[EscalateModel]:
        return [p for p in self.check.policies if isinstance(p, EscalateModel)]

    @property
    def escalation(self) -> Escalate | None:
        return next((p for p in self.check.policies if isinstance(p, Escalate)), None)

    @property
    def escalates(self) -> bool:
        return self.escalation is not None

    def own_nodes(self) -> list[str]:
        """The node names the gate adds, besides its alternatives (which are members)."""
        names = [self.node]
        if isinstance(self.check.rule, Agent):
            names.append(self.check.rule.name)
        if self.escalates:
            names.append(self.escalate_node)
        return names

    def validate(self, steps: list[str]) -> None:
        """Reject policies this step cannot take, naming the fix."""
        if self.stronger and not (isinstance(self.step, Agent) and not self.step.is_function):
            raise DefinitionError(
                f"{self.step.name!r}: EscalateModel needs a model-backed Agent step; "
                "use Reroute to hand a workflow's work to another member."
            )
        here = steps.index(self.step.name)
        for policy in self.check.policies:
            sent = policy.to if isinstance(policy, Retry | Escalate) else None
            if sent not in (None, *steps[: here + 1]):
                raise DefinitionError(
                    f"{self.step.name!r}: {type(policy).__name__}(to={sent!r}) must name this step "
                    f"or an earlier one of {steps[: here + 1]}."
                )


def add_gate(graph: StateGraph[Any, Any, Any, Any], gate: Gate, following: str) -> None:
    """Add the gate's nodes and edges after its step (already in the graph)."""
    step = gate.step.name
    graph.add_node(gate.node, step_node(gate.node, _judge(gate)))
    graph.add_edge(step, gate.node)
    targets: dict[Hashable, str] = {"pass": following, "stop": END}
    for policy in gate.check.policies:
        if isinstance(policy, Retry):
            targets["retry" if policy.to is None else f"retry:{policy.to}"] = policy.to or step
        elif isinstance(policy, EscalateModel):
            targets["escalate_model"] = step
        elif isinstance(policy, Escalate):
            targets["escalate"] = gate.escalate_node
    for alternative in gate.alternatives:
        targets[f"reroute:{alternative.name}"] = add_member(graph, alternative)
        graph.add_edge(alternative.name, gate.node)
    graph.add_conditional_edges(gate.node, _route(gate.node), targets)
    if gate.escalates:
        graph.add_node(gate.escalate_node, step_node(gate.escalate_node, _ask_human(gate)))
        graph.add_conditional_edges(
            gate.escalate_node,
            _route(gate.escalate_node),
            {"accept": following, "retry": _sent_back(gate), "stop": END},
        )


def _sent_back(gate: Gate) -> str:
    """Where a human's `retry` sends the work: the escalation's `to`, else the step."""
    escalation = gate.escalation
    return escalation.to if escalation is not None and escalation.to else gate.step.name


def add_step(graph: StateGraph[Any, Any, Any, Any], member: Member, gate: Gate | None) -> str:
    """Add a step; one whose gate may escalate the model picks its model per attempt."""
    if gate is None or not gate.stronger or not isinstance(member, Agent):
        return add_member(graph, member)
    graph.add_node(member.name, step_node(member.name, _escalating_step(member, gate)))
    return member.name


def _subject(state: Any, gate: Gate) -> AgentResult:
    """The result to judge: the latest of the step's and its alternatives'."""
    names = {gate.step.name, *(a.name for a in gate.alternatives)}
    for result in reversed(state.results):
        if result.agent in names:
            return result  # type: ignore[no-any-return]
    raise DefinitionError(f"{gate.node}: {gate.step.name!r} has no result to check.")


def failures(state: Any, gate: Gate) -> int:
    """How many times in a row the gate has failed, since its last pass (or settlement)."""
    count = 0
    for decision in reversed(state.decisions):
        if decision.at not in (gate.node, gate.escalate_node):
            continue
        if decision.choice in _SETTLED:
            break
        if decision.at == gate.node:
            count += 1
    return count


def _judge(gate: Gate) -> Callable[[Any], Generator[Ask, AgentCall, dict[str, Any]]]:
    rule = gate.check.rule
    checker = rule.with_output(Verdict) if isinstance(rule, Agent) else None
    ladder = gate.check.ladder
    models = gate.stronger

    def run(state: Any) -> Generator[Ask, AgentCall, dict[str, Any]]:
        result = _subject(state, gate)
        update = Update()
        if checker is not None:
            call = yield Ask(checker, kind="control")
            update.add(call, output=False)
            verdict = to_verdict(call.parsed)
        else:
            verdict = to_verdict(rule(state, result))  # type: ignore[operator]
        failed = failures(state, gate)
        about: str = result.id
        detail: dict[str, Any] = {"judged": result.agent}
        if verdict.passed:
            choice = edge = "pass"
        elif failed >= len(ladder):
            choice = edge = "stop"
        else:
            policy = ladder[failed]
            choice, edge, target = _take(policy, gate)
            detail["to"] = target
            if isinstance(policy, Retry) and policy.to is not None:
                sent_back = state.latest(policy.to)
                about = sent_back.id if sent_back is not None else about
            elif isinstance(policy, EscalateModel):
                detail["model"] = models.index(policy)
                detail["model_name"] = model_label(policy.model)
        detail["edge"] = edge
        update.decisions.append(
            Decision(
                kind="gate",
                at=gate.node,
                choice=choice,
                reason=verdict.reason,
                about=about,
                rejected=choice in ("retry", "escalate_model"),
                round=failed + 1,
                detail=detail,
            )
        )
        return update.as_dict()

    return run


def _take(policy: Any, gate: Gate) -> tuple[str, str, str]:
    """(choice recorded, edge label, target node) for a failure handled by `policy`."""
    step = gate.step.name
    if isinstance(policy, Retry):
        if policy.to is None:
            return "retry", "retry", step
        return "retry", f"retry:{policy.to}", policy.to
    if isinstance(policy, Reroute):
        return "reroute", f"reroute:{policy.agent.name}", policy.agent.name
    if isinstance(policy, EscalateModel):
        return "escalate_model", "escalate_model", step
    return "escalate", "escalate", gate.escalate_node


def _route(node: str) -> Callable[[Any], str]:
    def route(state: Any) -> str:
        decision = state.latest_decision(node)
        return str(decision.detail.get("edge", decision.choice))

    route.__name__ = f"after_{node.replace('.', '_')}"
    return route


def _ask_human(gate: Gate) -> Callable[[Any], Generator[Ask, AgentCall, dict[str, Any]]]:
    escalation = gate.escalation
    assert escalation is not None
    question = escalation.question

    def run(state: Any) -> Generator[Ask, AgentCall, dict[str, Any]]:
        verdict = state.latest_decision(gate.node)
        judged = _subject(state, gate)
        names = [gate.step.name, *(a.name for a in gate.alternatives)]
        results = {n: r.output for n in names if (r := state.latest(n)) is not None}
        asked: dict[str, Any] = {
            "question": question,
            "step": gate.step.name,
            "reason": verdict.reason if verdict else "",
            "results": results,
            "options": list(ESCALATION_CHOICES),
        }
        while True:
            # An answer naming no valid choice asks again rather than failing the run.
            answer = interrupt(asked)
            try:
                choice, note = read_answer(answer)
            except RouteError as error:
                asked = {**asked, "error": str(error)}
                continue
            break
        own = state.latest(_sent_back(gate))
        update = Update()
        update.decisions.append(
            Decision(
                kind="escalation",
                at=gate.escalate_node,
                choice=choice,
                reason=note or f"a human chose {choice}",
                about=(own or judged).id if choice == "retry" else judged.id,
                rejected=choice == "retry",
                detail={"answer": to_json(answer), "question": question},
            )
        )
        if note:
            # Recorded as work, so later agents' prompts show the human's word.
            update.results.append(
                AgentResult(
                    agent=gate.escalate_node, kind="human", output=note, started_at=time.time()
                )
            )
        return update.as_dict()
        yield  # asks a human, not an agent

    return run


def _escalating_step(
    agent: Agent, gate: Gate
) -> Callable[[Any], Generator[Ask, AgentCall, dict[str, Any]]]:
    """The agent's step, run on the stronger model its gate asked for, if it asked."""
    stronger = [_on_model(agent, p.model) for p in gate.stronger]
    plain = agent_step(agent)

    def step(state: Any) -> Generator[Ask, AgentCall, dict[str, Any]]:
        decision = state.latest_decision(gate.node)
        own = state.latest(agent.name)
        if (
            decision is not None
            and decision.choice == "escalate_model"
            and own is not None
            and decision.about == own.id
        ):
            return (yield from agent_step(stronger[int(decision.detail["model"])])(state))
        return (yield from plain(state))

    return step


def _on_model(agent: Agent, model: Any) -> Agent:
    twin = copy.copy(agent)
    twin.model = model
    return twin


def gates_of(members: list[Member], gate: Any, retries: int, where: str) -> dict[str, Gate]:
    """Read a pipeline's `gate=`: one check for every step, or `{step: check}`."""
    if gate is None:
        return {}
    if isinstance(gate, Mapping):
        names = {m.name for m in members}
        unknown = set(gate) - names
        if unknown:
            raise DefinitionError(f"{where}: gate names unknown steps {sorted(unknown)}.")
        chosen = {m.name: (m, gate[m.name]) for m in members if m.name in gate}
    else:
        chosen = {m.name: (m, gate) for m in members}
    return {name: Gate(m, as_check(c, retries)) for name, (m, c) in chosen.items()}


def as_check(value: Any, retries: int) -> Check:
    """A `Check`; a bare rule (agent or function) retries `retries` times, then stops."""
    if isinstance(value, Check):
        return value
    return Check(value, on_fail=[Retry(retries)] if retries else [])


def gate_members(gates: dict[str, Gate]) -> list[Workflow[Any] | Agent]:
    """The alternatives the gates may reroute to: members of the workflow too."""
    return [a for g in gates.values() for a in g.alternatives]
