"""The `--max-*` and `--deadline` options of `orchestra run` and `orchestra resume`."""

from __future__ import annotations

import typer

from orchestra.errors import OrchestraError
from orchestra.policy import Limits, parse_deadline

__all__ = [
    "DeadlineOption",
    "MaxCostOption",
    "MaxStepsOption",
    "MaxTokensOption",
    "MaxVisitsOption",
    "limits_from_options",
]

MaxVisitsOption = typer.Option(
    [], "--max-visits", help="Most calls of any one agent (N), or of one agent (AGENT=N)."
)
MaxStepsOption = typer.Option(None, "--max-steps", help="Most agent calls in the run.")
MaxTokensOption = typer.Option(None, "--max-tokens", help="Token budget of the run.")
MaxCostOption = typer.Option(None, "--max-cost", help="Cost budget of the run, in US dollars.")
DeadlineOption = typer.Option(
    None, "--deadline", help="From the run's start (90s, 10m, 2h) or a time (ISO 8601)."
)


def limits_from_options(
    max_visits: list[str],
    max_steps: int | None,
    max_tokens: int | None,
    max_cost: float | None,
    deadline: str | None,
) -> Limits | None:
    """The limits the options set (None when none is given), over the workflow's own."""
    every: int | None = None
    per_agent: dict[str, int] = {}
    for option in max_visits:
        agent, sep, count = option.rpartition("=")
        try:
            bound = int(count)
        except ValueError:
            raise OrchestraError(
                f"cannot read --max-visits {option!r}: write a number (5) or AGENT=NUMBER."
            ) from None
        if sep:
            per_agent[agent.strip()] = bound
        else:
            every = bound
    limits = Limits(
        max_visits=every,
        visits=per_agent,
        max_steps=max_steps,
        max_tokens=max_tokens,
        max_cost=max_cost,
        deadline=parse_deadline(deadline) if deadline else None,
    )
    return None if limits.empty else limits
