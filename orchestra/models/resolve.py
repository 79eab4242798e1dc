"""Which chat model Orchestra talks to, chosen from the environment.

``OPENAI_API_KEY``, ``OPENAI_BASE_URL`` or ``ORCHESTRA_MODEL`` set: a `ChatOpenAI`
configured from them (OpenAI, or any OpenAI-compatible server). None set, or
``ORCHESTRA_MODEL=local``: the embedded local model, started on demand, with a
one-line notice on stderr (once per process) saying which model is serving.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from langchain_openai import ChatOpenAI

from orchestra.errors import ModelConfigError
from orchestra.models.local import LocalModelServer

__all__ = [
    "DEFAULT_OPENAI_MODEL",
    "ModelEndpoint",
    "chat_model",
    "default_model",
    "local_model",
    "resolve_endpoint",
]

DEFAULT_OPENAI_MODEL = "gpt-4o-mini"
"""The model used with ``OPENAI_API_KEY`` when ``ORCHESTRA_MODEL`` does not name one."""

_LOCAL = "local"
# Servers already announced on stderr by this process: a workflow builds one
# model per agent, and the notice is worth reading once.
_ANNOUNCED: set[tuple[int, str]] = set()
# OpenAI-compatible servers other than OpenAI mostly ignore the newer
# `max_completion_tokens`; llama.cpp does, and would generate until the context is full.
_LEGACY_MAX_TOKENS_SOURCES = ("openai-compatible", "local")


@dataclass(frozen=True)
class ModelEndpoint:
    """Where chat requests go.

    Attributes:
        source: ``openai`` (api.openai.com), ``openai-compatible`` (``OPENAI_BASE_URL``)
            or ``local`` (the embedded llama.cpp server).
        model: Model name sent with each request.
        base_url: API root, None for OpenAI's default.
        api_key: Key sent with each request (a placeholder where none is needed).
    """

    source: Literal["openai", "openai-compatible", "local"]
    model: str
    base_url: str | None
    api_key: str


def resolve_endpoint(
    env: Mapping[str, str] | None = None,
    *,
    server: LocalModelServer | None = None,
    notice: bool = True,
) -> ModelEndpoint:
    """Pick the model endpoint from the environment, starting the local server if needed.

    Args:
        env: Variables to read (default: ``os.environ``).
        server: The local server to use when none is configured (default: a
            `LocalModelServer` in the Orchestra home).
        notice: Print the one-line "which model is serving" notice on stderr
            when the local model is used.

    Raises:
        ModelConfigError: ``ORCHESTRA_MODEL`` names a model but nothing says where it is.
        LocalModelNotInstalledError: the local model is needed but not installed.
        LocalModelStartError: the local model server did not start.
    """
    env = os.environ if env is None else env
    api_key = env.get("OPENAI_API_KEY") or None
    base_url = env.get("OPENAI_BASE_URL") or None
    model = env.get("ORCHESTRA_MODEL") or None
    if model == _LOCAL or not (api_key or base_url or model):
        return _local_endpoint(server or LocalModelServer(), notice)
    if base_url:
        if model is None:
            raise ModelConfigError(
                f"OPENAI_BASE_URL={base_url} is set but ORCHESTRA_MODEL is not: set "
                "ORCHESTRA_MODEL to a model that server serves (its /models lists them)"
            )
        # Many compatible servers need no key, but the client insists on one.
        return ModelEndpoint("openai-compatible", model, base_url, api_key or "unused")
    if api_key is None:
        raise ModelConfigError(
            f"ORCHESTRA_MODEL={model} is set but neither OPENAI_API_KEY nor OPENAI_BASE_URL: "
            "set OPENAI_API_KEY for OpenAI, OPENAI_BASE_URL for another server, or "
            "ORCHESTRA_MODEL=local for the embedded model"
        )
    return ModelEndpoint("openai", model or DEFAULT_OPENAI_MODEL, None, api_key)


def chat_model(
    endpoint: ModelEndpoint,
    *,
    max_tokens: int | None = 512,
    temperature: float | None = None,
    timeout: float | None = 120.0,
    **kwargs: Any,
) -> ChatOpenAI:
    """A `ChatOpenAI` for ``endpoint`` whose generations stop after ``max_tokens``.

    Args:
        endpoint: Where requests go (see `resolve_endpoint`).
        max_tokens: Upper bound on generated tokens per call; None for the server's default.
        temperature: Sampling temperature; None for the server's default.
        timeout: Seconds before a request is abandoned.
        **kwargs: Passed on to `ChatOpenAI` unchanged.
    """
    options: dict[str, Any] = dict(kwargs)
    if max_tokens is not None:
        if endpoint.source in _LEGACY_MAX_TOKENS_SOURCES:
            extra_body = dict(options.pop("extra_body", None) or {})
            extra_body.setdefault("max_tokens", max_tokens)
            options["extra_body"] = extra_body
        else:
            options["max_tokens"] = max_tokens
    if temperature is not None:
        options["temperature"] = temperature
    if endpoint.base_url is not None:
        options["base_url"] = endpoint.base_url
    return ChatOpenAI(model=endpoint.model, api_key=endpoint.api_key, timeout=timeout, **options)


def default_model(
    *,
    max_tokens: int | None = 512,
    temperature: float | None = None,
    timeout: float | None = 120.0,
    **kwargs: Any,
) -> ChatOpenAI:
    """The chat model the environment asks for; the embedded local model by default.

    Args:
        max_tokens: Upper bound on generated tokens per call.
        temperature: Sampling temperature; None for the server's default.
        timeout: Seconds before a request is abandoned.
        **kwargs: Passed on to `ChatOpenAI`.

    Raises:
        ModelConfigError, LocalModelNotInstalledError, LocalModelStartError: see
        `resolve_endpoint`; each message says what to do.

    Example:
        >>> model = default_model(max_tokens=64)
        >>> model.invoke("Say hello.").content
    """
    return chat_model(
        resolve_endpoint(), max_tokens=max_tokens, temperature=temperature, timeout=timeout,
        **kwargs,
    )  # fmt: skip


def local_model(
    *,
    max_tokens: int | None = 512,
    temperature: float | None = None,
    timeout: float | None = 120.0,
    server: LocalModelServer | None = None,
    notice: bool = True,
    **kwargs: Any,
) -> ChatOpenAI:
    """The embedded local model whatever the environment says (for tests and demos).

    Args:
        max_tokens: Upper bound on generated tokens per call.
        temperature: Sampling temperature; None for the server's default.
        timeout: Seconds before a request is abandoned.
        server: The server to use (default: one in the Orchestra home), started if needed.
        notice: Print the "which model is serving" line on stderr.
        **kwargs: Passed on to `ChatOpenAI`.
    """
    endpoint = _local_endpoint(server or LocalModelServer(), notice)
    return chat_model(
        endpoint, max_tokens=max_tokens, temperature=temperature, timeout=timeout, **kwargs
    )


def _local_endpoint(server: LocalModelServer, notice: bool) -> ModelEndpoint:
    info = server.up()
    if notice and (info.pid, info.base_url) not in _ANNOUNCED:
        _ANNOUNCED.add((info.pid, info.base_url))
        print(
            f"orchestra: using the local model {info.model} at {info.base_url} "
            f"(pid {info.pid}; stop it with `orchestra model down`; set OPENAI_API_KEY "
            "or OPENAI_BASE_URL to use another model)",
            file=sys.stderr,
        )
    return ModelEndpoint("local", info.model, info.base_url, "local")
