"""The path a run took, read from its checkpoints, to draw over a workflow's diagram.

A node was visited when the run's state holds a call or a decision of it; an edge when
both its ends were. The thread's pending tasks mark where it waits, halted or failed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.types import StateSnapshot

from orchestra.diagrams.model import Diagram, DiagramEdge, DiagramNode
from orchestra.runtime import thread_status
from orchestra.state import AgentResult, Decision
from orchestra.timeline import Timeline, read_timeline
from orchestra.workflow import Workflow

__all__ = ["AgentStats", "RunOverlay", "read_overlay"]


@dataclass(frozen=True)
class AgentStats:
    """What one node did in a run: how often it ran, for how long, for how many tokens."""

    visits: int = 0
    seconds: float = 0.0
    tokens: int = 0


@dataclass(frozen=True)
class RunOverlay:
    """A thread's path over a diagram: per-node stats, its status and where it stopped."""

    thread_id: str
    status: str
    timeline: Timeline
    """The thread's calls and decisions, in time order."""
    stats: dict[str, AgentStats] = field(default_factory=dict)
    """Keyed by node name (names are unique in a workflow tree)."""
    stopped_at: frozenset[str] = frozenset()
    """Ids of the nodes the thread would run next when it is not done."""

    def visited(self, node: DiagramNode) -> bool:
        """True when the run went through `node`."""
        if node.kind == "start":
            return bool(self.stats)
        if node.kind == "end":
            return self.status == "done"
        return node.name in self.stats or node.id in self.stopped_at

    def edge_visited(self, diagram: Diagram, edge: DiagramEdge) -> bool:
        """True when the run went through both ends of `edge`."""
        by_id = {n.id: n for n in diagram.nodes}
        return self.visited(by_id[edge.source]) and self.visited(by_id[edge.target])


def read_overlay(
    workflow: Workflow[Any], checkpointer: BaseCheckpointSaver[Any], thread_id: str
) -> RunOverlay:
    """The path `thread_id` took through `workflow`, from `checkpointer`.

    Raises:
        ThreadNotFound: the checkpointer has no such thread.
    """
    timeline = read_timeline(checkpointer, thread_id)
    app = workflow.compile(checkpointer=checkpointer)
    status = thread_status(app, thread_id)
    stopped: frozenset[str] = frozenset()
    if status != "done":
        snapshot = app.get_state({"configurable": {"thread_id": thread_id}}, subgraphs=True)
        stopped = frozenset(_pending(snapshot, ""))
    return RunOverlay(thread_id, status, timeline, _stats(timeline), stopped)


def _stats(timeline: Timeline) -> dict[str, AgentStats]:
    calls: dict[str, AgentStats] = {}
    decided: dict[str, int] = {}
    for entry in timeline.entries:
        if isinstance(entry, Decision):
            decided[entry.at] = decided.get(entry.at, 0) + 1
            continue
        seen = calls.get(entry.agent, AgentStats())
        calls[entry.agent] = AgentStats(
            seen.visits + 1,
            seen.seconds + entry.latency_ms / 1000,
            seen.tokens + _tokens(entry),
        )
    # A decision step (a gate, a tally) leaves decisions, not calls: count those instead.
    for at, count in decided.items():
        calls.setdefault(at, AgentStats(visits=count))
    return calls


def _tokens(result: AgentResult) -> int:
    return result.usage.total_tokens


def _pending(snapshot: StateSnapshot, prefix: str) -> list[str]:
    found: list[str] = []
    for task in snapshot.tasks:
        inner = task.state
        if isinstance(inner, StateSnapshot) and inner.tasks:
            found.extend(_pending(inner, f"{prefix}{task.name}:"))
        else:
            found.append(f"{prefix}{task.name}")
    return found
