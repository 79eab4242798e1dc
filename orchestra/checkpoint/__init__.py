"""The SQL checkpoint saver: durable LangGraph state on SQLite or PostgreSQL."""

from __future__ import annotations

from orchestra.checkpoint.saver import DEFAULT_URL, RetentionResult, SQLCheckpointer

__all__ = ["DEFAULT_URL", "RetentionResult", "SQLCheckpointer"]
