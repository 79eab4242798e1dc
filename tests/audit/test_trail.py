"""The audit trail a real run leaves, on SQLite and PostgreSQL: complete, once per record."""

from __future__ import annotations

import asyncio
import threading
from collections import Counter
from typing import Any

from langchain_core.runnables import RunnableConfig
from langgraph.types import Command

from orchestra import Agent, Decision, fan_out
from orchestra.audit import aentries, averify, digest, entries, verify
from orchestra.checkpoint import SQLCheckpointer
from orchestra.fork import fork_thread, history
from tests.audit.conftest import review_desk

THREAD = "pr-7"


def answered_review(saver: SQLCheckpointer, thread: str = THREAD) -> dict[str, Any]:
    """Run the review desk until the human is asked, then answer 'reject'."""
    app = review_desk().compile(checkpointer=saver)
    config: RunnableConfig = {"configurable": {"thread_id": thread}}
    app.invoke({"goal": "PR 7: a new login flow"}, config)
    final: dict[str, Any] = app.invoke(Command(resume="reject"), config)
    return final


def writes_config(thread: str) -> RunnableConfig:
    return {"configurable": {"thread_id": thread, "checkpoint_ns": "", "checkpoint_id": "c1"}}


def test_a_run_records_every_call_decision_escalation_and_answer(
    saver: SQLCheckpointer,
) -> None:
    answered_review(saver)

    trail = entries(saver, THREAD)

    facts = Counter((e.kind, e.record_kind, e.node) for e in trail)
    assert facts == {
        ("result", "control", "triage"): 1,
        ("decision", "route", "triage"): 1,
        ("result", "model", "qa"): 1,
        ("result", "model", "security"): 1,
        ("decision", "vote", "panel.tally"): 1,
        ("interrupt", "escalation", "panel.escalate"): 1,
        ("answer", "human", "panel.escalate"): 1,
        ("decision", "escalation", "panel.escalate"): 1,
        ("result", "workflow", "panel"): 1,
    }
    assert [e.seq for e in trail] == list(range(1, len(trail) + 1))
    route = next(e for e in trail if e.record_kind == "route")
    assert (route.choice, route.reason) == ("review", "touches auth")
    answer = next(e for e in trail if e.kind == "answer")
    assert (answer.choice, answer.details["answer"]) == ("reject", "reject")
    question = next(e for e in trail if e.kind == "interrupt")
    assert question.details["question"]["options"] == ["approve", "reject"]
    vote = next(e for e in trail if e.record_kind == "vote")
    assert vote.details["detail"]["counts"] == {"approve": 1, "reject": 1}


def test_each_call_is_audited_with_the_digests_of_its_input_and_output(
    saver: SQLCheckpointer,
) -> None:
    final = answered_review(saver)

    audited = {e.record_id: e for e in entries(saver, THREAD) if e.kind == "result"}

    assert set(audited) == {r.id for r in final["results"]}
    for result in final["results"]:
        assert audited[result.id].input_digest == digest(result.input)
        assert audited[result.id].output_digest == digest(result.output)


def test_the_chain_of_a_finished_run_verifies(saver: SQLCheckpointer) -> None:
    answered_review(saver)

    report = verify(saver, THREAD)

    assert report.ok, report.problems
    assert report.entries == 9
    assert report.head is not None
    assert report.head.seq == 9
    assert report.head.hash == entries(saver, THREAD)[-1].hash


def test_parallel_branches_append_one_unbroken_chain(saver: SQLCheckpointer) -> None:
    barrier = threading.Barrier(6)

    def together(name: str) -> Any:
        def step(state: Any) -> str:
            barrier.wait(timeout=10)
            return name

        return step

    flow = fan_out(*(Agent(f"branch{i}", model=together(f"b{i}")) for i in range(6)))
    flow.compile(checkpointer=saver).invoke({"goal": "g"}, {"configurable": {"thread_id": "wide"}})

    trail = entries(saver, "wide")
    branches = sorted(e.node for e in trail if e.node.startswith("branch"))
    assert branches == [f"branch{i}" for i in range(6)]
    assert verify(saver, "wide").ok


