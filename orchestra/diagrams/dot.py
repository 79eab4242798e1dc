"""A diagram as Graphviz DOT, built with the `graphviz` package (which also renders it).

Teams are `cluster_` subgraphs (boxes); each node carries a `class` attribute (its kind,
and `visited`/`unvisited`/`stopped` with a run) that Graphviz copies into the SVG.
"""

from __future__ import annotations

from html import escape

import graphviz

from orchestra.diagrams.model import Diagram, DiagramNode
from orchestra.diagrams.overlay import RunOverlay
from orchestra.diagrams.style import KIND_STYLE, RUN_COLOURS, caption, run_text

__all__ = ["to_digraph", "to_dot"]


def to_dot(diagram: Diagram, overlay: RunOverlay | None = None) -> str:
    """`diagram` as DOT source text, with the run's path when `overlay` is given."""
    return str(to_digraph(diagram, overlay).source)


def to_digraph(diagram: Diagram, overlay: RunOverlay | None = None) -> graphviz.Digraph:
    """`diagram` as a `graphviz.Digraph`, ready to render."""
    graph = graphviz.Digraph(name=diagram.name)
    graph.attr(rankdir="TB", fontname="Helvetica", fontsize="11", compound="true")
    graph.attr("node", fontname="Helvetica", fontsize="10", style="filled")
    graph.attr("edge", fontname="Helvetica", fontsize="9")
    title = f"{diagram.name} · {diagram.pattern}"
    if overlay is not None:
        title += f" · thread {overlay.thread_id}: {overlay.status}"
    graph.attr(label=title, labelloc="t")

    def fill(into: graphviz.Digraph, cluster: str) -> None:
        for node in diagram.nodes:
            if node.cluster == cluster:
                into.node(_key(node.id), **_node_attrs(node, overlay))
        for inner in (c for c in diagram.clusters if c.parent == cluster):
            with into.subgraph(name=f"cluster_{inner.id}") as box:
                box.attr(
                    label=f"{inner.name} · {inner.pattern}",
                    style="rounded,dashed",
                    color="#7986cb",
                    fontcolor="#3949ab",
                    **{"class": "team"},
                )
                fill(box, inner.id)

    fill(graph, "")
    for edge in diagram.edges:
        attrs = {"label": edge.label} if edge.label else {}
        if edge.conditional:
            attrs["style"] = "dashed"
        if overlay is not None:
            went = overlay.edge_visited(diagram, edge)
            line = RUN_COLOURS["visited_line" if went else "unvisited_line"]
            attrs.update(color=line, penwidth="2.5" if went else "1")
            attrs["class"] = "visited" if went else "unvisited"
        graph.edge(_key(edge.source), _key(edge.target), **attrs)
    return graph


def _key(node_id: str) -> str:
    # Graphviz reads `a:b` in an edge as node a, port b.
    return node_id.replace(":", "/")


def _node_attrs(node: DiagramNode, overlay: RunOverlay | None) -> dict[str, str]:
    style = KIND_STYLE[node.kind]
    attrs = {"shape": style.dot_shape, "fillcolor": style.fill, "class": node.kind}
    if node.kind in ("start", "end"):
        attrs.update(label="", width="0.25", fixedsize="true", xlabel=node.kind)
    else:
        rows = [f"<b>{escape(node.name)}</b>"]
        rows += [f'<font point-size="8">{escape(line)}</font>' for line in caption(node)]
        if overlay is not None and (done := run_text(node, overlay)):
            rows.append(f'<font point-size="8"><i>{escape(done)}</i></font>')
        attrs["label"] = "<" + "<br/>".join(rows) + ">"
        if node.kind == "agent":
            attrs["style"] = "filled,rounded"
    if overlay is not None:
        state = "visited" if overlay.visited(node) else "unvisited"
        if node.id in overlay.stopped_at:
            state = "stopped"
        attrs["class"] = f"{node.kind} {state}"
        attrs["color"] = RUN_COLOURS[f"{state}_line"]
        attrs["penwidth"] = "1" if state == "unvisited" else "2.5"
        if node.kind not in ("start", "end"):
            attrs["fillcolor"] = RUN_COLOURS[state]
        if state == "unvisited":
            attrs["fontcolor"] = "#9e9e9e"
            attrs["style"] = attrs.get("style", "filled") + ",dashed"
    return attrs
