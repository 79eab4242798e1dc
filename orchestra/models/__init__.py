"""Chat models for agents: the one the environment names, or the embedded local model."""

from __future__ import annotations

from orchestra.models.local import (
    DEFAULT_LOCAL_MODEL,
    LocalModelServer,
    LocalServerInfo,
    local_model_unavailable_reason,
    orchestra_home,
)
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
    "chat_model",
    "default_model",
    "local_model",
    "local_model_unavailable_reason",
    "orchestra_home",
    "resolve_endpoint",
]
