"""`Agent`: a specialist with instructions, a model (or a Python function) and an output schema.

An agent call turns the workflow state into messages, asks the model (running any tool calls
it makes), validates structured output, and returns an `AgentResult` recording what went in,
what came out, the tokens used and how long it took. Each call is retried on transient
errors and bounded by a timeout as the agent declares (`orchestra.recovery`); when the agent
still fails, its fallbacks answer in its place.
"""

from __future__ import annotations

import asyncio
import inspect
import json
import re
import time
from collections.abc import Awaitable, Callable, Iterator, Sequence
from contextlib import contextmanager, suppress
from contextvars import ContextVar
from dataclasses import dataclass, field, replace
from functools import partial
from typing import Any, TypeAlias, TypeGuard, TypeVar, cast

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import (
    AIMessage,
    BaseMessage,
    HumanMessage,
    SystemMessage,
    ToolMessage,
    message_to_dict,
    messages_from_dict,
)
from langchain_core.runnables import RunnableConfig
from langchain_core.tools import BaseTool
from langgraph.errors import GraphBubbleUp
from langgraph.types import RetryPolicy
from pydantic import BaseModel, ValidationError

from orchestra._work_so_far import NOT_SHOWN, block, work_so_far
from orchestra.concurrency import acall_slot, call_slot
from orchestra.errors import DefinitionError, StructuredOutputError
from orchestra.journal import aonce, keeping_failures, once
from orchestra.recovery import acall_with_retry, call_with_retry, check_timeout, retry_policy
from orchestra.state import AgentResult, Decision, OrchestraState, Usage, new_id, trusted

__all__ = ["Agent", "AgentCall", "Fallback", "PromptBuilder"]

T = TypeVar("T")

PromptBuilder = Callable[[Any], Sequence[BaseMessage]]
"""Builds an agent's messages from the workflow state, replacing the default prompt."""

_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_-]{0,63}$")
RESERVED_NAMES = frozenset({"FINISH", "START", "END", "__start__", "__end__"})


@dataclass
class _Tries:
    """What one agent call went through: retries and fallbacks, and the highest attempt."""

    decisions: list[Decision] = field(default_factory=list)
    attempt: int = 1


_TRIES: ContextVar[_Tries | None] = ContextVar("orchestra_agent_tries", default=None)


@contextmanager
def _tracking(tries: _Tries) -> Iterator[None]:
    token = _TRIES.set(tries)
    try:
        yield
    finally:
        _TRIES.reset(token)


def check_name(name: str, what: str) -> str:
    """Reject names that cannot be graph nodes or route labels."""
    if not isinstance(name, str) or not _NAME.match(name) or name in RESERVED_NAMES:
        raise DefinitionError(
            f"{what} name {name!r} is not valid: use 1-64 letters, digits, '_' or '-', "
            f"starting with a letter, and none of {sorted(RESERVED_NAMES)}."
        )
    return name


@dataclass(frozen=True)
class AgentCall:
    """The outcome of one agent call: the record for the state, and the typed output."""

    result: AgentResult
    parsed: Any
    """The output as the agent's schema instance (or text, or the function's return value)."""
    reply: AIMessage | None = None
    """The model's own final message, when the output is its text."""
    decisions: tuple[Decision, ...] = ()
    """The retries and fallbacks it took to get this answer (`retry`, `fallback`)."""

    @property
    def text(self) -> str:
        return render(self.result.output)


