"""Every error Orchestra raises on purpose, each with a message that says what to do next."""

from __future__ import annotations

__all__ = [
    "BranchesFailedError",
    "CallFailedError",
    "CallTimeoutError",
    "CheckpointSchemaError",
    "DeferredWriteError",
    "DefinitionError",
    "InvalidDatabaseURLError",
    "InvalidMetadataFilterError",
    "LocalModelNotInstalledError",
    "LocalModelStartError",
    "ModelConfigError",
    "OrchestraError",
    "RouteError",
    "StructuredOutputError",
    "ThreadBusy",
    "ThreadExistsError",
    "ThreadNotFound",
    "ThreadUnfinished",
    "UnsafeCheckpointDataError",
]


class OrchestraError(Exception):
    """Base class of every error Orchestra raises on purpose."""


class DefinitionError(OrchestraError, ValueError):
    """A workflow or agent definition is invalid (caught when the workflow is built)."""


class RouteError(OrchestraError):
    """A routing step chose a label that no route declares, and no default was given."""


class StructuredOutputError(OrchestraError):
    """A model did not produce output that validates against the agent's schema."""


class CallTimeoutError(OrchestraError, TimeoutError):
    """A model, tool or function call did not finish within its agent's `timeout`."""


class CallFailedError(OrchestraError):
    """A call failed before a resume and its agent's fallback took over; replayed as failed."""


class BranchesFailedError(OrchestraError):
    """Every branch of a fan-out failed, so there is nothing to merge."""


class ThreadNotFound(OrchestraError):
    """No checkpoint of that thread is in the database."""


class ThreadUnfinished(OrchestraError):
    """A new run was asked for on a thread that has started but not finished."""


class ThreadBusy(OrchestraError):
    """Another live process is running that thread (it holds the thread's lease)."""


class ModelConfigError(OrchestraError):
    """The environment names a model that cannot be reached as configured."""


class LocalModelNotInstalledError(OrchestraError):
    """The embedded local model (llama.cpp server or packaged weights) is not installed."""


class LocalModelStartError(OrchestraError):
    """The embedded local model server did not start or did not become ready."""


class InvalidDatabaseURLError(OrchestraError, ValueError):
    """The checkpoint database URL names a database or driver Orchestra cannot use."""


class InvalidMetadataFilterError(OrchestraError, ValueError):
    """A `list(filter=...)` key or value cannot be matched against checkpoint metadata."""


class CheckpointSchemaError(OrchestraError):
    """The checkpoint database was written by a newer Orchestra than the one running."""


class DeferredWriteError(OrchestraError):
    """A task's writes, queued to share the next commit (SQLite, synchronous NORMAL or
    OFF), failed to be written after `put_writes` had returned; the next call raises it."""


class ThreadExistsError(OrchestraError):
    """`copy_thread` was asked to copy onto a thread that already has checkpoints."""


class UnsafeCheckpointDataError(OrchestraError):
    """Checkpoint data would need pickle (or another unsafe format) to store or load."""
