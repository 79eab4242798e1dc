"""The base workflow state, the records agents leave in it, and the reducers that merge them.

Every field of `OrchestraState` has an explicit reducer, so parallel branches and nested
workflows can write the same field in one step without LangGraph rejecting the update.
Record lists merge by id, which makes merging the same record twice harmless: a nested
workflow hands its whole final state back to its parent, and nothing is counted twice.
"""

from __future__ import annotations

import os
import random
import time
from collections.abc import Iterable, Sequence
from typing import Annotated, Any, TypeVar

from langchain_core.messages import AnyMessage
from langgraph.graph.message import add_messages
from pydantic import BaseModel, ConfigDict, Field, SkipValidation

__all__ = [
    "AgentResult",
    "Decision",
    "OrchestraState",
    "Usage",
    "append_messages",
    "keep_last",
    "merge_records",
]

_T = TypeVar("_T")


def new_id() -> str:
    """A fresh random record id (128 bits, hex).

    Ids need to be unique, not unguessable: a generator of our own, seeded from the OS (and
    again in a forked child), gives that without a system call per record, and a user's
    `random.seed(...)` cannot make it repeat ids.
    """
    return f"{_IDS.getrandbits(128):032x}"


_IDS = random.Random()
os.register_at_fork(after_in_child=_IDS.seed)


class Usage(BaseModel):
    """Tokens and cost of one call, or the sum of several (from LangChain usage metadata)."""

    model_config = ConfigDict(frozen=True)

    input_tokens: int = 0
    output_tokens: int = 0
    total_tokens: int = 0
    cost: float = 0.0

    def __add__(self, other: Usage) -> Usage:
        return Usage(
            input_tokens=self.input_tokens + other.input_tokens,
            output_tokens=self.output_tokens + other.output_tokens,
            total_tokens=self.total_tokens + other.total_tokens,
            cost=self.cost + other.cost,
        )

    @classmethod
    def total(cls, usages: Iterable[Usage]) -> Usage:
        """The sum of `usages`."""
        result = cls()
        for usage in usages:
            result = result + usage
        return result


class AgentResult(BaseModel):
    """What one member (agent or nested workflow) received and returned in one call.

    `output` is JSON-shaped (text, or a structured output dumped to a dict) so that state
    stays safe to checkpoint without pickle.
    """

    model_config = ConfigDict(frozen=True)

    id: str = Field(default_factory=new_id)
    agent: str
    kind: str = "model"
    """`model` (a chat model answered), `function` (a Python callable), `workflow` (a nested
    workflow, summing its members), `control` (a routing or judging call), `human` (a
    person's note, given when a check was escalated), or `error` (a call that failed for
    good)."""
    model: str | None = None
    input: list[dict[str, Any]] = Field(default_factory=list)
    """The messages the model received, as `{"role", "content"}` dicts."""
    output: Any = None
    usage: Usage = Field(default_factory=Usage)
    latency_ms: float = 0.0
    attempt: int = 1
    started_at: float = 0.0
    item_index: int | None = None
    """Position of the item this call worked on, for a member mapped over items."""
    error: str | None = None
    """Why the call failed for good (kind `error`, no output), when a pattern went on
    without it (a fan-out branch)."""


class Decision(BaseModel):
    """A choice the engine made: a route, a delegation, a gate verdict, a judgement, a vote."""

    model_config = ConfigDict(frozen=True)

    id: str = Field(default_factory=new_id)
    kind: str
    """`route`, `delegate`, `gate`, `escalation` (a human's answer), `conflict`, `judge`,
    `vote`, `critique`, `map`, `limit`, `retry`, `fallback` or `partial` (a merge without
    the branches that failed)."""
    at: str
    """The node that decided."""
    choice: str | None = None
    reason: str = ""
    valid: bool = True
    """False when a model's answer was not one of the declared options."""
    about: str | None = None
    """Id of the `AgentResult` this decision judged, so its author can get the feedback."""
    rejected: bool = False
    """True when this decision sent the result it is `about` back for another attempt."""
    round: int = 0
    detail: dict[str, Any] = Field(default_factory=dict)
    made_at: float = Field(default_factory=time.time)
    """When it was taken (seconds since the epoch), to place it in a run's timeline."""


_R = TypeVar("_R", AgentResult, Decision)
_M = TypeVar("_M", bound=BaseModel)


