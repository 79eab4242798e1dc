"""Retention: prune keep-latest per thread, and a TTL on idle threads."""

from __future__ import annotations

import time
import uuid
from datetime import timedelta
from typing import Any, TypedDict

import pytest
from langchain_core.runnables import RunnableConfig
from langgraph.graph import END, START, StateGraph
from langgraph.types import Command, interrupt
from sqlalchemy import func, select

from orchestra.checkpoint import SQLCheckpointer
from orchestra.checkpoint.schema import blobs, checkpoints, journal, writes
from orchestra.journal import journaling, once
from tests.checkpoint.graphs import pipeline


def _rows(saver: SQLCheckpointer, table: object, thread_id: str) -> int:
    with saver.engine.connect() as conn:
        return int(
            conn.execute(
                select(func.count()).select_from(table).where(table.c.thread_id == thread_id)  # type: ignore[attr-defined,arg-type]
            ).scalar_one()
        )


def test_keep_latest_leaves_one_checkpoint_and_only_the_blobs_it_uses(
    saver: SQLCheckpointer,
) -> None:
    app = pipeline(5, saver)
    config = {"configurable": {"thread_id": "p"}}
    doc = "large enough to live in the blobs table " * 20
    app.invoke({"counter": 0, "doc": doc}, config)
    # The document's blob, and the input's (which holds the document too).
    assert _rows(saver, blobs, "p") == 2

    saver.prune(["p"], strategy="keep_latest")

    assert _rows(saver, checkpoints, "p") == 1
    assert _rows(saver, blobs, "p") == 1  # the input's blob went with the input checkpoint
    assert _rows(saver, writes, "p") == 0  # the latest checkpoint has no pending writes
    assert app.get_state(config).values == {"counter": 5, "doc": doc}
    # The thread goes on from what is left.
    assert app.invoke({"counter": 100}, config) == {"counter": 105, "doc": doc}


def test_prune_rejects_an_unknown_strategy(saver: SQLCheckpointer) -> None:
    with pytest.raises(ValueError, match="unknown prune strategy 'oldest'"):
        saver.prune(["p"], strategy="oldest")


def test_ttl_deletes_threads_idle_for_longer_and_keeps_the_rest(saver: SQLCheckpointer) -> None:
    app = pipeline(2, saver)
    app.invoke({"counter": 0, "doc": "old"}, {"configurable": {"thread_id": "old"}})
    time.sleep(1.0)
    app.invoke({"counter": 0, "doc": "new"}, {"configurable": {"thread_id": "new"}})

    result = saver.retain(ttl=timedelta(seconds=0.5))

    assert result.expired_threads == ("old",)
    for table in (checkpoints, blobs, writes):
        assert _rows(saver, table, "old") == 0
    assert app.get_state({"configurable": {"thread_id": "new"}}).values["doc"] == "new"


def test_retain_keep_latest_prunes_every_thread(saver: SQLCheckpointer) -> None:
    app = pipeline(3, saver)
    for thread in ("a", "b"):
        app.invoke({"counter": 0, "doc": thread}, {"configurable": {"thread_id": thread}})

    result = saver.retain(keep_latest=True)

    assert result.expired_threads == ()
    assert result.pruned_checkpoints == 2 * 4  # 5 checkpoints per thread, 1 kept
    assert _rows(saver, checkpoints, "a") == _rows(saver, checkpoints, "b") == 1


async def test_async_retain_applies_ttl_and_keep_latest(db_url: str) -> None:
    async with SQLCheckpointer(db_url) as saver:
        app = pipeline(2, saver)
        await app.ainvoke({"counter": 0, "doc": "x"}, {"configurable": {"thread_id": "x"}})
        result = await saver.aretain(ttl=timedelta(days=1), keep_latest=True)
        assert result.expired_threads == ()
        assert result.pruned_checkpoints == 3
        state = await app.aget_state({"configurable": {"thread_id": "x"}})
        assert state.values == {"counter": 2, "doc": "x"}


_RUN_GONE = str(uuid.uuid4())
_RUN_KEPT = str(uuid.uuid4())


class _Order(TypedDict):
    log: list[str]


