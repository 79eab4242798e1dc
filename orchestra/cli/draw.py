"""``orchestra draw GRAPH``: a workflow's diagram in any format, and the path a run took.

A thin layer over `orchestra.diagrams`: it loads the workflow, opens the database when a
thread is given, and writes or prints what `draw` / `html_report` return.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, cast

import typer
from rich.markup import escape

from orchestra.checkpoint import SQLCheckpointer
from orchestra.cli.output import JsonOption, emit, fail
from orchestra.cli.run import DbOption, database_url
from orchestra.diagrams import FORMATS, Format, draw, html_report
from orchestra.errors import OrchestraError
from orchestra.loading import load_workflow

__all__ = ["draw_command"]


class DrawUsageError(OrchestraError):
    """The options of `orchestra draw` do not fit together."""


def draw_command(
    graph: str = typer.Argument(
        ..., help="A .py file, a module path (graphs.support[:attr]) or a name in graphs/."
    ),
    format: str = typer.Option(
        "mermaid", "--format", "-f", help=f"One of {', '.join(FORMATS)} (svg/png need Graphviz)."
    ),
    out: Path | None = typer.Option(None, "--out", help="Write the diagram to this file."),
    depth: int | None = typer.Option(
        None, "--depth", min=0, help="Draw nested teams to this depth; deeper ones as one node."
    ),
    thread: str | None = typer.Option(
        None, "--thread", help="Overlay the path this run took: visits, time, tokens, status."
    ),
    html: bool = typer.Option(
        False, "--html", help="With --thread: one self-contained HTML report of the run."
    ),
    db: str | None = DbOption,
    as_json: bool = JsonOption,
) -> None:
    """Draw a workflow: agents, routes, checks and nested teams; with --thread, a run's path."""
    try:
        drawn, kind = _drawn(graph, format, depth, thread, html, db)
        if isinstance(drawn, bytes) and out is None:
            raise DrawUsageError(f"{kind} is binary: give --out FILE to write it to.")
        if html and out is None:
            out = Path(f"{thread}.html")
    except OrchestraError as error:
        fail(as_json, error)
    if out is not None:
        out.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(drawn, bytes):
            out.write_bytes(drawn)
        else:
            out.write_text(drawn, encoding="utf-8")
    data: dict[str, Any] = {"graph": graph, "format": kind, "out": str(out or "")}
    data["thread"] = thread
    if isinstance(drawn, str):
        data["diagram"] = drawn
    emit(as_json, data, escape(f"wrote {out}" if out else str(drawn)))


def _drawn(
    graph: str, format: str, depth: int | None, thread: str | None, html: bool, db: str | None
) -> tuple[str | bytes, str]:
    if format not in FORMATS:
        raise DrawUsageError(f"unknown --format {format!r}: use one of {', '.join(FORMATS)}.")
    if html and thread is None:
        raise DrawUsageError("--html reports a run: give its --thread ID too.")
    workflow, _ = load_workflow(graph)
    if thread is None:
        return draw(workflow, cast(Format, format), depth=depth), format
    with SQLCheckpointer(database_url(db)) as saver:
        if html:
            return html_report(workflow, thread, saver, depth=depth), "html"
        drawn = draw(workflow, cast(Format, format), depth=depth, thread=thread, checkpointer=saver)
        return drawn, format