class Agent:
    """A specialist: instructions, a model, and optionally an output schema and tools.

    Args:
        name: Unique name within its workflow; it becomes the graph node's name.
        instructions: The system prompt.
        model: A LangChain chat model; a plain callable `(state) -> output` for a
            deterministic step (sync or async); or None for the default model, resolved
            from the environment when the agent first runs.
        output: A pydantic model the answer must validate against (structured output).
        tools: LangChain tools the model may call before answering.
        reads: Names of the agents whose latest outputs the prompt shows (default: all).
        writes: A state field that also receives the typed output.
        prompt: A function `(state) -> messages` replacing the default prompt, including
            what a pattern adds to a deciding agent's instructions (a supervisor's roster, a
            router's labels): such a prompt must name the options itself.
        description: What the agent is for, shown to supervisors choosing a worker.
        max_tool_rounds: Bound on model -> tool -> model rounds in one call.
        structured_retries: Extra attempts when structured output does not validate.
        max_context_chars: Each earlier output shown in the prompt is cut to this length.
        retry: Attempts per call on transient errors (rate limits, timeouts, connection
            errors, 5xx), as a number or a LangGraph `RetryPolicy` (exponential backoff with
            jitter). Default: one attempt. Invalid answers are never retried here (see
            `structured_retries`).
        timeout: Seconds each model, tool or function call may take (each attempt).
        fallback: Who answers when the agent still fails after its retries: a chat model
            (this agent on another model, e.g. a bigger one), another agent (answering
            in this agent's name and schema), or a sequence of them tried in order.

    Example:
        ```python
        class Draft(BaseModel):
            title: str
            body: str

        writer = Agent("writer", "Draft the article.", model=model, output=Draft)
        ```
    """

    def __init__(
        self,
        name: str,
        instructions: str = "",
        *,
        model: BaseChatModel | Callable[..., Any] | None = None,
        output: type[BaseModel] | None = None,
        tools: Sequence[BaseTool] = (),
        reads: Sequence[str] | None = None,
        writes: str | None = None,
        prompt: PromptBuilder | None = None,
        description: str = "",
        max_tool_rounds: int = 5,
        structured_retries: int = 1,
        max_context_chars: int = 4000,
        retry: RetryPolicy | int | None = None,
        timeout: float | None = None,
        fallback: Fallback | Sequence[Fallback] | None = None,
    ) -> None:
        self.name = check_name(name, "Agent")
        if model is not None and not isinstance(model, BaseChatModel) and not callable(model):
            raise DefinitionError(
                f"Agent {name!r}: model must be a LangChain chat model, a callable or None, "
                f"not {type(model).__name__}."
            )
        if output is not None and not (isinstance(output, type) and issubclass(output, BaseModel)):
            raise DefinitionError(f"Agent {name!r}: output must be a pydantic model class.")
        if tools and not isinstance(model, BaseChatModel | None):
            raise DefinitionError(f"Agent {name!r}: tools need a chat model, not a function.")
        self.instructions = instructions
        self.model = model
        self.output = output
        self.tools = tuple(tools)
        self.reads = tuple(reads) if reads is not None else None
        self.writes = writes
        self.prompt = prompt
        self.description = description or instructions.split("\n", 1)[0][:200]
        self.max_tool_rounds = max_tool_rounds
        self.structured_retries = structured_retries
        self.max_context_chars = max_context_chars
        self.retry = retry_policy(retry, f"Agent {name!r}")
        self.timeout = check_timeout(timeout, f"Agent {name!r}")
        self.fallback = _fallbacks(fallback, name)

    def __repr__(self) -> str:
        return f"Agent({self.name!r})"

    @property
    def is_function(self) -> bool:
        """True when the agent is a deterministic Python step rather than a model."""
        return self.model is not None and not is_chat_model(self.model)

    def with_output(self, schema: type[BaseModel]) -> Agent:
        """A copy of this agent that answers with `schema` (used by routing patterns)."""
        twin = Agent.__new__(Agent)
        twin.__dict__.update(self.__dict__)
        twin.output = schema
        return twin

    # -- prompt ---------------------------------------------------------------------

    def messages(
        self, state: Any, context: Sequence[tuple[str, Any]] | None = None
    ) -> list[BaseMessage]:
        """The messages this agent sends for `state` (its default prompt, or `prompt`).

        `context` replaces the earlier outputs shown, as `(label, output)` pairs.
        """
        if self.prompt is not None:
            return list(self.prompt(state))
        parts = [f"Goal: {getattr(state, 'goal', '')}"]
        item = getattr(state, "item", None)
        if item is not None:
            parts.append(f"Your item:\n{render(item)}")
        limit = self.max_context_chars
        if context is None and self.reads is None:
            blocks = work_so_far(getattr(state, "results", ()), limit, render)
        else:
            shown = context if context is not None else self._earlier_outputs(state)
            blocks = [block(label, out, limit, render) for label, out in shown]
        if blocks:
            parts.append("Work so far:\n\n" + "\n\n".join(blocks))
        # Feedback comes from a decision: without any, there is no record to look for.
        feedback = (
            state.feedback_for(self.name)
            if getattr(state, "decisions", None) and isinstance(state, OrchestraState)
            else None
        )
        if feedback:
            parts.append(f"Your previous answer was sent back. Revise it. Feedback:\n{feedback}")
        return [self._system_message(), HumanMessage(content="\n\n".join(parts))]

    def _system_message(self) -> SystemMessage:
        """The system message, made once per agent and instructions: it is the same on every
        call, and building a message costs as much as the rest of the prompt."""
        text = self.instructions or f"You are {self.name}."
        cached: SystemMessage | None = self.__dict__.get("_system")
        if cached is None or cached.content != text:
            cached = self.__dict__["_system"] = SystemMessage(content=text)
        return cached

    def _earlier_outputs(self, state: Any) -> list[tuple[str, Any]]:
        latest: dict[str, Any] = {}
        reads = self.reads
        for result in getattr(state, "results", ()):
            if result.kind in NOT_SHOWN or (reads is not None and result.agent not in reads):
                continue
            latest[result.agent] = result.output
        return list(latest.items())

    # -- calls ----------------------------------------------------------------------

    def invoke(
        self,
        state: Any,
        config: RunnableConfig | None = None,
        *,
        context: Sequence[tuple[str, Any]] | None = None,
        kind: str | None = None,
    ) -> AgentCall:
        """Run the agent once on `state` (with its retries, timeout and fallbacks).

        Raises:
            StructuredOutputError: The model's answer never validated against `output`.
            Exception: The last error, when the agent and its fallbacks all failed.
        """
        if self._plain:
            with call_slot(config):
                return self._attempt(state, config, context, kind)
        tries = _Tries()
        with _tracking(tries):
            chain = self._chain()
            for index, (_, agent) in enumerate(chain):
                last = index == len(chain) - 1
                try:
                    with keeping_failures(not last), call_slot(config):
                        call = agent._attempt(state, config, context, kind)
                except Exception as error:
                    self._fell(error, tries, None if last else chain[index + 1][0])
                    continue
                return _with_tries(call, tries)
        raise AssertionError("unreachable: the last fallback returns or raises")

    async def ainvoke(
        self,
        state: Any,
        config: RunnableConfig | None = None,
        *,
        context: Sequence[tuple[str, Any]] | None = None,
        kind: str | None = None,
    ) -> AgentCall:
        """Async twin of `invoke`; a sync function model runs in a worker thread."""
        if self._plain:
            async with acall_slot(config):
                return await self._aattempt(state, config, context, kind)
        tries = _Tries()
        with _tracking(tries):
            chain = self._chain()
            for index, (_, agent) in enumerate(chain):
                last = index == len(chain) - 1
                try:
                    async with acall_slot(config):
                        with keeping_failures(not last):
                            call = await agent._aattempt(state, config, context, kind)
                except Exception as error:
                    self._fell(error, tries, None if last else chain[index + 1][0])
                    continue
                return _with_tries(call, tries)
        raise AssertionError("unreachable: the last fallback returns or raises")

    @property
    def _plain(self) -> bool:
        """No retries, timeout or fallbacks: nothing to track around the call."""
        return not self.fallback and self.retry is None and self.timeout is None

    def _chain(self) -> list[tuple[str, Agent]]:
        """This agent, then each fallback as a stand-in under this agent's name and schema,
        labelled for the records (a model's name, or the fallback agent's name)."""
        chain: list[tuple[str, Agent]] = [(model_label(self.model) or self.name, self)]
        for alternative in self.fallback:
            if isinstance(alternative, Agent):
                for label, agent in alternative._chain():
                    chain.append((agent.name if agent is alternative else label, agent))
            else:
                twin = self._copy(model=alternative, fallback=())
                chain.append((model_label(alternative) or "model", twin))
        return [
            (label, agent if agent is self else self._stand_in(agent)) for label, agent in chain
        ]

    def _stand_in(self, agent: Agent) -> Agent:
        output = self.output or agent.output
        origin = agent.__dict__.get("_origin", agent)
        return agent._copy(name=self.name, output=output, fallback=(), _origin=origin)

    def _copy(self, **changes: Any) -> Agent:
        twin = Agent.__new__(Agent)
        twin.__dict__.update(self.__dict__)
        twin.__dict__.update(changes)
        return twin

    def _fell(self, error: Exception, tries: _Tries, successor: str | None) -> None:
        """Record a failure a fallback takes over from, or re-raise the final one."""
        if successor is None or isinstance(error, GraphBubbleUp | DefinitionError):
            with suppress(AttributeError):  # read by fan_out's failure record
                error.decisions = list(tries.decisions)  # type: ignore[attr-defined]
            raise error
        tries.decisions.append(
            Decision(
                kind="fallback",
                at=self.name,
                choice=successor,
                reason=f"{type(error).__name__}: {_short(error)}",
                detail={"error": type(error).__name__},
            )
        )

    def _guard(self, what: str, call: Callable[[], T]) -> Callable[[], T]:
        """`call` with this agent's retries and timeout (a journaled call's body)."""
        if self.retry is None and self.timeout is None:
            return call
        label = f"Agent {self.name!r}: the {what} call"
        return partial(call_with_retry, call, self.retry, self.timeout, label, self._retried)

    def _aguard(self, what: str, call: Callable[[], Awaitable[T]]) -> Callable[[], Awaitable[T]]:
        if self.retry is None and self.timeout is None:
            return call
        label = f"Agent {self.name!r}: the {what} call"
        return partial(acall_with_retry, call, self.retry, self.timeout, label, self._retried)

    def _retried(self, attempt: int, delay: float, error: BaseException) -> None:
        tries = _TRIES.get()
        if tries is None:
            return
        tries.attempt = max(tries.attempt, attempt)
        tries.decisions.append(
            Decision(
                kind="retry",
                at=self.name,
                choice=str(attempt),
                reason=f"{type(error).__name__}: {_short(error)}",
                detail={
                    "attempt": attempt,
                    "delay": round(delay, 4),
                    "model": model_label(self.model),
                },
            )
        )

    def _attempt(
        self,
        state: Any,
        config: RunnableConfig | None,
        context: Sequence[tuple[str, Any]] | None,
        kind: str | None,
    ) -> AgentCall:
        started, clock = time.time(), time.perf_counter()
        model = self.model
        if model is not None and not is_chat_model(model):
            func = self._function()
            value = once(
                "function",
                self.name,
                self._guard("function", lambda: func(state)),
                _dump_value,
                json.loads,
            )
            if inspect.isawaitable(value):
                raise DefinitionError(
                    f"Agent {self.name!r} has an async function: run the workflow with "
                    "ainvoke/astream."
                )
            return self._function_call(state, value, started, clock, kind)
        model = self._chat_model() if model is None else model
        messages = self.messages(state, context)
        replies: list[AIMessage] = []
        answer = self._tool_loop(model, messages, replies, config)
        parsed, attempt = self._structured(model, messages, replies, config, answer)
        return self._model_call(state, messages, replies, parsed, attempt, started, clock, kind)

    async def _aattempt(
        self,
        state: Any,
        config: RunnableConfig | None,
        context: Sequence[tuple[str, Any]] | None,
        kind: str | None,
    ) -> AgentCall:
        started, clock = time.time(), time.perf_counter()
        model = self.model
        if model is not None and not is_chat_model(model):
            func = cast("Callable[[Any], Any]", model)  # quoted: not built per call
            call_function: Callable[[], Awaitable[Any]]
            if inspect.iscoroutinefunction(func):
                # Its coroutine itself, not one awaiting it: a frame less on every
                # resume of a call that waits.
                call_function = partial(func, state)
            else:

                async def call_function() -> Any:
                    value = await asyncio.to_thread(func, state)
                    return await value if inspect.isawaitable(value) else value

            value = await aonce(
                "function",
                self.name,
                self._aguard("function", call_function),
                _dump_value,
                json.loads,
            )
            return self._function_call(state, value, started, clock, kind)
        model = self._chat_model() if model is None else model
        messages = self.messages(state, context)
        replies: list[AIMessage] = []
        answer = await self._atool_loop(model, messages, replies, config)
        parsed, attempt = await self._astructured(model, messages, replies, config, answer)
        return self._model_call(state, messages, replies, parsed, attempt, started, clock, kind)

    def _function(self) -> Callable[[Any], Any]:
        model = self.model
        if model is None or is_chat_model(model):
            raise DefinitionError(f"Agent {self.name!r} has no function model")
        return cast("Callable[[Any], Any]", model)

    def _chat_model(self) -> BaseChatModel:
        if self.model is None:
            origin = self.__dict__.get("_origin")
            if origin is not None:  # a stand-in: resolve once, on the agent it copies
                self.model = origin._chat_model()
            else:
                from orchestra.models import default_model

                self.model = default_model()
        assert is_chat_model(self.model)
        return self.model

    def _tool_loop(
        self,
        model: BaseChatModel,
        messages: list[BaseMessage],
        replies: list[AIMessage],
        config: RunnableConfig | None,
    ) -> AIMessage | None:
        """Ask the model, running its tool calls, until it answers without one.

        With an output schema and no tools there is nothing to ask here: the structured
        call is the answer. Tool messages are appended to `messages` in place.
        """
        if self.output is not None and not self.tools:
            return None
        runnable = model.bind_tools(list(self.tools)) if self.tools else model
        for _ in range(self.max_tool_rounds + 1):
            reply = once(
                "model",
                self.name,
                self._guard("model", lambda: _as_ai(runnable.invoke(messages, config))),
                _dump_message,
                _load_ai,
            )
            replies.append(reply)
            if not reply.tool_calls:
                return reply
            messages.extend([reply, *self._run_tools(reply, config)])
        return replies[-1]

    async def _atool_loop(
        self,
        model: BaseChatModel,
        messages: list[BaseMessage],
        replies: list[AIMessage],
        config: RunnableConfig | None,
    ) -> AIMessage | None:
        if self.output is not None and not self.tools:
            return None
        runnable = model.bind_tools(list(self.tools)) if self.tools else model
        for _ in range(self.max_tool_rounds + 1):
            reply = await aonce(
                "model",
                self.name,
                self._aguard("model", lambda: _aask(runnable, messages, config)),
                _dump_message,
                _load_ai,
            )
            replies.append(reply)
            if not reply.tool_calls:
                return reply
            messages.extend([reply, *await self._arun_tools(reply, config)])
        return replies[-1]

    def _run_tools(self, reply: AIMessage, config: RunnableConfig | None) -> list[ToolMessage]:
        results = []
        for call in reply.tool_calls:
            tool = self._tool(call["name"])
            run = partial(tool.invoke, call, config)
            results.append(
                once("tool", tool.name, self._guard("tool", run), _dump_message, _load_tool)
            )
        return results

    async def _arun_tools(
        self, reply: AIMessage, config: RunnableConfig | None
    ) -> list[ToolMessage]:
        results = []
        for call in reply.tool_calls:
            tool = self._tool(call["name"])
            run = partial(tool.ainvoke, call, config)
            results.append(
                await aonce("tool", tool.name, self._aguard("tool", run), _dump_message, _load_tool)
            )
        return results

    def _tool(self, name: str) -> BaseTool:
        for tool in self.tools:
            if tool.name == name:
                return tool
        raise StructuredOutputError(
            f"Agent {self.name!r}: the model called an unknown tool {name!r}; "
            f"declared tools are {[t.name for t in self.tools]}."
        )

    def _structured(
        self,
        model: BaseChatModel,
        messages: list[BaseMessage],
        replies: list[AIMessage],
        config: RunnableConfig | None,
        answer: AIMessage | None,
    ) -> tuple[Any, int]:
        if self.output is None:
            return (answer.text if answer is not None else ""), 1
        runnable = _structured_runnable(model, self.output)
        asked = list(messages)
        for attempt in range(1, self.structured_retries + 2):
            outcome = once(
                "model",
                self.name,
                self._guard("model", partial(runnable.invoke, list(asked), config)),
                _dump_outcome,
                self._load_outcome,
            )
            parsed = self._accept(outcome, replies, asked, attempt)
            if parsed is not None:
                return parsed, attempt
        raise self._invalid(replies)

    async def _astructured(
        self,
        model: BaseChatModel,
        messages: list[BaseMessage],
        replies: list[AIMessage],
        config: RunnableConfig | None,
        answer: AIMessage | None,
    ) -> tuple[Any, int]:
        if self.output is None:
            return (answer.text if answer is not None else ""), 1
        runnable = _structured_runnable(model, self.output)
        asked = list(messages)
        for attempt in range(1, self.structured_retries + 2):
            outcome = await aonce(
                "model",
                self.name,
                self._aguard("model", partial(runnable.ainvoke, list(asked), config)),
                _dump_outcome,
                self._load_outcome,
            )
            parsed = self._accept(outcome, replies, asked, attempt)
            if parsed is not None:
                return parsed, attempt
        raise self._invalid(replies)

    def _load_outcome(self, payload: str) -> dict[str, Any]:
        """A journaled structured answer, parsed again as LangChain's tool parser would."""
        raw = _load_ai(payload)
        if not raw.tool_calls or self.output is None:
            return {"raw": raw, "parsed": None, "parsing_error": "no tool call in the answer"}
        try:
            parsed = self.output.model_validate(raw.tool_calls[0]["args"])
        except ValidationError as error:
            return {"raw": raw, "parsed": None, "parsing_error": error}
        return {"raw": raw, "parsed": parsed, "parsing_error": None}

    def _accept(
        self,
        outcome: dict[str, Any],
        replies: list[AIMessage],
        asked: list[BaseMessage],
        attempt: int,
    ) -> BaseModel | None:
        """Keep a valid structured answer; otherwise queue the error as feedback."""
        raw = _as_ai(outcome["raw"])
        replies.append(raw)
        parsed = outcome.get("parsed")
        if isinstance(parsed, BaseModel):
            return parsed
        error = outcome.get("parsing_error") or "no tool call in the answer"
        asked.append(
            HumanMessage(
                content=f"Your answer (attempt {attempt}) was invalid: {_short(error)}. "
                f"Answer again by calling {self.output.__name__ if self.output else 'the tool'}"
                " with valid arguments."
            )
        )
        return None

    def _invalid(self, replies: list[AIMessage]) -> StructuredOutputError:
        raw = replies[-1]
        answer = raw.tool_calls[0]["args"] if raw.tool_calls else raw.text
        error = StructuredOutputError(
            f"Agent {self.name!r}: the model's answer did not validate against "
            f"{self.output.__name__ if self.output else 'the schema'} after "
            f"{self.structured_retries + 1} attempts; last answer: {_short(answer)}. "
            "Give the agent clearer instructions, a stronger model, or more structured_retries."
        )
        error.answer = answer  # type: ignore[attr-defined]
        error.usage = _usage(replies)  # type: ignore[attr-defined]
        return error

    # -- records --------------------------------------------------------------------

    def _function_call(
        self, state: Any, value: Any, started: float, clock: float, kind: str | None
    ) -> AgentCall:
        parsed = self._validate(value)
        result = function_record(
            new_id(),
            self.name,
            kind or "function",
            _function_label(self.model),
            to_json(parsed),
            started,
            clock,
            state,
        )
        return _agent_call(result, parsed, None)

    def _validate(self, value: Any) -> Any:
        if self.output is None or isinstance(value, self.output):
            return value
        try:
            return self.output.model_validate(value)
        except ValidationError as error:
            raise StructuredOutputError(
                f"Agent {self.name!r}: its function returned {_short(value)}, which does not "
                f"validate against {self.output.__name__}: {_short(error)}"
            ) from error

    def _model_call(
        self,
        state: Any,
        messages: list[BaseMessage],
        replies: list[AIMessage],
        parsed: Any,
        attempt: int,
        started: float,
        clock: float,
        kind: str | None,
    ) -> AgentCall:
        # Every field is made here, of its declared type (the usage from LangChain's validated
        # metadata): validating them again would cost more than the rest of the record keeping.
        result = trusted(
            AgentResult,
            {
                "id": new_id(),
                "agent": self.name,
                "kind": kind or "model",
                "model": model_label(self.model),
                "input": [message_record(m) for m in messages],
                "output": to_json(parsed),
                "usage": _usage(replies),
                "latency_ms": (time.perf_counter() - clock) * 1000,
                "attempt": attempt,
                "started_at": started,
                "item_index": getattr(state, "item_index", None),
                "error": None,
            },
        )
        final = replies[-1] if replies and self.output is None else None
        return _agent_call(result, parsed, final)


