"""A diagram as Mermaid (`flowchart TD`), which GitHub renders inside a Markdown file.

Teams are subgraphs, conditional edges are dashed with their route as label, and each
kind of node has its own shape and class; a run overlay adds visited/unvisited classes.
"""

from __future__ import annotations

import re

from orchestra.diagrams.model import Diagram, DiagramNode
from orchestra.diagrams.overlay import RunOverlay
from orchestra.diagrams.style import KIND_STYLE, RUN_COLOURS, caption, run_text

__all__ = ["to_mermaid"]


def to_mermaid(diagram: Diagram, overlay: RunOverlay | None = None) -> str:
    """`diagram` as Mermaid flowchart text, with the run's path when `overlay` is given."""
    ids = _ids(diagram)
    lines = ["flowchart TD"]
    children: dict[str, list[DiagramNode]] = {}
    for node in diagram.nodes:
        children.setdefault(node.cluster, []).append(node)

    def emit(cluster: str, indent: str) -> None:
        for node in children.get(cluster, []):
            lines.append(f"{indent}{_node(ids[node.id], node, overlay)}")
        for inner in (c for c in diagram.clusters if c.parent == cluster):
            title = _text(f"{inner.name} · {inner.pattern}")
            lines.append(f'{indent}subgraph c{_safe(inner.id)[1:]}["{title}"]')
            emit(inner.id, indent + "  ")
            lines.append(f"{indent}end")

    emit("", "  ")
    styles: list[str] = []
    for index, edge in enumerate(diagram.edges):
        arrow = "-.->" if edge.conditional else "-->"
        label = f'|"{_text(edge.label)}"|' if edge.label else ""
        lines.append(f"  {ids[edge.source]} {arrow}{label} {ids[edge.target]}")
        if overlay is not None:
            colour = "visited_line" if overlay.edge_visited(diagram, edge) else "unvisited_line"
            styles.append(f"  linkStyle {index} stroke:{RUN_COLOURS[colour]}")
    lines.extend(_classes(diagram, ids, overlay))
    lines.extend(styles)
    return "\n".join(lines) + "\n"


def _node(node_id: str, node: DiagramNode, overlay: RunOverlay | None) -> str:
    left, right = KIND_STYLE[node.kind].mermaid
    if node.kind in ("start", "end"):
        return f'{node_id}{left}"{node.kind}"{right}'
    rows = [f"<b>{_text(node.name)}</b>", *(_text(line) for line in caption(node))]
    if overlay is not None and (done := run_text(node, overlay)):
        rows.append(_text(done))
    return f'{node_id}{left}"{"<br/>".join(rows)}"{right}'


def _classes(diagram: Diagram, ids: dict[str, str], overlay: RunOverlay | None) -> list[str]:
    lines = []
    kinds = sorted({n.kind for n in diagram.nodes})
    for kind in kinds:
        fill = KIND_STYLE[kind].fill
        text = ",color:#ffffff" if kind in ("start", "end") else ""
        lines.append(f"  classDef k_{kind} fill:{fill}{text}")
        members = ",".join(ids[n.id] for n in diagram.nodes if n.kind == kind)
        lines.append(f"  class {members} k_{kind}")
    if overlay is None:
        return lines
    groups: dict[str, list[str]] = {"visited": [], "unvisited": [], "stopped": []}
    for node in diagram.nodes:
        state = "visited" if overlay.visited(node) else "unvisited"
        if node.id in overlay.stopped_at:
            state = "stopped"
        groups[state].append(ids[node.id])
    for state, members_of in groups.items():
        line = RUN_COLOURS[f"{state}_line"]
        extra = ",stroke-width:3px" if state != "unvisited" else ",color:#9e9e9e"
        lines.append(f"  classDef {state} fill:{RUN_COLOURS[state]},stroke:{line}{extra}")
        if members_of:
            lines.append(f"  class {','.join(members_of)} {state}")
    return lines


def _ids(diagram: Diagram) -> dict[str, str]:
    ids: dict[str, str] = {}
    taken: set[str] = set()
    for node in diagram.nodes:
        base = _safe(node.id)
        candidate, n = base, 1
        while candidate in taken:
            n += 1
            candidate = f"{base}_{n}"
        taken.add(candidate)
        ids[node.id] = candidate
    return ids


def _safe(name: str) -> str:
    # Mermaid ids are words; a prefix keeps `end` and friends from being keywords.
    return "n_" + re.sub(r"[^A-Za-z0-9_]", "_", name)


def _text(text: str) -> str:
    """Text safe inside a quoted Mermaid label (entity codes for the characters it parses)."""
    replaced = text.replace("#", "#35;").replace('"', "#quot;")
    return replaced.replace("<", "#lt;").replace(">", "#gt;").replace("|", "#124;")
