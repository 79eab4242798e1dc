"""Graphs from graphs/ with scripted models whose answers depend only on the prompt.

A resumed run starts with fresh models, so a script that counted its calls would answer
differently after a crash; these answer from what they are asked, as a real model would.
"""

from __future__ import annotations

import hashlib
import os
import re
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from langchain_core.messages import BaseMessage

from graphs import diligence, finance, orders
from orchestra import Workflow
from orchestra.journal import idempotency_key
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


def _logged(
    respond: Callable[[Messages, Tools], Any], latency: float
) -> Callable[[Messages, Tools], Any]:
    """`respond`, taking `latency` seconds, after logging `<call> <idempotency key>` to
    $CRASH_LOG. The log comes first, so a call killed while it works is logged too.

    A call is named by a digest of what it was asked, so the same call made twice (once
    before a crash, once after) shows up twice under one name.
    """

    def logged(messages: Messages, tools: Tools) -> Any:
        log = os.environ.get("CRASH_LOG")
        if log:
            asked = repr([m.text for m in messages]) + repr([t["function"]["name"] for t in tools])
            digest = hashlib.sha256(asked.encode()).hexdigest()[:16]
            with Path(log).open("a") as handle:
                handle.write(f"{digest} {idempotency_key()}\n")
        time.sleep(latency)
        return respond(messages, tools)

    return logged


def build_graph(name: str, latency: float = 0.0) -> tuple[Workflow[Any], str]:
    """The named workflow on a prompt-driven scripted model, and its sample goal."""
    module, respond = _BUILDERS[name]
    model = ScriptedModel(respond=_logged(respond, latency), keep_calls=False)
    return module.build(model), module.GOAL
