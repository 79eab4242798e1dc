"""Checking a thread's chain: which entries were edited, removed, reordered or added."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, replace
from typing import Any, Literal

from orchestra.audit.chain import GENESIS, ChainHead, entry_hash
from orchestra.audit.entry import AuditEntry

__all__ = ["AuditProblem", "AuditReport", "check"]

Problem = Literal["edited", "removed", "reordered", "added", "head"]

# Entries tried as the original place of each moved one; past this, a moved entry is
# reported as edited (the search is quadratic in the number of damaged entries).
_SEARCH_LIMIT = 1000


@dataclass(frozen=True)
class AuditProblem:
    """One way the stored chain differs from the one Orchestra wrote.

    `edited`: the entry's content no longer matches its hash, or it was rewritten with a
    new hash that the next entry (or the head) does not point to. `removed`: the entry is
    missing. `reordered`: the entry stored at `seq` was written as entry `original_seq`.
    `added`: the entry comes after the chain head Orchestra recorded. `head`: the thread's
    chain head is missing or points nowhere.
    """

    seq: int
    problem: Problem
    message: str
    original_seq: int | None = None


@dataclass(frozen=True)
class AuditReport:
    """The result of verifying one thread's audit trail."""

    thread_id: str
    entries: int
    head: ChainHead | None
    problems: tuple[AuditProblem, ...]

    @property
    def ok(self) -> bool:
        """True when the chain is exactly as Orchestra wrote it."""
        return not self.problems

    def as_dict(self) -> dict[str, Any]:
        """The report as plain data (for `--json`)."""
        return {
            "thread_id": self.thread_id,
            "ok": self.ok,
            "entries": self.entries,
            "head": self.head._asdict() if self.head else None,
            "problems": [asdict(p) for p in self.problems],
        }


def check(thread_id: str, entries: Sequence[AuditEntry], head: ChainHead | None) -> AuditReport:
    """Verify `entries` (in `seq` order) against their hashes, their links and the head."""
    found: dict[int, AuditProblem] = {}
    damaged = [e for e in entries if entry_hash(e) != e.hash]
    bad = {e.seq for e in damaged}
    last = entries[-1].seq if entries else 0
    end = max(last, head.seq if head else 0)
    present = {e.seq for e in entries}
    missing = [seq for seq in range(1, end + 1) if seq not in present]
    for seq in missing:
        found[seq] = AuditProblem(seq, "removed", f"entry {seq} is missing")
    # A moved entry still hashes right at its original place, which is now either
    # damaged too (a swap) or empty.
    places = sorted(bad | set(missing)) if len(damaged) <= _SEARCH_LIMIT else []
    for entry in damaged:
        origin = next(
            (
                k
                for k in places
                if k != entry.seq and entry_hash(replace(entry, seq=k)) == entry.hash
            ),
            None,
        )
        if origin is None:
            found[entry.seq] = AuditProblem(
                entry.seq, "edited", f"entry {entry.seq} no longer matches its hash"
            )
        else:
            found[entry.seq] = AuditProblem(
                entry.seq,
                "reordered",
                f"entry {entry.seq} was written as entry {origin}",
                original_seq=origin,
            )
    _check_links(entries, bad, found)
    _check_head(entries, head, bad, found)
    return AuditReport(
        thread_id=thread_id,
        entries=len(entries),
        head=head,
        problems=tuple(found[seq] for seq in sorted(found)),
    )


def _check_links(
    entries: Sequence[AuditEntry], bad: set[int], found: dict[int, AuditProblem]
) -> None:
    """An intact entry that does not point to its intact predecessor: that one was rewritten."""
    for before, entry in zip([None, *entries[:-1]], entries, strict=True):
        if entry.seq in bad:
            continue
        if before is None:
            if entry.seq == 1 and entry.prev_hash != GENESIS:
                found.setdefault(
                    1, AuditProblem(1, "edited", "entry 1 was rewritten: it does not start a chain")
                )
            continue
        if before.seq in bad or entry.seq != before.seq + 1 or entry.prev_hash == before.hash:
            continue
        found.setdefault(
            before.seq,
            AuditProblem(
                before.seq,
                "edited",
                f"entry {before.seq} was rewritten with a new hash; "
                f"entry {entry.seq} still points to the original",
            ),
        )


def _check_head(
    entries: Sequence[AuditEntry],
    head: ChainHead | None,
    bad: set[int],
    found: dict[int, AuditProblem],
) -> None:
    if head is None:
        if entries:
            found.setdefault(
                0, AuditProblem(0, "head", "the chain head is missing: the trail's end is unknown")
            )
        return
    for entry in entries:
        if entry.seq > head.seq:
            found.setdefault(
                entry.seq,
                AuditProblem(
                    entry.seq, "added", f"entry {entry.seq} is past the chain head ({head.seq})"
                ),
            )
    at_head = next((e for e in entries if e.seq == head.seq), None)
    if at_head is not None and at_head.seq not in bad and at_head.hash != head.hash:
        found.setdefault(
            head.seq,
            AuditProblem(
                head.seq,
                "edited",
                f"entry {head.seq} was rewritten with a new hash; the chain head records another",
            ),
        )
    elif head.seq == 0 and head.hash != GENESIS:
        found.setdefault(0, AuditProblem(0, "head", "the chain head points to no entry"))
