"""`check` on chains built in memory: each kind of damage is named at the right entry."""

from __future__ import annotations

from dataclasses import replace
from itertools import pairwise

from orchestra.audit import GENESIS, AuditEntry, ChainHead
from orchestra.audit.chain import entry_hash, link
from orchestra.audit.verification import check


def draft(index: int) -> AuditEntry:
    return AuditEntry(
        thread_id="t",
        seq=0,
        record_id=f"r{index}",
        kind="decision",
        record_kind="route",
        node="triage",
        checkpoint_ns="",
        checkpoint_id="c",
        task_id=f"task{index}",
        input_digest=None,
        output_digest=None,
        choice=f"choice{index}",
        reason="",
        detail="{}",
        recorded_at=1_700_000_000.0 + index / 3,
        prev_hash="",
        hash="",
    )


def chain(length: int = 5) -> tuple[list[AuditEntry], ChainHead]:
    entries = link([draft(i) for i in range(length)], 0, GENESIS)
    return entries, ChainHead(entries[-1].seq, entries[-1].hash)


def problems(entries: list[AuditEntry], head: ChainHead | None) -> list[tuple[int, str]]:
    return [(p.seq, p.problem) for p in check("t", entries, head).problems]


def test_an_untouched_chain_has_no_problems() -> None:
    entries, head = chain()

    report = check("t", entries, head)

    assert report.ok
    assert [e.seq for e in entries] == [1, 2, 3, 4, 5]
    assert entries[0].prev_hash == GENESIS
    assert all(b.prev_hash == a.hash for a, b in pairwise(entries))


def test_every_field_is_covered_by_the_hash() -> None:
    entries, head = chain()
    changes = {
        "record_id": "x",
        "kind": "x",
        "record_kind": "x",
        "node": "x",
        "checkpoint_ns": "x",
        "checkpoint_id": "x",
        "task_id": "x",
        "input_digest": "x",
        "output_digest": "x",
        "choice": "x",
        "reason": "x",
        "detail": '{"x":1}',
        "recorded_at": 1.5,
        "prev_hash": "x",
        "thread_id": "x",
    }

    for field, value in changes.items():
        edited = [*entries[:2], replace(entries[2], **{field: value}), *entries[3:]]
        assert problems(edited, head) == [(3, "edited")], field


def test_removing_the_first_entry_is_reported() -> None:
    entries, head = chain()

    assert problems(entries[1:], head) == [(1, "removed")]


def test_an_entry_moved_into_a_gap_is_reported_as_reordered() -> None:
    entries, head = chain()
    moved = replace(entries[3], seq=7)
    stored = [*entries[:3], entries[4], moved]

    report = check("t", stored, ChainHead(7, head.hash))

    found = {(p.seq, p.problem, p.original_seq) for p in report.problems}
    assert (7, "reordered", 4) in found
    assert (4, "removed", None) in found


def test_an_entry_appended_behind_the_heads_back_is_reported_as_added() -> None:
    entries, head = chain()
    (extra,) = link([draft(9)], entries[-1].seq, entries[-1].hash)

    assert problems([*entries, extra], head) == [(6, "added")]


def test_the_last_entry_rewritten_with_a_new_hash_is_caught_by_the_head() -> None:
    entries, head = chain()
    forged = replace(entries[-1], choice="forged")
    forged = replace(forged, hash=entry_hash(forged))

    assert problems([*entries[:-1], forged], head) == [(5, "edited")]


def test_a_missing_head_is_reported() -> None:
    entries, _ = chain()

    assert problems(entries, None) == [(0, "head")]
