"""Audit entries from a task's pending writes, taken from the Python values before serialisation.

Records reach the audit through the channels they are written to: `AgentResult`s on
`results`, `Decision`s on `decisions`, LangGraph interrupts on `__interrupt__` and the
answers a task consumed on `__resume__`. Any new kind of decision is audited as it is.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from typing import Any, TypeVar

from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.serde.types import INTERRUPT, RESUME
from pydantic import ValidationError

from orchestra.audit.entry import AuditEntry, canonical_json, digest, entry_from
from orchestra.state import AgentResult, Decision

__all__ = ["AUDITED_CHANNELS", "drafts"]

AUDITED_CHANNELS = frozenset({"results", "decisions", INTERRUPT, RESUME})
"""The channels whose writes become audit entries; a step writing none of them costs nothing."""

# LangGraph's id for writes that belong to no task (a `Command(resume=...)` input). The
# task that consumes that answer writes it again under its own id, which is what counts.
_NULL_TASK_ID = "00000000-0000-0000-0000-000000000000"
_PULL = "~__pregel_pull, "
_NESTED_INPUT = _PULL + "__start__"

_R = TypeVar("_R", AgentResult, Decision)


def drafts(
    config: RunnableConfig, writes: Sequence[tuple[str, Any]], task_id: str, task_path: str
) -> list[AuditEntry]:
    """The audit entries of one task's writes, not yet placed in the chain (seq 0, no hashes).

    A record written twice in one call (a nested workflow hands records back) appears once.
    """
    if not any(channel in AUDITED_CHANNELS for channel, _ in writes):
        return []
    configurable = config["configurable"]
    checkpoint_ns = str(configurable.get("checkpoint_ns", ""))
    if checkpoint_ns and task_path == _NESTED_INPUT:
        # A nested workflow's input is its parent's state: its records were audited
        # when they were made (or, in a fork, belong to the original thread's trail).
        return []
    where = _Where(
        thread_id=str(configurable["thread_id"]),
        checkpoint_ns=checkpoint_ns,
        checkpoint_id=str(configurable.get("checkpoint_id", "")),
        task_id=task_id,
        node=task_path[len(_PULL) :] if task_path.startswith(_PULL) else "",
    )
    found: dict[str, AuditEntry] = {}
    for channel, value in writes:
        for entry in _from_write(where, channel, value):
            found.setdefault(entry.record_id, entry)
    return list(found.values())


class _Where:
    """Where a write was made: the fields every entry of one `put_writes` call shares.

    A plain slotted class: one is made per task's writes, and a frozen dataclass's
    `__init__` sets each field through `object.__setattr__`."""

    __slots__ = ("checkpoint_id", "checkpoint_ns", "node", "task_id", "thread_id")

    def __init__(
        self, *, thread_id: str, checkpoint_ns: str, checkpoint_id: str, task_id: str, node: str
    ) -> None:
        self.thread_id = thread_id
        self.checkpoint_ns = checkpoint_ns
        self.checkpoint_id = checkpoint_id
        self.task_id = task_id
        self.node = node

    def entry(
        self,
        *,
        record_id: str,
        kind: str,
        record_kind: str,
        node: str,
        detail: dict[str, Any],
        recorded_at: float,
        input_digest: str | None = None,
        output_digest: str | None = None,
        choice: str | None = None,
        reason: str = "",
    ) -> AuditEntry:
        return entry_from(
            {
                "thread_id": self.thread_id,
                "seq": 0,
                "record_id": record_id,
                "kind": kind,
                "record_kind": record_kind,
                "node": node,
                "checkpoint_ns": self.checkpoint_ns,
                "checkpoint_id": self.checkpoint_id,
                "task_id": self.task_id,
                "input_digest": input_digest,
                "output_digest": output_digest,
                "choice": choice,
                "reason": reason,
                "detail": canonical_json(detail),
                "recorded_at": recorded_at,
                "prev_hash": "",
                "hash": "",
            }
        )


def _from_write(where: _Where, channel: str, value: Any) -> Iterator[AuditEntry]:
    if channel == "results":
        for result in _records(value, AgentResult):
            yield _result(where, result)
    elif channel == "decisions":
        for decision in _records(value, Decision):
            yield _decision(where, decision)
    elif channel == INTERRUPT:
        for question in value if isinstance(value, list | tuple) else [value]:
            yield _interrupt(where, question)
    elif channel == RESUME and where.task_id != _NULL_TASK_ID:
        # The answers this task has consumed so far, in order: the n-th is the same
        # answer every time the list is written again.
        answers = value if isinstance(value, list) else [value]
        for index, answer in enumerate(answers):
            yield where.entry(
                record_id=f"answer:{where.task_id}:{index}",
                kind="answer",
                record_kind="human",
                node=where.node,
                choice=answer if isinstance(answer, str) else None,
                detail={"answer": answer, "index": index},
                recorded_at=time.time(),
            )


def _records(value: Any, model: type[_R]) -> Iterator[_R]:
    for item in value if isinstance(value, list | tuple) else [value]:
        if isinstance(item, model):
            yield item
        elif isinstance(item, dict):
            try:
                yield model.model_validate(item)
            except ValidationError:
                continue


def _result(where: _Where, result: AgentResult) -> AuditEntry:
    return where.entry(
        record_id=result.id,
        kind="result",
        record_kind=result.kind,
        node=result.agent,
        input_digest=digest(result.input),
        output_digest=digest(result.output),
        detail={
            "model": result.model,
            "usage": result.usage,
            "latency_ms": result.latency_ms,
            "attempt": result.attempt,
            "item_index": result.item_index,
        },
        recorded_at=result.started_at,
    )


def _decision(where: _Where, decision: Decision) -> AuditEntry:
    return where.entry(
        record_id=decision.id,
        kind="decision",
        record_kind=decision.kind,
        node=decision.at,
        choice=decision.choice,
        reason=decision.reason,
        detail={
            "valid": decision.valid,
            "about": decision.about,
            "rejected": decision.rejected,
            "round": decision.round,
            "detail": decision.detail,
        },
        recorded_at=decision.made_at,
    )


def _interrupt(where: _Where, question: Any) -> AuditEntry:
    # LangGraph derives an interrupt's id from its task and position, so the same
    # question surfacing again (from a nested graph's parent, or a replay) is one entry.
    interrupt_id = getattr(question, "id", None) or digest(question)
    return where.entry(
        record_id=f"interrupt:{interrupt_id}",
        kind="interrupt",
        record_kind="escalation",
        node=where.node,
        detail={"question": getattr(question, "value", question)},
        recorded_at=time.time(),
    )