def trusted(cls: type[_M], values: dict[str, Any]) -> _M:
    """An instance of `cls` from `values`, every one of its fields, already of the right types.

    For records the engine builds on every call from values it made itself: validating
    them again costs more than the rest of the record keeping. Pass every field; `values`
    becomes the instance's `__dict__`. The slots are set through their descriptors, which
    costs a third of `object.__setattr__` with keyword arguments.
    """
    if len(values) != len(cls.__pydantic_fields__):
        missing = sorted(cls.__pydantic_fields__.keys() - values.keys())
        raise TypeError(f"trusted({cls.__name__}): give every field; missing {missing}")
    record = _new(cls)
    _set_dict(record, values)
    _set_fields_set(record, set(values))
    _set_extra(record, None)
    _set_private(record, None)
    return record


_new = object.__new__
_set_dict = BaseModel.__dict__["__dict__"].__set__
_set_fields_set = BaseModel.__dict__["__pydantic_fields_set__"].__set__
_set_extra = BaseModel.__dict__["__pydantic_extra__"].__set__
_set_private = BaseModel.__dict__["__pydantic_private__"].__set__


def merge_records(current: Sequence[_R] | None, new: Sequence[_R] | _R | None) -> list[_R]:
    """Append records not already present (by id), keeping order: merging twice is harmless.

    A workflow's record channels fold a whole step's writes at once (`orchestra._fold`);
    this is the same merge for one write.
    """
    base = current if isinstance(current, list) else list(current or [])
    if new is None:
        return list(base)
    incoming = [new] if isinstance(new, AgentResult | Decision) else new
    seen = {record.id for record in base}
    merged = list(base)
    for record in incoming:
        if record.id not in seen:
            seen.add(record.id)
            merged.append(record)
    return merged


def append_messages(current: list[AnyMessage] | None, new: Any) -> list[AnyMessage]:
    """LangGraph's `add_messages`; a workflow's message channel folds a whole step's writes
    at once with the same result (`orchestra._fold`)."""
    merged: list[AnyMessage] = add_messages(list(current or []), new)  # type: ignore[arg-type,assignment]
    return merged


def keep_last(current: _T, new: _T) -> _T:
    """Last write wins (in LangGraph's deterministic task order) when several arrive at once."""
    return new


class OrchestraState(BaseModel):
    """The state every workflow carries. Extend it with your own fields.

    Fields you add that parallel branches may write in the same step need a reducer
    (`Annotated[list[str], operator.add]`); plain fields accept one writer per step.

    Example:
        ```python
        class ReviewState(OrchestraState):
            findings: Annotated[list[str], operator.add] = []
        ```
    """

    goal: Annotated[str, keep_last] = ""
    # The add_messages reducer already turns whatever arrives into messages; validating the
    # whole list again on every node's input would cost more than the node itself.
    messages: Annotated[SkipValidation[list[AnyMessage]], append_messages] = Field(
        default_factory=list
    )
    results: Annotated[list[AgentResult], merge_records] = Field(default_factory=list)
    decisions: Annotated[list[Decision], merge_records] = Field(default_factory=list)
    output: Annotated[Any, keep_last] = None
    """The workflow's answer so far: the output of the last member that finished."""
    item: Annotated[Any, keep_last] = None
    """The item a mapped member works on (set only inside a `fan_out(..., over=...)`; a run's
    input does not set it or `item_index`, see `Workflow.compile`)."""
    item_index: Annotated[int | None, keep_last] = None

    @property
    def visits(self) -> dict[str, int]:
        """How many times each agent or nested workflow has run so far."""
        counts: dict[str, int] = {}
        for result in self.results:
            counts[result.agent] = counts.get(result.agent, 0) + 1
        return counts

    @property
    def usage(self) -> Usage:
        """Tokens and cost of every model call so far (nested workflows included once)."""
        return Usage.total(r.usage for r in self.results if r.kind != "workflow")

    def latest(self, agent: str) -> AgentResult | None:
        """The most recent result of `agent`, or None if it has not run."""
        for result in reversed(self.results):
            if result.agent == agent:
                return result
        return None

    def latest_decision(self, at: str) -> Decision | None:
        """The most recent decision taken at node `at`."""
        for decision in reversed(self.decisions):
            if decision.at == at:
                return decision
        return None

    def feedback_for(self, agent: str) -> str | None:
        """The reason a check rejected `agent`'s latest result, if one did."""
        latest = self.latest(agent)
        if latest is None:
            return None
        for decision in reversed(self.decisions):
            if decision.about == latest.id and decision.rejected:
                return decision.reason or "The previous attempt was rejected."
        return None
