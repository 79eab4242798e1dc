"""Running a workflow on a thread, reporting each agent's work as it finishes.

`run` streams LangGraph's updates (nested workflows included) and turns them into
`Progress` events, so a command line or a service can show which agent is working, what it
returned and what it cost, while the checkpointer keeps the run resumable.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, Literal

from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.graph.state import CompiledStateGraph
from langgraph.types import Checkpointer, Command, Interrupt

from orchestra.state import AgentResult, Decision, Usage
from orchestra.workflow import Workflow

__all__ = ["Progress", "RunOutcome", "arun", "run"]

Durability = Literal["sync", "async", "exit"]
_MODES: list[Any] = ["updates", "tasks"]


@dataclass(frozen=True)
class Progress:
    """A step started, or finished with the calls it made and the decisions it took."""

    node: str
    path: tuple[str, ...]
    """Where the node sits: the names of the nested workflows around it, outermost first."""
    results: tuple[AgentResult, ...] = ()
    decisions: tuple[Decision, ...] = ()
    started: bool = False
    """True for the event sent when the step begins (it has no records yet)."""


@dataclass
class RunOutcome:
    """How a run ended: its thread, final state and output, or the questions it waits on."""

    thread_id: str
    state: dict[str, Any]
    interrupts: list[Interrupt] = field(default_factory=list)

    @property
    def output(self) -> Any:
        return self.state.get("output")

    @property
    def waiting(self) -> bool:
        """True when the run stopped to ask a human (resume it with the answer)."""
        return bool(self.interrupts)

    @property
    def usage(self) -> Usage:
        results: Iterable[AgentResult] = self.state.get("results", ())
        return Usage.total(r.usage for r in results if r.kind != "workflow")


class _Reporter:
    """Turns streamed updates into `Progress`, reporting each record once.

    A nested workflow's records arrive twice: from inside the subgraph as they happen, then
    in the parent's update when the subgraph ends. Only the first sighting is reported.
    """

    def __init__(self, on_progress: Callable[[Progress], None] | None) -> None:
        self.on_progress = on_progress
        self.seen: set[str] = set()
        self.interrupts: list[Interrupt] = []

    def take(self, chunk: Any) -> None:
        namespace, mode, data = chunk
        path = tuple(part.split(":", 1)[0] for part in namespace)
        if mode == "tasks":
            # A task event without a result is the start of a step.
            if self.on_progress is not None and "result" not in data:
                self.on_progress(Progress(data["name"], path, started=True))
            return
        updates = data
        if not isinstance(updates, dict):
            return
        for node, update in updates.items():
            if node == "__interrupt__":
                if not path:
                    self.interrupts.extend(update)
                continue
            if not isinstance(update, dict):
                continue
            results = self._fresh(update.get("results", ()))
            decisions = self._fresh(update.get("decisions", ()))
            if self.on_progress is not None and (results or decisions):
                self.on_progress(Progress(node, path, tuple(results), tuple(decisions)))

    def _fresh(self, records: Any) -> list[Any]:
        fresh = []
        for record in records if isinstance(records, list | tuple) else [records]:
            if record.id not in self.seen:
                self.seen.add(record.id)
                fresh.append(record)
        return fresh


def _prepare(
    target: Workflow[Any] | CompiledStateGraph[Any, Any, Any, Any],
    goal: str | None,
    inputs: dict[str, Any] | Command[Any] | None,
    thread_id: str | None,
    checkpointer: Checkpointer,
    metadata: dict[str, Any] | None,
) -> tuple[CompiledStateGraph[Any, Any, Any, Any], Any, RunnableConfig]:
    if isinstance(target, Workflow):
        app = target.compile(checkpointer=checkpointer or InMemorySaver())
    elif target.checkpointer is None:
        raise ValueError("compile the graph with a checkpointer to run it on a thread")
    else:
        app = target
    payload: Any = inputs
    if goal is not None:
        if isinstance(inputs, Command):
            raise ValueError("give either a goal (a new run) or a Command (a resume), not both")
        payload = {**(inputs or {}), "goal": goal}
    # None (no goal, no inputs) continues the thread from its last checkpoint; an empty
    # dict would start a new run on it instead.
    config: RunnableConfig = {"configurable": {"thread_id": thread_id or uuid.uuid4().hex}}
    if metadata:
        config["metadata"] = dict(metadata)
    return app, payload, config


def run(
    target: Workflow[Any] | CompiledStateGraph[Any, Any, Any, Any],
    goal: str | None = None,
    *,
    inputs: dict[str, Any] | Command[Any] | None = None,
    thread_id: str | None = None,
    checkpointer: Checkpointer = None,
    on_progress: Callable[[Progress], None] | None = None,
    durability: Durability = "sync",
    metadata: dict[str, Any] | None = None,
) -> RunOutcome:
    """Run `target` on a thread until it finishes or waits for a human.

    Args:
        target: A workflow (compiled here with `checkpointer`) or a compiled graph.
        goal: The goal; merged into `inputs`. Pass neither to continue a thread from
            its last checkpoint (after a crash, say).
        inputs: Other initial state fields, or a LangGraph `Command` to resume with.
        thread_id: The thread to run on (a new one by default).
        checkpointer: Where checkpoints go, when `target` is a workflow (in memory when
            None; a compiled graph must have its own).
        on_progress: Called after each step with the records it added.
        durability: When checkpoints are written; "sync" (before each next step) keeps a
            crashed run resumable from its last finished step.
        metadata: Stored with every checkpoint of the run (e.g. which graph it runs).

    Returns:
        The thread id, the final state, and any pending human questions.
    """
    app, payload, config = _prepare(target, goal, inputs, thread_id, checkpointer, metadata)
    reporter = _Reporter(on_progress)
    for chunk in app.stream(
        payload, config, stream_mode=_MODES, subgraphs=True, durability=durability
    ):
        reporter.take(chunk)
    return _outcome(app, config, reporter)


async def arun(
    target: Workflow[Any] | CompiledStateGraph[Any, Any, Any, Any],
    goal: str | None = None,
    *,
    inputs: dict[str, Any] | Command[Any] | None = None,
    thread_id: str | None = None,
    checkpointer: Checkpointer = None,
    on_progress: Callable[[Progress], None] | None = None,
    durability: Durability = "sync",
    metadata: dict[str, Any] | None = None,
) -> RunOutcome:
    """Async twin of `run`."""
    app, payload, config = _prepare(target, goal, inputs, thread_id, checkpointer, metadata)
    reporter = _Reporter(on_progress)
    async for chunk in app.astream(
        payload, config, stream_mode=_MODES, subgraphs=True, durability=durability
    ):
        reporter.take(chunk)
    return _outcome(app, config, reporter)


def _outcome(
    app: CompiledStateGraph[Any, Any, Any, Any], config: RunnableConfig, reporter: _Reporter
) -> RunOutcome:
    thread_id = str(config["configurable"]["thread_id"])
    snapshot = app.get_state(config)
    values = snapshot.values if isinstance(snapshot.values, dict) else {}
    return RunOutcome(thread_id=thread_id, state=dict(values), interrupts=reporter.interrupts)
