"""The lease table's statements and plans, run by the saver's backend like its own.

Times are the writer's clock (seconds since the epoch): every process that shares a
database compares its own clock with the expiry another one wrote, so hosts sharing a
PostgreSQL database need clocks in sync to well under a lease's length.
"""

from __future__ import annotations

from typing import NamedTuple

from sqlalchemy import Insert, delete, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite

from orchestra.checkpoint._plans import Plan, Step
from orchestra.checkpoint.schema import leases

__all__ = ["LeaseHolder", "acquire", "holder", "live", "release", "renew"]


class LeaseHolder(NamedTuple):
    """Who holds a thread's lease, and until when (seconds since the epoch)."""

    owner: str
    expires_at: float
    renewed_at: float


def acquire(
    dialect: str,
    thread_id: str,
    owner: str,
    now: float,
    seconds: float,
    replacing: str | None = None,
) -> Plan[bool]:
    """Take the thread's lease if it is free, expired, already `owner`'s, or `replacing`'s
    (a holder known to be dead); True if taken."""
    values = {
        "thread_id": thread_id,
        "owner": owner,
        "expires_at": now + seconds,
        "renewed_at": now,
    }
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    statement: Insert = insert(leases).values(values)
    statement = statement.on_conflict_do_update(  # type: ignore[attr-defined]
        index_elements=[leases.c.thread_id],
        set_={"owner": owner, "expires_at": now + seconds, "renewed_at": now},
        where=or_(
            leases.c.expires_at <= now,
            leases.c.owner == owner,
            leases.c.owner == (replacing if replacing is not None else owner),
        ),
    ).returning(leases.c.thread_id)
    # RETURNING, not rowcount: drivers do not all report a row count for an upsert.
    return bool((yield Step(statement)).rows)


def renew(thread_id: str, owner: str, now: float, seconds: float) -> Plan[bool]:
    """Extend `owner`'s lease; False if it is no longer theirs."""
    statement = (
        update(leases)
        .where(leases.c.thread_id == thread_id, leases.c.owner == owner)
        .values(expires_at=now + seconds, renewed_at=now)
        .returning(leases.c.thread_id)
    )
    return bool((yield Step(statement)).rows)


def release(thread_id: str, owner: str) -> Plan[None]:
    """Give the lease up (only `owner`'s own)."""
    yield Step(delete(leases).where(leases.c.thread_id == thread_id, leases.c.owner == owner))


def holder(thread_id: str) -> Plan[LeaseHolder | None]:
    """The thread's lease row, live or expired, if any."""
    statement = select(leases.c.owner, leases.c.expires_at, leases.c.renewed_at).where(
        leases.c.thread_id == thread_id
    )
    rows = (yield Step(statement)).rows
    if not rows:
        return None
    row = rows[0]
    return LeaseHolder(str(row.owner), float(row.expires_at), float(row.renewed_at))


def live(now: float) -> Plan[dict[str, LeaseHolder]]:
    """Every lease that has not expired, by thread."""
    statement = select(
        leases.c.thread_id, leases.c.owner, leases.c.expires_at, leases.c.renewed_at
    ).where(leases.c.expires_at > now)
    rows = (yield Step(statement)).rows
    return {
        str(r.thread_id): LeaseHolder(str(r.owner), float(r.expires_at), float(r.renewed_at))
        for r in rows
    }
