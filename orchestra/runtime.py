"""Running a workflow on a thread, reporting each agent's work as it finishes.

`run` streams LangGraph's updates (nested workflows included) and turns them into
`Progress` events, so a command line or a service can show which agent is working, what it
returned and what it cost, while the checkpointer keeps the run resumable.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, Literal

from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.graph.state import CompiledStateGraph
from langgraph.types import Checkpointer, Command, Interrupt, StateSnapshot

from orchestra._guard import LIFTED_KEY, LIMITS_KEY, STARTED_KEY, halt_of
from orchestra.checkpoint.saver import SQLCheckpointer
from orchestra.concurrency import RUN_LIMIT_KEY, positive_limit
from orchestra.errors import OrchestraError, ThreadNotFound, ThreadUnfinished
from orchestra.lease import Lease, held
from orchestra.policy import Limits
from orchestra.state import AgentResult, Decision, Usage
from orchestra.workflow import HANDED_DOWN, Workflow

__all__ = [
    "Answer",
    "Progress",
    "RunOutcome",
    "Status",
    "aresume",
    "arun",
    "resume",
    "run",
    "thread_halts",
    "thread_status",
]

Durability = Literal["sync", "async", "exit"]
Status = Literal["new", "done", "running", "waiting", "halted", "failed", "interrupted"]
"""Where a thread stands: not started; finished; being run by a live process (it holds the
thread's lease); waiting for a human answer; halted by a limit (`orchestra.policy`); stopped
by an error in a step; or stopped part-way because its process died. All but done and
running can be resumed."""
Answer = str | dict[str, Any] | None
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
    status: Status = "done"
    executed: bool = True
    """False when the thread had already finished and nothing ran (idempotent submission)."""
    limits: Limits = field(default_factory=Limits)
    """The limits the run ran under (the workflow's, with the run's overrides)."""

    @property
    def output(self) -> Any:
        return self.state.get("output")

    @property
    def waiting(self) -> bool:
        """True when the run stopped to ask a human (resume it with the answer)."""
        return self.status == "waiting"

    @property
    def usage(self) -> Usage:
        results: Iterable[AgentResult] = self.state.get("results", ())
        return Usage.total(r.usage for r in results if r.kind != "workflow")

    @property
    def halts(self) -> list[Decision]:
        """Why the run halted: one `Decision(kind="limit")` per step a limit stopped."""
        return [d for i in self.interrupts if (d := halt_of(i.value)) is not None]

    @property
    def questions(self) -> list[Interrupt]:
        """The questions waiting for a human answer (the interrupts that are not halts)."""
        return [i for i in self.interrupts if halt_of(i.value) is None]


class _Reporter:
    """Turns streamed updates into `Progress`, reporting each record once.

    A nested workflow's records arrive twice: from inside the subgraph as they happen, then
    in the parent's update when the subgraph ends. Only the first sighting is reported.
    """

    def __init__(self, on_progress: Callable[[Progress], None] | None) -> None:
        self.on_progress = on_progress
        self.seen: set[str] = set()

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
    if isinstance(inputs, dict) and not inputs.keys().isdisjoint(HANDED_DOWN):
        # A top-level graph has no channels for them: they would be dropped unseen.
        given = ", ".join(key for key in HANDED_DOWN if key in inputs)
        raise ValueError(
            f"{given}: only a mapping fan_out sets these, for each branch; a run's input "
            "does not. Pass the items in a field of your own and map over it with "
            "fan_out(member, over=...)"
        )
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
    limits: Limits | None = None,
    lease_seconds: float | None = None,
    max_concurrency: int | None = None,
) -> RunOutcome:
    """Run `target` on a thread until it finishes, waits for a human, or halts at a limit.

    Submitting is idempotent: a goal on a thread that has finished returns the stored
    result and runs nothing; on a thread that started but did not finish, it raises
    `ThreadUnfinished` (continue that one with `resume`).

    Args:
        target: A workflow (compiled here with `checkpointer`) or a compiled graph.
        goal: The goal; merged into `inputs`. Pass neither to continue a thread from
            its last checkpoint (after a crash, say).
        inputs: Other initial state fields, or a LangGraph `Command` to resume with.
        thread_id: The thread to run on (a new one by default).
        checkpointer: Where checkpoints go, when `target` is a workflow (in memory when
            None; a compiled graph must have its own).
        on_progress: Called as each step starts and ends, with the records it added.
        durability: When checkpoints are written; "sync" (before each next step) keeps a
            crashed run resumable from its last finished step.
        metadata: Stored with every checkpoint of the run (e.g. which graph it runs).
        limits: Bounds on the run, overriding the workflow's own field by field; they are
            stored with the thread, so a resume keeps them (`orchestra.policy.Limits`).
        lease_seconds: How long the thread's lease lasts without a heartbeat (default
            `$ORCHESTRA_LEASE_SECONDS`, else 15): after that a killed run shows as
            interrupted. Only with a `SQLCheckpointer`.
        max_concurrency: How many agent calls of this run go at once, nested workflows
            included (`orchestra.concurrency`); also LangGraph's bound on tasks per step.

    Returns:
        The thread id, its status, the final state, and any pending human questions or halts.

    Raises:
        ThreadUnfinished: the thread started earlier and has not finished (use `resume`).
        ThreadBusy: another live process is running the thread.
    """
    app, payload, config = _prepare(target, goal, inputs, thread_id, checkpointer, metadata)
    with Lease(app.checkpointer, _thread(config), lease_seconds):
        if isinstance(payload, dict):
            known = app.get_state(config)
            if _status(known) == "done":
                return _outcome(known, config, executed=False)
            _refuse_unfinished(known, config)
        _concurrency(config, max_concurrency)
        _limit(app, config, limits, starting=isinstance(payload, dict))
        return _stream(app, payload, config, on_progress, durability)


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
    limits: Limits | None = None,
    lease_seconds: float | None = None,
    max_concurrency: int | None = None,
) -> RunOutcome:
    """Async twin of `run` (its lease is renewed by an asyncio task)."""
    app, payload, config = _prepare(target, goal, inputs, thread_id, checkpointer, metadata)
    async with Lease(app.checkpointer, _thread(config), lease_seconds):
        if isinstance(payload, dict):
            known = await app.aget_state(config)
            if _status(known) == "done":
                return _outcome(known, config, executed=False)
            _refuse_unfinished(known, config)
        _concurrency(config, max_concurrency)
        _limit(app, config, limits, starting=isinstance(payload, dict))
        return await _astream(app, payload, config, on_progress, durability)


def resume(
    target: Workflow[Any] | CompiledStateGraph[Any, Any, Any, Any],
    thread_id: str,
    *,
    answer: Answer = None,
    checkpointer: Checkpointer = None,
    on_progress: Callable[[Progress], None] | None = None,
    durability: Durability = "sync",
    limits: Limits | None = None,
    lease_seconds: float | None = None,
    max_concurrency: int | None = None,
) -> RunOutcome:
    """Continue a thread that stopped: after a crash, a halt, or with the answer it waits for.

    A halted thread goes on from the step a limit stopped, once `limits` raise that limit;
    resumed without, it halts again at once (the outcome says which limit to raise). Calls
    already made are replayed from the journal, not made again.

    Args:
        target: The workflow the thread runs (or its compiled graph).
        thread_id: The thread.
        answer: The human's answer when the thread is waiting: text for its one question,
            or `{question id: answer}` when several are pending.
        checkpointer: Where the thread's checkpoints are.
        on_progress: As for `run`.
        durability: As for `run`.
        limits: Limits overriding, field by field, those the thread ran under.
        lease_seconds: As for `run`.
        max_concurrency: As for `run` (not stored with the thread).

    Raises:
        ThreadNotFound: the thread has no checkpoint.
        ThreadBusy: another live process is running the thread.
        OrchestraError: an answer is missing, not needed, or names an unknown question.
    """
    app, _, config = _prepare(target, None, None, thread_id, checkpointer, None)
    with Lease(app.checkpointer, thread_id, lease_seconds):
        known = app.get_state(config)
        if _status(known) == "done":
            return _outcome(known, config, executed=False)
        payload = _continuation(known, config, answer)
        _carry(known, config)
        _concurrency(config, max_concurrency)
        _limit(app, config, limits, starting=False)
        return _stream(app, payload, config, on_progress, durability)


async def aresume(
    target: Workflow[Any] | CompiledStateGraph[Any, Any, Any, Any],
    thread_id: str,
    *,
    answer: Answer = None,
    checkpointer: Checkpointer = None,
    on_progress: Callable[[Progress], None] | None = None,
    durability: Durability = "sync",
    limits: Limits | None = None,
    lease_seconds: float | None = None,
    max_concurrency: int | None = None,
) -> RunOutcome:
    """Async twin of `resume`."""
    app, _, config = _prepare(target, None, None, thread_id, checkpointer, None)
    async with Lease(app.checkpointer, thread_id, lease_seconds):
        known = await app.aget_state(config)
        if _status(known) == "done":
            return _outcome(known, config, executed=False)
        payload = _continuation(known, config, answer)
        _carry(known, config)
        _concurrency(config, max_concurrency)
        _limit(app, config, limits, starting=False)
        return await _astream(app, payload, config, on_progress, durability)


def _stream(
    app: CompiledStateGraph[Any, Any, Any, Any],
    payload: Any,
    config: RunnableConfig,
    on_progress: Callable[[Progress], None] | None,
    durability: Durability,
) -> RunOutcome:
    reporter = _Reporter(on_progress)
    for chunk in app.stream(
        payload, config, stream_mode=_MODES, subgraphs=True, durability=durability
    ):
        reporter.take(chunk)
    return _outcome(app.get_state(config), config)


async def _astream(
    app: CompiledStateGraph[Any, Any, Any, Any],
    payload: Any,
    config: RunnableConfig,
    on_progress: Callable[[Progress], None] | None,
    durability: Durability,
) -> RunOutcome:
    reporter = _Reporter(on_progress)
    async for chunk in app.astream(
        payload, config, stream_mode=_MODES, subgraphs=True, durability=durability
    ):
        reporter.take(chunk)
    return _outcome(await app.aget_state(config), config)


def thread_status(app: CompiledStateGraph[Any, Any, Any, Any], thread_id: str) -> Status:
    """Where `thread_id` stands in `app`'s checkpointer (see `Status`)."""
    saver = app.checkpointer
    if isinstance(saver, SQLCheckpointer) and held(saver.lease_holder(thread_id)):
        return "running"
    return _status(app.get_state({"configurable": {"thread_id": thread_id}}))


