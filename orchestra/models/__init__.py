"""Chat models: resolution from the environment, and an in-process model for tests."""

from __future__ import annotations

from orchestra.models.resolve import default_model
from orchestra.models.scripted import Reply, ScriptedModel

__all__ = ["Reply", "ScriptedModel", "default_model"]
