"""The `orchestra` command line as a real subprocess, the way a user runs it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def environment(**extra: str) -> dict[str, str]:
    """This environment without the user's OpenAI and Orchestra settings, plus `extra`.

    The source tree goes on PYTHONPATH so a worktree's code runs, not an installed copy.
    """
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "ORCHESTRA_"))}
    env["PYTHONPATH"] = str(ROOT)
    return {**env, **extra}


def command(*args: str) -> list[str]:
    """The argv of `orchestra ARGS...` with this interpreter."""
    return [sys.executable, "-m", "orchestra", *args]


def orchestra(*args: str, cwd: Path, **env: str) -> subprocess.CompletedProcess[str]:
    """Run `orchestra ARGS...` in `cwd` and wait for it (two minutes at most)."""
    return subprocess.run(
        command(*args),
        cwd=cwd,
        env=environment(**env),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
