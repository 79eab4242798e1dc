"""`fan_out`: branches run in parallel (static, or one member mapped over items) and merge."""

from __future__ import annotations

from collections.abc import Callable, Generator, Iterable
from typing import Any, Literal

from langgraph.graph import END, START, StateGraph
from langgraph.types import Send

from orchestra._collector import WIDE, postpone_full_collections, resume_full_collections
from orchestra.agents import Agent, AgentCall, to_json
from orchestra.errors import BranchesFailedError, DefinitionError
from orchestra.patterns._branches import add_mapped_branch, add_tolerant_branch
from orchestra.patterns._consensus import (
    CONFLICT_QUESTION,
    needs_settling,
    settle_step,
    tally_step,
)
from orchestra.patterns._nodes import (
    Ask,
    Update,
    add_member,
    check_members,
    check_state,
    step_node,
)
from orchestra.rules import Conflict
from orchestra.state import AgentResult, Decision, OrchestraState
from orchestra.workflow import Member, Workflow

__all__ = ["Merge", "fan_out"]

Merge = Agent | Callable[[Any, list[AgentResult]], Any]
"""How branches merge: an agent reading every branch's output, or `(state, results) -> output`."""


def fan_out(
    *branches: Member,
    merge: Merge | None = None,
    over: str | Callable[[Any], Iterable[Any]] | None = None,
    conflict: Conflict | None = None,
    name: str = "fan_out",
    state: type[OrchestraState] = OrchestraState,
    description: str = "",
    on_error: Literal["continue", "fail"] = "continue",
) -> Workflow[Any]:
    """Run branches in parallel, then merge their outputs into one.

    Static: `fan_out(a, b, c, merge=...)` runs every branch once. Dynamic:
    `fan_out(worker, over="sources", merge=...)` runs `worker` once per item of the state
    field (or of `over(state)`), each with `state.item` set (LangGraph `Send`).

    Args:
        *branches: Agents or workflows (exactly one with `over`).
        merge: An agent given every branch's output, or a function
            `(state, results) -> output` (results in branch or item order). Default: the
            outputs as `{branch: output}`, or as a list with `over`.
        over: A state field holding the items, or a function of the state returning them.
        conflict: For branches answering the same structured question: when their answers
            differ, settle by vote, judge or human as declared (`Conflict`); the settled
            answer is the output (or is shown to a merge agent). The tally, the judge's
            reason or the human's answer are recorded as decisions.
        name: The workflow's name (unique among every name in an enclosing workflow).
        state: The state model.
        description: What it is for, shown to a supervisor choosing among workers.
        on_error: What a branch that fails for good (after its retries and fallbacks)
            does. `"continue"` (the default): it is recorded as an `error` result and the
            merge gets the branches that succeeded (it fails only when none did).
            `"fail"`: the run stops with the error, and a resume runs that branch again
            (the branches that succeeded are kept).

    Example:
        ```python
        flow = fan_out(analyst, over="sources", merge=synthesiser)
        flow.compile().invoke({"goal": "Acme Corp", "sources": ["10-K", "news", "patents"]})
        ```
    """
    members = check_members("fan_out", branches)
    check_state(state)
    if not members:
        raise DefinitionError("fan_out: give it at least one branch.")
    if over is not None and len(members) != 1:
        raise DefinitionError("fan_out: with over=..., give exactly one member to map.")
    if isinstance(over, str) and over not in state.model_fields:
        raise DefinitionError(f"fan_out: the state has no field {over!r} to map over.")
    if conflict is not None and (over is not None or len(members) < 2):
        raise DefinitionError("fan_out: conflict= needs two or more static branches, no over=.")
    merge_name = merge.name if isinstance(merge, Agent) else f"{name}.merge"
    split = f"{name}.split"
    settling = _settling(name, conflict)
    own = [merge_name, *([split] if over is not None else []), *settling]
    check_members("fan_out", members, own=own)
    if on_error not in ("continue", "fail"):
        raise DefinitionError(f"fan_out: on_error must be 'continue' or 'fail', not {on_error!r}.")

    def build(graph: StateGraph[Any, Any, Any, Any]) -> None:
        # A mapped branch leaves `output` to the merge: N branches writing it would be
        # N values of which the merge keeps none, each a write LangGraph stores and applies.
        # A mapped branch goes on to the merge from the first item's alone (`_branches`).
        publishes = over is None
        then = None if publishes else merge_name
        for member in members:
            if on_error == "continue":
                add_tolerant_branch(graph, member, publishes=publishes, then=then)
            elif then is not None:
                add_mapped_branch(graph, member, then)
            else:
                add_member(graph, member)
        merging = _merge_step(merge_name, split, members, merge, over, settling)
        graph.add_node(merge_name, step_node(merge_name, merging))
        if conflict is not None:
            for member in members:
                graph.add_edge(START, member.name)
            _add_settling(graph, settling, conflict, members, merge_name)
        elif over is None:
            for member in members:
                graph.add_edge(START, member.name)
            graph.add_edge([m.name for m in members], merge_name)
        else:
            worker = members[0].name
            graph.add_node(split, step_node(split, _split_step(split, over)))
            graph.add_edge(START, split)
            graph.add_conditional_edges(
                split, _sends(split, worker, merge_name, over), [worker, merge_name]
            )
        graph.add_edge(merge_name, END)

    return Workflow(
        name=name,
        pattern="fan_out",
        state=state,
        members=members,
        build=build,
        nodes=own,
        description=description,
        deciders=_deciders(merge, conflict),
    )


