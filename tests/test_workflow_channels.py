"""A top-level graph has no channels for the fields only a mapping fan-out sets; a member's
graph keeps them. Neither the returned state, the records nor the checkpoints change."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from orchestra import Agent, OrchestraState, fan_out, pipeline
from orchestra.checkpoint import SQLCheckpointer
from orchestra.models import ScriptedModel
from orchestra.runtime import run
from orchestra.workflow import HANDED_DOWN


class SourcesState(OrchestraState):
    sources: list[str] = []


def chain() -> Any:
    return pipeline(
        Agent("research", "Find facts.", model=ScriptedModel(replies=["tides rise twice"])),
        Agent("write", "Write.", model=ScriptedModel(replies=["Tidal power is steady."])),
        Agent("count", model=lambda state: len(state.results)),
    )


def test_only_a_members_graph_has_the_fields_a_fan_out_hands_down() -> None:
    flow = chain()

    top, member = flow.compile(), flow.as_member()

    assert set(HANDED_DOWN) == {"item", "item_index"}
    assert set(HANDED_DOWN).isdisjoint(top.channels)
    assert set(HANDED_DOWN) <= set(member.channels)
    assert set(top.channels) | set(HANDED_DOWN) == set(member.channels)


def test_the_run_is_the_same_as_on_the_graph_with_every_channel(tmp_path: Path) -> None:
    def record(result: Any) -> dict[str, Any]:
        return result.model_dump(exclude={"id", "latency_ms", "started_at"})

    runs = []
    with SQLCheckpointer(f"sqlite:///{tmp_path / 'runs.db'}") as saver:
        for thread, app in [
            ("lean", chain().compile(checkpointer=saver)),
            ("full", chain().graph().compile(checkpointer=saver)),
        ]:
            config: Any = {"configurable": {"thread_id": thread}}
            final = app.invoke({"goal": "tidal power"}, config)
            history = list(app.get_state_history(config))
            runs.append(
                {
                    "keys": sorted(final),
                    "output": final["output"],
                    "records": [record(r) for r in final["results"]],
                    "messages": [(m.type, m.name, m.text) for m in final["messages"]],
                    "decisions": final["decisions"],
                    "saved": [sorted(snapshot.values) for snapshot in history],
                }
            )

    lean, full = runs
    assert lean == full
    assert lean["keys"] == ["decisions", "goal", "messages", "output", "results"]
    assert lean["output"] == 2
    assert [r["item_index"] for r in lean["records"]] == [None, None, None]


def test_a_mapped_member_still_sees_its_item_and_records_its_index(tmp_path: Path) -> None:
    team = pipeline(
        Agent("draft", model=lambda state: f"{state.item_index}:{state.item}"), name="team"
    )
    flow = fan_out(team, over="sources", state=SourcesState)

    with SQLCheckpointer(f"sqlite:///{tmp_path / 'runs.db'}") as saver:
        app = flow.compile(checkpointer=saver)
        final = app.invoke(
            {"goal": "g", "sources": ["a", "b"]}, {"configurable": {"thread_id": "t"}}
        )

    drafts = sorted((r.item_index, r.output) for r in final["results"] if r.agent == "draft")
    assert drafts == [(0, "0:a"), (1, "1:b")]
    assert final["output"] == ["0:a", "1:b"]
    assert "item" not in final


@pytest.mark.parametrize("given", [{"item": "tides"}, {"item_index": 0}])
def test_a_runs_input_cannot_set_what_only_a_fan_out_hands_down(given: dict[str, Any]) -> None:
    flow = chain()

    with pytest.raises(ValueError, match="only a mapping fan_out sets these") as raised:
        run(flow, "go", inputs=given)

    assert next(iter(given)) in str(raised.value)