def thread_halts(app: CompiledStateGraph[Any, Any, Any, Any], thread_id: str) -> list[Decision]:
    """Why `thread_id` is halted: the `Decision(kind="limit")` of each step a limit stopped."""
    snapshot = app.get_state({"configurable": {"thread_id": thread_id}})
    return [d for i in snapshot.interrupts if (d := halt_of(i.value)) is not None]


def _carried(snapshot: StateSnapshot) -> dict[str, Any]:
    """Orchestra's metadata of a thread (which graph it runs), for its next checkpoints."""
    return {k: v for k, v in (snapshot.metadata or {}).items() if k.startswith("orchestra_")}


def _carry(snapshot: StateSnapshot, config: RunnableConfig) -> None:
    """Continue the thread's metadata, and tell its halted steps their halts are lifted.

    A halted step that now goes on records its halt in the state then (until then, the halt
    is the step's pending interrupt).
    """
    config["metadata"] = {**_carried(snapshot), **config.get("metadata", {})}
    halts = [d for i in snapshot.interrupts if (d := halt_of(i.value)) is not None]
    if halts:
        config["configurable"][LIFTED_KEY] = tuple(halts)


def _concurrency(config: RunnableConfig, limit: int | None) -> None:
    """Bound the run's agent calls (read by `Agent.invoke`) and LangGraph's tasks per step,
    which in a sync run also sizes the thread pool the calls run in."""
    if limit is not None:
        config["configurable"][RUN_LIMIT_KEY] = positive_limit(limit, "max_concurrency")
        config["max_concurrency"] = limit


