"""``orchestra audit verify|show THREAD``: check and list a run's hash-chained audit trail."""

from __future__ import annotations

import datetime
from collections.abc import Callable
from typing import TypeVar

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from orchestra.audit import AuditEntry, AuditReport, entries, verify
from orchestra.checkpoint import SQLCheckpointer
from orchestra.cli.output import JsonOption, emit, fail
from orchestra.cli.run import DbOption, database_url
from orchestra.errors import OrchestraError

__all__ = ["audit_app"]

T = TypeVar("T")

audit_app = typer.Typer(
    help="The tamper-evident audit trail of a run: every call, decision and human answer.",
    no_args_is_help=True,
)

ThreadArgument = typer.Argument(..., help="The thread id `orchestra run` printed.")


@audit_app.command("verify")
def verify_command(
    thread: str = ThreadArgument,
    db: str | None = DbOption,
    as_json: bool = JsonOption,
) -> None:
    """Check a run's hash chain; exit 1 naming each entry edited, removed or reordered."""
    report = _read(db, as_json, lambda saver: verify(saver, thread))
    emit(as_json, report.as_dict(), _verdict(report))
    if not report.ok:
        raise typer.Exit(1)


@audit_app.command("show")
def show_command(
    thread: str = ThreadArgument,
    db: str | None = DbOption,
    as_json: bool = JsonOption,
) -> None:
    """List a run's audit entries in chain order (as stored: `verify` checks them)."""
    trail = _read(db, as_json, lambda saver: entries(saver, thread))
    if as_json:
        emit(True, {"thread_id": thread, "entries": [e.as_dict() for e in trail]}, "")
        return
    table = Table(show_edge=False, expand=False)
    for column in ("seq", "time", "node", "what", "hash"):
        table.add_column(
            column, no_wrap=column != "what", min_width=24 if column == "what" else None
        )
    for entry in trail:
        table.add_row(
            str(entry.seq),
            _time(entry.recorded_at),
            escape(entry.node),
            escape(_what(entry)),
            entry.hash[:8],
        )
    Console(highlight=False).print(table)


def _read(db: str | None, as_json: bool, read: Callable[[SQLCheckpointer], T]) -> T:
    """What `read` finds in the database, or the command fails with the reason."""
    try:
        with SQLCheckpointer(database_url(db)) as saver:
            return read(saver)
    except OrchestraError as error:
        fail(as_json, error)


def _verdict(report: AuditReport) -> str:
    head = f"; head #{report.head.seq} {report.head.hash}" if report.head else ""
    if report.ok:
        return (
            f"[green]intact[/]: the audit trail of thread {escape(report.thread_id)} has "
            f"{report.entries} entries{head}"
        )
    lines = [
        f"[bold red]tampered[/]: the audit trail of thread {escape(report.thread_id)} "
        f"({report.entries} entries{head}) was changed:"
    ]
    lines += [f"  entry {p.seq}: {p.problem}: {escape(p.message)}" for p in report.problems]
    return "\n".join(lines)


def _what(entry: AuditEntry) -> str:
    if entry.kind == "result":
        return (
            f"{entry.record_kind} call: in {str(entry.input_digest)[:8]}, "
            f"out {str(entry.output_digest)[:8]}"
        )
    if entry.kind == "interrupt":
        question = entry.details.get("question")
        if isinstance(question, dict):
            question = question.get("question", question)
        return f"asked a human: {question}"
    if entry.kind == "answer":
        return f"human answered: {entry.details.get('answer')}"
    reason = f": {entry.reason}" if entry.reason else ""
    return f"{entry.record_kind} → {entry.choice}{reason}"


def _time(seconds: float) -> str:
    stamp = datetime.datetime.fromtimestamp(seconds, tz=datetime.UTC)
    return stamp.strftime("%H:%M:%S.%f")[:-3]