def _agent_call(result: AgentResult, parsed: Any, reply: AIMessage | None) -> AgentCall:
    """`AgentCall(result, parsed, reply)`, made as its frozen `__init__` would make it (the
    same `__dict__`) without an `object.__setattr__` per field: half the cost, on every call."""
    call = _new(AgentCall)
    call.__dict__.update(result=result, parsed=parsed, reply=reply, decisions=())
    return call


_new = object.__new__

_NO_USAGE = {"input_tokens": 0, "output_tokens": 0, "total_tokens": 0, "cost": 0.0}


def function_record(
    record: str,
    name: str,
    kind: str,
    label: str,
    output: Any,
    started: float,
    clock: float,
    state: Any,
) -> AgentResult:
    """The record of a function agent's call (`clock`: `perf_counter()` when it began).
    Every field is made of its declared type, as in `Agent._model_call`, so no
    validation is needed."""
    return trusted(
        AgentResult,
        {
            "id": record,
            "agent": name,
            "kind": kind,
            "model": label,
            "input": [],
            "output": output,
            "usage": trusted(Usage, dict(_NO_USAGE)),
            "latency_ms": (time.perf_counter() - clock) * 1000,
            "attempt": 1,
            "started_at": started,
            "item_index": getattr(state, "item_index", None),
            "error": None,
        },
    )


