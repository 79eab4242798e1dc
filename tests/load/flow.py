"""The workflow the load tests run, and a child process running many of its runs at once.

`python -m tests.load.flow URL PREFIX COUNT` runs COUNT runs concurrently (threads
`PREFIX-0` .. `PREFIX-{COUNT-1}`) on `SQLCheckpointer(URL)` and exits non-zero on any error.
"""

from __future__ import annotations

import asyncio
import random
import sys
from typing import Any

from orchestra import Agent, OrchestraState, Workflow, pipeline
from orchestra.checkpoint import SQLCheckpointer
from orchestra.runtime import RunOutcome, arun

STAGES = ("draft", "review", "publish")


def stage(name: str) -> Agent:
    """An agent appending its name to the last output (or the goal), after a random pause
    that interleaves the runs' writes."""

    async def work(state: OrchestraState) -> str:
        await asyncio.sleep(random.uniform(0, 0.02))
        before = state.results[-1].output if state.results else state.goal
        return f"{before}/{name}"

    return Agent(name, model=work)


def flow() -> Workflow[Any]:
    return pipeline(*(stage(name) for name in STAGES))


def expected_output(goal: str) -> str:
    return "/".join((goal, *STAGES))


async def run_many(saver: SQLCheckpointer, prefix: str, count: int) -> list[RunOutcome]:
    work = flow()
    return await asyncio.gather(
        *(
            arun(work, f"goal {prefix}-{i}", thread_id=f"{prefix}-{i}", checkpointer=saver)
            for i in range(count)
        )
    )


async def _main(url: str, prefix: str, count: int) -> None:
    async with SQLCheckpointer(url, pool_size=4, max_overflow=4) as saver:
        outcomes = await run_many(saver, prefix, count)
    unfinished = [o.thread_id for o in outcomes if o.status != "done"]
    if unfinished:
        raise SystemExit(f"runs not done: {unfinished}")


if __name__ == "__main__":
    asyncio.run(_main(sys.argv[1], sys.argv[2], int(sys.argv[3])))
