"""Run limits: a breach halts the run, resuming under a raised limit finishes it."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from orchestra import Agent, Decision, Limits, Price, fan_out, pipeline, supervisor
from orchestra.checkpoint import SQLCheckpointer
from orchestra.errors import DefinitionError, OrchestraError
from orchestra.models import ScriptedModel
from orchestra.policy import parse_deadline
from orchestra.runtime import aresume, arun, resume, run, thread_status
from orchestra.timeline import read_timeline


@pytest.fixture
def saver(tmp_path: Path) -> Iterator[SQLCheckpointer]:
    with SQLCheckpointer(f"sqlite:///{tmp_path / 'runs.db'}") as checkpointer:
        yield checkpointer


def agent(name: str, reply: str, **model: Any) -> tuple[Agent, ScriptedModel]:
    scripted = ScriptedModel(replies=[reply] * 5, **model)
    return Agent(name, f"You are {name}.", model=scripted), scripted


def three_steps(**model: Any) -> tuple[Any, list[ScriptedModel]]:
    (a, ma), (b, mb), (c, mc) = (agent(n, f"{n} says four words", **model) for n in "abc")
    return pipeline(a, b, c, name="steps"), [ma, mb, mc]


def calls(models: list[ScriptedModel]) -> list[int]:
    return [len(m.calls) for m in models]


def limit_decisions(outcome: Any) -> list[Any]:
    return [d for d in outcome.state["decisions"] if d.kind == "limit"]


def test_a_token_budget_halts_the_run_and_a_raised_budget_finishes_it_without_repeats(
    saver: SQLCheckpointer,
) -> None:
    flow, models = three_steps()

    halted = run(flow, "go", thread_id="t", checkpointer=saver, limits=Limits(max_tokens=20))

    assert halted.status == "halted"
    assert calls(models) == [1, 1, 0]
    (halt,) = halted.halts
    assert (halt.kind, halt.at, halt.detail["limit"]) == ("limit", "c", "tokens")
    assert "orchestra resume t --max-tokens" in halt.reason
    assert thread_status(flow.compile(checkpointer=saver), "t") == "halted"

    done = resume(flow, "t", checkpointer=saver, limits=Limits(max_tokens=1000))

    assert done.status == "done"
    assert done.output == "c says four words"
    assert calls(models) == [1, 1, 1]
    assert [d.id for d in limit_decisions(done)] == [halt.id]
    assert done.limits.max_tokens == 1000


def test_resuming_without_raising_the_limit_halts_again_at_once(saver: SQLCheckpointer) -> None:
    flow, models = three_steps()
    run(flow, "go", thread_id="t", checkpointer=saver, limits=Limits(max_tokens=20))

    again = resume(flow, "t", checkpointer=saver)

    assert again.status == "halted"
    assert calls(models) == [1, 1, 0]
    assert again.halts[0].detail["limit"] == "tokens"
    assert again.limits.max_tokens == 20, "the run's limits are kept with the thread"


async def test_arun_halts_and_aresume_finishes_under_a_raised_budget(
    saver: SQLCheckpointer,
) -> None:
    flow, models = three_steps()

    halted = await arun(flow, "go", thread_id="t", checkpointer=saver, limits=Limits(max_steps=1))
    done = await aresume(flow, "t", checkpointer=saver, limits=Limits(max_steps=3))

    assert (halted.status, halted.halts[0].at) == ("halted", "b")
    assert (done.status, calls(models)) == ("done", [1, 1, 1])


def test_a_cost_budget_prices_calls_with_the_runs_price_table(saver: SQLCheckpointer) -> None:
    flow, models = three_steps(model_name="house-model")
    # A dollar per input token, nothing per output token.
    limits = Limits(max_cost=10.0, prices={"house-model": Price(input=1e6, output=0.0)})

    halted = run(flow, "go", thread_id="t", checkpointer=saver, limits=limits)

    first = halted.state["results"][0]
    assert first.usage.cost == pytest.approx(first.usage.input_tokens)
    assert halted.status == "halted"
    assert halted.halts[0].detail["limit"] == "cost"
    spent = sum(r.usage.cost for r in halted.state["results"])
    assert halted.halts[0].detail["used"] == pytest.approx(spent)
    assert spent >= 10.0
    assert calls(models)[-1] == 0


def test_an_unpriced_model_counts_as_free_and_the_run_says_so(saver: SQLCheckpointer) -> None:
    flow, _ = three_steps(model_name="mystery-model")

    with pytest.warns(RuntimeWarning, match="no price for model 'mystery-model'"):
        done = run(flow, "go", checkpointer=saver, limits=Limits(max_cost=0.01))

    assert done.status == "done"
    assert done.usage.cost == 0.0


def test_a_visit_limit_stops_a_supervisor_that_keeps_choosing_the_same_worker(
    saver: SQLCheckpointer,
) -> None:
    lead = Agent("lead", model=ScriptedModel(respond=lambda m, t: {"next": "writer"}))
    writer, writes = agent("writer", "another draft")
    flow = supervisor([writer], manager=lead, max_rounds=50)

    halted = run(flow, "go", thread_id="t", checkpointer=saver, limits=Limits(visits={"writer": 2}))

    assert halted.status == "halted"
    assert len(writes.calls) == 2
    assert (halted.halts[0].at, halted.halts[0].detail["agent"]) == ("writer", "writer")
    assert "--max-visits writer=4" in halted.halts[0].reason

    again = resume(flow, "t", checkpointer=saver, limits=Limits(visits={"writer": 3}))

    assert again.status == "halted"
    assert len(writes.calls) == 3


def test_max_visits_bounds_every_agent_the_manager_too(saver: SQLCheckpointer) -> None:
    lead = Agent("lead", model=ScriptedModel(respond=lambda m, t: {"next": "writer"}))
    writer, _ = agent("writer", "draft")

    halted = run(
        supervisor([writer], manager=lead), "go", checkpointer=saver, limits=Limits(max_visits=2)
    )

    visits = [r.agent for r in halted.state["results"]]
    assert visits == ["lead", "writer", "lead", "writer"]
    assert halted.halts[0].at == "lead"


def test_max_steps_counts_every_agent_call(saver: SQLCheckpointer) -> None:
    flow, models = three_steps()

    halted = run(flow, "go", checkpointer=saver, limits=Limits(max_steps=2))

    assert (halted.status, calls(models)) == ("halted", [1, 1, 0])
    assert halted.halts[0].detail == {
        **halted.halts[0].detail,
        "limit": "steps",
        "used": 2,
        "allowed": 2,
    }


def test_a_deadline_from_the_runs_start_stops_the_next_call(saver: SQLCheckpointer) -> None:
    # Only the first call is slow, and it outlasts the deadline by a margin: the
    # run's start-up on a loaded machine must not use the deadline up before it.
    (a, ma), (b, mb), (c, mc) = (
        agent(n, f"{n} says four words", latency=latency)
        for n, latency in (("a", 1.2), ("b", 0.0), ("c", 0.0))
    )
    flow, models = pipeline(a, b, c, name="steps"), [ma, mb, mc]

    halted = run(
        flow,
        "go",
        thread_id="t",
        checkpointer=saver,
        limits=Limits(deadline=timedelta(seconds=0.8)),
    )

    assert (halted.status, calls(models)) == ("halted", [1, 0, 0])
    assert halted.halts[0].detail["limit"] == "deadline"

    done = resume(flow, "t", checkpointer=saver, limits=Limits(deadline=timedelta(hours=1)))

    assert (done.status, calls(models)) == ("done", [1, 1, 1])


def test_an_absolute_deadline_in_the_past_stops_the_run_before_any_call(
    saver: SQLCheckpointer,
) -> None:
    flow, models = three_steps()
    past = datetime.now(UTC) - timedelta(minutes=1)

    halted = run(flow, "go", checkpointer=saver, limits=Limits(deadline=past))

    assert (halted.status, calls(models)) == ("halted", [0, 0, 0])


def test_a_halt_inside_a_nested_workflow_resumes_inside_it(saver: SQLCheckpointer) -> None:
    (a, ma), (b, mb) = agent("a", "one two three"), agent("b", "four")
    team = pipeline(a, b, name="team")
    lead = Agent("lead", model=ScriptedModel(replies=[{"next": "team"}, {"next": "FINISH"}]))
    flow = supervisor([team], manager=lead)

    halted = run(flow, "go", thread_id="t", checkpointer=saver, limits=Limits(max_steps=2))
    done = resume(flow, "t", checkpointer=saver, limits=Limits(max_steps=10))

    assert halted.status == "halted"
    assert halted.halts[0].at == "b"
    assert done.status == "done"
    assert (len(ma.calls), len(mb.calls)) == (1, 1)
    assert [d.at for d in limit_decisions(done)] == ["b"]


def test_a_halted_branch_keeps_the_work_of_the_branches_that_finished(
    saver: SQLCheckpointer,
) -> None:
    (a, ma), (b, mb) = agent("a", "alpha"), agent("b", "beta")
    flow = fan_out(a, b, name="both")

    halted = run(flow, "go", thread_id="t", checkpointer=saver, limits=Limits(visits={"b": 0}))
    done = resume(flow, "t", checkpointer=saver, limits=Limits(visits={"b": 1}))

    assert halted.status == "halted"
    assert done.status == "done"
    assert (len(ma.calls), len(mb.calls)) == (1, 1)


def test_declared_limits_apply_to_every_run_and_a_run_overrides_them(
    saver: SQLCheckpointer,
) -> None:
    flow, _ = three_steps()
    bounded = flow.with_limits(Limits(max_steps=1, max_tokens=10_000))

    halted = run(bounded, "go", checkpointer=saver)
    done = run(bounded, "go", checkpointer=saver, limits=Limits(max_steps=3))

    assert halted.status == "halted"
    assert done.status == "done"
    assert (done.limits.max_steps, done.limits.max_tokens) == (3, 10_000)
    assert flow.limits is None


def test_declared_limits_hold_without_the_runtime_too() -> None:
    flow, models = three_steps()

    from langgraph.checkpoint.memory import InMemorySaver

    app = flow.with_limits(Limits(max_steps=1)).compile(checkpointer=InMemorySaver())
    final = app.invoke({"goal": "go"}, {"configurable": {"thread_id": "t"}})

    assert calls(models) == [1, 0, 0]
    assert final["__interrupt__"][0].value["orchestra_halt"]["kind"] == "limit"


def test_an_answer_is_refused_for_a_halted_run(saver: SQLCheckpointer) -> None:
    flow, _ = three_steps()
    run(flow, "go", thread_id="t", checkpointer=saver, limits=Limits(max_steps=1))

    with pytest.raises(OrchestraError, match="halted by a limit"):
        resume(flow, "t", checkpointer=saver, answer="yes")


def test_limits_survive_a_round_trip_through_json() -> None:
    limits = Limits(
        max_visits=3,
        visits={"writer": 5},
        max_steps=40,
        max_tokens=10_000,
        max_cost=1.5,
        prices={"house": Price(1.0, 2.0)},
        deadline=timedelta(minutes=10),
    )
    absolute = Limits(deadline=datetime(2030, 1, 31, 17, tzinfo=UTC))

    assert Limits.from_json(limits.to_json()) == limits
    assert Limits.from_json(absolute.to_json()) == absolute
    assert Limits.from_json(None) == Limits()


def test_a_runs_limits_override_the_declared_ones_field_by_field() -> None:
    declared = Limits(max_steps=5, visits={"a": 1, "b": 1}, max_tokens=100)

    merged = declared.merged(Limits(max_steps=9, visits={"b": 4}))

    assert merged == Limits(max_steps=9, visits={"a": 1, "b": 4}, max_tokens=100)


@pytest.mark.parametrize(
    "bad",
    [{"max_steps": -1}, {"max_tokens": 1.5}, {"visits": {"a": -2}}, {"max_cost": -1.0}],
)
def test_invalid_limits_are_refused_when_declared(bad: dict[str, Any]) -> None:
    with pytest.raises(DefinitionError):
        Limits(**bad)


def test_deadlines_are_read_as_durations_or_times() -> None:
    assert parse_deadline("90s") == timedelta(seconds=90)
    assert parse_deadline("10m") == timedelta(minutes=10)
    assert parse_deadline("2h") == timedelta(hours=2)
    assert parse_deadline("2030-01-31T17:00:00+00:00") == datetime(2030, 1, 31, 17, tzinfo=UTC)
    with pytest.raises(DefinitionError, match="not a duration"):
        parse_deadline("soon")


def test_the_timeline_of_a_halted_run_shows_the_halt(saver: SQLCheckpointer) -> None:
    flow, _ = three_steps()
    halted = run(flow, "go", thread_id="t", checkpointer=saver, limits=Limits(max_steps=1))

    timeline = read_timeline(saver, "t")

    assert [e.id for e in timeline.entries if isinstance(e, Decision)] == [halted.halts[0].id]
