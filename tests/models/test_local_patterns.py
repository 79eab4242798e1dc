"""The patterns on the real embedded model: valid shapes and bounds, never exact wording."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from orchestra import Agent, pipeline, router, supervisor
from orchestra.checkpoint import SQLCheckpointer
from orchestra.models import LocalModelServer, local_model
from orchestra.runtime import run

pytestmark = pytest.mark.local_model

TICKETS = [
    "My card was charged twice for order 1042, please refund one charge.",
    "The app crashes with error 500 when I open settings.",
    "Where is my parcel? Tracking has not moved in a week.",
]


def model(server: LocalModelServer, max_tokens: int = 48) -> object:
    return local_model(server=server, max_tokens=max_tokens, notice=False)


def test_a_pipeline_of_two_agents_runs_on_the_real_model(local_server: LocalModelServer) -> None:
    flow = pipeline(
        Agent("facts", "List two facts about the goal.", model=model(local_server)),
        Agent("summary", "Summarise the facts in one sentence.", model=model(local_server)),
    )

    outcome = run(flow, "Tidal power")

    assert [r.agent for r in outcome.state["results"]] == ["facts", "summary"]
    for result in outcome.state["results"]:
        assert isinstance(result.output, str)
        assert result.output.strip()
        assert result.usage.output_tokens > 0
        assert result.model == "smollm2-135m-instruct"


def test_a_model_router_only_ever_reaches_declared_routes(local_server: LocalModelServer) -> None:
    handlers = {
        label: Agent(f"{label}_desk", model=lambda state, label=label: f"{label} handled")
        for label in ("billing", "technical", "shipping")
    }
    desk = router(
        Agent("triage", "Which team handles this customer ticket?", model=model(local_server)),
        routes=handlers,
    )

    for ticket in TICKETS:
        outcome = run(desk, ticket)

        (decision,) = outcome.state["decisions"]
        assert decision.valid
        assert decision.choice in handlers
        assert outcome.output == f"{decision.choice} handled"


def test_a_model_supervisor_stays_within_its_round_limit(local_server: LocalModelServer) -> None:
    workers = [
        Agent("researcher", "Find one fact.", model=model(local_server, 24)),
        Agent("writer", "Write one sentence.", model=model(local_server, 24)),
    ]
    team = supervisor(
        workers,
        manager=Agent("lead", "Pick who works next; FINISH when done.", model=model(local_server)),
        max_rounds=2,
    )

    outcome = run(team, "A sentence about tides")

    delegations = [d for d in outcome.state["decisions"] if d.kind == "delegate"]
    assert 1 <= len(delegations) <= 2
    assert all(d.choice in {"researcher", "writer", "FINISH"} for d in delegations)
    worked = [r for r in outcome.state["results"] if r.agent in {"researcher", "writer"}]
    assert len(worked) <= 2


CHILD = """
import sys
from orchestra import Agent, pipeline
from orchestra.checkpoint import SQLCheckpointer
from orchestra.models import LocalModelServer, local_model
from orchestra.runtime import run
from pathlib import Path

server = LocalModelServer(home=Path(sys.argv[2]))
def model():
    return local_model(server=server, max_tokens=40, notice=False)
flow = pipeline(*(Agent(f"step{i}", "Add one short sentence.", model=model()) for i in range(4)))
with SQLCheckpointer(sys.argv[1]) as saver:
    run(flow, "Tides", thread_id="crash", checkpointer=saver)
"""


def checkpoints_of(saver: SQLCheckpointer, thread_id: str) -> int:
    return sum(1 for _ in saver.list({"configurable": {"thread_id": thread_id}}))


def test_a_run_killed_mid_way_resumes_without_redoing_finished_agents(
    local_server: LocalModelServer, tmp_path: Path
) -> None:
    url = f"sqlite:///{tmp_path / 'runs.db'}"
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, url, str(local_server.home)],
        env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])},
    )
    deadline = time.monotonic() + 120
    # Checkpoints: the input, the first step scheduled, then one per finished step: kill
    # after two steps.
    with SQLCheckpointer(url) as watcher:
        while checkpoints_of(watcher, "crash") < 4 and time.monotonic() < deadline:
            if child.poll() is not None:
                break
            time.sleep(0.05)
    assert child.poll() is None, "the run finished before it could be killed"
    child.send_signal(signal.SIGKILL)
    child.wait()

    flow = pipeline(
        *(
            Agent(f"step{i}", "Add one short sentence.", model=model(local_server, 40))
            for i in range(4)
        )
    )
    with SQLCheckpointer(url) as saver:
        before = flow.compile(checkpointer=saver).get_state(
            {"configurable": {"thread_id": "crash"}}
        )
        done_before = [r.agent for r in before.values["results"]]
        outcome = run(flow, thread_id="crash", checkpointer=saver)

    assert len(done_before) >= 2
    agents = [r.agent for r in outcome.state["results"]]
    assert agents == ["step0", "step1", "step2", "step3"]
    assert [r.id for r in outcome.state["results"][: len(done_before)]] == [
        r.id for r in before.values["results"]
    ]
