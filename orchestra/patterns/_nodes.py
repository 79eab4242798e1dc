"""Turning members and decision steps into LangGraph nodes.

A step is written once, as a generator that yields `Ask`s (agent calls) and returns the state
update; `step_node` drives it with `Agent.invoke` under `invoke` and with `Agent.ainvoke`
under `ainvoke`, so every pattern works sync and async without twin code.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Generator, Sequence
from dataclasses import dataclass, field
from typing import Any

from langchain_core.messages import AIMessage
from langchain_core.runnables import RunnableConfig
from langgraph._internal._runnable import RunnableCallable
from langgraph.graph import StateGraph

from orchestra._guard import Guard, priced, unguarded
from orchestra._messages import text_message
from orchestra.agents import Agent, AgentCall
from orchestra.errors import DefinitionError, OrchestraError, StructuredOutputError
from orchestra.journal import journaling
from orchestra.patterns._direct import adirect_update, direct_agent, direct_run, direct_update
from orchestra.patterns._direct_function import function_lane, function_run
from orchestra.state import AgentResult, Decision, OrchestraState, Usage, keep_last
from orchestra.workflow import Member, Workflow


@dataclass(frozen=True)
class Ask:
    """A request, yielded by a step, to call `agent`; the step receives the `AgentCall`."""

    agent: Agent
    context: Sequence[tuple[str, Any]] | None = None
    kind: str | None = None


@dataclass
class Update:
    """A state update under construction: records first, then plain fields."""

    results: list[AgentResult] = field(default_factory=list)
    decisions: list[Decision] = field(default_factory=list)
    fields: dict[str, Any] = field(default_factory=dict)

    def add(self, call: AgentCall, writes: str | None = None, *, output: bool = True) -> None:
        """Record `call` (and its retries and fallbacks); also make its output the workflow's
        answer when `output`."""
        self.results.append(call.result)
        self.decisions.extend(call.decisions)
        if output:
            self.fields["output"] = call.result.output
            self.fields.setdefault("messages", []).append(_transcript(call))
        if writes:
            self.fields[writes] = call.parsed

    def as_dict(self) -> dict[str, Any]:
        update = dict(self.fields)
        if self.results:
            update["results"] = self.results
        if self.decisions:
            update["decisions"] = self.decisions
        return update


def _transcript(call: AgentCall) -> AIMessage:
    """The message a call adds to the conversation: the model's own reply when it is text."""
    if call.reply is not None and not call.reply.tool_calls:
        # The reply is this call's alone: naming it after the agent costs less than a copy.
        # Written as pydantic's __setattr__ would (value and fields set), without its dispatch.
        reply = call.reply
        fields = reply.__dict__
        fields["name"] = call.result.agent
        fields["id"] = call.result.id
        reply.__pydantic_fields_set__.update(("name", "id"))
        return reply
    return text_message(call.text, call.result.agent, call.result.id)


Step = Callable[[Any], Generator[Ask, AgentCall, dict[str, Any]]]


def step_node(name: str, step: Step) -> RunnableCallable:
    """A node running `step`, sync or async, its calls journaled (`orchestra.journal`) and
    checked against the run's limits (`orchestra.policy`)."""
    run, arun = _runners(step)
    return RunnableCallable(run, arun, name=name, trace=False)


def _runners(
    step: Step,
) -> tuple[
    Callable[[Any, RunnableConfig], dict[str, Any]],
    Callable[[Any, RunnableConfig], Awaitable[dict[str, Any]]],
]:
    """The sync and async functions driving `step`."""

    def run(state: Any, config: RunnableConfig) -> dict[str, Any]:
        with journaling(config):
            return drive(state, config)

    def drive(state: Any, config: RunnableConfig) -> dict[str, Any]:
        steps = step(state)
        guard = Guard(state, config)
        try:
            ask = next(steps)
            while True:
                guard.before(ask.agent.name)
                try:
                    call = ask.agent.invoke(state, config, context=ask.context, kind=ask.kind)
                except OrchestraError as error:
                    guard.failed(ask.agent.name, error)
                    ask = steps.throw(error)
                else:
                    ask = steps.send(guard.after(call))
        except StopIteration as done:
            return guard.finish(done.value)

    async def arun(state: Any, config: RunnableConfig) -> dict[str, Any]:
        with journaling(config):
            return await adrive(state, config)

    async def adrive(state: Any, config: RunnableConfig) -> dict[str, Any]:
        steps = step(state)
        guard = Guard(state, config)
        try:
            ask = next(steps)
            while True:
                guard.before(ask.agent.name)
                try:
                    call = await ask.agent.ainvoke(
                        state, config, context=ask.context, kind=ask.kind
                    )
                except OrchestraError as error:
                    guard.failed(ask.agent.name, error)
                    ask = steps.throw(error)
                else:
                    ask = steps.send(guard.after(call))
        except StopIteration as done:
            return guard.finish(done.value)

    return run, arun


Runners = tuple[
    Callable[[Any, RunnableConfig], Any], Callable[[Any, RunnableConfig], Awaitable[Any]]
]
"""A node's sync and async functions, `(state, config) -> update`."""


