"""The record and message reducers: folding many writes one by one gives what a full
merge gives, and the id index never hides a record or message an older list lacks."""

from __future__ import annotations

from langchain_core.messages import AIMessage, AIMessageChunk, HumanMessage, RemoveMessage
from langgraph.graph.message import add_messages

from orchestra.state import AgentResult, append_messages, merge_records


def test_folding_records_one_by_one_keeps_each_once_in_order() -> None:
    records = [AgentResult(agent=f"w{i}") for i in range(50)]
    merged: list[AgentResult] = []
    for record in records:
        merged = merge_records(merged, [record])
    merged = merge_records(merged, records[:10])
    assert [r.id for r in merged] == [r.id for r in records]


def test_merging_into_an_older_list_again_does_not_use_the_newer_ids() -> None:
    a, b = AgentResult(agent="a"), AgentResult(agent="b")
    first = merge_records([], [a])
    merge_records(first, [b])
    assert [r.id for r in merge_records(first, [b])] == [a.id, b.id]


def test_a_list_changed_in_place_is_indexed_again() -> None:
    a, b = AgentResult(agent="a"), AgentResult(agent="b")
    first = merge_records([], [a])
    first.append(b)
    assert [r.id for r in merge_records(first, [b])] == [a.id, b.id]


def test_duplicates_within_one_write_are_kept_once() -> None:
    a = AgentResult(agent="a")
    assert merge_records([], [a, a]) == [a]


def test_appending_messages_matches_add_messages() -> None:
    ours: list = []
    theirs: list = []
    writes = [
        [HumanMessage("hi", id="h")],
        *[[AIMessage(f"m{i}", id=f"m{i}")] for i in range(20)],
        [AIMessage("again", id="m3")],
        [RemoveMessage(id="m4")],
        [AIMessageChunk(content="chunk", id="c")],
        [AIMessage("x", id="x"), AIMessage("x2", id="x")],
        [{"role": "user", "content": "as a dict", "id": "d"}],
    ]
    for write in writes:
        ours = append_messages(ours, write)
        theirs = add_messages(theirs, write)  # type: ignore[assignment]
    assert [(m.id, m.content, type(m)) for m in ours] == [
        (m.id, m.content, type(m)) for m in theirs
    ]


def test_messages_merged_into_an_older_list_again_are_not_lost() -> None:
    first = append_messages([], [AIMessage("a", id="a")])
    append_messages(first, [AIMessage("b", id="b")])
    again = append_messages(first, [AIMessage("b", id="b")])
    assert [m.id for m in again] == ["a", "b"]
