"""Orchestra: teams of AI agents as durable LangGraph workflows."""

from __future__ import annotations

__all__: list[str] = []
__version__ = "0.1.0"
