"""Graphs from graphs/ with scripted models whose answers depend only on the prompt.

A resumed run starts with fresh models, so a script that counted its calls would answer
differently after a crash; these answer from what they are asked, as a real model would.
"""

from __future__ import annotations

import re
from typing import Any

from langchain_core.messages import BaseMessage

from graphs import diligence, finance, orders
from orchestra import Workflow
from orchestra.models import ScriptedModel

Messages = list[BaseMessage]
Tools = list[dict[str, Any]]


def _schema(tools: Tools) -> str | None:
    return str(tools[0]["function"]["name"]) if tools else None


def _finance(messages: Messages, tools: Tools) -> Any:
    kind = _schema(tools)
    if kind == "Delegation":
        waiting = re.search(r"Teams not reported yet: ([^.]+)\.", messages[-1].text)
        first = waiting.group(1).split(", ")[0] if waiting else "FINISH"
        return {"next": first, "reason": "next team"}
    return {
        "Sentiment": {"tone": "positive", "reason": "Beat estimates."},
        "Valuation": {"view": "fair", "reason": "Fully valued."},
        "Recommendation": {"rating": "hold", "thesis": "Strong, fully valued."},
    }[str(kind)]


def _diligence(messages: Messages, tools: Tools) -> Any:
    if _schema(tools) == "Finding":
        risky = "patent suit" in messages[-1].text
        return {"risk": "high" if risky else "low", "finding": "See the excerpt."}
    return {
        "recommendation": "proceed_with_conditions",
        "key_risks": ["open patent suit"],
        "summary": "Growing fast. Settle the suit first.",
    }


def _orders(messages: Messages, tools: Tools) -> Any:
    return {"risk": "low", "reason": "scripted"}


_BUILDERS = {
    "finance": (finance, _finance),
    "diligence": (diligence, _diligence),
    "orders": (orders, _orders),
}

NAMES = tuple(_BUILDERS)


def build_graph(name: str, latency: float = 0.0) -> tuple[Workflow[Any], str]:
    """The named workflow on a prompt-driven scripted model, and its sample goal."""
    module, respond = _BUILDERS[name]
    return module.build(ScriptedModel(respond=respond, latency=latency)), module.GOAL
