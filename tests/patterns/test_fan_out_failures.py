"""fan_out: a branch that fails for good does not discard the branches that succeeded."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from orchestra import Agent, AgentResult, OrchestraState, RetryPolicy, fan_out, pipeline
from orchestra.checkpoint import SQLCheckpointer
from orchestra.errors import BranchesFailedError, DefinitionError
from orchestra.models import ScriptedModel
from orchestra.runtime import arun, resume, run
from tests.conftest import scripted_agent


class SourcesState(OrchestraState):
    sources: list[str] = []


def broken(name: str, message: str = "service down") -> Agent:
    return Agent(name, model=ScriptedModel(replies=[ValueError(message)], model_name="m"))


async def invoke(flow: Any, inputs: dict[str, Any], mode: str) -> dict[str, Any]:
    app = flow.compile()
    if mode == "async":
        return await app.ainvoke(inputs)  # type: ignore[no-any-return]
    return app.invoke(inputs)  # type: ignore[no-any-return]


modes = pytest.mark.parametrize("mode", ["sync", "async"])


@modes
async def test_the_merge_gets_the_branches_that_succeeded_when_one_fails(mode: str) -> None:
    seen: list[list[str]] = []

    def merge(state: Any, results: list[AgentResult]) -> str:
        seen.append([r.agent for r in results])
        return " + ".join(r.output for r in results)

    flow = fan_out(
        scripted_agent("legal", "no lawsuits"),
        broken("market"),
        scripted_agent("finance", "profitable"),
        merge=merge,
    )

    final = await invoke(flow, {"goal": "Acme"}, mode)

    assert final["output"] == "no lawsuits + profitable"
    assert seen == [["legal", "finance"]]
    [failed] = [r for r in final["results"] if r.kind == "error"]
    assert failed.agent == "market"
    assert failed.output is None
    assert failed.error == "ValueError: service down"
    [partial] = [d for d in final["decisions"] if d.kind == "partial"]
    assert partial.detail == {"failed": ["market"], "succeeded": ["legal", "finance"]}


@modes
async def test_a_merge_agent_is_not_shown_the_failed_branch(mode: str) -> None:
    merger = ScriptedModel(replies=["summary"])
    flow = fan_out(
        scripted_agent("legal", "no lawsuits"),
        broken("market"),
        merge=Agent("synth", model=merger),
    )

    final = await invoke(flow, {"goal": "Acme"}, mode)

    assert final["output"] == "summary"
    prompt = merger.calls[0][-1].text
    assert "### legal" in prompt
    assert "market" not in prompt


@modes
async def test_a_failed_branch_records_the_retries_and_fallbacks_it_went_through(
    mode: str,
) -> None:
    retry = RetryPolicy(max_attempts=2, initial_interval=0.01, jitter=False)
    flaky = Agent(
        "market",
        model=ScriptedModel(replies=[TimeoutError("slow"), TimeoutError("slow")]),
        retry=retry,
        fallback=ScriptedModel(replies=[ValueError("also down")], model_name="big"),
    )
    flow = fan_out(scripted_agent("legal", "fine"), flaky)

    final = await invoke(flow, {"goal": "Acme"}, mode)

    assert final["output"] == {"legal": "fine"}
    tried = [(d.kind, d.at) for d in final["decisions"] if d.kind in ("retry", "fallback")]
    assert tried == [("retry", "market"), ("fallback", "market")]
    [failed] = [r for r in final["results"] if r.kind == "error"]
    assert "also down" in (failed.error or "")


@modes
async def test_a_mapped_branch_that_fails_leaves_the_other_items_merged(mode: str) -> None:
    def read(state: Any) -> str:
        if state.item == "patents":
            raise ConnectionError("registry unreachable")
        return f"notes on {state.item}"

    flow = fan_out(Agent("reader", model=read), over="sources", state=SourcesState)

    final = await invoke(flow, {"goal": "g", "sources": ["10-K", "patents", "news"]}, mode)

    assert final["output"] == ["notes on 10-K", "notes on news"]
    [failed] = [r for r in final["results"] if r.kind == "error"]
    assert (failed.agent, failed.item_index) == ("reader", 1)
    [partial] = [d for d in final["decisions"] if d.kind == "partial"]
    assert partial.detail["failed"] == ["reader[1]"]


@modes
async def test_a_nested_workflow_branch_that_fails_is_recorded_under_its_name(mode: str) -> None:
    team = pipeline(scripted_agent("drafter", "draft"), broken("checker"), name="team")
    flow = fan_out(team, scripted_agent("solo", "solo work"))

    final = await invoke(flow, {"goal": "g"}, mode)

    assert final["output"] == {"solo": "solo work"}
    [failed] = [r for r in final["results"] if r.kind == "error"]
    assert failed.agent == "team"
    assert "service down" in (failed.error or "")


@modes
async def test_when_every_branch_fails_the_merge_says_so(mode: str) -> None:
    flow = fan_out(broken("a", "a is down"), broken("b", "b is down"))

    with pytest.raises(BranchesFailedError, match=r"a is down.*b is down"):
        await invoke(flow, {"goal": "g"}, mode)


@modes
async def test_on_error_fail_stops_the_run_with_the_branch_error(mode: str) -> None:
    flow = fan_out(scripted_agent("a", "ok"), broken("b"), on_error="fail")

    with pytest.raises(ValueError, match="service down"):
        await invoke(flow, {"goal": "g"}, mode)


def test_on_error_fail_resumes_only_the_failed_branch(tmp_path: Path) -> None:
    calls = {"a": 0, "b": 0}

    def steady(state: Any) -> str:
        calls["a"] += 1
        return "a done"

    def flaky(state: Any) -> str:
        calls["b"] += 1
        if calls["b"] == 1:
            raise ConnectionError("b is down")
        return "b done"

    flow = fan_out(Agent("a", model=steady), Agent("b", model=flaky), on_error="fail")
    with SQLCheckpointer(f"sqlite:///{tmp_path / 'runs.db'}") as saver:
        with pytest.raises(ConnectionError):
            run(flow, "g", thread_id="t1", checkpointer=saver)
        outcome = resume(flow, "t1", checkpointer=saver)

    assert outcome.output == {"a": "a done", "b": "b done"}
    assert calls == {"a": 1, "b": 2}


def test_a_continued_failure_is_checkpointed_and_not_run_again(tmp_path: Path) -> None:
    attempts = {"b": 0}

    def down(state: Any) -> str:
        attempts["b"] += 1
        raise ConnectionError("b is down")

    flow = fan_out(scripted_agent("a", "ok"), Agent("b", model=down))
    with SQLCheckpointer(f"sqlite:///{tmp_path / 'runs.db'}") as saver:
        first = run(flow, "g", thread_id="t1", checkpointer=saver)
        again = run(flow, "g", thread_id="t1", checkpointer=saver)

    assert first.output == {"a": "ok"}
    assert first.status == "done"
    assert again.executed is False
    assert attempts["b"] == 1


def test_on_error_must_be_continue_or_fail() -> None:
    with pytest.raises(DefinitionError, match="on_error"):
        fan_out(scripted_agent("a"), on_error="ignore")  # type: ignore[arg-type]


async def test_a_failed_nested_branch_leaves_a_finished_durable_run(tmp_path: Path) -> None:
    team = pipeline(scripted_agent("drafter", "draft"), broken("checker"), name="team")
    flow = fan_out(team, scripted_agent("solo", "solo work"))
    async with SQLCheckpointer(f"sqlite:///{tmp_path / 'runs.db'}") as saver:
        outcome = await arun(flow, "g", thread_id="t1", checkpointer=saver)

    assert outcome.status == "done"
    assert outcome.output == {"solo": "solo work"}
    assert [r.agent for r in outcome.state["results"] if r.kind == "error"] == ["team"]


@pytest.mark.parametrize("failing", [0, 2])
def test_on_error_fail_resumes_a_mapped_branch_and_merges_every_item(
    tmp_path: Path, failing: int
) -> None:
    # The first item's branch alone goes on to the merge: whether it is the one that
    # failed (run again on resume) or one kept from before, the merge still runs once.
    calls: dict[str, int] = {}

    def read(state: Any) -> str:
        calls[state.item] = calls.get(state.item, 0) + 1
        if state.item_index == failing and calls[state.item] == 1:
            raise ConnectionError(f"{state.item} is down")
        return f"notes on {state.item}"

    sources = ["10-K", "patents", "news"]
    inputs = {"goal": "g", "sources": sources}
    flow = fan_out(Agent("reader", model=read), over="sources", state=SourcesState, on_error="fail")
    with SQLCheckpointer(f"sqlite:///{tmp_path / 'runs.db'}") as saver:
        with pytest.raises(ConnectionError):
            run(flow, inputs=inputs, thread_id="t1", checkpointer=saver)
        outcome = resume(flow, "t1", checkpointer=saver)

    assert outcome.output == [f"notes on {source}" for source in sources]
    assert calls == {source: 2 if i == failing else 1 for i, source in enumerate(sources)}
    merges = [r for r in outcome.state["results"] if r.agent == "fan_out.merge"]
    assert len(merges) == 1


@modes
async def test_a_mapped_fan_out_merges_when_its_first_item_fails(mode: str) -> None:
    def read(state: Any) -> str:
        if state.item_index == 0:
            raise ConnectionError("registry unreachable")
        return f"notes on {state.item}"

    flow = fan_out(Agent("reader", model=read), over="sources", state=SourcesState)

    final = await invoke(flow, {"goal": "g", "sources": ["10-K", "patents", "news"]}, mode)

    assert final["output"] == ["notes on patents", "notes on news"]
    [partial] = [d for d in final["decisions"] if d.kind == "partial"]
    assert partial.detail["failed"] == ["reader[0]"]