def agent_node(agent: Agent, *, publishes: bool = True) -> RunnableCallable:
    """The node of an agent working as a member: `step_node` of its `agent_step`, with
    direct lanes for runs without limits and for plain calls (`orchestra.patterns._direct`,
    `orchestra.patterns._direct_function`), which a pipeline of plain agents pays per step
    and a wide fan-out per branch.

    With `publishes` false the call is recorded (`results`, `messages`) but its output is
    not made the state's `output`: a mapped branch's, which the merge overwrites.
    """
    run, arun = agent_runners(agent, publishes=publishes)
    return RunnableCallable(run, arun, name=agent.name, trace=False)


def agent_runners(agent: Agent, *, publishes: bool = True) -> Runners:
    """The functions of `agent_node`."""
    guarded, aguarded = _runners(agent_step(agent, publishes=publishes))
    writes = agent.writes
    direct = direct_agent(agent)
    lane = function_lane(agent, writes, publishes)
    sync_lane = lane if lane is not None and lane.sync else None

    def run(state: Any, config: RunnableConfig) -> dict[str, Any]:
        if direct and direct_run(config):
            return direct_update(agent, state, config, writes, publishes)
        if sync_lane is not None and function_run(config):
            return sync_lane.update(state, config)
        if not unguarded(config):
            return guarded(state, config)
        with journaling(config):
            call = agent.invoke(state, config)
        return _member_update(priced(call), writes, publishes)

    async def arun(state: Any, config: RunnableConfig) -> dict[str, Any]:
        if direct and direct_run(config):
            return await adirect_update(agent, state, config, writes, publishes)
        if lane is not None and function_run(config):
            return await lane.aupdate(state, config)
        if not unguarded(config):
            return await aguarded(state, config)
        with journaling(config):
            call = await agent.ainvoke(state, config)
        return _member_update(priced(call), writes, publishes)

    return run, arun


def _member_update(call: AgentCall, writes: str | None, publishes: bool) -> dict[str, Any]:
    """What `agent_step` returns, built directly (the same keys, in the same order)."""
    result = call.result
    message = _transcript(call)
    update: dict[str, Any] = (
        {"output": result.output, "messages": [message]} if publishes else {"messages": [message]}
    )
    if writes:
        update[writes] = call.parsed
    update["results"] = [result]
    if call.decisions:
        update["decisions"] = list(call.decisions)
    return update


def agent_step(agent: Agent, *, publishes: bool = True) -> Step:
    """The step of an agent working as a member: call it, record it, publish its output
    (unless not `publishes`)."""

    def step(state: Any) -> Generator[Ask, AgentCall, dict[str, Any]]:
        call = yield Ask(agent)
        update = Update()
        update.add(call, agent.writes)
        if not publishes:
            del update.fields["output"]
        return update.as_dict()

    return step


def workflow_node(workflow: Workflow[Any], *, publishes: bool = True) -> RunnableCallable:
    """A node running a nested workflow as a subgraph, returning only what it changed.

    A subgraph hands back its whole final state; passing that on as the update would append
    list fields twice and make parallel subgraphs collide on plain fields. The delta avoids
    both, and a `workflow` record summarises the team's work for the timeline. With
    `publishes` false the team's output stays out of the state's `output` (as `agent_node`).
    """
    run, arun = workflow_runners(workflow, publishes=publishes)
    return RunnableCallable(run, arun, name=workflow.name, trace=False)


def workflow_runners(workflow: Workflow[Any], *, publishes: bool = True) -> Runners:
    """The functions of `workflow_node`."""
    graph = workflow.as_member()
    fields = list(workflow.state.model_fields)

    def run(state: Any, config: RunnableConfig) -> dict[str, Any]:
        started, clock = time.time(), time.perf_counter()
        final = graph.invoke(_inputs(workflow, state, fields), config)
        return _delta(workflow, state, final, started, clock, publishes)

    async def arun(state: Any, config: RunnableConfig) -> dict[str, Any]:
        started, clock = time.time(), time.perf_counter()
        final = await graph.ainvoke(_inputs(workflow, state, fields), config)
        return _delta(workflow, state, final, started, clock, publishes)

    return run, arun


def _inputs(workflow: Workflow[Any], state: Any, fields: list[str]) -> dict[str, Any]:
    """The subgraph's input: the parent's values, plus any feedback on the team's last work.

    A check that rejects a nested workflow judges the team's summary record, which no agent
    inside wrote; relaying the feedback to the latest result of each agent in the team lets
    their prompts show it.
    """
    values = {name: getattr(state, name) for name in fields if hasattr(state, name)}
    feedback = state.feedback_for(workflow.name) if isinstance(state, OrchestraState) else None
    if feedback:
        relays = [
            Decision(
                kind="feedback", at=workflow.name, about=latest.id, rejected=True, reason=feedback
            )
            for member in workflow.walk()
            if isinstance(member, Agent) and (latest := state.latest(member.name)) is not None
        ]
        values["decisions"] = [*values.get("decisions", ()), *relays]
    return values


