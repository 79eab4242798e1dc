"""`vote`: voters answer the same question in parallel; the tally decides, ties are broken."""

from __future__ import annotations

from collections.abc import Callable, Generator, Hashable
from typing import Any, Literal

from langgraph.graph import END, START, StateGraph
from langgraph.types import interrupt

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
from orchestra.rules import Tally, answer_key, choice_schema, tally_votes
from orchestra.state import Decision, OrchestraState
from orchestra.workflow import Member, Workflow

__all__ = ["vote"]

TieBreak = Agent | Callable[[Any, Tally], str] | Literal["escalate"]
"""Who settles a tie: a judge agent, a function `(state, tally) -> answer`, or a human."""


def vote(
    *voters: Member,
    key: str | Callable[[Any], Hashable] | None = None,
    quorum: float | int = 0.5,
    tie_break: TieBreak | None = None,
    name: str = "vote",
    state: type[OrchestraState] = OrchestraState,
    description: str = "",
) -> Workflow[Any]:
    """Ask every voter; the answer with the most votes wins if it meets the quorum.

    Args:
        *voters: Two or more agents or workflows, usually with a structured output.
        key: What in an output is the vote: a field name, a function, or by default the
            `answer` field if there is one, else the whole output.
        quorum: The share of votes (float, 0.5 = half) or number of votes (int) the
            winner needs.
        tie_break: When no answer wins: a judge agent choosing among the tied answers, a
            function `(state, tally) -> answer`, or `"escalate"` to ask a human (a
            LangGraph `interrupt`; resume with the answer). None records no consensus.
        name: The workflow's name (unique among every name in an enclosing workflow).
        state: The state model.
        description: What it is for, shown to a supervisor choosing among workers.

    Example:
        ```python
        panel = vote(security, style, tests, key="verdict", tie_break="escalate")
        ```
    """
    members = check_members("vote", voters)
    check_state(state)
    if len(members) < 2:
        raise DefinitionError("vote: give it at least two voters.")
    if isinstance(quorum, bool) or not (
        (isinstance(quorum, int) and 1 <= quorum <= len(members))
        or (isinstance(quorum, float) and 0 < quorum <= 1)
    ):
        raise DefinitionError(
            "vote: quorum is a share of votes in (0, 1] or a number of votes from 1 to "
            f"{len(members)}, got {quorum!r}."
        )
    if isinstance(tie_break, str) and tie_break != "escalate":
        raise DefinitionError("vote: tie_break is an Agent, a function, or 'escalate'.")
    breaker = (
        tie_break.name
        if isinstance(tie_break, Agent)
        else f"{name}.escalate"
        if tie_break == "escalate"
        else None
    )
    tally = f"{name}.tally"
    own = [tally, *([breaker] if breaker else [])]
    check_members("vote", members, own=own)

    def build(graph: StateGraph[Any, Any, Any, Any]) -> None:
        for member in members:
            add_member(graph, member)
            graph.add_edge(START, member.name)
        rule = tie_break if callable(tie_break) and not isinstance(tie_break, Agent) else None
        graph.add_node(tally, step_node(tally, _tally(tally, members, key, quorum, rule)))
        graph.add_edge([m.name for m in members], tally)
        if breaker is None:
            graph.add_edge(tally, END)
            return
        breaking = _break_tie(breaker, tally, tie_break, members, key)
        graph.add_node(breaker, step_node(breaker, breaking))
        graph.add_conditional_edges(
            tally, _needs_tie_break(tally), {"tie": breaker, "decided": END}
        )
        graph.add_edge(breaker, END)

    return Workflow(
        name=name,
        pattern="vote",
        state=state,
        members=members,
        build=build,
        nodes=own,
        description=description,
    )


def _votes(state: Any, members: list[Member], key: Any) -> tuple[dict[str, str], dict[str, Any]]:
    """Each voter's answer key, and the first full output given for each answer."""
    votes: dict[str, str] = {}
    outputs: dict[str, Any] = {}
    for member in members:
        result = state.latest(member.name)
        if result is None:
            continue
        answer = answer_key(result.output, key)
        votes[member.name] = answer
        outputs.setdefault(answer, result.output)
    return votes, outputs


def _tally(
    point: str,
    members: list[Member],
    key: Any,
    quorum: float | int,
    rule: Callable[[Any, Tally], str] | None,
) -> Any:
    def run(state: Any) -> Generator[Ask, AgentCall, dict[str, Any]]:
        votes, outputs = _votes(state, members, key)
        tally = tally_votes(votes, quorum)
        winner, reason = tally.winner, "majority" if tally.winner else "no answer met the quorum"
        if winner is None and rule is not None:
            winner = str(rule(state, tally))
            reason = "tie broken by rule"
        update = Update()
        update.decisions.append(
            Decision(
                kind="vote",
                at=point,
                choice=winner,
                reason=reason,
                detail=tally.model_dump(),
            )
        )
        update.fields["output"] = outputs.get(winner) if winner is not None else None
        return update.as_dict()
        yield  # the tally asks no agent

    return run


def _needs_tie_break(tally: str) -> Callable[[Any], str]:
    def route(state: Any) -> str:
        decision = state.latest_decision(tally)
        return "decided" if decision is not None and decision.choice is not None else "tie"

    route.__name__ = "tied"
    return route


def _break_tie(point: str, tally_node: str, tie_break: Any, members: list[Member], key: Any) -> Any:
    def run(state: Any) -> Generator[Ask, AgentCall, dict[str, Any]]:
        tally = Tally.model_validate(state.latest_decision(tally_node).detail)
        _, outputs = _votes(state, members, key)
        update = Update()
        valid = True
        if isinstance(tie_break, Agent):
            judge = tie_break.with_output(
                choice_schema("TieBreak", "answer", tally.tied, "The answer that should win.")
            )
            context = [(f"answer {a!r}", outputs[a]) for a in tally.tied]
            parsed, _ = yield from ask_choice(judge, update, context)
            if parsed is None:
                winner, reason, valid = tally.tied[0], "judge answer invalid; kept first", False
            else:
                winner, reason = parsed.answer, parsed.reason
            kind = "judge"
        else:
            answer = interrupt(
                {
                    "question": "The voters are tied. Which answer should win?",
                    "options": tally.tied,
                    "tally": tally.counts,
                }
            )
            winner, reason, kind = str(answer).strip(), "answered by a human", "escalation"
        update.decisions.append(
            Decision(kind=kind, at=point, choice=winner, reason=reason, valid=valid)
        )
        update.fields["output"] = outputs.get(winner, winner)
        return update.as_dict()

    return run
