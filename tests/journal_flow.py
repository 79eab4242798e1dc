"""A clerk agent with a tool loop, logging every model and tool call to a file.

Used by the journal's crash tests in a child process and in the test itself: both build
the same workflow, so the resumed run replays what the killed one recorded.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

from langchain_core.messages import AIMessage, BaseMessage, ToolMessage
from langchain_core.tools import tool

from orchestra import Agent, Workflow, pipeline
from orchestra.journal import idempotency_key
from orchestra.models import ScriptedModel


def log(line: str) -> None:
    with Path(os.environ["JOURNAL_LOG"]).open("a") as handle:
        handle.write(line + "\n")


@tool
def reserve(sku: str) -> str:
    """Reserve one unit of a SKU in the warehouse."""
    log(f"tool {idempotency_key()}")
    time.sleep(float(os.environ.get("SLOW_TOOL", "0")))
    log("tool done")
    return f"reserved {sku}"


def respond(messages: list[BaseMessage], tools: list[dict[str, Any]]) -> Any:
    if not any(isinstance(m, ToolMessage) for m in messages):
        log("model first")
        return AIMessage(
            content="", tool_calls=[{"name": "reserve", "args": {"sku": "A1"}, "id": "c1"}]
        )
    log("model second")
    time.sleep(float(os.environ.get("SLOW_SECOND_CALL", "0")))
    return "A1 is reserved."


def build() -> Workflow[Any]:
    clerk = Agent("clerk", "Reserve stock.", model=ScriptedModel(respond=respond), tools=[reserve])
    return pipeline(clerk, Agent("notify", model=lambda state: "customer told"))
