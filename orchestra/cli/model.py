"""``orchestra model up|down|status``: the embedded local model server."""

from __future__ import annotations

from typing import Any

import typer

from orchestra.cli.output import JsonOption, emit, fail
from orchestra.errors import OrchestraError
from orchestra.models.local import LocalModelServer, LocalServerInfo

__all__ = ["model_app"]

model_app = typer.Typer(
    help="The embedded local model (llama.cpp server on 127.0.0.1).",
    no_args_is_help=True,
)


def _describe(info: LocalServerInfo) -> str:
    return f"[bold]{info.model}[/] at {info.base_url} (pid {info.pid})"


@model_app.command()
def up(as_json: bool = JsonOption) -> None:
    """Start the local model server, or report the one already running."""
    server = LocalModelServer()
    try:
        running = server.status()
        info = running or server.up()
    except OrchestraError as error:
        fail(as_json, error)
    data: dict[str, Any] = {"status": "running", "started": running is None, **info.to_json()}
    verb = "started" if running is None else "already running:"
    emit(as_json, data, f"local model {verb} {_describe(info)}")


@model_app.command()
def status(as_json: bool = JsonOption) -> None:
    """Say whether the local model server is running, and where."""
    info = LocalModelServer().status()
    if info is None:
        emit(
            as_json,
            {"status": "stopped"},
            "local model: stopped (start it with `orchestra model up`)",
        )
        return
    emit(
        as_json, {"status": "running", **info.to_json()}, f"local model: running, {_describe(info)}"
    )


@model_app.command()
def down(as_json: bool = JsonOption) -> None:
    """Stop the local model server if it is running."""
    pid = LocalModelServer().down()
    text = "local model: was not running" if pid is None else f"local model stopped (pid {pid})"
    emit(as_json, {"status": "stopped", "stopped_pid": pid}, text)
