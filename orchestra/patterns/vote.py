"""`vote`: voters answer the same question in parallel; the tally decides, ties are broken."""

from __future__ import annotations

from collections.abc import Callable, Hashable
from typing import Any

from langgraph.graph import END, START, StateGraph

from orchestra.agents import Agent
from orchestra.errors import DefinitionError
from orchestra.patterns._consensus import needs_settling, settle_step, tally_step
from orchestra.patterns._nodes import add_member, check_members, check_state, step_node
from orchestra.rules import TieBreak
from orchestra.state import OrchestraState
from orchestra.workflow import Member, Workflow

__all__ = ["vote"]


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
        graph.add_node(tally, step_node(tally, tally_step(tally, members, key, quorum, rule)))
        graph.add_edge([m.name for m in members], tally)
        if breaker is None:
            graph.add_edge(tally, END)
            return
        settler = tie_break if isinstance(tie_break, Agent) else "escalate"
        breaking = settle_step(breaker, tally, settler, members, key)
        graph.add_node(breaker, step_node(breaker, breaking))
        graph.add_conditional_edges(tally, needs_settling(tally), {"tie": breaker, "decided": END})
        graph.add_edge(breaker, END)

    return Workflow(
        name=name,
        pattern="vote",
        state=state,
        members=members,
        build=build,
        nodes=own,
        description=description,
        deciders={"judge": tie_break} if isinstance(tie_break, Agent) else None,
    )
