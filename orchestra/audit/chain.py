"""The hash chain: each entry's hash covers its content and the hash of the entry before it."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import replace
from typing import NamedTuple

from orchestra.audit.entry import AuditEntry, canonical_json, fields_of

__all__ = ["GENESIS", "ChainHead", "entry_hash", "link"]

GENESIS = "0" * 64
"""The `prev_hash` of a thread's first entry."""


def entry_hash(entry: AuditEntry) -> str:
    """SHA-256 (hex) of the canonical JSON of every field of `entry` but `hash` itself."""
    body = fields_of(entry)
    del body["hash"]
    return hashlib.sha256(canonical_json(body).encode()).hexdigest()


def link(drafts: Iterable[AuditEntry], seq: int, prev_hash: str) -> list[AuditEntry]:
    """Place `drafts` after the entry numbered `seq` whose hash is `prev_hash`, in order."""
    linked = []
    for draft in drafts:
        seq += 1
        entry = replace(draft, seq=seq, prev_hash=prev_hash, hash="")
        entry = replace(entry, hash=entry_hash(entry))
        prev_hash = entry.hash
        linked.append(entry)
    return linked


class ChainHead(NamedTuple):
    """The newest entry of a thread's chain, as the heads table records it."""

    seq: int
    hash: str
