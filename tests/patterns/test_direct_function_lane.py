"""A function agent's direct lane journals, records and audits what the general path does.

The general path is taken by bounding the run's concurrent calls, which the lane does not
handle; everything else about the two runs is the same: a real SQLite checkpointer, whose
journal, audit trail and final state are compared.
"""

from __future__ import annotations

import asyncio
import gc
from functools import partial
from pathlib import Path
from typing import Annotated, Any

import pytest
from pydantic import BaseModel
from sqlalchemy import select

from orchestra import Agent, OrchestraState, fan_out, pipeline
from orchestra.audit import entries, verify
from orchestra.checkpoint import SQLCheckpointer
from orchestra.checkpoint.schema import journal
from orchestra.errors import DefinitionError, StructuredOutputError
from orchestra.journal import idempotency_key
from orchestra.patterns import _direct_function
from orchestra.runtime import aresume, arun, resume, run
from orchestra.state import keep_last

GENERAL = {"max_concurrent_calls": 4}


class Items(OrchestraState):
    items: list[int] = []


class Notes(OrchestraState):
    notes: Annotated[Any, keep_last] = None


class Score(BaseModel):
    value: int


def _comparable(final: dict[str, Any]) -> dict[str, Any]:
    """The final state without what differs between any two runs (ids, times)."""
    varying = {"id", "latency_ms", "started_at"}
    return {
        "results": [r.model_dump(exclude=varying) for r in final["results"]],
        "fields_set": [r.model_fields_set for r in final["results"]],
        "messages": [(type(m), m.name, m.content, m.model_fields_set) for m in final["messages"]],
        "message_ids": [
            m.id == r.id for m, r in zip(final["messages"], final["results"], strict=True)
        ],
        "decisions": [d.model_dump(exclude={"id", "made_at"}) for d in final["decisions"]],
        "rest": {k: v for k, v in final.items() if k not in ("results", "messages", "decisions")},
    }


def _journal(saver: SQLCheckpointer, thread_id: str) -> list[tuple[Any, ...]]:
    """A thread's journal, each entry with its namespace's node (task ids differ per run)."""
    query = select(
        journal.c.checkpoint_ns, journal.c.seq, journal.c.kind, journal.c.name, journal.c.payload
    ).where(journal.c.thread_id == thread_id)
    with saver.engine.connect() as connection:
        rows = connection.execute(query).all()
    return sorted((ns.split(":")[0], *rest) for ns, *rest in rows)


def _audit(saver: SQLCheckpointer, thread_id: str) -> list[tuple[Any, ...]]:
    """A thread's audit entries, in order, without what differs between runs."""
    assert verify(saver, thread_id).ok
    return sorted(
        (e.kind, e.record_kind, e.node, e.input_digest, e.output_digest, e.choice, e.reason)
        for e in entries(saver, thread_id)
    )


KEYS: list[str | None] = []


async def _square(state: Any) -> dict[str, Any]:
    KEYS.append(idempotency_key())
    await asyncio.sleep(0)
    return {"item": state.item, "square": state.item * state.item}