def _deciders(merge: Merge | None, conflict: Conflict | None) -> dict[str, Agent]:
    """The agents deciding at the fan-out's own nodes: a merging agent, a conflict's judge."""
    found = {"merge": merge} if isinstance(merge, Agent) else {}
    if conflict is not None:
        settler = conflict.resolve if conflict.resolve != "vote" else conflict.tie_break
        if isinstance(settler, Agent):
            found["judge"] = settler
    return found


def _settling(name: str, conflict: Conflict | None) -> list[str]:
    """The nodes that settle a conflict: the tally, then a judge or a human if declared."""
    if conflict is None:
        return []
    settler = conflict.resolve if conflict.resolve != "vote" else conflict.tie_break
    if isinstance(settler, Agent):
        return [f"{name}.tally", settler.name]
    if settler == "escalate":
        return [f"{name}.tally", f"{name}.escalate"]
    return [f"{name}.tally"]


def _add_settling(
    graph: StateGraph[Any, Any, Any, Any],
    nodes: list[str],
    conflict: Conflict,
    members: list[Member],
    merge_name: str,
) -> None:
    tally, key = nodes[0], conflict.key
    voting = conflict.resolve == "vote"
    rule = conflict.tie_break if callable(conflict.tie_break) and voting else None
    quorum = conflict.quorum if voting else None
    graph.add_node(tally, step_node(tally, tally_step(tally, members, key, quorum, rule)))
    graph.add_edge([m.name for m in members], tally)
    if len(nodes) == 1:
        graph.add_edge(tally, merge_name)
        return
    settler_node = nodes[1]
    chosen = conflict.resolve if not voting else conflict.tie_break
    settler: Agent | str = chosen if isinstance(chosen, Agent) else "escalate"
    question = CONFLICT_QUESTION
    graph.add_node(
        settler_node,
        step_node(settler_node, settle_step(settler_node, tally, settler, members, key, question)),
    )
    graph.add_conditional_edges(
        tally, needs_settling(tally), {"tie": settler_node, "decided": merge_name}
    )
    graph.add_edge(settler_node, merge_name)


def _items(state: Any, over: str | Callable[[Any], Iterable[Any]]) -> list[Any]:
    items = getattr(state, over) if isinstance(over, str) else over(state)
    if items is None:
        return []
    if isinstance(items, str | bytes) or not isinstance(items, Iterable):
        raise DefinitionError(f"fan_out: over= must give a list of items, got {items!r}.")
    return list(items)


def _split_step(split: str, over: str | Callable[[Any], Iterable[Any]]) -> Any:
    def run(state: Any) -> Generator[Ask, AgentCall, dict[str, Any]]:
        items = _items(state, over)
        count = len(items)
        decision = Decision(kind="map", at=split, choice=str(count), detail={"count": count})
        return {"decisions": [decision]}
        yield  # a step that asks no agent

    return run


def _count(state: Any, split: str) -> int:
    """How many items the split last mapped (0 before it has)."""
    decision = state.latest_decision(split)
    return int(decision.detail["count"]) if decision else 0


