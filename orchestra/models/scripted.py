"""An in-process chat model: the same LangChain code path as a real model, no network.

`ScriptedModel` is a real `BaseChatModel`: it binds tools, answers structured output with a
tool call (as OpenAI-compatible servers do with `method="function_calling"`), reports usage
metadata and can be given a latency or an error to raise, as a failing server would. Tests
use it where the model is not the subject.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import Callable, Sequence
from typing import Any

from langchain_core.callbacks import (
    AsyncCallbackManagerForLLMRun,
    CallbackManagerForLLMRun,
)
from langchain_core.language_models import BaseChatModel, LanguageModelInput
from langchain_core.messages import AIMessage, BaseMessage
from langchain_core.outputs import ChatGeneration, ChatResult
from langchain_core.runnables import Runnable
from langchain_core.utils.function_calling import convert_to_openai_tool
from pydantic import Field, SkipValidation

__all__ = ["Reply", "ScriptedModel", "example_for_schema"]

Reply = str | dict[str, Any] | AIMessage | Exception
"""A scripted answer: text, the arguments of the bound tool (structured output), a message,
or an exception the call raises (e.g. an `openai.RateLimitError`)."""

Responder = Callable[[list[BaseMessage], list[dict[str, Any]]], Reply]


class ScriptedModel(BaseChatModel):
    """A chat model that answers from a script, a function, or a schema-valid default.

    Args:
        replies: Answers given in order, one per call; when they run out, the default
            answer is given. An exception among them is raised by its call.
        respond: A function `(messages, tools) -> Reply` deciding each answer; it wins
            over `replies`.
        model_name: The name recorded in results.
        latency: Seconds each call takes (slept, asynchronously under `ainvoke`).
        keep_calls: Whether to keep every message list received in `calls`.

    Example:
        ```python
        model = ScriptedModel(replies=["a draft", {"label": "billing", "reason": "refund"}])
        ```
    """

    # Not validated: pydantic would try to coerce an exception into a message.
    replies: SkipValidation[list[Reply]] = Field(default_factory=list)
    respond: Responder | None = None
    model_name: str = "scripted"
    latency: float = 0.0
    calls: list[list[BaseMessage]] = Field(default_factory=list)
    """Every message list the model received, in order (for assertions in tests)."""
    keep_calls: bool = True
    """False for long runs (benchmarks): kept calls make every garbage collection slower."""

    @property
    def _llm_type(self) -> str:
        return "orchestra-scripted"

    @property
    def _identifying_params(self) -> dict[str, Any]:
        return {"model_name": self.model_name}

    def bind_tools(
        self,
        tools: Sequence[Any],
        *,
        tool_choice: str | None = None,
        **kwargs: Any,
    ) -> Runnable[LanguageModelInput, AIMessage]:
        formatted = [convert_to_openai_tool(tool) for tool in tools]
        return self.bind(tools=formatted, tool_choice=tool_choice, **kwargs)

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        if self.latency:
            time.sleep(self.latency)
        return self._answer(messages, kwargs)

    async def _agenerate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        if self.latency:
            await asyncio.sleep(self.latency)
        return self._answer(messages, kwargs)

    def _answer(self, messages: list[BaseMessage], kwargs: dict[str, Any]) -> ChatResult:
        if self.keep_calls:
            self.calls.append(list(messages))
        tools: list[dict[str, Any]] = list(kwargs.get("tools") or [])
        if self.respond is not None:
            reply = self.respond(messages, tools)
        elif self.replies:
            reply = self.replies.pop(0)
        else:
            reply = _default_reply(messages, tools, self.model_name)
        if isinstance(reply, Exception):
            raise reply
        message = _to_message(reply, tools)
        message.usage_metadata = _usage(messages, message)
        message.response_metadata = {"model_name": self.model_name}
        return ChatResult(generations=[ChatGeneration(message=message)])


def _to_message(reply: str | dict[str, Any] | AIMessage, tools: list[dict[str, Any]]) -> AIMessage:
    if isinstance(reply, AIMessage):
        return reply.model_copy()
    if isinstance(reply, dict):
        if not tools:
            return AIMessage(content=json.dumps(reply))
        name = tools[0]["function"]["name"]
        call_id = f"call_{uuid.uuid4().hex[:12]}"
        return AIMessage(content="", tool_calls=[{"name": name, "args": reply, "id": call_id}])
    return AIMessage(content=str(reply))


def _default_reply(messages: list[BaseMessage], tools: list[dict[str, Any]], name: str) -> Reply:
    if tools:
        example: dict[str, Any] = example_for_schema(tools[0]["function"].get("parameters", {}))
        return example
    last = messages[-1].text if messages else ""
    first_line = last.strip().splitlines()[0] if last.strip() else ""
    return f"[{name}] {first_line[:120]}"


def _count_tokens(text: str) -> int:
    # A word is close enough to a token for budgets in tests; real models report their own.
    return len(text.split())


def _usage(messages: list[BaseMessage], message: AIMessage) -> Any:
    prompt = sum(_count_tokens(m.text) for m in messages)
    completion = _count_tokens(message.text) + sum(
        _count_tokens(json.dumps(call["args"])) for call in message.tool_calls
    )
    return {
        "input_tokens": prompt,
        "output_tokens": completion,
        "total_tokens": prompt + completion,
    }


def example_for_schema(schema: dict[str, Any], defs: dict[str, Any] | None = None) -> Any:
    """A value that validates against JSON `schema`: first enum value, `true`, `1`, text..."""
    defs = defs if defs is not None else schema.get("$defs", {})
    if "$ref" in schema:
        return example_for_schema(defs[schema["$ref"].rsplit("/", 1)[-1]], defs)
    if "const" in schema:
        return schema["const"]
    if "enum" in schema:
        return schema["enum"][0]
    if "default" in schema:
        return schema["default"]
    for union in ("anyOf", "oneOf", "allOf"):
        if union in schema:
            options = [o for o in schema[union] if o.get("type") != "null"] or schema[union]
            return example_for_schema(options[0], defs)
    kind = schema.get("type", "object")
    if kind == "object":
        properties = schema.get("properties", {})
        return {key: example_for_schema(value, defs) for key, value in properties.items()}
    if kind == "array":
        return []
    examples: dict[str, Any] = {"string": "ok", "boolean": True, "integer": 1, "number": 1.0}
    return examples.get(kind)
