"""The diagram of a workflow: nodes, edges and nested teams, as every format draws them.

Edges come from the compiled LangGraph graph, so a diagram always shows what runs; the
`Workflow` tree says what each node is (an agent with its role and model, a gate, a vote,
a judge, a human escalation, a manager, a merge) and which team it belongs to.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from langchain_core.language_models import BaseChatModel

from orchestra.agents import Agent, model_label
from orchestra.workflow import Workflow

__all__ = [
    "DECIDING",
    "Cluster",
    "Diagram",
    "DiagramEdge",
    "DiagramNode",
    "NodeKind",
    "build_diagram",
]

NodeKind = Literal[
    "start",
    "end",
    "agent",
    "team",
    "manager",
    "router",
    "critic",
    "validation",
    "vote",
    "judge",
    "human",
    "merge",
    "split",
    "step",
]
"""What a node does. `validation`, `vote`, `judge` and `human` are where conflicts are
resolved; `manager` and `router` are where work is routed."""

DECIDING: frozenset[str] = frozenset({"validation", "vote", "judge", "human"})
"""The kinds drawn as conflict-resolution points."""

# Pattern-internal nodes are named `<workflow>.<role>`.
_SUFFIXES: dict[str, NodeKind] = {
    "gate": "validation",
    "check": "validation",
    "judge": "judge",
    "tally": "vote",
    "escalate": "human",
    "manager": "manager",
    "classify": "router",
    "critic": "critic",
    "merge": "merge",
    "split": "split",
}
# A deciding agent named by the user takes the role its pattern declares for it
# (`Workflow.deciders`), else the one its pattern gives its own nodes.
_ROLES: dict[str, NodeKind] = {
    role: role for role in ("manager", "router", "critic", "judge", "merge")
}
_PATTERN_ROLES: dict[str, NodeKind] = {
    "supervisor": "manager",
    "router": "router",
    "refine": "critic",
    "vote": "judge",
    "compete": "judge",
    "fan_out": "merge",
    "pipeline": "validation",
}
_ROLE_TEXT: dict[str, str] = {
    "manager": "delegates to the team",
    "router": "routes the work",
    "critic": "sends work back until it passes",
    "validation": "validation check",
    "vote": "counts the votes",
    "judge": "picks the winner",
    "human": "escalates to a human",
    "merge": "merges the branches",
    "split": "one branch per item",
}


@dataclass(frozen=True)
class DiagramNode:
    """One node: its LangGraph id (`team:sub_team:name`), what it is and who runs it."""

    id: str
    name: str
    kind: NodeKind
    role: str = ""
    model: str = ""
    cluster: str = ""
    """Id of the innermost team drawn around it (`""` for the top level)."""


@dataclass(frozen=True)
class DiagramEdge:
    """A transition; `conditional` when a rule or a model's choice takes it."""

    source: str
    target: str
    label: str = ""
    conditional: bool = False


@dataclass(frozen=True)
class Cluster:
    """A nested team drawn as a box: `id` is its path (`desk:market_team`)."""

    id: str
    name: str
    pattern: str
    parent: str


@dataclass(frozen=True)
class Diagram:
    """Everything a format needs to draw a workflow."""

    name: str
    pattern: str
    nodes: tuple[DiagramNode, ...]
    edges: tuple[DiagramEdge, ...]
    clusters: tuple[Cluster, ...]

    def node(self, name: str) -> DiagramNode | None:
        """The node called `name` (names are unique in a workflow tree), if drawn."""
        return next((n for n in self.nodes if n.name == name), None)


def build_diagram(workflow: Workflow[Any], depth: int | None = None) -> Diagram:
    """The diagram of `workflow`, nested teams drawn to `depth` levels (None: all).

    Args:
        workflow: The workflow to draw.
        depth: How many levels of nested teams to draw inside boxes; a team deeper than
            that is one node. 0 draws only the top level.
    """
    if depth is not None and depth < 0:
        raise ValueError("depth must be 0 or more (None draws every level).")
    xray: bool | int = True if depth is None else depth
    graph = workflow.compile().get_graph(xray=xray)
    edges = [
        DiagramEdge(
            e.source,
            e.target,
            _edge_label(e.source, e.target, e.data, e.conditional),
            bool(e.conditional),
        )
        for e in graph.edges
    ]
    edges = [_into_merge(workflow, edge) for edge in edges]
    ids = list(graph.nodes)
    for inner in [i for i in ids if ":" in i and _last(i) in ("__start__", "__end__")]:
        edges = _bypass(inner, edges)
        ids.remove(inner)
    nodes = tuple(_node(workflow, node_id) for node_id in ids)
    clusters = _clusters(workflow, {n.cluster for n in nodes if n.cluster})
    return Diagram(workflow.name, workflow.pattern, nodes, tuple(edges), clusters)


