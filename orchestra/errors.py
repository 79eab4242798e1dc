"""Errors a user of Orchestra can hit, each with a message that says what to do next."""

from __future__ import annotations

__all__ = [
    "CheckpointSchemaError",
    "InvalidDatabaseURLError",
    "InvalidMetadataFilterError",
    "OrchestraError",
    "ThreadExistsError",
    "UnsafeCheckpointDataError",
]


class OrchestraError(Exception):
    """Base class of every error Orchestra raises on purpose."""


class InvalidDatabaseURLError(OrchestraError, ValueError):
    """The checkpoint database URL names a database or driver Orchestra cannot use."""


class InvalidMetadataFilterError(OrchestraError, ValueError):
    """A `list(filter=...)` key or value cannot be matched against checkpoint metadata."""


class CheckpointSchemaError(OrchestraError):
    """The checkpoint database was written by a newer Orchestra than the one running."""


class ThreadExistsError(OrchestraError):
    """`copy_thread` was asked to copy onto a thread that already has checkpoints."""


class UnsafeCheckpointDataError(OrchestraError):
    """Checkpoint data would need pickle (or another unsafe format) to store or load."""