def _not_taken(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The agents that went through the general path (`Agent.ainvoke`/`invoke`)."""
    general: list[str] = []
    ainvoke, invoke = Agent.ainvoke, Agent.invoke

    async def aspy(self: Agent, *args: Any, **kwargs: Any) -> Any:
        general.append(self.name)
        return await ainvoke(self, *args, **kwargs)

    def spy(self: Agent, *args: Any, **kwargs: Any) -> Any:
        general.append(self.name)
        return invoke(self, *args, **kwargs)

    monkeypatch.setattr(Agent, "ainvoke", aspy)
    monkeypatch.setattr(Agent, "invoke", spy)
    return general


async def test_a_mapped_function_journals_records_and_audits_as_the_general_path(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    general = _not_taken(monkeypatch)
    KEYS.clear()
    flow = fan_out(Agent("worker", model=_square), over="items", state=Items).compile(
        checkpointer=SQLCheckpointer(f"sqlite:///{tmp_path / 'runs.db'}")
    )
    saver = flow.checkpointer
    assert isinstance(saver, SQLCheckpointer)
    try:
        inputs = {"items": [1, 2, 3]}
        lane = await flow.ainvoke(inputs, {"configurable": {"thread_id": "lane"}})
        assert general == []
        layered = await flow.ainvoke(inputs, {"configurable": {"thread_id": "general", **GENERAL}})
        assert general == ["worker"] * 3

        assert _comparable(lane) == _comparable(layered)
        assert [o["square"] for o in lane["output"]] == [1, 4, 9]
        # Each call had its key: thread, the branch's namespace, the call's number.
        shapes = [(k.split(":")[0], k.split(":")[1], k.split(":")[-1]) for k in map(str, KEYS)]
        assert shapes == [("lane", "worker", "0")] * 3 + [("general", "worker", "0")] * 3
        assert _journal(saver, "lane") == _journal(saver, "general")
        assert len(_journal(saver, "lane")) == 3
        assert _audit(saver, "lane") == _audit(saver, "general")
    finally:
        saver.close()


@pytest.mark.parametrize("config", [{}, GENERAL])
def test_a_sync_function_in_a_pipeline_records_alike(config: dict[str, Any]) -> None:
    def score(state: Any) -> Score:
        return Score(value=len(state.goal))

    flow = pipeline(
        Agent("count", model=lambda state: [1, {"a": None}]),
        Agent("score", model=score, output=Score, writes="notes"),
        state=Notes,
    ).compile()
    final = flow.invoke({"goal": "tides"}, {"configurable": config})
    general = flow.invoke({"goal": "tides"}, {"configurable": GENERAL})

    assert _comparable(final) == _comparable(general)
    assert final["notes"] == Score(value=5)
    assert final["output"] == {"value": 5}


@pytest.mark.parametrize("config", [{}, GENERAL])
async def test_a_sync_function_under_ainvoke_runs_in_a_thread_alike(
    config: dict[str, Any],
) -> None:
    flow = pipeline(Agent("count", model=lambda state: 7), state=Notes).compile()
    final = await flow.ainvoke({"goal": "tides"}, {"configurable": config})
    assert _comparable(final) == _comparable(flow.invoke({"goal": "tides"}))


@pytest.mark.filterwarnings("ignore:coroutine '_square' was never awaited")
@pytest.mark.parametrize("config", [{}, GENERAL])
def test_an_invalid_value_and_an_async_function_in_a_sync_run_fail_alike(
    config: dict[str, Any],
) -> None:
    invalid = pipeline(Agent("score", model=lambda state: {"value": "many"}, output=Score))
    with pytest.raises(StructuredOutputError, match="does not validate against Score"):
        invalid.compile().invoke({"goal": "tides"}, {"configurable": config})

    with pytest.raises(DefinitionError, match="has an async function"):
        pipeline(Agent("worker", model=_square)).compile().invoke(
            {"goal": "tides"}, {"configurable": config}
        )
    with pytest.raises(DefinitionError, match="has an async function"):
        pipeline(Agent("worker", model=lambda state: _square(state))).compile().invoke(
            {"goal": "tides"}, {"configurable": config}
        )
    gc.collect()  # the coroutine never awaited warns here, not in a later test


def _finish(outcome: Any) -> Any:
    """A sync run's outcome, or an async run's, run to its end."""
    return asyncio.run(outcome) if asyncio.iscoroutine(outcome) else outcome


@pytest.mark.parametrize("mode", ["sync", "async"])
def test_a_resumed_run_repeats_no_finished_call(
    mode: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A branch whose call finished (and was journaled) fails before its update is made, as
    # a crash there would leave it; on resume LangGraph runs that branch again.
    called: list[int] = []

    def work(state: Any) -> str:
        called.append(state.item)
        return f"{state.item} done"

    async def awork(state: Any) -> str:
        await asyncio.sleep(0)
        return work(state)

    crashes = ["2 done"]
    made = _direct_function.text_message

    def text_message(content: str, name: str, id: str) -> Any:
        if content in crashes:
            crashes.remove(content)
            raise ConnectionError("the process died here")
        return made(content, name, id)

    monkeypatch.setattr(_direct_function, "text_message", text_message)
    general = _not_taken(monkeypatch)
    worker = Agent("worker", model=work if mode == "sync" else awork)
    flow = fan_out(worker, over="items", state=Items, on_error="fail")
    with SQLCheckpointer(f"sqlite:///{tmp_path / 'runs.db'}") as saver:
        inputs = {"items": [1, 2, 3]}
        start = partial(run if mode == "sync" else arun, flow, inputs=inputs, thread_id="t1")
        again = partial(resume if mode == "sync" else aresume, flow, "t1")
        with pytest.raises(ConnectionError):
            _finish(start(checkpointer=saver))
        assert sorted(called) == [1, 2, 3]
        outcome = _finish(again(checkpointer=saver))
        assert verify(saver, "t1").ok

    assert outcome.output == ["1 done", "2 done", "3 done"]
    assert sorted(called) == [1, 2, 3]  # item 2's call was replayed from the journal
    assert general == []
