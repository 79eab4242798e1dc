"""Errors raised by Orchestra; each message says what to do next."""

from __future__ import annotations

__all__ = [
    "LocalModelNotInstalledError",
    "LocalModelStartError",
    "ModelConfigError",
    "OrchestraError",
]


class OrchestraError(Exception):
    """Base class of every error Orchestra raises on purpose."""


class ModelConfigError(OrchestraError):
    """The environment names a model that cannot be reached as configured."""


class LocalModelNotInstalledError(OrchestraError):
    """The embedded local model (llama.cpp server or packaged weights) is not installed."""


class LocalModelStartError(OrchestraError):
    """The embedded local model server did not start or did not become ready."""
