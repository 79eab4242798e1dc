"""fan_out: static branches and dynamic maps run in parallel and merge explicitly."""

from __future__ import annotations

import asyncio
import operator
import threading
from pathlib import Path
from typing import Annotated, Any

import pytest
from langgraph.checkpoint.memory import InMemorySaver

from orchestra import Agent, AgentResult, OrchestraState, fan_out, pipeline, router
from orchestra.checkpoint import SQLCheckpointer
from orchestra.errors import DefinitionError
from orchestra.models import ScriptedModel
from tests.conftest import scripted_agent


class SourcesState(OrchestraState):
    sources: list[str] = []
    notes: Annotated[list[str], operator.add] = []


def waits_for(barrier: threading.Barrier, answer: str) -> Any:
    """A step that only finishes if all its siblings are running at the same time."""

    def step(state: Any) -> str:
        barrier.wait(timeout=10)
        return answer

    return step


def test_static_branches_run_at_the_same_time() -> None:
    barrier = threading.Barrier(3)
    flow = fan_out(*(Agent(n, model=waits_for(barrier, n)) for n in ("a", "b", "c")))

    final = flow.compile().invoke({"goal": "g"})

    assert final["output"] == {"a": "a", "b": "b", "c": "c"}


async def test_static_branches_run_at_the_same_time_under_asyncio() -> None:
    barrier = threading.Barrier(2)
    flow = fan_out(
        Agent("a", model=waits_for(barrier, "A")), Agent("b", model=waits_for(barrier, "B"))
    )

    final = await flow.compile().ainvoke({"goal": "g"})

    assert final["output"] == {"a": "A", "b": "B"}


def test_a_merge_function_receives_every_branch_result_in_branch_order() -> None:
    seen: list[list[str]] = []

    def merge(state: Any, results: list[AgentResult]) -> str:
        seen.append([r.agent for r in results])
        return " + ".join(r.output for r in results)

    flow = fan_out(scripted_agent("x", "1"), scripted_agent("y", "2"), merge=merge)

    final = flow.compile().invoke({"goal": "g"})

    assert seen == [["x", "y"]]
    assert final["output"] == "1 + 2"


def test_a_merge_agent_sees_every_branch_output_in_its_prompt() -> None:
    merger = ScriptedModel(replies=["combined"])
    flow = fan_out(
        scripted_agent("legal", "no lawsuits"),
        scripted_agent("market", "growing share"),
        merge=Agent("synthesis", "Combine.", model=merger),
    )

    final = flow.compile().invoke({"goal": "g"})

    prompt = merger.calls[0][-1].text
    assert "### legal\nno lawsuits" in prompt
    assert "### market\ngrowing share" in prompt
    assert final["output"] == "combined"


def test_a_member_mapped_over_items_runs_once_per_item_and_merges_in_item_order() -> None:
    worker = Agent("summarise", model=lambda state: f"{state.item_index}:{state.item.upper()}")
    flow = fan_out(worker, over="sources", state=SourcesState)

    final = flow.compile().invoke({"goal": "g", "sources": ["10-k", "news", "patents"]})

    assert final["output"] == ["0:10-K", "1:NEWS", "2:PATENTS"]
    assert final["decisions"][0].detail == {"count": 3}


def test_mapped_items_see_their_own_item_in_the_prompt() -> None:
    model = ScriptedModel(respond=lambda messages, tools: "seen")
    flow = fan_out(Agent("read", model=model), over="sources", state=SourcesState)

    flow.compile().invoke({"goal": "g", "sources": ["alpha", "beta"]})

    prompts = sorted(call[-1].text for call in model.calls)
    assert "Your item:\nalpha" in prompts[0]
    assert "Your item:\nbeta" in prompts[1]


def test_a_mapped_branch_gets_its_item_but_not_the_whole_list_again() -> None:
    # Each branch's payload is stored with the checkpoint's pending tasks: N copies of an
    # N-item list would make a 1,000-way map store a million values.
    seen: list[tuple[Any, list[str]]] = []

    def read(state: Any) -> str:
        seen.append((state.item, list(state.sources)))
        return str(state.item)

    flow = fan_out(Agent("read", model=read), over="sources", state=SourcesState)

    final = flow.compile().invoke({"goal": "g", "sources": ["alpha", "beta"]})

    assert sorted(seen) == [("alpha", []), ("beta", [])]
    assert final["sources"] == ["alpha", "beta"]
    assert final["output"] == ["alpha", "beta"]


@pytest.mark.parametrize("on_error", ["continue", "fail"])
def test_mapped_branches_record_their_outputs_and_leave_output_to_the_merge(
    on_error: Any,
) -> None:
    # N branches each writing `output` would be N writes the merge throws away.
    worker = Agent("read", model=lambda state: state.item.upper())
    flow = fan_out(worker, over="sources", state=SourcesState, on_error=on_error)
    app = flow.compile(checkpointer=InMemorySaver(), interrupt_before=["fan_out.merge"])
    config: Any = {"configurable": {"thread_id": on_error}}

    app.invoke({"goal": "g", "output": "before", "sources": ["a", "b"]}, config)
    waiting = app.get_state(config).values

    assert waiting["output"] == "before"
    assert sorted(r.output for r in waiting["results"]) == ["A", "B"]
    assert sorted(m.content for m in waiting["messages"]) == ["A", "B"]
    assert app.invoke(None, config)["output"] == ["A", "B"]


