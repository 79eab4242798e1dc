"""The direct lane of a function agent's node: state to update in one function, journaled.

A mapped branch is most often a Python function (`Agent("worker", model=fetch)`) with no
retries, timeout or fallbacks. The general path runs it through `Agent.ainvoke`,
`_aattempt`, the journal's block and call, an `AgentCall`, pricing and `_member_update`,
each a layer that a wide fan-out pays once per branch. This lane makes the same journal
entry (recorded before the value is used, replayed on resume, the same idempotency key),
the same record, message and update; only in runs without limits, lifted halts or call
bounds, which the general path alone handles.
"""

from __future__ import annotations

import asyncio
import inspect
import json
import time
from collections.abc import Callable
from functools import partial
from typing import Any, cast

from langchain_core.runnables import RunnableConfig

from orchestra._guard import LIFTED_KEY, LIMITS_KEY
from orchestra._messages import text_message
from orchestra.agents import (
    Agent,
    _dump_value,
    _function_label,
    function_record,
    is_chat_model,
    render,
    to_json,
)
from orchestra.concurrency import RUN_LIMIT_KEY, process_limit
from orchestra.errors import DefinitionError
from orchestra.journal import aonce_in, once_in
from orchestra.state import new_id

__all__ = ["FunctionLane", "function_lane", "function_run"]


def function_run(config: RunnableConfig) -> bool:
    """Whether this run lets a `FunctionLane` take the call: no limits or lifted halts (a
    guard would check nothing) and no bound on calls at once. Checked per call."""
    metadata = config.get("metadata")
    if metadata and LIMITS_KEY in metadata:
        return False
    configurable = config.get("configurable")
    if configurable and (LIFTED_KEY in configurable or RUN_LIMIT_KEY in configurable):
        return False
    return process_limit() is None


def function_lane(agent: Agent, writes: str | None, publishes: bool) -> FunctionLane | None:
    """The lane of `agent` when it is a function with no retries, timeout or fallbacks;
    else None. Decided once, when its node is built: an agent is not changed after that."""
    model = agent.model
    if model is None or is_chat_model(model) or not agent._plain:
        return None
    return FunctionLane(agent, cast("Callable[[Any], Any]", model), writes, publishes)


class FunctionLane:
    """What the general path does for one call of a plain function agent, in one place."""

    __slots__ = ("_agent", "_async", "_function", "_label", "_name", "_publishes", "_writes")

    def __init__(
        self, agent: Agent, function: Callable[[Any], Any], writes: str | None, publishes: bool
    ) -> None:
        self._agent = agent
        self._function = function
        self._async = inspect.iscoroutinefunction(function)
        self._name = agent.name
        self._label = _function_label(function)
        self._writes = writes
        self._publishes = publishes

    @property
    def sync(self) -> bool:
        """Whether a sync run may take the lane: an async function there is the general
        path's error to raise."""
        return not self._async

    def update(self, state: Any, config: RunnableConfig) -> dict[str, Any]:
        """The call's update, under `invoke`."""
        started, clock = time.time(), time.perf_counter()
        call = partial(self._function, state)
        value = once_in(config, "function", self._name, call, _dump_value, json.loads)
        if inspect.isawaitable(value):
            raise DefinitionError(
                f"Agent {self._name!r} has an async function: run the workflow with "
                "ainvoke/astream."
            )
        return self._update(state, value, started, clock)

    async def aupdate(self, state: Any, config: RunnableConfig) -> dict[str, Any]:
        """The call's update, under `ainvoke`; a sync function runs in a worker thread."""
        started, clock = time.time(), time.perf_counter()
        if self._async:
            # Its coroutine itself, awaited by the journal: no frame between them.
            call = partial(self._function, state)
        else:
            call = partial(_in_thread, self._function, state)
        value = await aonce_in(config, "function", self._name, call, _dump_value, json.loads)
        return self._update(state, value, started, clock)

    def _update(self, state: Any, value: Any, started: float, clock: float) -> dict[str, Any]:
        parsed = self._agent._validate(value)
        output = to_json(parsed)
        record = new_id()
        name = self._name
        result = function_record(
            record, name, "function", self._label, output, started, clock, state
        )
        message = text_message(render(output), name, record)
        update: dict[str, Any] = (
            {"output": output, "messages": [message]}
            if self._publishes
            else {"messages": [message]}
        )
        if self._writes:
            update[self._writes] = parsed
        update["results"] = [result]
        return update


async def _in_thread(function: Callable[[Any], Any], state: Any) -> Any:
    value = await asyncio.to_thread(function, state)
    return await value if inspect.isawaitable(value) else value
