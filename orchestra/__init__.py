"""Orchestra: teams of AI agents as durable LangGraph workflows.

Describe who does the work (`Agent`s) and how they cooperate (a pattern); compile the
resulting `Workflow` to a LangGraph graph and run it.
"""

from __future__ import annotations

from orchestra.agents import Agent, AgentCall, Fallback
from orchestra.concurrency import process_limit, set_process_limit
from orchestra.patterns import (
    compete,
    fan_out,
    pipeline,
    refine,
    router,
    supervisor,
    validate,
    vote,
)
from orchestra.policy import Limits, Price
from orchestra.recovery import RetryPolicy, is_transient
from orchestra.rules import (
    Check,
    Conflict,
    Critique,
    Escalate,
    EscalateModel,
    Reroute,
    Retry,
    Tally,
    Verdict,
)
from orchestra.state import AgentResult, Decision, OrchestraState, Usage
from orchestra.workflow import Workflow

__all__ = [
    "Agent",
    "AgentCall",
    "AgentResult",
    "Check",
    "Conflict",
    "Critique",
    "Decision",
    "Escalate",
    "EscalateModel",
    "Fallback",
    "Limits",
    "OrchestraState",
    "Price",
    "Reroute",
    "Retry",
    "RetryPolicy",
    "Tally",
    "Usage",
    "Verdict",
    "Workflow",
    "compete",
    "fan_out",
    "is_transient",
    "pipeline",
    "process_limit",
    "refine",
    "router",
    "set_process_limit",
    "supervisor",
    "validate",
    "vote",
]
__version__ = "0.1.0"
