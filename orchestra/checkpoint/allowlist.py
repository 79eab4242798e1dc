"""Which types a workflow's checkpoints may rebuild: those its state schemas declare.

Checkpoints are read with LangGraph's msgpack serializer in strict mode, which rebuilds only
allow-listed classes and hands anything else back as plain data. A workflow's own record
types (`AgentResult`, `Decision`) and the user's typed fields must come back as themselves,
or reducers and prompts would see dicts after a resume; nothing else is allowed.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from langgraph._internal._serde import build_serde_allowlist
from langgraph.types import Checkpointer

__all__ = ["state_allowlist", "with_state_allowlist"]


def state_allowlist(states: Iterable[type[Any]]) -> set[tuple[str, ...]]:
    """The `(module, name)` of every class reachable from the fields of `states`.

    This is the walk LangGraph itself does under `LANGGRAPH_STRICT_MSGPACK=true`; Orchestra
    does it always, because its checkpointer is always strict.
    """
    return build_serde_allowlist(schemas=list(states))


def with_state_allowlist(checkpointer: Checkpointer, states: Iterable[type[Any]]) -> Checkpointer:
    """`checkpointer`, cloned to also rebuild the types `states` declare (if it can)."""
    with_allowlist = getattr(checkpointer, "with_allowlist", None)
    if checkpointer in (None, True, False) or with_allowlist is None:
        return checkpointer
    return with_allowlist(state_allowlist(states))  # type: ignore[no-any-return]
