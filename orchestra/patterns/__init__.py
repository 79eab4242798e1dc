"""The orchestration patterns: each turns members into a `Workflow` (a LangGraph graph)."""

from __future__ import annotations

from orchestra.patterns.compete import compete
from orchestra.patterns.fan_out import fan_out
from orchestra.patterns.pipeline import pipeline, validate
from orchestra.patterns.refine import refine
from orchestra.patterns.router import router
from orchestra.patterns.supervisor import supervisor
from orchestra.patterns.vote import vote

__all__ = ["compete", "fan_out", "pipeline", "refine", "router", "supervisor", "validate", "vote"]