def _last(node_id: str) -> str:
    return node_id.rsplit(":", 1)[-1]


def _edge_label(source: str, target: str, data: Any, conditional: bool) -> str:
    if data is not None:
        return str(data)
    if not conditional:
        return ""
    # A route whose label is the node's own name: the name, relative to the deciding team.
    prefix = source.rsplit(":", 1)[0] + ":" if ":" in source else ""
    relative = target[len(prefix) :] if target.startswith(prefix) else target
    return relative.split(":", 1)[0]


def _into_merge(root: Workflow[Any], edge: DiagramEdge) -> DiagramEdge:
    """A mapped branch's edge to its fan-out's merge drawn plain, as a static branch's is:
    every run takes it, though LangGraph declares it a route (only the first item's
    branch triggers the merge, `orchestra.patterns._branches`)."""
    if not edge.conditional:
        return edge
    *path, target = edge.target.split(":")
    source = edge.source.split(":")
    if source[-1] == "__end__":  # a nested team drawn open: its end node
        source.pop()
    if source[:-1] != path:
        return edge
    team = _team(root, path)
    merge = team.nodes[0] if team.pattern == "fan_out" and team.nodes else None
    if target != merge or all(m.name != source[-1] for m in team.members):
        return edge
    return DiagramEdge(edge.source, edge.target)


def _bypass(inner: str, edges: list[DiagramEdge]) -> list[DiagramEdge]:
    """Edges without a nested team's own start/end node: its callers link to its members."""
    into = [e for e in edges if e.target == inner]
    out = [e for e in edges if e.source == inner]
    kept = [e for e in edges if inner not in (e.source, e.target)]
    for a in into:
        for b in out:
            joined = DiagramEdge(
                a.source, b.target, a.label or b.label, a.conditional or b.conditional
            )
            if joined not in kept:
                kept.append(joined)
    return kept


def _team(workflow: Workflow[Any], path: list[str]) -> Workflow[Any]:
    team = workflow
    for name in path:
        team = next(m for m in team.members if isinstance(m, Workflow) and m.name == name)
    return team


def _node(root: Workflow[Any], node_id: str) -> DiagramNode:
    *path, name = node_id.split(":")
    cluster = ":".join(path)
    if name in ("__start__", "__end__"):
        edge: NodeKind = "start" if name == "__start__" else "end"
        return DiagramNode(node_id, edge, edge, cluster=cluster)
    team = _team(root, path)
    member = next((m for m in team.members if m.name == name), None)
    if isinstance(member, Workflow):
        return DiagramNode(node_id, name, "team", member.description, member.pattern, cluster)
    if isinstance(member, Agent):
        return DiagramNode(
            node_id, name, "agent", member.description, _model_text(member.model), cluster
        )
    suffix = name.rsplit(".", 1)[-1] if "." in name else ""
    role, deciding = next(((r, a) for r, a in team.deciders.items() if a.name == name), ("", None))
    kind = _SUFFIXES.get(suffix) or _ROLES.get(role) or _PATTERN_ROLES.get(team.pattern, "step")
    model = _model_text(deciding.model) if deciding is not None else ""
    return DiagramNode(node_id, name, kind, _ROLE_TEXT.get(kind, ""), model, cluster)


def _model_text(model: BaseChatModel | Callable[..., Any] | None) -> str:
    if model is None:
        return "default model"
    if isinstance(model, BaseChatModel):
        return model_label(model) or "chat model"
    return "function"


def _clusters(root: Workflow[Any], used: set[str]) -> tuple[Cluster, ...]:
    # Every enclosing team of a used one is drawn too, outermost first.
    paths = {":".join(p.split(":")[:i]) for p in used for i in range(1, p.count(":") + 2)}
    found = []
    for path in sorted(paths, key=lambda p: (p.count(":"), p)):
        parts = path.split(":")
        team = _team(root, parts)
        found.append(Cluster(path, team.name, team.pattern, ":".join(parts[:-1])))
    return tuple(found)