def _function_label(model: Any) -> str:
    """A function model's name for the records (its class name when it has none)."""
    name = getattr(model, "__name__", None)
    return name if isinstance(name, str) else type(model).__name__


_CHAT_TYPES: dict[type, bool] = {}


def is_chat_model(model: Any) -> TypeGuard[BaseChatModel]:
    """Whether `model` is a LangChain chat model, decided once per type.

    `isinstance` against `BaseChatModel` goes through the ABC machinery (about 2K
    instructions); an agent asks on every call, so the answer is kept per class.
    """
    kind = type(model)
    known = _CHAT_TYPES.get(kind)
    if known is None:
        known = _CHAT_TYPES[kind] = isinstance(model, BaseChatModel)
    return known


Fallback: TypeAlias = Agent | BaseChatModel
"""Who answers for an agent that failed: another agent, or a chat model for the same agent."""


def _fallbacks(fallback: Any, name: str) -> tuple[Agent | BaseChatModel, ...]:
    if fallback is None:
        return ()
    chain = (fallback,) if isinstance(fallback, Agent | BaseChatModel) else tuple(fallback)
    for alternative in chain:
        if not isinstance(alternative, Agent | BaseChatModel):
            raise DefinitionError(
                f"Agent {name!r}: a fallback must be an Agent or a LangChain chat model, "
                f"not {type(alternative).__name__}."
            )
    return chain


