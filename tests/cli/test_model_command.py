"""`orchestra model up|status|down --json` through the real command line, in subprocesses."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import urllib.request
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]


def orchestra(home: Path, *args: str, **env: str) -> tuple[int, dict[str, Any]]:
    result = subprocess.run(
        [sys.executable, "-m", "orchestra", *args],
        cwd=home.parent,
        env={**os.environ, "PYTHONPATH": str(ROOT), "ORCHESTRA_HOME": str(home), **env},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    return result.returncode, json.loads(result.stdout)


@pytest.mark.local_model
def test_model_up_status_down_json(local_model_installed: None, tmp_path: Path) -> None:
    home = tmp_path / "home"
    try:
        assert orchestra(home, "model", "status", "--json") == (0, {"status": "stopped"})

        code, up = orchestra(home, "model", "up", "--json")
        assert code == 0
        assert (up["status"], up["started"], up["host"]) == ("running", True, "127.0.0.1")
        with urllib.request.urlopen(f"{up['base_url']}/models", timeout=5) as response:
            assert [m["id"] for m in json.loads(response.read())["data"]] == [up["model"]]

        code, again = orchestra(home, "model", "up", "--json")
        assert (code, again["started"], again["pid"]) == (0, False, up["pid"])

        code, status = orchestra(home, "model", "status", "--json")
        assert (code, status["status"], status["pid"]) == (0, "running", up["pid"])

        code, down = orchestra(home, "model", "down", "--json")
        assert (code, down) == (0, {"status": "stopped", "stopped_pid": up["pid"]})
        assert orchestra(home, "model", "status", "--json") == (0, {"status": "stopped"})
    finally:
        orchestra(home, "model", "down", "--json")


def test_model_up_without_a_model_fails_with_what_to_do(tmp_path: Path) -> None:
    missing = str(tmp_path / "missing.gguf")

    code, out = orchestra(
        tmp_path / "home", "model", "up", "--json", ORCHESTRA_LOCAL_MODEL_PATH=missing
    )

    assert code == 1
    assert out["error_type"] == "LocalModelNotInstalledError"
    assert missing in out["error"]


@pytest.mark.local_model
def test_concurrent_model_up_starts_one_server(local_model_installed: None, tmp_path: Path) -> None:
    home = tmp_path / "home"
    env = {**os.environ, "PYTHONPATH": str(ROOT), "ORCHESTRA_HOME": str(home)}
    command = [sys.executable, "-m", "orchestra", "model", "up", "--json"]
    try:
        racers = [
            subprocess.Popen(command, env=env, stdout=subprocess.PIPE, text=True) for _ in range(2)
        ]
        results = [json.loads(racer.communicate(timeout=120)[0]) for racer in racers]

        assert results[0]["pid"] == results[1]["pid"]
        assert sorted(result["started"] for result in results) == [False, True]
    finally:
        orchestra(home, "model", "down", "--json")
