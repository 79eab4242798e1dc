"""A run's timeline, read from its checkpoints: every call and decision, in time order.

It needs only the database, not the workflow's code: the latest checkpoint of a thread holds
the state, and the state holds the records.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from langgraph.checkpoint.base import BaseCheckpointSaver

from orchestra._guard import halt_of
from orchestra.checkpoint.allowlist import state_allowlist
from orchestra.errors import ThreadNotFound
from orchestra.state import AgentResult, Decision, OrchestraState, Usage

__all__ = ["ThreadNotFound", "Timeline", "read_timeline"]

_INTERRUPT = "__interrupt__"
"""The channel of LangGraph's pending interrupts (its constant is private)."""


@dataclass(frozen=True)
class Timeline:
    """What a thread did so far: its goal, its records in time order, and its answer."""

    thread_id: str
    goal: str
    entries: tuple[AgentResult | Decision, ...]
    output: Any
    checkpoint_id: str
    metadata: dict[str, Any]

    @property
    def usage(self) -> Usage:
        return Usage.total(
            e.usage for e in self.entries if isinstance(e, AgentResult) and e.kind != "workflow"
        )


def read_timeline(saver: BaseCheckpointSaver[Any], thread_id: str) -> Timeline:
    """The timeline of `thread_id` from its latest checkpoint.

    Raises:
        ThreadNotFound: the database has no checkpoint for that thread.
    """
    reader = saver.with_allowlist(state_allowlist([OrchestraState]))
    found = reader.get_tuple({"configurable": {"thread_id": thread_id, "checkpoint_ns": ""}})
    if found is None:
        raise ThreadNotFound(
            f"no thread {thread_id!r} in this database: check the thread id and --db."
        )
    values = found.checkpoint["channel_values"]
    results = [_typed(AgentResult, r) for r in values.get("results", [])]
    decisions = [_typed(Decision, d) for d in values.get("decisions", [])]
    # A halted step's decision is its pending interrupt until the run goes on.
    for _, channel, value in found.pending_writes or ():
        if channel == _INTERRUPT and isinstance(value, list | tuple):
            halts = (halt_of(getattr(i, "value", None)) for i in value)
            decisions.extend(d for d in halts if d is not None)
    entries = sorted([*results, *decisions], key=_when)
    return Timeline(
        thread_id=thread_id,
        goal=str(values.get("goal", "")),
        entries=tuple(entries),
        output=values.get("output"),
        checkpoint_id=str(found.checkpoint["id"]),
        metadata=dict(found.metadata or {}),
    )


def _typed(kind: type[Any], record: Any) -> Any:
    return record if isinstance(record, kind) else kind.model_validate(record)


def _when(entry: AgentResult | Decision) -> float:
    # A call is placed where it ended, like the decisions taken after it.
    if isinstance(entry, AgentResult):
        return entry.started_at + entry.latency_ms / 1000
    return entry.made_at
