"""The root ``orchestra`` command; each group of subcommands lives in its own module."""

from __future__ import annotations

import typer

from orchestra.cli.audit import audit_app
from orchestra.cli.draw import draw_command
from orchestra.cli.fork import fork_command
from orchestra.cli.model import model_app
from orchestra.cli.prune import prune_command
from orchestra.cli.report import report_command
from orchestra.cli.resume import resume_command
from orchestra.cli.run import run_command
from orchestra.cli.runs import runs_command
from orchestra.cli.show import show_command

__all__ = ["app", "main"]

app = typer.Typer(
    name="orchestra",
    help="Teams of AI agents as durable, resumable LangGraph workflows.",
    no_args_is_help=True,
    add_completion=False,
)
app.command("run")(run_command)
app.command("resume")(resume_command)
app.command("runs")(runs_command)
app.command("show")(show_command)
app.command("draw")(draw_command)
app.command("report")(report_command)
app.command("fork")(fork_command)
app.command("prune")(prune_command)
app.add_typer(model_app, name="model")
app.add_typer(audit_app, name="audit")


def main() -> None:
    """Entry point of the ``orchestra`` console script."""
    app()