def _limit(
    app: CompiledStateGraph[Any, Any, Any, Any],
    config: RunnableConfig,
    limits: Limits | None,
    *,
    starting: bool,
) -> None:
    """Put the run's limits (the thread's or workflow's, with `limits` over them) and, for a
    new run, its start time in the config metadata, which every checkpoint stores."""
    metadata = config.setdefault("metadata", {})
    declared = metadata.get(LIMITS_KEY) or (app.config or {}).get("metadata", {}).get(LIMITS_KEY)
    effective = Limits.from_json(declared).merged(limits)
    if not effective.empty:
        metadata[LIMITS_KEY] = effective.to_json()
    if starting:
        metadata.setdefault(STARTED_KEY, time.time())


def _status(snapshot: StateSnapshot) -> Status:
    if snapshot.metadata is None:
        return "new"
    if any(halt_of(i.value) is not None for i in snapshot.interrupts):
        return "halted"
    if snapshot.interrupts:
        return "waiting"
    if any(task.error is not None for task in snapshot.tasks):
        return "failed"
    if snapshot.next:
        return "interrupted"
    return "done"


def _thread(config: RunnableConfig) -> str:
    return str(config["configurable"]["thread_id"])


def _refuse_unfinished(snapshot: StateSnapshot, config: RunnableConfig) -> None:
    status = _status(snapshot)
    if status == "new":
        return
    thread = _thread(config)
    hint = " --answer ..." if status == "waiting" else ""
    raise ThreadUnfinished(
        f"thread {thread!r} has already started and is {status}: continue it with "
        f"`orchestra resume {thread}{hint}`, or start a new run on another thread."
    )