def _sends(
    split: str, worker: str, merge_name: str, over: str | Callable[[Any], Iterable[Any]]
) -> Callable[[Any], list[Send] | str]:
    def send(state: Any) -> list[Send] | str:
        count = _count(state, split)
        if count == 0:
            return merge_name
        items = _items(state, over)
        # A shallow copy of the typed state: LangGraph passes a Send's payload to the node
        # as it is, without coercing a dict into the state model. Each payload is stored with
        # the checkpoint's pending tasks, so a branch gets its own item but not the whole
        # list again: a copy of N items in each of N branches is N * N stored values.
        spared: dict[str, Any] = {over: []} if isinstance(over, str) else {}
        if count >= WIDE:  # its branches' objects would set off full collections mid-way
            postpone_full_collections()
        return [
            Send(
                worker,
                state.model_copy(update={**spared, "item": item, "item_index": index}),
            )
            for index, item in enumerate(items[:count])
        ]

    send.__name__ = f"map_{worker}"
    return send


def _merge_step(
    merge_name: str,
    split: str,
    members: list[Member],
    merge: Merge | None,
    over: Any,
    settling: list[str],
) -> Any:
    def run(state: Any) -> Generator[Ask, AgentCall, dict[str, Any]]:
        mapped = over is not None
        if mapped and _count(state, split) >= WIDE:  # the branches are done: see `_sends`
            resume_full_collections()
        every = _branch_results(state, split, members, mapped=mapped)
        results = [r for r in every if r.error is None]
        failed = [r for r in every if r.error is not None]
        if every and not results:
            reasons = "; ".join(f"{_label(r, over is not None)}: {r.error}" for r in failed)
            raise BranchesFailedError(
                f"fan_out {merge_name!r}: every branch failed ({reasons}). Fix the cause, or "
                "give the branches retry= or fallback=, and start again from a checkpoint "
                "before the fan-out (`orchestra fork`)."
            )
        settled = _settled(state, settling)
        update = Update()
        if failed:
            update.decisions.append(_partial(merge_name, results, failed, over is not None))
        if isinstance(merge, Agent):
            context = [(_label(r, over is not None), r.output) for r in results]
            if settled is not None:
                context.append((f"settled answer ({settled.kind})", state.output))
            call = yield Ask(merge, context=context)
            update.add(call, merge.writes)
            return update.as_dict()
        if merge is None and settled is not None:
            value: Any = state.output
        elif merge is None:
            value = (
                [r.output for r in results]
                if over is not None
                else {r.agent: r.output for r in results}
            )
        else:
            value = merge(state, results)
        record = AgentResult(
            agent=merge_name, kind="function", model="merge", output=to_json(value)
        )
        update.add(AgentCall(result=record, parsed=value))
        return update.as_dict()

    return run


def _settled(state: Any, settling: list[str]) -> Decision | None:
    """The decision that settled the branches' conflict, if one did."""
    for decision in reversed(state.decisions):
        if decision.at in settling:
            return decision if decision.choice is not None else None
    return None


def _partial(
    merge_name: str, results: list[AgentResult], failed: list[AgentResult], mapped: bool
) -> Decision:
    """The record that the merge went ahead without the branches that failed."""
    labels = [_label(r, mapped) for r in failed]
    return Decision(
        kind="partial",
        at=merge_name,
        choice=f"{len(results)} of {len(results) + len(failed)}",
        reason=f"merged without the failed branches {', '.join(labels)}",
        detail={"failed": labels, "succeeded": [_label(r, mapped) for r in results]},
    )


def _label(result: AgentResult, mapped: bool) -> str:
    return f"{result.agent}[{result.item_index}]" if mapped else result.agent


def _branch_results(
    state: Any, split: str, members: list[Member], *, mapped: bool
) -> list[AgentResult]:
    if not mapped:
        found = [state.latest(m.name) for m in members]
        return [r for r in found if r is not None]
    count = _count(state, split)
    by_index: dict[int, AgentResult] = {}
    worker = members[0].name
    for result in state.results:
        if result.agent == worker and result.item_index is not None:
            by_index[result.item_index] = result
    return [by_index[i] for i in range(count) if i in by_index]
