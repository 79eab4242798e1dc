"""Strict msgpack: application types come back only when they are on the allow-list."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from orchestra.checkpoint import SQLCheckpointer
from tests.checkpoint.graphs import Draft, editor

REPO = Path(__file__).resolve().parents[2]
CONFIG = {"configurable": {"thread_id": "draft"}}

_RESUME_CHILD = """
import sys
from orchestra.checkpoint import SQLCheckpointer
from tests.checkpoint.graphs import Draft, editor
config = {"configurable": {"thread_id": "draft"}}
with SQLCheckpointer(sys.argv[1]) as saver:
    app = editor(saver)
    if sys.argv[2] == "run":
        app.invoke({"draft": Draft(title="a", words=1)}, config)
    else:
        value = app.get_state(config).values["draft"]
        print(type(value).__name__, value.title if isinstance(value, Draft) else value)
"""


def test_an_allow_listed_model_in_the_state_is_rebuilt_as_that_model(db_url: str) -> None:
    with SQLCheckpointer(db_url) as first:
        editor(first).invoke({"draft": Draft(title="a", words=1)}, CONFIG)
    allowed = [(Draft.__module__, "Draft")]
    with SQLCheckpointer(db_url, allowed_msgpack_modules=allowed) as second:
        assert editor(second).get_state(CONFIG).values["draft"] == Draft(title="a!", words=2)


def test_a_model_off_the_allow_list_comes_back_as_plain_data(db_url: str) -> None:
    with SQLCheckpointer(db_url) as first:
        editor(first).invoke({"draft": Draft(title="a", words=1)}, CONFIG)
    with SQLCheckpointer(db_url) as second:
        assert editor(second).get_state(CONFIG).values["draft"] == {"title": "a!", "words": 2}


def test_with_langgraph_strict_mode_on_a_graph_allow_lists_its_own_state_types(
    db_url: str,
) -> None:
    # LangGraph adds a graph's state types to the saver's allow-list at
    # compile time, but only when LANGGRAPH_STRICT_MSGPACK is set at import.
    env = {**os.environ, "PYTHONPATH": str(REPO), "LANGGRAPH_STRICT_MSGPACK": "true"}

    def child(mode: str) -> str:
        done = subprocess.run(
            [sys.executable, "-c", _RESUME_CHILD, db_url, mode],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            check=True,
        )
        return done.stdout.strip()

    child("run")
    assert child("read") == "Draft a!"


def test_a_saver_opened_without_a_workflow_reads_orchestras_records_back(db_url: str) -> None:
    # `orchestra runs` and `show` open the database with no workflow at hand.
    from orchestra import Agent, AgentResult, Decision, router
    from orchestra.models import ScriptedModel

    model = ScriptedModel(replies=[{"label": "billing", "reason": "money"}, "Refunded."])
    billing = Agent("billing", "Refund.", model=model)
    flow = router(Agent("desk", "Route.", model=model), routes={"billing": billing})
    with SQLCheckpointer(db_url) as saver:
        flow.compile(checkpointer=saver).invoke({"goal": "refund"}, CONFIG)
    with SQLCheckpointer(db_url) as reader:
        (thread,) = reader.list_threads()
        values = thread.checkpoint["channel_values"]
    assert values["results"]
    assert all(isinstance(r, AgentResult) for r in values["results"])
    assert values["decisions"]
    assert all(isinstance(d, Decision) for d in values["decisions"])
