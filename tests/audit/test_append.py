"""Appending from the head a saver remembers: savers sharing a database keep one valid chain.

A saver links a thread's new entries to the head it last wrote there; these are the
cases where that head is no longer the chain's, which must cost time, never correctness.
"""

from __future__ import annotations

from langchain_core.runnables import RunnableConfig

from orchestra import Decision
from orchestra.audit import aentries, averify, entries, verify
from orchestra.checkpoint import SQLCheckpointer


def _config(thread: str, checkpoint: str = "c1") -> RunnableConfig:
    return {"configurable": {"thread_id": thread, "checkpoint_ns": "", "checkpoint_id": checkpoint}}


def _record(saver: SQLCheckpointer, thread: str, index: int) -> Decision:
    decision = Decision(kind="route", at=f"node{index}", choice="x")
    saver.put_writes(_config(thread), [("decisions", [decision])], f"task-{index}")
    return decision


def test_savers_taking_turns_on_one_thread_extend_one_chain(
    saver: SQLCheckpointer, db_url: str
) -> None:
    with SQLCheckpointer(db_url) as other:
        made = [_record(saver if i % 2 == 0 else other, "shared", i) for i in range(6)]

    trail = entries(saver, "shared")
    assert [e.record_id for e in trail] == [d.id for d in made]
    assert [e.seq for e in trail] == list(range(1, 7))
    assert verify(saver, "shared").ok


def test_a_saver_new_to_a_thread_continues_its_chain(saver: SQLCheckpointer, db_url: str) -> None:
    _record(saver, "resumed", 0)
    _record(saver, "resumed", 1)

    with SQLCheckpointer(db_url) as later:  # a new process resuming the run
        _record(later, "resumed", 2)

    assert [e.seq for e in entries(saver, "resumed")] == [1, 2, 3]
    assert verify(saver, "resumed").ok


def test_a_thread_deleted_elsewhere_starts_a_new_chain(saver: SQLCheckpointer, db_url: str) -> None:
    _record(saver, "reused", 0)
    _record(saver, "reused", 1)
    with SQLCheckpointer(db_url) as other:
        other.delete_thread("reused")

    again = _record(saver, "reused", 2)

    trail = entries(saver, "reused")
    assert [(e.seq, e.record_id) for e in trail] == [(1, again.id)]
    assert verify(saver, "reused").ok


def test_a_record_delivered_again_after_others_is_not_chained_twice(
    saver: SQLCheckpointer,
) -> None:
    first = _record(saver, "again", 0)
    _record(saver, "again", 1)
    # The same record with a new one, from a later task: only the new one is added.
    fresh = Decision(kind="gate", at="check", choice="pass")
    saver.put_writes(_config("again", "c2"), [("decisions", [first, fresh])], "task-2")

    trail = entries(saver, "again")
    assert [e.seq for e in trail] == [1, 2, 3]
    assert trail[-1].record_id == fresh.id
    assert verify(saver, "again").ok


async def test_async_savers_taking_turns_on_one_thread_extend_one_chain(
    saver: SQLCheckpointer, db_url: str
) -> None:
    decisions = [Decision(kind="gate", at=f"check{i}", choice="pass") for i in range(4)]
    async with SQLCheckpointer(db_url) as other:
        for index, decision in enumerate(decisions):
            writer = saver if index % 2 == 0 else other
            await writer.aput_writes(_config("async"), [("decisions", [decision])], f"t{index}")
        await other.adelete_thread("async")
        await saver.aput_writes(_config("async"), [("decisions", [decisions[0]])], "t9")

    trail = await aentries(saver, "async")
    assert [(e.seq, e.record_id) for e in trail] == [(1, decisions[0].id)]
    assert (await averify(saver, "async")).ok
