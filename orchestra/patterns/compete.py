"""`compete`: candidates work in parallel and a judge picks the best, with its reason."""

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
    ask_choice,
    check_members,
    check_state,
    step_node,
)
from orchestra.rules import choice_schema
from orchestra.state import AgentResult, Decision, OrchestraState
from orchestra.workflow import Member, Workflow

__all__ = ["compete"]

Judge = Agent | Callable[[AgentResult], float]
"""A judge agent (answers with the winner's name), or a score function (highest wins)."""


def compete(
    *candidates: Member,
    judge: Judge,
    name: str = "compete",
    state: type[OrchestraState] = OrchestraState,
    description: str = "",
) -> Workflow[Any]:
    """Run every candidate on the same goal at once; keep the best answer.

    Args:
        *candidates: Two or more agents or workflows.
        judge: An agent that reads every candidate's output and names the winner (through
            structured output over the candidate names) with a reason; or a function
            `(result) -> score` (the highest wins, the first on a tie).
        name: The workflow's name (unique among every name in an enclosing workflow).
        state: The state model.
        description: What it is for, shown to a supervisor choosing among workers.

    Example:
        ```python
        best = compete(careful, fast, bold, judge=Agent("editor", "Pick the best.", model=m))
        ```
    """
    members = check_members("compete", candidates)
    check_state(state)
    if len(members) < 2:
        raise DefinitionError("compete: give it at least two candidates.")
    point = judge.name if isinstance(judge, Agent) else f"{name}.judge"
    own = [point]
    check_members("compete", members, own=own)
    if not isinstance(judge, Agent) and not callable(judge):
        raise DefinitionError("compete: judge must be an Agent or a score function.")

    def build(graph: StateGraph[Any, Any, Any, Any]) -> None:
        for member in members:
            add_member(graph, member)
            graph.add_edge(START, member.name)
        graph.add_node(point, step_node(point, _judge(point, judge, members)))
        graph.add_edge([m.name for m in members], point)
        graph.add_edge(point, END)

    return Workflow(
        name=name,
        pattern="compete",
        state=state,
        members=members,
        build=build,
        nodes=own,
        description=description,
        deciders={"judge": judge} if isinstance(judge, Agent) else None,
    )


def _judge(point: str, judge: Judge, members: list[Member]) -> Any:
    names = [m.name for m in members]
    deciding: Agent | None = None
    if isinstance(judge, Agent):
        deciding = judge.with_output(
            choice_schema("Judgement", "winner", names, "The candidate whose work is best.")
        )

    def run(state: Any) -> Generator[Ask, AgentCall, dict[str, Any]]:
        results = {n: r for n in names if (r := state.latest(n)) is not None}
        update = Update()
        detail: dict[str, Any] = {}
        valid = True
        if deciding is not None:
            context = [(n, r.output) for n, r in results.items()]
            parsed, _ = yield from ask_choice(deciding, update, context)
            if parsed is None:
                winner, valid = names[0], False
                reason = f"the judge's answer was invalid; kept the first candidate {winner!r}"
            else:
                winner, reason = parsed.winner, parsed.reason
        else:
            scores = {n: float(judge(r)) for n, r in results.items()}  # type: ignore[operator]
            winner = max(scores, key=lambda n: scores[n])
            reason = f"highest score {scores[winner]:g}"
            detail["scores"] = scores
        chosen = results[winner]
        update.decisions.append(
            Decision(
                kind="judge",
                at=point,
                choice=winner,
                reason=reason,
                valid=valid,
                about=chosen.id,
                detail=detail,
            )
        )
        update.fields["output"] = chosen.output
        return update.as_dict()

    return run
