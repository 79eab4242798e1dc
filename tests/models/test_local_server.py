"""The local model server's lifecycle: real llama.cpp processes on 127.0.0.1."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from orchestra.errors import LocalModelNotInstalledError
from orchestra.models import DEFAULT_LOCAL_MODEL, LocalModelServer, LocalServerInfo


def _served_models(info: LocalServerInfo) -> list[str]:
    with urllib.request.urlopen(f"{info.base_url}/models", timeout=5) as response:
        return [entry["id"] for entry in json.loads(response.read())["data"]]


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    stat = Path(f"/proc/{pid}/stat")
    return not stat.exists() or stat.read_text().rpartition(")")[2].split()[0] != "Z"


def _record(server: LocalModelServer, pid: int, port: int) -> None:
    server.home.mkdir(parents=True, exist_ok=True)
    record = {
        "pid": pid,
        "host": "127.0.0.1",
        "port": port,
        "model": server.model,
        "model_path": "/nowhere/model.gguf",
        "started_at": time.time(),
    }
    server.state_path.write_text(json.dumps(record))


@pytest.fixture
def bystander() -> Iterator[subprocess.Popen[bytes]]:
    """A live process that is not a model server (what a reused pid may point at)."""
    process = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"])
    yield process
    process.kill()
    process.wait()


@pytest.fixture
def impostor() -> Iterator[subprocess.Popen[bytes]]:
    """A live process whose command line looks like our server on port 9 but serves nothing."""
    process = subprocess.Popen(
        [
            *(sys.executable, "-c", "import time; time.sleep(120)", "llama_cpp.server"),
            *("--port", "9", "--model_alias", DEFAULT_LOCAL_MODEL),
        ]
    )
    yield process
    process.kill()
    process.wait()


# --- stale state files (no model needed) ---------------------------------------------


def test_state_file_with_a_dead_pid_is_not_trusted_and_is_removed(tmp_path: Path) -> None:
    finished = subprocess.Popen([sys.executable, "-c", "pass"])
    finished.wait()
    server = LocalModelServer(home=tmp_path)
    _record(server, finished.pid, 8080)

    assert server.status() is None
    assert not server.state_path.exists()


def test_state_file_with_a_pid_that_is_not_our_server_is_never_signalled(
    tmp_path: Path, bystander: subprocess.Popen[bytes]
) -> None:
    server = LocalModelServer(home=tmp_path)
    _record(server, bystander.pid, 8080)

    assert server.status() is None
    _record(server, bystander.pid, 8080)
    assert server.down() is None

    assert bystander.poll() is None, "down() signalled a process that is not its server"
    assert not server.state_path.exists()


def test_garbled_state_file_is_removed(tmp_path: Path) -> None:
    server = LocalModelServer(home=tmp_path)
    server.state_path.write_text('{"pid": "one", "port": [] ')

    assert server.status() is None
    assert not server.state_path.exists()


def test_a_recorded_server_that_does_not_answer_is_not_reported_running(
    tmp_path: Path, impostor: subprocess.Popen[bytes]
) -> None:
    server = LocalModelServer(home=tmp_path)
    _record(server, impostor.pid, 9)

    assert server.status() is None


def test_down_stops_a_recorded_server_that_no_longer_answers(
    tmp_path: Path, impostor: subprocess.Popen[bytes]
) -> None:
    server = LocalModelServer(home=tmp_path)
    _record(server, impostor.pid, 9)

    assert server.down() == impostor.pid
    impostor.wait(timeout=10)
    assert not server.state_path.exists()


def test_up_without_the_model_file_says_what_to_do(tmp_path: Path) -> None:
    server = LocalModelServer(home=tmp_path, model_path=tmp_path / "missing.gguf")

    with pytest.raises(LocalModelNotInstalledError, match="does not exist"):
        server.up()


# --- real servers ----------------------------------------------------------------------


@pytest.mark.local_model
def test_up_starts_a_server_that_serves_the_model_on_loopback(
    fresh_server: LocalModelServer,
) -> None:
    info = fresh_server.up()

    assert info.host == "127.0.0.1"
    assert _served_models(info) == [fresh_server.model]
    assert _alive(info.pid)
    assert json.loads(fresh_server.state_path.read_text())["pid"] == info.pid


@pytest.mark.local_model
def test_up_reuses_the_running_server(fresh_server: LocalModelServer) -> None:
    first = fresh_server.up()

    again = fresh_server.up()
    from_another_manager = LocalModelServer(home=fresh_server.home).up()

    assert again == first
    assert from_another_manager == first


@pytest.mark.local_model
def test_status_reports_the_running_server_then_none_after_down(
    fresh_server: LocalModelServer,
) -> None:
    assert fresh_server.status() is None
    info = fresh_server.up()

    assert fresh_server.status() == info
    assert fresh_server.down() == info.pid
    assert fresh_server.status() is None


@pytest.mark.local_model
def test_down_ends_the_process_and_removes_the_state_file(
    fresh_server: LocalModelServer,
) -> None:
    info = fresh_server.up()

    fresh_server.down()

    assert not _alive(info.pid)
    assert not fresh_server.state_path.exists()
    assert fresh_server.down() is None


@pytest.mark.local_model
def test_up_after_the_server_was_killed_starts_a_new_one(
    fresh_server: LocalModelServer,
) -> None:
    killed = fresh_server.up()
    os.kill(killed.pid, signal.SIGKILL)
    deadline = time.monotonic() + 10
    while _alive(killed.pid) and time.monotonic() < deadline:
        time.sleep(0.05)

    assert fresh_server.status() is None
    replacement = fresh_server.up()

    assert replacement.pid != killed.pid
    assert _served_models(replacement) == [fresh_server.model]


@pytest.mark.local_model
def test_a_busy_server_is_reused_and_down_stops_it_mid_generation(
    fresh_server: LocalModelServer,
) -> None:
    info = fresh_server.up()
    body = json.dumps(
        {
            "model": info.model,
            "messages": [{"role": "user", "content": "Write a very long story about a ship."}],
            "max_tokens": 1500,
        }
    ).encode()
    request = urllib.request.Request(
        f"{info.base_url}/chat/completions",
        data=body,
        headers={"Content-Type": "application/json"},
    )

    def generate() -> None:
        # The server going away mid-answer is the point.
        with contextlib.suppress(OSError):
            urllib.request.urlopen(request, timeout=120).read()

    generation = threading.Thread(target=generate, daemon=True)
    generation.start()
    time.sleep(1.5)  # let the generation get going

    assert LocalModelServer(home=fresh_server.home).up() == info
    started = time.monotonic()
    fresh_server.down()

    assert time.monotonic() - started < 15
    assert not _alive(info.pid)
    generation.join(timeout=10)
