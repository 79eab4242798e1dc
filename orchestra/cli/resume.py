"""``orchestra resume THREAD``: continue a crashed, stopped or human-waiting run."""

from __future__ import annotations

import typer
from rich.console import Console
from rich.markup import escape

from orchestra.checkpoint import SQLCheckpointer
from orchestra.cli.limits import (
    DeadlineOption,
    MaxCostOption,
    MaxStepsOption,
    MaxTokensOption,
    MaxVisitsOption,
    limits_from_options,
)
from orchestra.cli.output import JsonOption, fail
from orchestra.cli.run import DbOption, Narrator, database_url, report
from orchestra.errors import OrchestraError
from orchestra.loading import load_workflow
from orchestra.runtime import Answer, resume
from orchestra.timeline import read_timeline

__all__ = ["parse_answers", "resume_command"]


def parse_answers(answers: list[str]) -> Answer:
    """One plain answer, or several `ID=TEXT` answers for several pending questions."""
    if not answers:
        return None
    if len(answers) == 1 and "=" not in answers[0]:
        return answers[0]
    by_id: dict[str, str] = {}
    for answer in answers:
        question, sep, text = answer.partition("=")
        if not sep or not question:
            raise OrchestraError(
                f"cannot read --answer {answer!r}: with several answers, write ID=TEXT each."
            )
        by_id[question.strip()] = text
    return by_id


def resume_command(
    thread: str = typer.Argument(..., help="The thread to continue."),
    answer: list[str] = typer.Option(
        [], "--answer", help="The human's answer; ID=TEXT for each of several questions."
    ),
    graph: str | None = typer.Option(
        None, "--graph", help="The workflow (default: the one the thread was started with)."
    ),
    db: str | None = DbOption,
    as_json: bool = JsonOption,
    max_visits: list[str] = MaxVisitsOption,
    max_steps: int | None = MaxStepsOption,
    max_tokens: int | None = MaxTokensOption,
    max_cost: float | None = MaxCostOption,
    deadline: str | None = DeadlineOption,
) -> None:
    """Continue a run that crashed, halted at a limit, or waits for a human answer.

    The limits options override, one by one, those the run had (raise the one it halted at).
    """
    console = Console(stderr=True, highlight=False)
    url = database_url(db)
    narrator = Narrator(console)
    try:
        limits = limits_from_options(max_visits, max_steps, max_tokens, max_cost, deadline)
        with SQLCheckpointer(url) as saver:
            spec = graph or read_timeline(saver, thread).metadata.get("orchestra_graph")
            if not spec:
                raise OrchestraError(
                    f"thread {thread!r} does not say which workflow it runs: pass --graph."
                )
            workflow, _ = load_workflow(str(spec))
            if not as_json:
                console.print(f"resuming [bold]{escape(thread)}[/] ({escape(str(spec))})")
            with narrator.status:
                outcome = resume(
                    workflow,
                    thread,
                    answer=parse_answers(answer),
                    checkpointer=saver,
                    on_progress=None if as_json else narrator,
                    limits=limits,
                )
    except OrchestraError as error:
        fail(as_json, error)
    report(outcome, url, as_json)
