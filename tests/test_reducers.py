"""The record and message reducers, and the channels that fold a step's writes at once:
folding gives what merging write by write gives, and a kept id set never hides a record
or message an older list lacks."""

from __future__ import annotations

from typing import Any

from langchain_core.messages import AIMessage, AIMessageChunk, HumanMessage, RemoveMessage
from langgraph.channels.binop import BinaryOperatorAggregate
from langgraph.graph.message import add_messages
from langgraph.types import Overwrite

from orchestra import Agent, pipeline
from orchestra._fold import FoldedList
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


def _folded(operator: Any, writes: list[Any], steps: int = 2, kind: Any = FoldedList) -> list[Any]:
    """`writes` through a workflow's folding channel (or LangGraph's), over `steps` steps."""
    channel = kind(list, operator)
    size = -(-len(writes) // steps)
    for start in range(0, len(writes), size):
        channel.update(writes[start : start + size])
    return channel.get()


def _one_by_one(operator: Any, writes: list[Any]) -> list[Any]:
    value: list[Any] = []
    for write in writes:
        value = operator(value, write)
    return value


def test_the_record_channel_folds_a_step_as_the_reducer_does_write_by_write() -> None:
    records = [AgentResult(agent=f"w{i}") for i in range(30)]
    writes: list[Any] = [[r] for r in records[:20]]
    writes += [records[3], None, [], records[:25], tuple(records[25:]), [records[0]]]
    folded = _folded(merge_records, writes, steps=3)
    assert [r.id for r in folded] == [r.id for r in _one_by_one(merge_records, writes)]


def test_the_message_channel_folds_a_step_as_add_messages_does() -> None:
    writes: list[Any] = [
        [HumanMessage("hi", id="h")],
        *[[AIMessage(f"m{i}", id=f"m{i}")] for i in range(20)],
        [AIMessage("again", id="m3")],
        [RemoveMessage(id="m4")],
        [AIMessageChunk(content="chunk", id="c")],
        [AIMessage("x", id="x"), AIMessage("x2", id="x")],
        {"role": "user", "content": "as a dict", "id": "d"},
        [AIMessage("after", id="after")],
        Overwrite([AIMessage("only", id="only")]),
        [AIMessage("last", id="last")],
    ]
    for steps in (1, 3, len(writes)):
        plain = _folded(add_messages, writes, steps, BinaryOperatorAggregate)
        folded = _folded(append_messages, writes, steps=steps)
        assert [(m.id, m.content, type(m)) for m in folded] == [
            (m.id, m.content, type(m)) for m in plain
        ]


def test_workflow_record_and_message_fields_get_the_folding_channel() -> None:
    app = pipeline(Agent("a", model=lambda state: "A")).compile()
    assert isinstance(app.channels["results"], FoldedList)
    assert isinstance(app.channels["decisions"], FoldedList)
    assert isinstance(app.channels["messages"], FoldedList)
    assert app.invoke({"goal": "g"})["output"] == "A"
