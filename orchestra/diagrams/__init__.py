"""Diagrams of workflows, and of the path each run took: Mermaid, DOT, ASCII, SVG, PNG, HTML.

`draw(workflow, format, thread=..., checkpointer=...)` is the one call; the pieces behind
it (the diagram model, each format, the run overlay, the HTML report) are exported too.
"""

from __future__ import annotations

from orchestra.diagrams.ascii import to_ascii
from orchestra.diagrams.dot import to_digraph, to_dot
from orchestra.diagrams.draw import FORMATS, Format, draw
from orchestra.diagrams.mermaid import to_mermaid
from orchestra.diagrams.model import (
    DECIDING,
    Cluster,
    Diagram,
    DiagramEdge,
    DiagramNode,
    NodeKind,
    build_diagram,
)
from orchestra.diagrams.overlay import AgentStats, RunOverlay, read_overlay
from orchestra.diagrams.render import GraphvizMissing, graphviz_available, render
from orchestra.diagrams.report import html_report

__all__ = [
    "DECIDING",
    "FORMATS",
    "AgentStats",
    "Cluster",
    "Diagram",
    "DiagramEdge",
    "DiagramNode",
    "Format",
    "GraphvizMissing",
    "NodeKind",
    "RunOverlay",
    "build_diagram",
    "draw",
    "graphviz_available",
    "html_report",
    "read_overlay",
    "render",
    "to_ascii",
    "to_digraph",
    "to_dot",
    "to_mermaid",
]