async def test_only_the_first_mapped_branch_triggers_the_merge(tmp_path: Path) -> None:
    # One trigger write for the superstep, not one per branch: the merge still waits for
    # every branch, including those that finish after the first.
    async def read(state: Any) -> str:
        await asyncio.sleep(0.02 * state.item_index)
        return state.item.upper()

    flow = fan_out(Agent("read", model=read), over="sources", state=SourcesState)
    async with SQLCheckpointer(f"sqlite:///{tmp_path / 'runs.db'}") as saver:
        app = flow.compile(checkpointer=saver, interrupt_before=["fan_out.merge"])
        config: Any = {"configurable": {"thread_id": "t"}}
        await app.ainvoke({"goal": "g", "sources": ["a", "b", "c"]}, config)
        waiting = await saver.aget_tuple(config)
        assert waiting is not None
        assert waiting.parent_config is not None
        mapped = await saver.aget_tuple(waiting.parent_config)  # the branches' checkpoint
        assert mapped is not None
        final = await app.ainvoke(None, config)

    channels = sorted(channel for _, channel, _ in mapped.pending_writes or ())
    assert channels == [
        "branch:to:fan_out.merge",
        *["messages"] * 3,
        *["results"] * 3,
    ]
    assert final["output"] == ["A", "B", "C"]


def test_a_mapped_nested_workflow_leaves_output_to_the_merge_too() -> None:
    team = pipeline(Agent("draft", model=lambda state: f"d{state.item}"), name="team")
    flow = fan_out(team, over="sources", state=SourcesState)
    app = flow.compile(checkpointer=InMemorySaver(), interrupt_before=["fan_out.merge"])
    config: Any = {"configurable": {"thread_id": "nested"}}

    app.invoke({"goal": "g", "output": "before", "sources": ["a", "b"]}, config)

    assert app.get_state(config).values["output"] == "before"
    assert app.invoke(None, config)["output"] == ["da", "db"]


def test_mapping_over_no_items_goes_straight_to_the_merge() -> None:
    flow = fan_out(Agent("read", model=lambda s: "x"), over="sources", state=SourcesState)

    final = flow.compile().invoke({"goal": "g", "sources": []})

    assert final["output"] == []
    assert [r.agent for r in final["results"]] == ["fan_out.merge"]


def test_user_fields_written_by_parallel_branches_merge_through_their_reducer() -> None:
    flow = fan_out(
        Agent("a", model=lambda s: ["from a"], writes="notes"),
        Agent("b", model=lambda s: ["from b"], writes="notes"),
        state=SourcesState,
    )

    final = flow.compile().invoke({"goal": "g"})

    assert sorted(final["notes"]) == ["from a", "from b"]


def test_a_fan_out_of_routers_routes_each_branch_independently() -> None:
    def route_on(label: str) -> Any:
        return router(
            lambda state: label,
            routes={
                "x": scripted_agent(f"{label}_x", f"{label} went x"),
                "y": scripted_agent(f"{label}_y", f"{label} went y"),
            },
            name=f"router_{label}",
        )

    flow = fan_out(route_on("x"), route_on("y"))

    final = flow.compile().invoke({"goal": "g"})

    assert final["output"] == {"router_x": "x went x", "router_y": "y went y"}
    ran = {r.agent for r in final["results"] if r.kind == "model"}
    assert ran == {"x_x", "y_y"}
    assert {d.choice for d in final["decisions"]} == {"x", "y"}


def test_the_static_graph_fans_out_from_start_and_joins_at_the_merge() -> None:
    flow = fan_out(scripted_agent("a"), scripted_agent("b"), merge=scripted_agent("join"))

    graph = flow.compile().get_graph()

    edges = {(e.source, e.target) for e in graph.edges}
    assert edges == {
        ("__start__", "a"),
        ("__start__", "b"),
        ("a", "join"),
        ("b", "join"),
        ("join", "__end__"),
    }


def test_the_mapped_graph_splits_to_the_worker_and_the_merge() -> None:
    flow = fan_out(scripted_agent("w"), over="sources", state=SourcesState)

    graph = flow.compile().get_graph()

    edges = {(e.source, e.target) for e in graph.edges}
    assert edges == {
        ("__start__", "fan_out.split"),
        ("fan_out.split", "w"),
        ("fan_out.split", "fan_out.merge"),
        ("w", "fan_out.merge"),
        ("fan_out.merge", "__end__"),
    }


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (lambda: fan_out(), "at least one branch"),
        (lambda: fan_out(scripted_agent("a"), scripted_agent("b"), over="goal"), "exactly one"),
        (lambda: fan_out(scripted_agent("a"), over="nope"), "no field 'nope'"),
        (lambda: fan_out(scripted_agent("a"), merge=scripted_agent("a")), "used twice"),
    ],
)
def test_bad_definitions_fail_when_built(build: Any, message: str) -> None:
    with pytest.raises(DefinitionError, match=message):
        build()
