"""State: records merge by id, derived counts, and every field has a reducer."""

from __future__ import annotations

from orchestra import AgentResult, Decision, OrchestraState, Usage
from orchestra.state import keep_last, merge_records


def test_merging_the_same_records_twice_adds_them_once() -> None:
    a, b = AgentResult(agent="a"), AgentResult(agent="b")

    merged = merge_records(merge_records([a], [a, b]), [a, b])

    assert [r.agent for r in merged] == ["a", "b"]


def test_merge_accepts_a_single_record_and_none() -> None:
    d = Decision(kind="route", at="x")

    assert merge_records(None, d) == [d]
    assert merge_records([d], None) == [d]


def test_visits_and_usage_are_derived_from_the_results_counting_workflows_once() -> None:
    state = OrchestraState(
        results=[
            AgentResult(agent="a", usage=Usage(input_tokens=3, output_tokens=2, total_tokens=5)),
            AgentResult(agent="a", usage=Usage(input_tokens=1, output_tokens=1, total_tokens=2)),
            AgentResult(
                agent="team",
                kind="workflow",
                usage=Usage(input_tokens=4, output_tokens=3, total_tokens=7),
            ),
        ]
    )

    assert state.visits == {"a": 2, "team": 1}
    assert state.usage == Usage(input_tokens=4, output_tokens=3, total_tokens=7)


def test_every_base_field_declares_a_reducer() -> None:
    for name, info in OrchestraState.model_fields.items():
        assert any(callable(meta) for meta in info.metadata), f"{name} has no reducer"


def test_keep_last_takes_the_newest_value() -> None:
    assert keep_last(1, 2) == 2


def test_feedback_is_only_for_the_result_that_was_rejected() -> None:
    first = AgentResult(agent="w")
    second = AgentResult(agent="w")
    rejected = Decision(kind="gate", at="w.gate", about=first.id, rejected=True, reason="fix it")

    assert OrchestraState(results=[first], decisions=[rejected]).feedback_for("w") == "fix it"
    assert OrchestraState(results=[first, second], decisions=[rejected]).feedback_for("w") is None


def test_a_model_call_record_survives_validation_unchanged() -> None:
    from orchestra import Agent
    from orchestra.models import ScriptedModel

    call = Agent("writer", "Draft.", model=ScriptedModel()).invoke(OrchestraState(goal="tides"))
    record = call.result
    assert AgentResult.model_validate(record.model_dump()) == record
    assert type(record.usage) is Usage
    assert record.usage.total_tokens > 0


def test_trusted_refuses_a_record_missing_a_field() -> None:
    import pytest

    from orchestra.state import trusted

    with pytest.raises(TypeError, match="missing \\['cost'\\]"):
        trusted(Usage, {"input_tokens": 1, "output_tokens": 1, "total_tokens": 2})


def test_an_agent_call_is_the_dataclass_its_init_would_make() -> None:
    import dataclasses

    import pytest

    from orchestra import Agent
    from orchestra.agents import AgentCall
    from orchestra.models import ScriptedModel

    call = Agent("writer", "Draft.", model=ScriptedModel()).invoke(OrchestraState(goal="tides"))
    assert call == AgentCall(result=call.result, parsed=call.parsed, reply=call.reply)
    assert call.decisions == ()
    with pytest.raises(dataclasses.FrozenInstanceError):
        call.parsed = "changed"  # type: ignore[misc]
    assert dataclasses.replace(call, parsed="other").parsed == "other"


def test_an_agent_reuses_its_system_message_until_its_instructions_change() -> None:
    from orchestra import Agent
    from orchestra.models import ScriptedModel

    agent = Agent("writer", "Draft.", model=ScriptedModel())
    first = agent.messages(OrchestraState(goal="tides"))[0]
    assert agent.messages(OrchestraState(goal="waves"))[0] is first
    agent.instructions = "Edit."
    assert agent.messages(OrchestraState(goal="tides"))[0].content == "Edit."
    assert agent._copy(name="editor", instructions="").messages(OrchestraState())[0].content == (
        "You are editor."
    )