def _delta(
    workflow: Workflow[Any],
    before: Any,
    final: dict[str, Any],
    started: float,
    clock: float,
    publishes: bool = True,
) -> dict[str, Any]:
    update: dict[str, Any] = {}
    model_fields = type(before).model_fields
    for key, value in final.items():
        old: Any = getattr(before, key, None)
        if key == "output" and not publishes:
            continue
        if key in ("results", "decisions"):
            known = {record.id for record in old}
            new = [record for record in value if record.id not in known]
            if new:
                update[key] = new
        elif key == "messages":
            known_ids = {message.id for message in old}
            fresh = [message for message in value if message.id not in known_ids]
            if fresh:
                update[key] = fresh
        elif value != old:
            reducer = _reducer(model_fields.get(key))
            appends = reducer not in (None, keep_last)
            extends = isinstance(old, list) and isinstance(value, list) and value[: len(old)] == old
            if appends and extends:
                value = value[len(old) :]
            update[key] = value
    inner = update.get("results", [])
    summary = AgentResult(
        agent=workflow.name,
        kind="workflow",
        model=workflow.pattern,
        output=final.get("output"),
        usage=Usage.total(r.usage for r in inner if r.kind != "workflow"),
        latency_ms=(time.perf_counter() - clock) * 1000,
        started_at=started,
        item_index=getattr(before, "item_index", None),
    )
    update["results"] = [*inner, summary]
    return update


def _reducer(info: Any) -> Any:
    for meta in getattr(info, "metadata", ()):
        if callable(meta):
            return meta
    return None


def add_member(
    graph: StateGraph[Any, Any, Any, Any], member: Member, *, publishes: bool = True
) -> str:
    """Add `member` as a node of `graph`; return the node's name. With `publishes` false,
    its output is recorded but not made the state's `output` (`agent_node`)."""
    graph.add_node(member.name, member_node(member, publishes=publishes))
    return member.name


def member_node(member: Member, *, publishes: bool = True) -> RunnableCallable:
    """The node running `member`, an agent or a nested workflow."""
    if isinstance(member, Workflow):
        return workflow_node(member, publishes=publishes)
    return agent_node(member, publishes=publishes)


def member_runners(member: Member, *, publishes: bool = True) -> Runners:
    """The functions of `member_node`, for a node that wraps them."""
    if isinstance(member, Workflow):
        return workflow_runners(member, publishes=publishes)
    return agent_runners(member, publishes=publishes)


def check_members(pattern: str, members: Sequence[Any], *, own: Sequence[str] = ()) -> list[Member]:
    """Validate a pattern's members: agents or workflows, every node name unique.

    Names must be unique across nested workflows too, not only among siblings: decisions
    and results are found by node name, so an inner `manager` must not be mistaken for an
    outer one.
    """
    checked: list[Member] = []
    seen = set()
    names = list(own)
    for member in members:
        if not isinstance(member, Agent | Workflow):
            raise DefinitionError(
                f"{pattern}: members must be Agents or Workflows, got {type(member).__name__}. "
                "Wrap a function as Agent('name', model=function)."
            )
        checked.append(member)
        names.append(member.name)
        if isinstance(member, Workflow):
            names.extend(member.node_names())
    for name in names:
        if name in seen:
            raise DefinitionError(
                f"{pattern}: the name {name!r} is used twice; every agent, workflow and "
                "decision step needs its own name, nested workflows included (pass name=... "
                "to patterns, or create a second Agent under another name)."
            )
        seen.add(name)
    return checked


def check_state(state: Any) -> type[OrchestraState]:
    if not (isinstance(state, type) and issubclass(state, OrchestraState)):
        raise DefinitionError("state must be OrchestraState or a subclass of it.")
    return state


def describe(members: Sequence[tuple[str, Member]]) -> str:
    """A roster for a deciding agent's instructions: one `label: description` a line."""
    return "\n".join(f"- {label}: {member.description}" for label, member in members)


Choice = tuple[Any, StructuredOutputError | None]
"""A deciding agent's parsed answer, or None and the error when its answer was invalid."""


def ask_choice(
    deciding: Agent, update: Update, context: Sequence[tuple[str, Any]] | None = None
) -> Generator[Ask, AgentCall, Choice]:
    """Ask a deciding agent and record the call, or its invalid answer (tokens still count).

    Use with `yield from` inside a step: `parsed, error = yield from ask_choice(...)`.
    """
    try:
        call = yield Ask(deciding, context=context, kind="control")
    except StructuredOutputError as error:
        update.results.append(invalid_answer(deciding, error))
        return None, error
    update.add(call, output=False)
    return call.parsed, None


def invalid_answer(agent: Agent, error: Exception) -> AgentResult:
    """A record of a deciding call whose answer was invalid, so its tokens still count."""
    return AgentResult(
        agent=agent.name,
        kind="control",
        output=getattr(error, "answer", None),
        usage=getattr(error, "usage", Usage()),
    )