def test_writers_racing_on_one_thread_each_get_their_own_place_in_the_chain(
    saver: SQLCheckpointer,
) -> None:
    writers = 8
    barrier = threading.Barrier(writers)
    errors: list[BaseException] = []

    def write(index: int) -> None:
        decision = Decision(kind="route", at=f"node{index}", choice="x")
        try:
            barrier.wait(timeout=10)
            saver.put_writes(writes_config("race"), [("decisions", [decision])], f"task-{index}")
        except BaseException as error:  # reported below, in the test's thread
            errors.append(error)

    threads = [threading.Thread(target=write, args=(i,)) for i in range(writers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    trail = entries(saver, "race")
    assert [e.seq for e in trail] == list(range(1, writers + 1))
    assert sorted(e.node for e in trail) == sorted(f"node{i}" for i in range(writers))
    assert verify(saver, "race").ok


async def test_async_writers_racing_on_one_thread_make_one_valid_chain(
    saver: SQLCheckpointer,
) -> None:
    decisions = [Decision(kind="gate", at=f"check{i}", choice="pass") for i in range(6)]

    await asyncio.gather(
        *(
            saver.aput_writes(writes_config("async"), [("decisions", [d])], f"task-{i}")
            for i, d in enumerate(decisions)
        )
    )

    trail = await aentries(saver, "async")
    assert sorted(e.record_id for e in trail) == sorted(d.id for d in decisions)
    assert (await averify(saver, "async")).ok


def test_writes_delivered_again_add_no_entries(saver: SQLCheckpointer) -> None:
    decision = Decision(kind="route", at="triage", choice="billing")
    writes = [("decisions", [decision]), ("output", "routed")]

    saver.put_writes(writes_config("again"), writes, "task-1")
    saver.put_writes(writes_config("again"), writes, "task-1")
    # The same record handed back by a nested workflow, from another task.
    saver.put_writes(writes_config("again"), [("decisions", [decision])], "task-2")

    assert [e.record_id for e in entries(saver, "again")] == [decision.id]
    assert verify(saver, "again").ok


def test_answers_consumed_by_a_task_are_audited_once_each(saver: SQLCheckpointer) -> None:
    config = writes_config("answers")

    saver.put_writes(config, [("__resume__", ["yes"])], "task-9")
    saver.put_writes(config, [("__resume__", ["yes", "ship it"])], "task-9")

    trail = entries(saver, "answers")
    assert [(e.kind, e.choice) for e in trail] == [("answer", "yes"), ("answer", "ship it")]


def test_a_step_that_records_nothing_leaves_no_audit(saver: SQLCheckpointer) -> None:
    saver.put_writes(writes_config("quiet"), [("output", "x"), ("goal", "g")], "task-1")

    assert saver.read_audit("quiet") == ([], None)


def test_deleting_a_thread_deletes_its_audit_but_pruning_keeps_it(
    saver: SQLCheckpointer,
) -> None:
    answered_review(saver, "kept")
    answered_review(saver, "gone")

    saver.prune(["kept"], strategy="delete")
    saver.delete_thread("gone")

    assert verify(saver, "kept").entries == 9
    assert saver.read_audit("gone") == ([], None)


def test_a_fork_starts_its_own_chain_and_leaves_the_original_alone(
    saver: SQLCheckpointer,
) -> None:
    answered_review(saver)
    original = entries(saver, THREAD)
    # Step 1 is the checkpoint after triage routed the change, before the panel met.
    routed = next(c for c in history(saver, THREAD) if c["step"] == 1)

    fork = fork_thread(saver, THREAD, routed["checkpoint_id"], "pr-7-again")
    app = review_desk().compile(checkpointer=saver)
    config: RunnableConfig = {"configurable": {"thread_id": fork}}
    app.invoke(None, config)
    app.invoke(Command(resume="approve"), config)

    forked = entries(saver, fork)
    assert [e.seq for e in forked] == list(range(1, len(forked) + 1))
    assert "triage" not in {e.node for e in forked}  # routed before the fork
    assert next(e for e in forked if e.kind == "answer").choice == "approve"
    assert verify(saver, fork).ok
    assert entries(saver, THREAD) == original
