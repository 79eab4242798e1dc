"""Orchestra: teams of AI agents as durable LangGraph workflows.

Describe who does the work (`Agent`s) and how they cooperate (a pattern); compile the
resulting `Workflow` to a LangGraph graph and run it.
"""

from __future__ import annotations

from orchestra.agents import Agent, AgentCall
from orchestra.patterns import compete, fan_out, pipeline, refine, router, supervisor, vote
from orchestra.policy import Limits, Price
from orchestra.rules import Critique, Tally, Verdict
from orchestra.state import AgentResult, Decision, OrchestraState, Usage
from orchestra.workflow import Workflow

__all__ = [
    "Agent",
    "AgentCall",
    "AgentResult",
    "Critique",
    "Decision",
    "Limits",
    "OrchestraState",
    "Price",
    "Tally",
    "Usage",
    "Verdict",
    "Workflow",
    "compete",
    "fan_out",
    "pipeline",
    "refine",
    "router",
    "supervisor",
    "vote",
]
__version__ = "0.1.0"
