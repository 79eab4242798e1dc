"""``orchestra show THREAD``: a run's timeline (calls, tokens, time, decisions)."""

from __future__ import annotations

from typing import Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from orchestra.agents import render
from orchestra.checkpoint import SQLCheckpointer
from orchestra.cli.output import JsonOption, emit, fail
from orchestra.cli.run import DbOption, database_url
from orchestra.errors import OrchestraError
from orchestra.fork import history
from orchestra.state import AgentResult, Decision
from orchestra.timeline import Timeline, read_timeline

__all__ = ["show_command"]


def show_command(
    thread: str = typer.Argument(..., help="The thread id `orchestra run` printed."),
    full: bool = typer.Option(False, "--full", help="Print every input and output in full."),
    with_history: bool = typer.Option(
        False, "--history", help="Also list the thread's checkpoints (to fork from)."
    ),
    db: str | None = DbOption,
    as_json: bool = JsonOption,
) -> None:
    """Show a run's timeline: each agent's input, output, tokens and time, and decisions."""
    try:
        with SQLCheckpointer(database_url(db)) as saver:
            timeline = read_timeline(saver, thread)
            checkpoints = history(saver, thread) if with_history else []
    except OrchestraError as error:
        fail(as_json, error)
    if as_json:
        emit(True, {**_as_json(timeline), "checkpoints": checkpoints}, "")
        return
    console = Console(highlight=False)
    console.print(f"[bold]thread {escape(thread)}[/]  goal: {escape(timeline.goal)}")
    console.print(_table(timeline, full))
    usage = timeline.usage
    console.print(
        f"{usage.total_tokens} tokens ({usage.input_tokens} in, {usage.output_tokens} out)"
    )
    console.print(f"[bold]answer:[/] {escape(render(timeline.output))}", soft_wrap=True)
    for entry in checkpoints:
        console.print(f"  checkpoint {entry['checkpoint_id']}  step {entry['step']}  {entry['ts']}")


def _table(timeline: Timeline, full: bool) -> Table:
    table = Table(show_edge=False, expand=False)
    for column in ("at", "who", "what", "tokens", "time"):
        table.add_column(column, no_wrap=column != "what")
    start = min((_start(e) for e in timeline.entries), default=0.0)
    for entry in timeline.entries:
        offset = f"+{_start(entry) - start:.1f}s"
        if isinstance(entry, Decision):
            reason = f": {entry.reason}" if entry.reason else ""
            table.add_row(
                offset,
                f"[cyan]{escape(entry.at)}[/]",
                f"[cyan]{entry.kind} → {escape(str(entry.choice))}[/]{escape(reason)}",
                "",
                "",
            )
            continue
        table.add_row(
            offset,
            escape(entry.agent)
            + ("" if entry.kind in ("model", "function") else f" ({entry.kind})"),
            _what(entry, full),
            str(entry.usage.total_tokens or ""),
            f"{entry.latency_ms / 1000:.1f}s",
        )
    return table


def _what(result: AgentResult, full: bool) -> str:
    output = render(result.output)
    asked = result.input[-1]["content"] if result.input else ""
    if not full:
        output = _clip(output, 120)
        asked = _clip(asked, 80)
    lines = [f"[dim]in:[/] {escape(asked)}"] if asked else []
    if result.error is not None:
        lines.append(
            f"[red]failed: {escape(_clip(result.error, 200) if not full else result.error)}[/]"
        )
    else:
        lines.append(f"out: {escape(output)}")
    return "\n".join(lines)


def _clip(text: str, limit: int) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def _start(entry: AgentResult | Decision) -> float:
    return entry.made_at if isinstance(entry, Decision) else entry.started_at


def _as_json(timeline: Timeline) -> dict[str, Any]:
    return {
        "thread_id": timeline.thread_id,
        "goal": timeline.goal,
        "checkpoint_id": timeline.checkpoint_id,
        "output": timeline.output,
        "usage": timeline.usage.model_dump(),
        "timeline": [
            {"type": "decision" if isinstance(e, Decision) else "call", **e.model_dump(mode="json")}
            for e in timeline.entries
        ],
    }
