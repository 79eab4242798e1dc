"""How each kind of node looks, shared by every format so a diagram reads the same in all.

Conflict-resolution points (validation, vote, judge, human) each get a shape and colour of
their own; routing points (manager, router) another; agents are plain rounded boxes.
"""

from __future__ import annotations

from dataclasses import dataclass

from orchestra.diagrams.model import DiagramNode
from orchestra.diagrams.overlay import RunOverlay

__all__ = ["KIND_STYLE", "RUN_COLOURS", "KindStyle", "caption", "run_text"]


@dataclass(frozen=True)
class KindStyle:
    """A kind's Graphviz shape, Mermaid brackets and fill colour, and its legend word."""

    dot_shape: str
    mermaid: tuple[str, str]
    fill: str
    word: str


KIND_STYLE: dict[str, KindStyle] = {
    "start": KindStyle("circle", ("((", "))"), "#333333", "start"),
    "end": KindStyle("doublecircle", ("((", "))"), "#333333", "end"),
    "agent": KindStyle("box", ("(", ")"), "#e3f2fd", "agent"),
    "team": KindStyle("box3d", ("[[", "]]"), "#e8eaf6", "team"),
    "manager": KindStyle("component", ("[[", "]]"), "#fff3e0", "manager"),
    "router": KindStyle("trapezium", ("[/", "\\]"), "#fff3e0", "router"),
    "critic": KindStyle("invhouse", ("[\\", "/]"), "#fce4ec", "critic"),
    "validation": KindStyle("diamond", ("{", "}"), "#fff9c4", "validation"),
    "vote": KindStyle("hexagon", ("{{", "}}"), "#ede7f6", "vote"),
    "judge": KindStyle("octagon", ("[/", "/]"), "#ffebee", "judge"),
    "human": KindStyle("house", (">", "]"), "#ffe0b2", "human"),
    "merge": KindStyle("invtriangle", ("((", "))"), "#eceff1", "merge"),
    "split": KindStyle("triangle", ("((", "))"), "#eceff1", "split"),
    "step": KindStyle("box", ("[", "]"), "#f5f5f5", "step"),
}

RUN_COLOURS: dict[str, str] = {
    "visited": "#c8e6c9",
    "visited_line": "#2e7d32",
    "unvisited": "#f5f5f5",
    "unvisited_line": "#bdbdbd",
    "stopped": "#ffcdd2",
    "stopped_line": "#c62828",
}


def caption(node: DiagramNode) -> list[str]:
    """The lines under a node's name: what it is, its model, and its role."""
    if node.kind in ("start", "end"):
        return []
    first = KIND_STYLE[node.kind].word + (f" · {node.model}" if node.model else "")
    role = node.role if len(node.role) <= 48 else node.role[:47] + "…"
    return [first, role] if role else [first]


def run_text(node: DiagramNode, overlay: RunOverlay) -> str:
    """What a run did at `node`: visits, time, tokens, and where it stopped."""
    parts = []
    stats = overlay.stats.get(node.name)
    if stats is not None and node.kind not in ("start", "end"):
        parts.append(f"×{stats.visits}")
        if stats.seconds:
            parts.append(f"{stats.seconds:.1f}s")
        if stats.tokens:
            parts.append(f"{stats.tokens} tok")
    if node.id in overlay.stopped_at:
        parts.append(overlay.status.upper())
    return " · ".join(parts)
