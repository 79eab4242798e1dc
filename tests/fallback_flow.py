"""A clerk whose model is down, so its fallback agent (with a tool) answers; every call is
logged to a file. Used by the crash test of fallbacks in a child process and in the test."""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

from langchain_core.messages import AIMessage, BaseMessage, ToolMessage
from langchain_core.tools import tool

from orchestra import Agent, Workflow, pipeline
from orchestra.models import ScriptedModel


def log(line: str) -> None:
    with Path(os.environ["JOURNAL_LOG"]).open("a") as handle:
        handle.write(line + "\n")


@tool
def reserve(sku: str) -> str:
    """Reserve one unit of a SKU in the warehouse."""
    log("tool")
    return f"reserved {sku}"


def down(messages: list[BaseMessage], tools: list[dict[str, Any]]) -> Any:
    log("primary")
    return ValueError("the small model is down")


def backup(messages: list[BaseMessage], tools: list[dict[str, Any]]) -> Any:
    if not any(isinstance(m, ToolMessage) for m in messages):
        log("backup first")
        return AIMessage(
            content="", tool_calls=[{"name": "reserve", "args": {"sku": "A1"}, "id": "c1"}]
        )
    log("backup second")
    time.sleep(float(os.environ.get("SLOW_SECOND_CALL", "0")))
    return "A1 is reserved."


def build() -> Workflow[Any]:
    stand_in = Agent(
        "backup", "Reserve stock.", model=ScriptedModel(respond=backup), tools=[reserve]
    )
    clerk = Agent("clerk", "Reserve stock.", model=ScriptedModel(respond=down), fallback=stand_in)
    return pipeline(clerk, Agent("notify", model=lambda state: "customer told"))
