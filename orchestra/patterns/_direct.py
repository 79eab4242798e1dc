"""The direct lane of a plain agent's node: state to update in one function.

Most steps of a pipeline are the simplest call there is: a chat model with no tools, no
output schema, no retries, timeout or fallbacks, in a run with no limits, journal or bound
on concurrent calls. The general path wraps that call in `Agent.invoke`, `_attempt`,
`_tool_loop`, `once` and a guard, and builds an `AgentCall` only to take it apart into the
update; on a short model call those layers, and the code they touch, cost a third of the
record keeping itself. This lane makes the same record, message and update.
"""

from __future__ import annotations

import time
from typing import Any

from langchain_core.messages import AIMessage, BaseMessage
from langchain_core.runnables import RunnableConfig

from orchestra._guard import LIFTED_KEY, LIMITS_KEY
from orchestra.agents import Agent, _as_ai, is_chat_model, message_record, model_label
from orchestra.checkpoint.saver import SQLCheckpointer
from orchestra.concurrency import RUN_LIMIT_KEY, process_limit
from orchestra.journal import journal_open
from orchestra.policy import DEFAULT_PRICES
from orchestra.state import AgentResult, Usage, new_id, trusted

__all__ = ["adirect_update", "direct_agent", "direct_run", "direct_update"]


def direct_agent(agent: Agent) -> bool:
    """Whether `agent` itself needs nothing the general path adds: no tools, schema,
    retries, timeout or fallbacks, and a chat model (or the default one, resolved on first
    call). Decided once, when its node is built: an agent is not changed after that."""
    return not (
        agent.tools
        or agent.output is not None
        or agent.fallback
        or agent.retry is not None
        or agent.timeout is not None
        or (agent.model is not None and not is_chat_model(agent.model))
    )


def direct_run(config: RunnableConfig) -> bool:
    """Whether this run lets a `direct_agent` take the lane: no limits, lifted halts,
    journal or call bounds. Checked per call, as these change from run to run."""
    metadata = config.get("metadata")
    if metadata and LIMITS_KEY in metadata:
        return False
    configurable = config.get("configurable")
    if configurable and (
        LIFTED_KEY in configurable
        or RUN_LIMIT_KEY in configurable
        or isinstance(configurable.get("__pregel_checkpointer"), SQLCheckpointer)
    ):
        return False
    return not journal_open() and process_limit() is None


def direct_update(
    agent: Agent, state: Any, config: RunnableConfig, writes: str | None, publishes: bool
) -> dict[str, Any]:
    """What the general path returns for a call of a `direct_agent` in a `direct_run`: the
    same record (priced at the default prices), the reply named after the agent, the same
    keys."""
    started, clock = time.time(), time.perf_counter()
    model = agent.model
    if model is None:
        model = agent._chat_model()
    messages = agent.messages(state)
    reply = model.invoke(messages, config)  # type: ignore[union-attr]
    return _update(agent, state, model, messages, reply, started, clock, writes, publishes)


async def adirect_update(
    agent: Agent, state: Any, config: RunnableConfig, writes: str | None, publishes: bool
) -> dict[str, Any]:
    """Async twin of `direct_update`: the model's `ainvoke`, the same update."""
    started, clock = time.time(), time.perf_counter()
    model = agent.model
    if model is None:
        model = agent._chat_model()
    messages = agent.messages(state)
    reply = await model.ainvoke(messages, config)  # type: ignore[union-attr]
    return _update(agent, state, model, messages, reply, started, clock, writes, publishes)


def _update(
    agent: Agent,
    state: Any,
    model: Any,
    messages: list[BaseMessage],
    reply: Any,
    started: float,
    clock: float,
    writes: str | None,
    publishes: bool,
) -> dict[str, Any]:
    if type(reply) is not AIMessage:
        reply = _as_ai(reply)
    if reply.tool_calls:
        agent._tool(reply.tool_calls[0]["name"])  # raises: the agent declares no tools
    text = reply.text
    label = model_label(model)
    meta = reply.usage_metadata
    sent = meta.get("input_tokens", 0) if meta else 0
    received = meta.get("output_tokens", 0) if meta else 0
    total = meta.get("total_tokens", 0) if meta else 0
    price = DEFAULT_PRICES.get(label) if total and label is not None else None
    cost = price.tokens_cost(sent, received) if price is not None else 0.0
    record = new_id()
    name = agent.name
    # Every field made here of its declared type, as `Agent._model_call` makes them.
    result = trusted(
        AgentResult,
        {
            "id": record,
            "agent": name,
            "kind": "model",
            "model": label,
            "input": [message_record(m) for m in messages],
            "output": text,
            "usage": trusted(
                Usage,
                {
                    "input_tokens": sent,
                    "output_tokens": received,
                    "total_tokens": total,
                    "cost": cost,
                },
            ),
            "latency_ms": (time.perf_counter() - clock) * 1000,
            "attempt": 1,
            "started_at": started,
            "item_index": getattr(state, "item_index", None),
            "error": None,
        },
    )
    # The reply is this call's alone: named after the agent as `_transcript` names it.
    fields = reply.__dict__
    fields["name"] = name
    fields["id"] = record
    reply.__pydantic_fields_set__.update(("name", "id"))
    update: dict[str, Any] = (
        {"output": text, "messages": [reply]} if publishes else {"messages": [reply]}
    )
    if writes:
        update[writes] = text
    update["results"] = [result]
    return update