def _with_tries(call: AgentCall, tries: _Tries) -> AgentCall:
    if not tries.decisions:
        return call
    attempt = max(call.result.attempt, tries.attempt)
    result = call.result.model_copy(update={"attempt": attempt})
    return replace(call, result=result, decisions=(*call.decisions, *tries.decisions))


def _structured_runnable(model: BaseChatModel, schema: type[BaseModel]) -> Any:
    # function_calling works on OpenAI and on llama.cpp's server (where the schema becomes a
    # grammar); include_raw keeps the message, and with it the usage metadata.
    return model.with_structured_output(schema, method="function_calling", include_raw=True)


async def _aask(runnable: Any, messages: list[BaseMessage], config: Any) -> AIMessage:
    return _as_ai(await runnable.ainvoke(messages, config))


def _dump_message(message: BaseMessage) -> str:
    return json.dumps(message_to_dict(message))


def _load_ai(payload: str) -> AIMessage:
    return _as_ai(messages_from_dict([json.loads(payload)])[0])


def _load_tool(payload: str) -> ToolMessage:
    message = messages_from_dict([json.loads(payload)])[0]
    assert isinstance(message, ToolMessage)
    return message


def _dump_outcome(outcome: dict[str, Any]) -> str:
    return _dump_message(outcome["raw"])


