"""The "Work so far" block, extended step by step, equals the block built from scratch."""

from __future__ import annotations

import random
from typing import Any

from orchestra import Agent, OrchestraState, pipeline
from orchestra._work_so_far import NOT_SHOWN, work_so_far
from orchestra.agents import render
from orchestra.models import ScriptedModel
from orchestra.state import AgentResult


def _from_scratch(results: list[AgentResult], limit: int) -> list[str]:
    latest: dict[str, Any] = {}
    for result in results:
        if result.kind not in NOT_SHOWN:
            latest[result.agent] = result.output
    blocks = []
    for agent, out in latest.items():
        text = out if isinstance(out, str) else render(out)
        if len(text) > limit:
            text = text[:limit] + " … [cut]"
        blocks.append(f"### {agent}\n{text}")
    return blocks


def _record(rng: random.Random) -> AgentResult:
    output: Any = rng.choice(["short", "x" * 50, {"score": rng.randint(0, 9)}, None, 3])
    return AgentResult(
        agent=rng.choice(["a", "b", "c", "d"]),
        kind=rng.choice(["model", "model", "function", "control", "workflow", "error"]),
        output=output,
    )


def test_growing_lists_give_the_blocks_a_fresh_build_gives() -> None:
    rng = random.Random(7)
    for _ in range(50):
        limit = rng.choice([10, 40, 4000])
        results: list[AgentResult] = []
        for _ in range(rng.randint(1, 12)):
            # Each step's list is a new one: the previous records plus one or more new.
            results = results + [_record(rng) for _ in range(rng.randint(1, 3))]
            assert work_so_far(results, limit, render) == _from_scratch(results, limit)


def test_a_list_that_does_not_extend_the_last_one_is_built_from_scratch() -> None:
    rng = random.Random(11)
    first = [_record(rng) for _ in range(6)]
    assert work_so_far(first, 100, render) == _from_scratch(first, 100)

    shorter = first[:3]
    replaced = [*first[:2], _record(rng), *first[3:]]
    for results in (shorter, replaced, list(reversed(first)), []):
        assert work_so_far(results, 100, render) == _from_scratch(results, 100)


def test_a_list_changed_in_place_after_use_is_not_trusted() -> None:
    results = [AgentResult(agent="a", output="one"), AgentResult(agent="b", output="two")]
    work_so_far(results, 100, render)

    results[1] = AgentResult(agent="b", output="changed")
    results.append(AgentResult(agent="c", output="three"))

    assert work_so_far(results, 100, render) == _from_scratch(results, 100)


def test_a_pipeline_prompt_shows_each_agents_latest_output_once() -> None:
    model = ScriptedModel(replies=["first draft", "facts", "second draft", "final"])
    writer = Agent("write", "Write.", model=model)
    checker = Agent("check", "Check.", model=model)
    flow = pipeline(writer, checker, Agent("rewrite", "Rewrite.", model=model))
    state = OrchestraState(goal="tides", results=[AgentResult(agent="write", output="old")])

    flow.compile().invoke(state)

    last_prompt = model.calls[-1][-1].text
    assert last_prompt.count("### write\n") == 1
    assert "### write\nfirst draft" in last_prompt
    assert "### check\nfacts" in last_prompt
