"""Rows of the audit table changed directly in SQL: `verify` names exactly the entries touched."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from sqlalchemy import text

from orchestra.audit import AuditProblem, entries, verify
from orchestra.audit.chain import entry_hash
from orchestra.checkpoint import SQLCheckpointer
from tests.audit.test_trail import THREAD, answered_review


def sql(saver: SQLCheckpointer, statement: str, **params: Any) -> None:
    with saver.engine.begin() as conn:
        conn.execute(text(statement), {"thread": THREAD, **params})


def seq_of(saver: SQLCheckpointer, record_kind: str) -> int:
    return next(e.seq for e in entries(saver, THREAD) if e.record_kind == record_kind)


def test_one_edited_row_is_reported_as_exactly_that_entry(saver: SQLCheckpointer) -> None:
    answered_review(saver)
    route = seq_of(saver, "route")

    sql(
        saver,
        "UPDATE orchestra_audit SET choice = 'trivial' WHERE thread_id = :thread AND seq = :seq",
        seq=route,
    )

    report = verify(saver, THREAD)
    assert not report.ok
    assert [(p.seq, p.problem) for p in report.problems] == [(route, "edited")]


def test_an_edited_digest_is_reported(saver: SQLCheckpointer) -> None:
    answered_review(saver)
    call = seq_of(saver, "model")

    sql(
        saver,
        "UPDATE orchestra_audit SET output_digest = :forged "
        "WHERE thread_id = :thread AND seq = :seq",
        seq=call,
        forged="0" * 64,
    )

    assert [(p.seq, p.problem) for p in verify(saver, THREAD).problems] == [(call, "edited")]


def test_a_deleted_row_is_reported_as_removed(saver: SQLCheckpointer) -> None:
    answered_review(saver)
    vote = seq_of(saver, "vote")

    sql(saver, "DELETE FROM orchestra_audit WHERE thread_id = :thread AND seq = :seq", seq=vote)

    assert verify(saver, THREAD).problems == (
        AuditProblem(vote, "removed", f"entry {vote} is missing"),
    )


def test_rows_cut_off_the_end_are_reported_as_removed(saver: SQLCheckpointer) -> None:
    answered_review(saver)

    sql(saver, "DELETE FROM orchestra_audit WHERE thread_id = :thread AND seq > 7")

    problems = verify(saver, THREAD).problems
    assert [(p.seq, p.problem) for p in problems] == [(8, "removed"), (9, "removed")]


def test_two_swapped_rows_are_reported_as_reordered(saver: SQLCheckpointer) -> None:
    answered_review(saver)

    for old, new in ((3, -1), (4, 3), (-1, 4)):
        sql(
            saver,
            "UPDATE orchestra_audit SET seq = :new WHERE thread_id = :thread AND seq = :old",
            old=old,
            new=new,
        )

    problems = verify(saver, THREAD).problems
    assert [(p.seq, p.problem, p.original_seq) for p in problems] == [
        (3, "reordered", 4),
        (4, "reordered", 3),
    ]


def test_a_row_rewritten_with_a_recomputed_hash_is_reported(saver: SQLCheckpointer) -> None:
    answered_review(saver)
    route = next(e for e in entries(saver, THREAD) if e.record_kind == "route")
    forged = replace(route, choice="trivial")

    sql(
        saver,
        "UPDATE orchestra_audit SET choice = 'trivial', hash = :hash "
        "WHERE thread_id = :thread AND seq = :seq",
        seq=route.seq,
        hash=entry_hash(forged),
    )

    assert [(p.seq, p.problem) for p in verify(saver, THREAD).problems] == [(route.seq, "edited")]


def test_an_untouched_thread_still_verifies_beside_a_tampered_one(
    saver: SQLCheckpointer,
) -> None:
    answered_review(saver)
    answered_review(saver, "other")

    sql(saver, "DELETE FROM orchestra_audit WHERE thread_id = :thread AND seq = 1")

    assert not verify(saver, THREAD).ok
    assert verify(saver, "other").ok
