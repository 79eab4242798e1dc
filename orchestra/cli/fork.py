"""``orchestra fork THREAD --checkpoint ID``: a new thread from an old checkpoint."""

from __future__ import annotations

import typer

from orchestra.checkpoint import SQLCheckpointer
from orchestra.cli.output import JsonOption, emit, fail
from orchestra.cli.run import DbOption, database_url
from orchestra.errors import OrchestraError
from orchestra.fork import fork_thread
from orchestra.loading import load_workflow
from orchestra.state import OrchestraState
from orchestra.timeline import read_timeline

__all__ = ["fork_command"]


def fork_command(
    thread: str = typer.Argument(..., help="The thread to fork."),
    checkpoint: str = typer.Option(
        ...,
        "--checkpoint",
        help="The checkpoint to start from (`orchestra show THREAD --history`).",
    ),
    new_thread: str | None = typer.Option(None, "--thread", help="The new thread's id."),
    db: str | None = DbOption,
    as_json: bool = JsonOption,
) -> None:
    """Start a new thread from an old checkpoint (time travel); the original is untouched."""
    try:
        with SQLCheckpointer(database_url(db)) as saver:
            spec = read_timeline(saver, thread).metadata.get("orchestra_graph")
            states = load_workflow(str(spec))[0].states() if spec else [OrchestraState]
            forked = fork_thread(saver, thread, checkpoint, new_thread, states=states)
    except OrchestraError as error:
        fail(as_json, error)
    emit(
        as_json,
        {"thread_id": forked, "forked_from": thread, "checkpoint_id": checkpoint},
        f"forked {thread} at {checkpoint} into [bold]{forked}[/]: continue it with "
        f"`orchestra resume {forked}`",
    )
