"""Forking: a new thread from an old checkpoint re-runs only what came after it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from orchestra import Agent, Workflow, pipeline
from orchestra.checkpoint import SQLCheckpointer
from orchestra.errors import ThreadExistsError, ThreadNotFound
from orchestra.fork import fork_thread, history
from orchestra.runtime import resume, run


def counting_flow(calls: list[str]) -> Workflow[Any]:
    def step(name: str) -> Agent:
        def work(state: object) -> str:
            calls.append(name)
            return f"{name} done"

        return Agent(name, model=work)

    return pipeline(step("plan"), step("draft"), step("polish"))


def test_a_fork_from_after_the_first_step_reruns_only_the_later_steps(tmp_path: Path) -> None:
    calls: list[str] = []
    flow = counting_flow(calls)
    with SQLCheckpointer(f"sqlite:///{tmp_path / 'runs.db'}") as saver:
        original = run(flow, "g", thread_id="orig", checkpointer=saver)
        after_plan = next(c for c in history(saver, "orig") if c["step"] == 1)
        calls.clear()

        forked = fork_thread(
            saver, "orig", after_plan["checkpoint_id"], "alt", states=flow.states()
        )
        outcome = resume(flow, forked, checkpointer=saver)
        untouched = run(flow, "g", thread_id="orig", checkpointer=saver)

    assert calls == ["draft", "polish"]
    assert outcome.status == "done"
    assert outcome.state["results"][0].id == original.state["results"][0].id
    assert outcome.state["results"][1].id != original.state["results"][1].id
    assert untouched.executed is False
    assert untouched.state["results"] == original.state["results"]


def test_forking_an_unknown_checkpoint_or_onto_a_taken_thread_is_refused(tmp_path: Path) -> None:
    with SQLCheckpointer(f"sqlite:///{tmp_path / 'runs.db'}") as saver:
        run(counting_flow([]), "g", thread_id="orig", checkpointer=saver)
        newest = history(saver, "orig")[0]["checkpoint_id"]

        with pytest.raises(ThreadNotFound, match="--history"):
            fork_thread(saver, "orig", "not-a-checkpoint")
        with pytest.raises(ThreadExistsError):
            fork_thread(saver, "orig", newest, "orig")
