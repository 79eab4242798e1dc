"""`draw`: one call from a workflow (and optionally a run of it) to a diagram in any format."""

from __future__ import annotations

from typing import Any, Literal, get_args

from langgraph.checkpoint.base import BaseCheckpointSaver

from orchestra.diagrams.ascii import to_ascii
from orchestra.diagrams.dot import to_digraph, to_dot
from orchestra.diagrams.mermaid import to_mermaid
from orchestra.diagrams.model import build_diagram
from orchestra.diagrams.overlay import RunOverlay, read_overlay
from orchestra.diagrams.render import render
from orchestra.workflow import Workflow

__all__ = ["FORMATS", "Format", "draw"]

Format = Literal["mermaid", "dot", "ascii", "svg", "png"]
FORMATS: tuple[str, ...] = get_args(Format)


def draw(
    workflow: Workflow[Any],
    format: Format = "mermaid",
    *,
    depth: int | None = None,
    thread: str | None = None,
    checkpointer: BaseCheckpointSaver[Any] | None = None,
) -> str | bytes:
    """Draw `workflow`; with `thread`, the path that run took over it.

    Args:
        workflow: The workflow to draw.
        format: `mermaid`, `dot` or `ascii` (text, need nothing installed); `svg` (text)
            or `png` (bytes), rendered offline by Graphviz's `dot` program.
        depth: Levels of nested teams drawn as boxes; deeper teams are one node each.
        thread: A thread id: colour the nodes and edges it visited, with visit counts,
            time and tokens per agent, and mark where it waits, halted or failed.
        checkpointer: Where the thread's checkpoints are (required with `thread`).

    Returns:
        The diagram: `bytes` for png, text otherwise.

    Raises:
        GraphvizMissing: svg or png asked for, and Graphviz is not installed.
        ThreadNotFound: the checkpointer has no such thread.

    Example:
        ```python
        svg = draw(workflow, "svg", thread="run-1", checkpointer=SQLCheckpointer(url))
        ```
    """
    if format not in FORMATS:
        raise ValueError(f"draw: format must be one of {', '.join(FORMATS)}, not {format!r}.")
    diagram = build_diagram(workflow, depth)
    overlay: RunOverlay | None = None
    if thread is not None:
        if checkpointer is None:
            raise ValueError("draw: give the checkpointer that holds the thread.")
        overlay = read_overlay(workflow, checkpointer, thread)
    if format == "mermaid":
        return to_mermaid(diagram, overlay)
    if format == "dot":
        return to_dot(diagram, overlay)
    if format == "ascii":
        return to_ascii(diagram, overlay)
    image = render(to_digraph(diagram, overlay), format)
    return image.decode() if format == "svg" else image
