"""Chat models for agents: the one the environment names, the embedded local model, and
an in-process model for tests.

Names from `resolve` load on first use: they import LangChain and the OpenAI
client (seconds), which `orchestra model status` and friends do not need.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

from orchestra.models.local import (
    DEFAULT_LOCAL_MODEL,
    LocalModelServer,
    LocalServerInfo,
    local_model_unavailable_reason,
    orchestra_home,
)
from orchestra.models.scripted import Reply, ScriptedModel

if TYPE_CHECKING:
    from orchestra.models.resolve import (
        ModelEndpoint,
        chat_model,
        default_model,
        local_model,
        resolve_endpoint,
    )

__all__ = [
    "DEFAULT_LOCAL_MODEL",
    "LocalModelServer",
    "LocalServerInfo",
    "ModelEndpoint",
    "Reply",
    "ScriptedModel",
    "chat_model",
    "default_model",
    "local_model",
    "local_model_unavailable_reason",
    "orchestra_home",
    "resolve_endpoint",
]

# Public name -> module that defines it, imported when the name is first used.
_LAZY = {
    "ModelEndpoint": "orchestra.models.resolve",
    "chat_model": "orchestra.models.resolve",
    "default_model": "orchestra.models.resolve",
    "local_model": "orchestra.models.resolve",
    "resolve_endpoint": "orchestra.models.resolve",
}


def __getattr__(name: str) -> object:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)
