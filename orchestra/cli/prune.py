"""``orchestra prune``: retention, dropping old threads and superseded checkpoints."""

from __future__ import annotations

import re
from datetime import timedelta

import typer

from orchestra.checkpoint import SQLCheckpointer
from orchestra.cli.output import JsonOption, emit, fail
from orchestra.cli.run import DbOption, database_url
from orchestra.errors import OrchestraError

__all__ = ["parse_age", "prune_command"]

_AGE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhdw])\s*$")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


class BadAge(OrchestraError):
    """An age that is not a number followed by s, m, h, d or w."""


def parse_age(text: str) -> timedelta:
    """`90m`, `12h`, `30d` or `2w` as a duration."""
    match = _AGE.match(text)
    if match is None:
        raise BadAge(f"cannot read the age {text!r}: write a number and a unit, like 12h or 30d.")
    return timedelta(**{_UNITS[match.group(2)]: float(match.group(1))})


def prune_command(
    older_than: str | None = typer.Option(
        None, "--older-than", help="Delete whole threads idle for longer than this (12h, 30d)."
    ),
    keep_latest: bool = typer.Option(
        False, "--keep-latest", help="Keep only each thread's latest checkpoint (no time travel)."
    ),
    db: str | None = DbOption,
    as_json: bool = JsonOption,
) -> None:
    """Drop old threads (--older-than) and superseded checkpoints (--keep-latest)."""
    try:
        if older_than is None and not keep_latest:
            raise OrchestraError(
                "say what to drop: --older-than 30d (whole idle threads), --keep-latest "
                "(older checkpoints of every thread), or both."
            )
        ttl = parse_age(older_than) if older_than is not None else None
        with SQLCheckpointer(database_url(db)) as saver:
            result = saver.retain(ttl=ttl, keep_latest=keep_latest)
    except OrchestraError as error:
        fail(as_json, error)
    data = {
        "expired_threads": list(result.expired_threads),
        "pruned_checkpoints": result.pruned_checkpoints,
        "skipped_threads": list(result.skipped_threads),
    }
    text = (
        f"deleted {len(result.expired_threads)} idle threads and "
        f"{result.pruned_checkpoints} superseded checkpoints"
    )
    if result.skipped_threads:
        text += f"; left {len(result.skipped_threads)} threads whole (they use a DeltaChannel)"
    emit(as_json, data, text)
