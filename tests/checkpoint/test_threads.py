"""Listing threads: the latest root checkpoint of each, without reading every checkpoint."""

from __future__ import annotations

from typing import Any

from langgraph.checkpoint.base import empty_checkpoint
from langgraph.types import Command

from orchestra.checkpoint import SQLCheckpointer
from tests.checkpoint.graphs import pipeline, review


def _thread_ids(found: list[Any]) -> list[str]:
    return [str(t.config["configurable"]["thread_id"]) for t in found]


def test_list_threads_gives_each_threads_latest_checkpoint_newest_first(
    saver: SQLCheckpointer,
) -> None:
    app = pipeline(3, saver)
    for thread in ("b", "a", "c"):
        app.invoke({"counter": 0, "doc": thread}, {"configurable": {"thread_id": thread}})
    # "b" moves on last, so it is the most recently updated thread.
    app.invoke({"counter": 10}, {"configurable": {"thread_id": "b"}})

    found = list(saver.list_threads())

    assert _thread_ids(found) == ["b", "c", "a"]
    latest_b = saver.get_tuple({"configurable": {"thread_id": "b"}})
    assert latest_b is not None
    assert found[0].config == latest_b.config
    assert found[0].checkpoint["channel_values"] == {"counter": 13, "doc": "b"}
    assert found[0].metadata["step"] == latest_b.metadata["step"]
    assert _thread_ids(list(saver.list_threads(limit=2))) == ["b", "c"]


def test_list_threads_skips_subgraph_namespaces_and_keeps_pending_writes(
    saver: SQLCheckpointer,
) -> None:
    app = review(saver)
    config = {"configurable": {"thread_id": "waiting"}}
    app.invoke({"draft": "d", "log": []}, config)
    root = saver.get_tuple(config)
    assert root is not None
    # A subgraph's checkpoint, newer than the root's: neither a thread of its own
    # nor the thread's latest.
    subgraph = {"configurable": {"thread_id": "waiting", "checkpoint_ns": "child:1"}}
    saver.put(subgraph, empty_checkpoint(), {"source": "loop", "step": 0}, {})  # type: ignore[arg-type,typeddict-item]

    found = list(saver.list_threads())

    assert _thread_ids(found) == ["waiting"]
    waiting = found[0]
    assert waiting.config == root.config
    # The interrupt the thread waits on travels with its latest checkpoint.
    assert any(channel == "__interrupt__" for _, channel, _ in waiting.pending_writes or [])
    app.invoke(Command(resume="ok"), config)
    (done,) = saver.list_threads()
    assert done.checkpoint["channel_values"]["log"] == ["write", "ask", "publish"]
    assert done.pending_writes == []


def test_list_threads_on_an_empty_database_is_empty(saver: SQLCheckpointer) -> None:
    assert list(saver.list_threads()) == []


async def test_alist_threads_matches_list_threads(db_url: str) -> None:
    async with SQLCheckpointer(db_url) as saver:
        app = pipeline(2, saver)
        for thread in ("x", "y"):
            await app.ainvoke(
                {"counter": 0, "doc": thread}, {"configurable": {"thread_id": thread}}
            )
        found = [t async for t in saver.alist_threads()]
        assert _thread_ids(found) == ["y", "x"]
        assert [t.checkpoint["id"] for t in found] == [
            t.checkpoint["id"] for t in saver.list_threads()
        ]
