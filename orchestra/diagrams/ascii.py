"""A diagram as plain text for a terminal: the team tree, then every transition."""

from __future__ import annotations

from orchestra.diagrams.model import Diagram, DiagramNode
from orchestra.diagrams.overlay import RunOverlay
from orchestra.diagrams.style import KIND_STYLE, caption, run_text

__all__ = ["to_ascii"]


def to_ascii(diagram: Diagram, overlay: RunOverlay | None = None) -> str:
    """`diagram` as text; with `overlay`, `*` marks visited nodes and `!` where it stopped."""
    lines = [f"{diagram.name} ({diagram.pattern})"]
    if overlay is not None:
        lines[0] += f"  thread {overlay.thread_id}: {overlay.status}"

    def tree(cluster: str, indent: str) -> None:
        entries: list[DiagramNode | str] = [
            n for n in diagram.nodes if n.cluster == cluster and n.kind not in ("start", "end")
        ]
        entries += [c.id for c in diagram.clusters if c.parent == cluster]
        for index, entry in enumerate(entries):
            last = index == len(entries) - 1
            branch, below = ("└─ ", "   ") if last else ("├─ ", "│  ")
            if isinstance(entry, str):
                team = next(c for c in diagram.clusters if c.id == entry)
                lines.append(f"{indent}{branch}[{team.name} · {team.pattern}]")
                tree(entry, indent + below)
                continue
            lines.append(f"{indent}{branch}{_mark(entry, overlay)}{_line(entry, overlay)}")

    tree("", "")
    lines.append("")
    names = {n.id: n.name for n in diagram.nodes}
    for edge in diagram.edges:
        arrow = f" -{edge.label}-> " if edge.label else " --> "
        if edge.conditional and not edge.label:
            arrow = " -?-> "
        went = ""
        if overlay is not None:
            went = "* " if overlay.edge_visited(diagram, edge) else "  "
        lines.append(f"  {went}{names[edge.source]}{arrow}{names[edge.target]}")
    return "\n".join(lines) + "\n"


def _mark(node: DiagramNode, overlay: RunOverlay | None) -> str:
    if overlay is None:
        return ""
    if node.id in overlay.stopped_at:
        return "! "
    return "* " if overlay.visited(node) else "  "


def _line(node: DiagramNode, overlay: RunOverlay | None) -> str:
    shown = caption(node)
    kind = shown[0] if shown else KIND_STYLE[node.kind].word
    role = f": {shown[1]}" if len(shown) > 1 else ""
    done = run_text(node, overlay) if overlay is not None else ""
    return f"{node.name}  ({kind}){role}" + (f"  [{done}]" if done else "")
