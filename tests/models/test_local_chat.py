"""Chat through LangChain's ChatOpenAI against the real embedded model."""

from __future__ import annotations

from typing import Literal

import pytest
from langchain_core.messages import AIMessage
from pydantic import BaseModel, Field

from orchestra.models import LocalModelServer, default_model, local_model

pytestmark = pytest.mark.local_model

Label = Literal["billing", "technical", "shipping"]


class Triage(BaseModel):
    """Which team handles a customer ticket."""

    label: Label = Field(description="billing, technical or shipping")


def test_plain_chat_answers_with_text_and_usage_metadata(local_server: LocalModelServer) -> None:
    model = local_model(server=local_server, max_tokens=24, notice=False)

    reply = model.invoke("Say hello in one short sentence.")

    assert isinstance(reply, AIMessage)
    assert isinstance(reply.content, str)
    assert reply.content.strip()
    usage = reply.usage_metadata
    assert usage is not None
    assert usage["input_tokens"] > 0
    assert 0 < usage["output_tokens"] <= 24
    assert usage["total_tokens"] == usage["input_tokens"] + usage["output_tokens"]


async def test_async_chat_answers_with_usage_metadata(local_server: LocalModelServer) -> None:
    model = local_model(server=local_server, max_tokens=12, notice=False)

    reply = await model.ainvoke("Name one colour.")

    assert isinstance(reply.content, str)
    assert reply.content.strip()
    assert reply.usage_metadata is not None
    assert 0 < reply.usage_metadata["output_tokens"] <= 12


def test_max_tokens_bounds_the_generation(local_server: LocalModelServer) -> None:
    model = local_model(server=local_server, max_tokens=4, notice=False)

    reply = model.invoke("Write a long essay about the history of ships.")

    assert reply.usage_metadata is not None
    assert reply.usage_metadata["output_tokens"] <= 4
    assert reply.response_metadata["finish_reason"] == "length"


def test_structured_output_returns_only_declared_labels(local_server: LocalModelServer) -> None:
    model = local_model(server=local_server, max_tokens=48, notice=False)
    triage = model.with_structured_output(Triage, method="function_calling", include_raw=True)
    tickets = [
        "I was charged twice for my subscription this month.",
        "The app crashes when I press the save button.",
        "My parcel has not arrived after two weeks.",
        "How do I reset my password?",
        "Can I get a refund for the last invoice?",
    ]

    for ticket in tickets:
        result = triage.invoke(f"Classify this customer ticket: {ticket}")
        assert isinstance(result, dict)
        assert result["parsing_error"] is None, result["raw"]
        assert isinstance(result["parsed"], Triage)
        assert result["parsed"].label in {"billing", "technical", "shipping"}


def test_default_model_without_configuration_uses_the_local_server_and_says_so(
    local_server: LocalModelServer,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    for name in ("OPENAI_API_KEY", "OPENAI_BASE_URL", "ORCHESTRA_MODEL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("ORCHESTRA_HOME", str(local_server.home))
    running = local_server.status()
    assert running is not None

    reply = default_model(max_tokens=8).invoke("Say hi.")
    default_model(max_tokens=8)

    notice = capsys.readouterr().err
    assert notice.count("\n") == 1, "expected one notice line, once per process"
    assert running.model in notice
    assert running.base_url in notice
    assert reply.usage_metadata is not None
    assert local_server.status() == running, "a second server was started"


def test_openai_base_url_sends_requests_to_that_server(
    local_server: LocalModelServer,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    running = local_server.status()
    assert running is not None
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    monkeypatch.setenv("OPENAI_BASE_URL", running.base_url)
    monkeypatch.setenv("ORCHESTRA_MODEL", running.model)
    # An empty home: if resolution fell back to the local model, it would start one here.
    monkeypatch.setenv("ORCHESTRA_HOME", str(local_server.home / "unused"))

    reply = default_model(max_tokens=8).invoke("Say hi.")

    assert reply.usage_metadata is not None
    assert reply.usage_metadata["output_tokens"] <= 8
    assert capsys.readouterr().err == ""
    assert not (local_server.home / "unused" / "local-model.json").exists()
