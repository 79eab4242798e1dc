"""Time travel: a new thread that starts from any checkpoint of an old one.

The fork gets a copy of that checkpoint alone: what the original did before it is kept,
what it did after it (including the writes its next tasks left pending on it) is not, so
resuming the fork runs those steps afresh. The original is untouched.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from typing import Any, cast

from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.base import BaseCheckpointSaver, CheckpointMetadata

from orchestra.checkpoint.allowlist import state_allowlist
from orchestra.errors import ThreadExistsError, ThreadNotFound
from orchestra.state import OrchestraState

__all__ = ["fork_thread", "history"]


def history(
    saver: BaseCheckpointSaver[Any],
    thread_id: str,
    *,
    states: Iterable[type[Any]] = (OrchestraState,),
) -> list[dict[str, Any]]:
    """The checkpoints of a thread's top level, newest first: id, step, source, time."""
    config: RunnableConfig = {"configurable": {"thread_id": thread_id, "checkpoint_ns": ""}}
    saver = saver.with_allowlist(state_allowlist(states))
    return [
        {
            "checkpoint_id": found.checkpoint["id"],
            "step": (found.metadata or {}).get("step"),
            "source": (found.metadata or {}).get("source"),
            "ts": found.checkpoint["ts"],
        }
        for found in saver.list(config)
    ]


def fork_thread(
    saver: BaseCheckpointSaver[Any],
    thread_id: str,
    checkpoint_id: str,
    new_thread_id: str | None = None,
    *,
    states: Iterable[type[Any]] = (OrchestraState,),
) -> str:
    """Copy checkpoint `checkpoint_id` of `thread_id` into a new thread; return its id.

    Args:
        saver: The checkpointer holding the thread.
        thread_id: The thread to fork.
        checkpoint_id: Where the fork starts.
        new_thread_id: The fork's id (default: derived from the original's).
        states: The state models of the workflow: their types are read back as
            themselves (not plain data) before being written into the fork.

    Raises:
        ThreadNotFound: no such checkpoint in that thread.
        ThreadExistsError: the new thread id is taken.
    """
    source: RunnableConfig = {
        "configurable": {
            "thread_id": thread_id,
            "checkpoint_ns": "",
            "checkpoint_id": checkpoint_id,
        }
    }
    saver = saver.with_allowlist(state_allowlist(states))
    found = saver.get_tuple(source)
    if found is None:
        raise ThreadNotFound(
            f"thread {thread_id!r} has no checkpoint {checkpoint_id!r}: list them with "
            f"`orchestra show {thread_id} --history`."
        )
    new_thread_id = new_thread_id or f"{thread_id}-fork-{uuid.uuid4().hex[:6]}"
    target: RunnableConfig = {"configurable": {"thread_id": new_thread_id, "checkpoint_ns": ""}}
    if saver.get_tuple(target) is not None:
        raise ThreadExistsError(f"thread {new_thread_id!r} exists already: choose another id.")
    metadata = cast(
        CheckpointMetadata,
        {**(found.metadata or {}), "orchestra_forked_from": f"{thread_id}@{checkpoint_id}"},
    )
    checkpoint = found.checkpoint
    saver.put(target, checkpoint, metadata, dict(checkpoint["channel_versions"]))
    return new_thread_id