def _continuation(snapshot: StateSnapshot, config: RunnableConfig, answer: Answer) -> Any:
    """What to feed a stopped thread: nothing after a crash, the answer when waiting."""
    thread = _thread(config)
    status = _status(snapshot)
    if status == "new":
        raise ThreadNotFound(f"no thread {thread!r} in this database: check the id and --db.")
    pending = [i for i in snapshot.interrupts if halt_of(i.value) is None]
    if status == "halted" and (answer is None or not pending):
        # Its halted steps run again and check the limits afresh; questions stay pending.
        return _continuation_without_answer(thread, answer)
    if status not in ("waiting", "halted"):
        if answer is not None:
            raise OrchestraError(
                f"thread {thread!r} is not waiting for an answer: resume it without --answer."
            )
        return None
    if answer is None:
        questions = "; ".join(f"[{i.id}] {i.value}" for i in pending)
        raise OrchestraError(
            f"thread {thread!r} is waiting for a human answer ({questions}): run "
            f"`orchestra resume {thread} --answer ...`."
        )
    if isinstance(answer, dict):
        ids = {i.id for i in pending}
        unknown = set(answer) - ids
        if unknown:
            raise OrchestraError(
                f"thread {thread!r} has no pending question {sorted(unknown)}; "
                f"it waits on {sorted(ids)}."
            )
        return Command(resume=answer)
    if len(pending) > 1:
        raise OrchestraError(
            f"thread {thread!r} waits on {len(pending)} questions: answer each by id "
            f"({', '.join(i.id for i in pending)}), e.g. --answer ID=TEXT."
        )
    # Beside a halt, the answer must name its question: a bare one would go to both.
    return Command(resume={pending[0].id: answer} if status == "halted" else answer)


def _continuation_without_answer(thread: str, answer: Answer) -> None:
    if answer is not None:
        raise OrchestraError(
            f"thread {thread!r} is halted by a limit, not waiting for an answer: resume it "
            "without --answer, raising the limit (`orchestra runs` shows which)."
        )


def _outcome(snapshot: StateSnapshot, config: RunnableConfig, executed: bool = True) -> RunOutcome:
    values = snapshot.values if isinstance(snapshot.values, dict) else {}
    limits = (snapshot.metadata or {}).get(LIMITS_KEY)
    return RunOutcome(
        thread_id=_thread(config),
        state=dict(values),
        interrupts=list(snapshot.interrupts),
        status=_status(snapshot),
        executed=executed,
        limits=Limits.from_json(limits if isinstance(limits, str) else None),
    )
