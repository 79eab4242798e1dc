"""Settling disagreement between parallel answers: a tally, then a judge, a rule or a human.

Shared by `vote` (where settling is the point) and `fan_out(conflict=...)` (where branches
that should agree did not), so both record the same `vote`/`conflict`, `judge` and
`escalation` decisions.
"""

from __future__ import annotations

from collections.abc import Callable, Generator, Sequence
from typing import Any

from langgraph.types import interrupt

from orchestra.agents import Agent, AgentCall
from orchestra.patterns._nodes import Ask, Update, ask_choice
from orchestra.rules import Tally, answer_key, choice_schema, tally_votes
from orchestra.state import Decision
from orchestra.workflow import Member

TIE_QUESTION = "The voters are tied. Which answer should win?"
CONFLICT_QUESTION = "The branches disagree. Which answer should stand?"


def answers(
    state: Any, members: Sequence[Member], key: Any
) -> tuple[dict[str, str], dict[str, Any]]:
    """Each member's answer key, and the first full output given for each answer."""
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


def tally_step(
    point: str,
    members: Sequence[Member],
    key: Any,
    quorum: float | int | None,
    rule: Callable[[Any, Tally], str] | None,
) -> Callable[[Any], Generator[Ask, AgentCall, dict[str, Any]]]:
    """Count the answers. `quorum=None` settles only a unanimous answer: any disagreement
    is a `conflict` whose every answer goes on to the judge or the human."""

    def run(state: Any) -> Generator[Ask, AgentCall, dict[str, Any]]:
        votes, outputs = answers(state, members, key)
        if quorum is None:
            tally = tally_votes(votes, max(1, len(votes)))
            if tally.winner is None:
                tally = tally.model_copy(update={"tied": list(tally.counts)})
            kind = "conflict"
            reason = "the answers agree" if tally.winner else "the answers disagree"
        else:
            tally = tally_votes(votes, quorum)
            kind = "vote"
            reason = "majority" if tally.winner else "no answer met the quorum"
        winner = tally.winner
        if winner is None and rule is not None:
            winner = str(rule(state, tally))
            reason = "tie broken by rule"
        update = Update()
        update.decisions.append(
            Decision(kind=kind, at=point, choice=winner, reason=reason, detail=tally.model_dump())
        )
        update.fields["output"] = outputs.get(winner) if winner is not None else None
        return update.as_dict()
        yield  # the tally asks no agent

    return run


def needs_settling(tally: str) -> Callable[[Any], str]:
    """Route from the tally: `decided`, or `tie` when no answer won."""

    def route(state: Any) -> str:
        decision = state.latest_decision(tally)
        return "decided" if decision is not None and decision.choice is not None else "tie"

    route.__name__ = "tied"
    return route


def settle_step(
    point: str,
    tally_node: str,
    settler: Agent | str,
    members: Sequence[Member],
    key: Any,
    question: str = TIE_QUESTION,
) -> Callable[[Any], Generator[Ask, AgentCall, dict[str, Any]]]:
    """A judge agent choosing among the tied answers with a reason, or a human asked."""

    def run(state: Any) -> Generator[Ask, AgentCall, dict[str, Any]]:
        tally = Tally.model_validate(state.latest_decision(tally_node).detail)
        _, outputs = answers(state, members, key)
        update = Update()
        valid = True
        if isinstance(settler, Agent):
            judge = settler.with_output(
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
                    "question": question,
                    "options": tally.tied,
                    "tally": tally.counts,
                    "votes": tally.votes,
                }
            )
            winner, reason, kind = str(answer).strip(), "answered by a human", "escalation"
        update.decisions.append(
            Decision(kind=kind, at=point, choice=winner, reason=reason, valid=valid)
        )
        update.fields["output"] = outputs.get(winner, winner)
        return update.as_dict()

    return run
