"""What a crash costs: calls made again on resume, plain LangGraph against Orchestra.

Each run has one node that makes two calls, each logged to a file; a child process is
killed with SIGKILL during the second call and the thread is resumed. Plain LangGraph
re-runs the whole node, so a first call made directly in the node, which had finished,
is made again; wrapped in `@task`, LangGraph keeps its result and replays it. Orchestra
(an agent whose model calls a tool, then answers) replays the finished calls from its
journal without any wrapping. LangGraph runs with its default durability ("async") and
with "sync". In every case the call interrupted by the kill is made a second time.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

PLAIN = """
import os, sys, time, sqlite3
from langgraph.checkpoint.sqlite import SqliteSaver
from langgraph.func import task
from langgraph.graph import StateGraph, START, END
from typing import TypedDict

def log(line):
    with open(os.environ["CALL_LOG"], "a") as handle:
        handle.write(line + "\\n")

def first_call(x: str) -> str:
    log("first")
    return x + " checked"

def second_call(x: str) -> str:
    log("second")
    time.sleep(float(os.environ.get("SLOW", "0")))
    return x + " done"

def call(function, argument):
    return function(argument)

if os.environ["AS_TASKS"] == "1":
    first_call, second_call = task(first_call), task(second_call)
    def call(function, argument):
        return function(argument).result()

class State(TypedDict):
    goal: str
    output: str

def node(state: State) -> dict:
    checked = call(first_call, state["goal"])
    return {"output": call(second_call, checked)}

graph = StateGraph(State)
graph.add_node("work", node)
graph.add_edge(START, "work")
graph.add_edge("work", END)
saver = SqliteSaver(sqlite3.connect(sys.argv[1], check_same_thread=False))
app = graph.compile(checkpointer=saver)
config = {"configurable": {"thread_id": "t"}}
payload = {"goal": "order 7"} if sys.argv[2] == "start" else None
app.invoke(payload, config, durability=os.environ["DURABILITY"])
"""

ORCHESTRA = """
import os, sys
os.environ.setdefault("JOURNAL_LOG", os.environ["CALL_LOG"])
from orchestra.checkpoint import SQLCheckpointer
from orchestra.runtime import run
from tests.journal_flow import build

with SQLCheckpointer("sqlite:///" + sys.argv[1]) as saver:
    goal = "Reserve A1" if sys.argv[2] == "start" else None
    run(build(), goal, thread_id="t", checkpointer=saver)
"""


def trial(script: str, second_call: str, env: dict[str, str]) -> tuple[int, int]:
    """Kill during the second call, resume; return (first calls made, calls made)."""
    with tempfile.TemporaryDirectory() as folder:
        log, db = Path(folder) / "calls.log", Path(folder) / "runs.db"
        log.touch()
        environment = {**os.environ, "PYTHONPATH": str(ROOT), "CALL_LOG": str(log), **env}
        child = subprocess.Popen(
            [sys.executable, "-c", script, str(db), "start"],
            env={**environment, "SLOW": "30", "SLOW_SECOND_CALL": "30"},
        )
        deadline = time.monotonic() + 60
        while second_call not in log.read_text():
            if child.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the run never reached its second call: {log.read_text()}")
            time.sleep(0.02)
        child.send_signal(signal.SIGKILL)
        child.wait()
        subprocess.run(
            [sys.executable, "-c", script, str(db), "resume"], env=environment, check=True
        )
        lines = log.read_text().splitlines()
        firsts = sum(1 for line in lines if line in ("first", "model first"))
        made = sum(1 for line in lines if line != "tool done")
        return firsts, made


def main() -> None:
    # Calls needed: plain LangGraph's node makes 2, Orchestra's agent 3 (model, tool, model);
    # the call interrupted by the kill is made twice by both, by design.
    print(f"{'killed during the 2nd call of a node':<52} first call made   calls made / needed")
    for as_tasks, calls in (("0", "two calls"), ("1", "@task x2")):
        for durability in ("async", "sync"):
            env = {"DURABILITY": durability, "AS_TASKS": as_tasks}
            first, made = trial(PLAIN, "second", env)
            label = f"plain LangGraph ({calls}, SqliteSaver, {durability})"
            print(f"{label:<52} {first:>15}   {made} / 2")
    first, made = trial(ORCHESTRA, "model second", {})
    print(f"{'orchestra (journal, durability sync)':<52} {first:>15}   {made} / 3")


if __name__ == "__main__":
    main()