def _dump_value(value: Any) -> str:
    """A function's value as journal JSON; text and ints (most values) without the encoder
    object's Python-level dispatch, as the same text."""
    kind = type(value)
    if kind is str:
        return _json_string(value)
    if kind is int:
        return int.__repr__(value)
    return json.dumps(to_json(value))


_json_string: Callable[[str], str] = json.encoder.encode_basestring_ascii
"""What `json.dumps` makes of a `str` (its C encoder)."""


def _as_ai(message: Any) -> AIMessage:
    if isinstance(message, AIMessage):
        return message
    return AIMessage(content=str(getattr(message, "content", message)))


def _usage(replies: Sequence[AIMessage]) -> Usage:
    sent = received = total = 0
    for reply in replies:
        meta = reply.usage_metadata
        if meta:
            sent += meta.get("input_tokens", 0)
            received += meta.get("output_tokens", 0)
            total += meta.get("total_tokens", 0)
    return trusted(
        Usage,
        {"input_tokens": sent, "output_tokens": received, "total_tokens": total, "cost": 0.0},
    )


def _short(value: Any, limit: int = 300) -> str:
    text = render(value) if not isinstance(value, Exception) else str(value)
    text = " ".join(text.split())
    return text if len(text) <= limit else text[:limit] + "…"


