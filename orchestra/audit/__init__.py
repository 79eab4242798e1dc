"""The tamper-evident audit trail: every record of a run, hash-chained per thread.

The checkpoint saver appends an entry for each agent call (digests of its input and
output), decision, escalation and human answer, in the transaction that stores them;
`verify` recomputes the chain and names each edited, removed or reordered entry.
"""

from __future__ import annotations

from orchestra.audit.chain import GENESIS, ChainHead
from orchestra.audit.entry import AuditEntry, canonical_json, digest
from orchestra.audit.trail import aentries, averify, entries, verify
from orchestra.audit.verification import AuditProblem, AuditReport

__all__ = [
    "GENESIS",
    "AuditEntry",
    "AuditProblem",
    "AuditReport",
    "ChainHead",
    "aentries",
    "averify",
    "canonical_json",
    "digest",
    "entries",
    "verify",
]
