"""Shared fixtures: scripted agents, and a real local model server (llama.cpp)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from orchestra import Agent
from orchestra.models import LocalModelServer, ScriptedModel, local_model_unavailable_reason


def scripted_agent(name: str, *replies: Any, **kwargs: Any) -> Agent:
    """An agent with its own scripted model (so parallel branches never share a script)."""
    return Agent(name, f"You are {name}.", model=ScriptedModel(replies=list(replies)), **kwargs)


@pytest.fixture(scope="session")
def local_model_installed() -> None:
    """Skip when the local model is not installed; fail instead where CI requires it."""
    reason = local_model_unavailable_reason()
    if reason is None:
        return
    if os.environ.get("ORCHESTRA_REQUIRE_LOCAL_MODEL") == "1":
        pytest.fail(f"ORCHESTRA_REQUIRE_LOCAL_MODEL=1 but {reason}", pytrace=False)
    pytest.skip(reason)


@pytest.fixture(scope="session")
def local_server(
    local_model_installed: None, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LocalModelServer]:
    """One real local model server for the session, in its own home; stopped at the end."""
    server = LocalModelServer(home=tmp_path_factory.mktemp("orchestra-home"))
    server.up()
    yield server
    server.down()


@pytest.fixture
def fresh_server(local_model_installed: None, tmp_path: Path) -> Iterator[LocalModelServer]:
    """A server manager with its own empty home; whatever it started is stopped afterwards."""
    server = LocalModelServer(home=tmp_path / "home")
    yield server
    server.down()
