"""``orchestra run GRAPH``: run a workflow on a durable thread, showing each step."""

from __future__ import annotations

import os
import uuid
from typing import Any

import typer
from rich.console import Console
from rich.markup import escape

from orchestra.agents import render
from orchestra.checkpoint import SQLCheckpointer
from orchestra.cli.limits import (
    DeadlineOption,
    MaxCostOption,
    MaxStepsOption,
    MaxTokensOption,
    MaxVisitsOption,
    limits_from_options,
)
from orchestra.cli.output import JsonOption, emit, fail
from orchestra.errors import OrchestraError
from orchestra.loading import load_workflow
from orchestra.runtime import Progress, RunOutcome, run

__all__ = ["DEFAULT_DB", "DbOption", "Narrator", "database_url", "report", "run_command"]

DEFAULT_DB = "sqlite:///checkpoints/orchestra.db"

DbOption = typer.Option(
    None, "--db", help="Database URL (default: $ORCHESTRA_DB, else " + DEFAULT_DB + ")."
)


def database_url(db: str | None) -> str:
    """The database a command uses: `--db`, else `$ORCHESTRA_DB`, else the embedded file."""
    return db or os.environ.get("ORCHESTRA_DB") or DEFAULT_DB


class Narrator:
    """Prints each step to stderr as it starts and ends, with a spinner while it works."""

    def __init__(self, console: Console) -> None:
        self.console = console
        self.status = console.status("starting…")
        self.done = 0

    def __call__(self, event: Progress) -> None:
        where = "/".join((*event.path, event.node))
        if event.started:
            self.status.update(f"[bold]{escape(where)}[/] working… ({self.done} steps done)")
            return
        self.done += 1
        for result in event.results:
            tokens = f"{result.usage.total_tokens} tok" if result.usage.total_tokens else ""
            preview = " ".join(render(result.output).split())[:70]
            self.console.print(
                f"  [green]✓[/] {escape(where):<28} {tokens:>9} {result.latency_ms / 1000:6.1f}s"
                f"  [dim]{escape(preview)}[/]",
                no_wrap=True,
                overflow="ellipsis",
            )
        for decision in event.decisions:
            reason = f": {decision.reason}" if decision.reason else ""
            self.console.print(
                f"  [cyan]↳[/] {decision.kind} at {escape(decision.at)} → "
                f"[bold]{escape(str(decision.choice))}[/]{escape(reason[:90])}",
                no_wrap=True,
                overflow="ellipsis",
            )


def run_command(
    graph: str = typer.Argument(
        ..., help="A .py file, a module path (graphs.support[:attr]) or a name in graphs/."
    ),
    goal: str | None = typer.Option(
        None, "--goal", help="What the team should achieve (default: the module's GOAL)."
    ),
    thread: str | None = typer.Option(None, "--thread", help="Thread id (default: a new one)."),
    db: str | None = DbOption,
    as_json: bool = JsonOption,
    max_visits: list[str] = MaxVisitsOption,
    max_steps: int | None = MaxStepsOption,
    max_tokens: int | None = MaxTokensOption,
    max_cost: float | None = MaxCostOption,
    deadline: str | None = DeadlineOption,
) -> None:
    """Run a workflow on a durable thread, showing each agent's work as it finishes.

    A limit (--max-visits, --max-steps, --max-tokens, --max-cost, --deadline) stops the run
    as halted; `orchestra resume` with the limit raised continues it.
    """
    console = Console(stderr=True, highlight=False)
    try:
        workflow, module = load_workflow(graph)
        goal = goal or getattr(module, "GOAL", None)
        if not goal:
            raise OrchestraError(f"{graph} has no GOAL: pass --goal 'what the team should do'.")
        limits = limits_from_options(max_visits, max_steps, max_tokens, max_cost, deadline)
        thread_id = thread or f"run-{uuid.uuid4().hex[:8]}"
        url = database_url(db)
        narrator = Narrator(console)
        if not as_json:
            console.print(
                f"[bold]{escape(workflow.name)}[/] ({workflow.pattern}) on thread "
                f"[bold]{thread_id}[/]\n  goal: {escape(goal)}",
                soft_wrap=True,
            )
        with SQLCheckpointer(url) as checkpointer, narrator.status:
            outcome = run(
                workflow,
                goal,
                thread_id=thread_id,
                checkpointer=checkpointer,
                on_progress=None if as_json else narrator,
                metadata={"orchestra_graph": graph},
                limits=limits,
            )
    except OrchestraError as error:
        fail(as_json, error)
    report(outcome, url, as_json)
    if not as_json:
        db_flag = f" --db {url}" if db else ""
        console.print(
            f"  timeline: orchestra show {outcome.thread_id}{db_flag}\n"
            f"  diagram:  orchestra draw {graph}",
            highlight=False,
        )


_HALT_FIELDS = ("limit", "used", "allowed", "option")


def report(outcome: RunOutcome, url: str, as_json: bool) -> None:
    """Print how a run ended: its answer, or the questions it waits on."""
    usage = outcome.usage
    data: dict[str, Any] = {
        "thread_id": outcome.thread_id,
        "status": outcome.status,
        "executed": outcome.executed,
        "output": outcome.output,
        "usage": usage.model_dump(),
        "questions": [{"id": i.id, "value": i.value} for i in outcome.questions],
        "halts": [
            {"agent": d.at, "reason": d.reason, **{k: d.detail.get(k) for k in _HALT_FIELDS}}
            for d in outcome.halts
        ],
        "limits": outcome.limits.describe(),
        "db": url,
    }
    if outcome.status == "halted":
        reasons = "\n".join(f"  ! {escape(d.at)}: {escape(d.reason)}" for d in outcome.halts)
        text = f"[red]halted[/] by a limit on thread {outcome.thread_id}:\n{reasons}"
    elif outcome.waiting:
        questions = "\n".join(f"  ? {escape(render(i.value))}" for i in outcome.interrupts)
        text = (
            f"[yellow]waiting[/] for a human answer on thread {outcome.thread_id}:\n{questions}"
            f"\nanswer with: orchestra resume {outcome.thread_id} --answer ..."
        )
    else:
        text = (
            f"{escape(render(outcome.output))}\n\n[dim]thread {outcome.thread_id} done"
            f"{'' if outcome.executed else ' earlier (nothing ran now)'}: "
            f"{usage.total_tokens} tokens; stored in {escape(url)}[/]"
        )
    emit(as_json, data, text)
