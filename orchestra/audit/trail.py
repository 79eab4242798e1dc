"""Reading and verifying a thread's audit trail through a `SQLCheckpointer`."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from orchestra.audit.entry import AuditEntry
from orchestra.audit.verification import AuditReport, check
from orchestra.errors import ThreadNotFound

if TYPE_CHECKING:
    from orchestra.audit.chain import ChainHead
    from orchestra.checkpoint import SQLCheckpointer

__all__ = ["aentries", "averify", "entries", "verify"]


def entries(saver: SQLCheckpointer, thread_id: str) -> list[AuditEntry]:
    """A thread's audit entries in chain order, as stored (unverified).

    Raises:
        ThreadNotFound: the thread has no audit trail in this database.
    """
    found, _ = _found(thread_id, *saver.read_audit(thread_id))
    return found


async def aentries(saver: SQLCheckpointer, thread_id: str) -> list[AuditEntry]:
    """Async `entries`."""
    found, _ = _found(thread_id, *await saver.aread_audit(thread_id))
    return found


def verify(saver: SQLCheckpointer, thread_id: str) -> AuditReport:
    """Check a thread's hash chain and say exactly which entries were tampered with.

    Raises:
        ThreadNotFound: the thread has no audit trail in this database.

    Example:
        ```python
        report = verify(saver, "run-1")
        if not report.ok:
            for problem in report.problems:
                print(problem.seq, problem.problem, problem.message)
        ```
    """
    return check(thread_id, *_found(thread_id, *saver.read_audit(thread_id)))


async def averify(saver: SQLCheckpointer, thread_id: str) -> AuditReport:
    """Async `verify`."""
    return check(thread_id, *_found(thread_id, *await saver.aread_audit(thread_id)))


def _found(
    thread_id: str, stored: Sequence[AuditEntry], head: ChainHead | None
) -> tuple[list[AuditEntry], ChainHead | None]:
    if not stored and head is None:
        raise ThreadNotFound(
            f"thread {thread_id!r} has no audit trail in this database: check the id and "
            "--db (`orchestra runs` lists the threads)."
        )
    return list(stored), head
