"""Shared fixtures: scripted models and small agents for the pattern specifications."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from langchain_core.messages import BaseMessage

from orchestra import Agent
from orchestra.models import ScriptedModel


def scripted_agent(name: str, *replies: Any, **kwargs: Any) -> Agent:
    """An agent with its own scripted model (so parallel branches never share a script)."""
    return Agent(name, f"You are {name}.", model=ScriptedModel(replies=list(replies)), **kwargs)


def echo(name: str) -> Callable[[list[BaseMessage], list[dict[str, Any]]], str]:
    """A responder answering `name: <number of messages seen>`."""

    def respond(messages: list[BaseMessage], tools: list[dict[str, Any]]) -> str:
        return f"{name} saw {len(messages)} messages"

    return respond


@pytest.fixture
def thread() -> dict[str, Any]:
    """A run config with a fresh thread id."""
    import uuid

    return {"configurable": {"thread_id": uuid.uuid4().hex}}
