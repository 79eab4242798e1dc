"""`Workflow`: what every pattern returns, and what compiles to a LangGraph graph.

A workflow is a recipe, not a graph: `compile()` builds a fresh `StateGraph` each time, so
one definition can be compiled with different checkpointers, and nested as a member of
another workflow (where it runs as a LangGraph subgraph).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Generic, TypeAlias, TypeVar

from langgraph.graph import StateGraph
from langgraph.types import Checkpointer

from orchestra._fold import fold_channels
from orchestra._guard import LIMITS_KEY
from orchestra.agents import Agent, check_name
from orchestra.policy import Limits
from orchestra.state import OrchestraState

if TYPE_CHECKING:
    from langgraph.graph.state import CompiledStateGraph

__all__ = ["HANDED_DOWN", "Member", "Workflow", "drop_fields"]

StateT = TypeVar("StateT", bound=OrchestraState)


class Workflow(Generic[StateT]):
    """A team of agents and the pattern they cooperate by, ready to compile.

    Args:
        name: The workflow's name; as a member of another workflow, its node's name.
        pattern: Which pattern built it (`pipeline`, `fan_out`, ...).
        state: The state model (`OrchestraState` or a subclass).
        members: The agents and workflows it coordinates, for introspection.
        build: Adds the nodes and edges to a fresh `StateGraph`.
        nodes: The names of the nodes the pattern adds itself (gates, merges, tallies).
        description: What it is for, shown to a supervisor choosing among workers.
        limits: Bounds on every run of it (visits, steps, tokens, cost, deadline); see
            `with_limits`.
        deciders: The agents the pattern decides with at its own nodes, by role
            (`manager`, `router`, `critic`, `judge`, `merge`). They are not members; each
            runs at the node of its name. Kept so tools (diagrams) can show them.
    """

    def __init__(
        self,
        *,
        name: str,
        pattern: str,
        state: type[StateT],
        members: Sequence[Agent | Workflow[Any]],
        build: Callable[[StateGraph[StateT, Any, StateT, StateT]], None],
        nodes: Sequence[str] = (),
        description: str = "",
        limits: Limits | None = None,
        deciders: Mapping[str, Agent] | None = None,
    ) -> None:
        self.name = check_name(name, "Workflow")
        self.pattern = pattern
        self.state = state
        self.members = tuple(members)
        self.nodes = tuple(nodes)
        self.description = description or f"a {pattern} of {', '.join(m.name for m in members)}"
        self.limits = limits
        self.deciders = dict(deciders or {})
        self._build = build

    def __repr__(self) -> str:
        return f"Workflow({self.name!r}, pattern={self.pattern!r})"

    def with_limits(self, limits: Limits) -> Workflow[StateT]:
        """A copy of this workflow whose runs stop (`halted`) when they reach `limits`.

        A run's own limits (`orchestra.runtime.run(..., limits=...)`) override these field
        by field. Nested, a workflow's limits apply while it runs only when the enclosing run
        has none (declared or given).

        Example:
            ```python
            flow = supervisor([writer], manager=lead).with_limits(Limits(max_visits=3))
            ```
        """
        twin = Workflow.__new__(Workflow)
        twin.__dict__.update(self.__dict__)
        twin.limits = limits
        return twin

    def graph(self) -> StateGraph[StateT, Any, StateT, StateT]:
        """A fresh, uncompiled `StateGraph` for this workflow."""
        builder: StateGraph[StateT, Any, StateT, StateT] = StateGraph(self.state)
        fold_channels(builder)
        self._build(builder)
        return builder

    def compile(
        self, checkpointer: Checkpointer = None, **kwargs: Any
    ) -> CompiledStateGraph[StateT, Any, StateT, StateT]:
        """Compile to a LangGraph graph; `kwargs` go to `StateGraph.compile`.

        The graph has no channels for the fields only a mapping `fan_out` sets (`item`,
        `item_index`, `HANDED_DOWN`): a run's input does not set them, and LangGraph pays for
        every channel at every step (an empty one costs a raised and caught error each time
        it reads the state). A member's copy (`as_member`) keeps them.

        Args:
            checkpointer: Where checkpoints go (e.g. `SQLCheckpointer(url)`). None inherits
                the parent's when nested, and means no persistence at the top level. It is
                told to rebuild the types the state schemas declare, and only those.
        """
        builder = self.graph()
        drop_fields(builder, HANDED_DOWN)
        return self._compile(builder, checkpointer, kwargs)

    def as_member(self) -> CompiledStateGraph[StateT, Any, StateT, StateT]:
        """Compile to run inside another workflow's node: as `compile()`, but with every
        field of the state, `item` and `item_index` included, which the parent hands down
        to a mapped member."""
        return self._compile(self.graph(), None, {})

    def _compile(
        self,
        builder: StateGraph[StateT, Any, StateT, StateT],
        checkpointer: Checkpointer,
        kwargs: dict[str, Any],
    ) -> CompiledStateGraph[StateT, Any, StateT, StateT]:
        from orchestra.checkpoint.allowlist import with_state_allowlist

        kwargs.setdefault("name", self.name)
        checkpointer = with_state_allowlist(checkpointer, self.states())
        app = builder.compile(checkpointer=checkpointer, **kwargs)
        if self.limits is not None:
            # Config metadata reaches every node, and every checkpoint stores it.
            app = app.with_config(metadata={LIMITS_KEY: self.limits.to_json()})
        return app

    def node_names(self) -> list[str]:
        """Every node name in this workflow's tree: its own, its members', theirs..."""
        names = list(self.nodes)
        for member in self.members:
            names.append(member.name)
            if isinstance(member, Workflow):
                names.extend(member.node_names())
        return names

    def states(self) -> set[type[OrchestraState]]:
        """The state models of this workflow and of every workflow nested in it."""
        return {self.state, *(m.state for m in self.walk() if isinstance(m, Workflow))}

    def walk(self) -> list[Agent | Workflow[Any]]:
        """Every member, depth first, nested workflows included."""
        found: list[Agent | Workflow[Any]] = []
        for member in self.members:
            found.append(member)
            if isinstance(member, Workflow):
                found.extend(member.walk())
        return found


HANDED_DOWN = ("item", "item_index")
"""State fields only a mapping `fan_out` sets, in the state it hands each branch."""


def drop_fields(builder: StateGraph[Any, Any, Any, Any], fields: Sequence[str]) -> None:
    """Remove `fields`' channels from `builder`: its nodes read them as their defaults, and
    neither the returned state nor the checkpoints have them."""
    for key in fields:
        builder.channels.pop(key, None)
        for channels in builder.schemas.values():
            channels.pop(key, None)


Member: TypeAlias = Agent | Workflow[Any]
"""What patterns coordinate: an agent, or another workflow."""