def _journaled(saver: SQLCheckpointer, executed: list[str]) -> Any:
    """reserve -> confirm; each node makes one journaled call, and confirm then
    waits for a human, so the thread's latest checkpoint has a task with a journal."""

    def call(name: str) -> str:
        executed.append(name)
        return f"{name} done"

    def reserve(state: _Order, config: RunnableConfig) -> dict[str, Any]:
        with journaling(config):
            result = once("tool", "reserve", lambda: call("reserve"), str, str)
        return {"log": [*state["log"], result]}

    def confirm(state: _Order, config: RunnableConfig) -> dict[str, Any]:
        with journaling(config):
            result = once("tool", "confirm", lambda: call("confirm"), str, str)
        answer = interrupt("ship?")
        return {"log": [*state["log"], result, answer]}

    graph = StateGraph(_Order)
    graph.add_node("reserve", reserve)
    graph.add_node("confirm", confirm)
    graph.add_edge(START, "reserve")
    graph.add_edge("reserve", "confirm")
    graph.add_edge("confirm", END)
    return graph.compile(checkpointer=saver)


def _journal_names(saver: SQLCheckpointer, thread_id: str) -> list[str]:
    with saver.engine.connect() as conn:
        rows = conn.execute(
            select(journal.c.name).where(journal.c.thread_id == thread_id).order_by(journal.c.name)
        )
        return [str(name) for (name,) in rows]


def test_keep_latest_drops_the_journal_of_finished_tasks_and_keeps_the_resumable_ones(
    saver: SQLCheckpointer,
) -> None:
    executed: list[str] = []
    app = _journaled(saver, executed)
    config = {"configurable": {"thread_id": "order"}}
    app.invoke({"log": []}, config)
    assert _journal_names(saver, "order") == ["confirm", "reserve"]

    saver.prune(["order"], strategy="keep_latest")

    # reserve ran from a checkpoint that is gone; confirm waits on the latest one.
    assert _journal_names(saver, "order") == ["confirm"]
    result = app.invoke(Command(resume="yes"), config)
    assert result["log"] == ["reserve done", "confirm done", "yes"]
    assert executed == ["reserve", "confirm"]  # confirm's call was replayed, not repeated


def test_delete_and_ttl_drop_a_threads_whole_journal(saver: SQLCheckpointer) -> None:
    app = _journaled(saver, [])
    for thread in ("deleted", "expired", "pruned", "kept"):
        app.invoke({"log": []}, {"configurable": {"thread_id": thread}})

    saver.delete_thread("deleted")
    saver.prune(["pruned"], strategy="delete")
    with saver.engine.begin() as conn:
        conn.execute(
            checkpoints.update().where(checkpoints.c.thread_id == "expired").values(created_at=0.0)
        )
    assert saver.retain(ttl=timedelta(days=1)).expired_threads == ("expired",)

    for thread in ("deleted", "expired", "pruned"):
        assert _journal_names(saver, thread) == []
    assert _journal_names(saver, "kept") == ["confirm", "reserve"]


async def test_async_prune_drops_the_journal_of_finished_tasks(db_url: str) -> None:
    async with SQLCheckpointer(db_url) as saver:
        app = _journaled(saver, [])
        await app.ainvoke({"log": []}, {"configurable": {"thread_id": "order"}})
        await saver.aprune(["order"], strategy="keep_latest")
        assert _journal_names(saver, "order") == ["confirm"]
        await saver.adelete_thread("order")
        assert _journal_names(saver, "order") == []


def test_delete_for_runs_drops_the_journal_of_the_runs_tasks(saver: SQLCheckpointer) -> None:
    app = _journaled(saver, [])
    app.invoke(
        {"log": []}, {"configurable": {"thread_id": "gone"}, "metadata": {"run_id": _RUN_GONE}}
    )
    app.invoke(
        {"log": []}, {"configurable": {"thread_id": "kept"}, "metadata": {"run_id": _RUN_KEPT}}
    )

    saver.delete_for_runs([_RUN_GONE])

    assert _journal_names(saver, "gone") == []
    assert _journal_names(saver, "kept") == ["confirm", "reserve"]
