"""``orchestra runs``: every thread in the database, with its workflow and status."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from orchestra.checkpoint import SQLCheckpointer
from orchestra.cli.output import JsonOption, emit, fail
from orchestra.cli.run import DbOption, database_url
from orchestra.errors import OrchestraError
from orchestra.lease import running
from orchestra.loading import load_workflow
from orchestra.runtime import thread_halts, thread_status

__all__ = ["runs_command"]


def runs_command(db: str | None = DbOption, as_json: bool = JsonOption) -> None:
    """List runs, newest first: thread, workflow, status, steps, last update, goal.

    Statuses: running (a live process holds it), waiting (for a human answer), halted (by a
    limit: raise it with `orchestra resume`), failed (an error), interrupted (its process
    died: `orchestra resume` continues it), done.
    """
    try:
        with SQLCheckpointer(database_url(db)) as saver:
            rows = _rows(saver)
    except OrchestraError as error:
        fail(as_json, error)
    if as_json:
        emit(True, {"runs": rows}, "")
        return
    table = Table(show_edge=False)
    for column in ("thread", "graph", "status", "step", "updated", "goal (or why halted)"):
        table.add_column(column, no_wrap=column != "goal (or why halted)")
    colours = {
        "done": "green",
        "running": "cyan",
        "waiting": "yellow",
        "halted": "magenta",
        "failed": "red",
        "interrupted": "red",
    }
    for row in rows:
        colour = colours.get(row["status"], "white")
        table.add_row(
            escape(row["thread_id"]),
            escape(row["graph"] or "?"),
            f"[{colour}]{row['status']}[/]",
            str(row["step"]),
            row["updated"][:19].replace("T", " "),
            escape(row["reason"] or row["goal"][:60]),
        )
    Console(highlight=False).print(table if rows else "no runs in this database yet")


def _rows(saver: SQLCheckpointer) -> list[dict[str, Any]]:
    latest = {
        str(found.config["configurable"]["thread_id"]): found for found in saver.list_threads()
    }
    apps: dict[str, Any] = {}
    live = running(saver)
    rows = []
    for thread_id, found in latest.items():
        spec = (found.metadata or {}).get("orchestra_graph")
        status, reason = (
            ("running", "") if thread_id in live else _status(saver, spec, thread_id, apps)
        )
        rows.append(
            {
                "thread_id": thread_id,
                "graph": spec,
                "status": status,
                "reason": reason,
                "step": (found.metadata or {}).get("step", 0),
                "updated": datetime.fromisoformat(found.checkpoint["ts"]).isoformat(),
                "goal": str(found.checkpoint["channel_values"].get("goal", "")),
            }
        )
    return rows


def _status(
    saver: SQLCheckpointer, spec: Any, thread_id: str, apps: dict[str, Any]
) -> tuple[str, str]:
    """The thread's status and, when halted, why; from its workflow (loaded once per graph);
    unknown without it."""
    if not isinstance(spec, str):
        return "unknown", ""
    if spec not in apps:
        try:
            workflow, _ = load_workflow(spec)
            apps[spec] = workflow.compile(checkpointer=saver)
        except OrchestraError:
            apps[spec] = None
    app = apps[spec]
    if app is None:
        return "unknown", ""
    status = thread_status(app, thread_id)
    if status != "halted":
        return status, ""
    return status, "; ".join(f"{d.at}: {d.reason}" for d in thread_halts(app, thread_id))
