"""``orchestra report THREAD``: a run's self-contained HTML report, its workflow found for it.

The same page as `orchestra draw GRAPH --thread ID --html`, without having to name the
workflow: the thread remembers the one `orchestra run` started it with.
"""

from __future__ import annotations

from pathlib import Path

import typer

from orchestra.checkpoint import SQLCheckpointer
from orchestra.cli.output import JsonOption, emit, fail
from orchestra.cli.run import DbOption, database_url
from orchestra.diagrams import html_report
from orchestra.errors import OrchestraError
from orchestra.loading import load_workflow
from orchestra.timeline import read_timeline

__all__ = ["report_command"]


def report_command(
    thread: str = typer.Argument(..., help="The thread id `orchestra run` printed."),
    out: Path | None = typer.Option(None, "--out", help="The HTML file (default: THREAD.html)."),
    graph: str | None = typer.Option(
        None, "--graph", help="The workflow (default: the one the thread was started with)."
    ),
    depth: int | None = typer.Option(
        None, "--depth", min=0, help="Draw nested teams to this depth; deeper ones as one node."
    ),
    db: str | None = DbOption,
    as_json: bool = JsonOption,
) -> None:
    """Write one HTML file with a run's diagram, timeline and every agent's input and output."""
    target = out or Path(f"{thread}.html")
    try:
        with SQLCheckpointer(database_url(db)) as saver:
            spec = graph or read_timeline(saver, thread).metadata.get("orchestra_graph")
            if not spec:
                raise OrchestraError(
                    f"thread {thread!r} does not say which workflow it runs: pass --graph."
                )
            workflow, _ = load_workflow(str(spec))
            page = html_report(workflow, thread, saver, depth=depth)
    except OrchestraError as error:
        fail(as_json, error)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(page, encoding="utf-8")
    emit(as_json, {"thread": thread, "graph": spec, "out": str(target)}, f"wrote {target}")