def model_label(model: Any) -> str | None:
    """A model's name for the records: its `model_name`/`model`, else its class name."""
    if model is None:
        return None
    for attribute in ("model_name", "model"):
        value = getattr(model, attribute, None)
        if isinstance(value, str):
            return value
    return type(model).__name__


def to_json(value: Any) -> Any:
    """`value` in JSON shape (pydantic models dumped), so records never need pickle."""
    if value is None or isinstance(value, str | int | float | bool):
        return value
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json")
    try:
        return json.loads(json.dumps(value, default=_json_default))
    except (TypeError, ValueError):
        return repr(value)


def _json_default(value: Any) -> Any:
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json")
    raise TypeError(type(value).__name__)


def render(value: Any) -> str:
    """Text for a prompt or a timeline: strings as they are, anything else as JSON."""
    if isinstance(value, str):
        return value
    if type(value) is int:
        return int.__repr__(value)  # what json.dumps makes of it
    if value is None or isinstance(value, int | float):
        # Indenting changes no scalar, and json's indenting encoder is pure Python,
        # building its closures again on every call (a thousand mapped calls a run).
        return json.dumps(value)
    if isinstance(value, BaseModel):
        return value.model_dump_json(indent=1)
    try:
        return json.dumps(value, indent=1, default=_json_default, ensure_ascii=False)
    except (TypeError, ValueError):
        return repr(value)


_PLAIN_MESSAGES = (SystemMessage, HumanMessage)


def message_record(message: BaseMessage) -> dict[str, Any]:
    """A message as a small JSON dict for the results (role, content, tool calls)."""
    content = message.content
    text = content if isinstance(content, str) else message.text
    record: dict[str, Any] = {"role": message.type, "content": text}
    if type(message) in _PLAIN_MESSAGES:  # the prompt's own messages: nothing more to check
        return record
    if isinstance(message, AIMessage) and message.tool_calls:
        record["tool_calls"] = [{"name": c["name"], "args": c["args"]} for c in message.tool_calls]
    if isinstance(message, ToolMessage):
        record["tool_call_id"] = message.tool_call_id
    return record
