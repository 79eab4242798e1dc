"""``orchestra draw GRAPH``: a workflow's diagram as Mermaid, nested teams as subgraphs."""

from __future__ import annotations

from pathlib import Path

import typer

from orchestra.cli.output import JsonOption, emit, fail
from orchestra.errors import OrchestraError
from orchestra.loading import load_workflow

__all__ = ["draw_command"]


def draw_command(
    graph: str = typer.Argument(
        ..., help="A .py file, a module path (graphs.support[:attr]) or a name in graphs/."
    ),
    out: Path | None = typer.Option(None, "--out", help="Write the diagram to this file."),
    as_json: bool = JsonOption,
) -> None:
    """Print a workflow's diagram in Mermaid (nested workflows drawn as subgraphs)."""
    try:
        workflow, _ = load_workflow(graph)
    except OrchestraError as error:
        fail(as_json, error)
    mermaid = workflow.compile().get_graph(xray=True).draw_mermaid()
    if out is not None:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(mermaid)
    data = {"graph": workflow.name, "format": "mermaid", "diagram": mermaid, "out": str(out or "")}
    emit(as_json, data, f"wrote {out}" if out else mermaid)
