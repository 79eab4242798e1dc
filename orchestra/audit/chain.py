"""The hash chain: each entry's hash covers its content and the hash of the entry before it."""

from __future__ import annotations

import hashlib
import math
from collections.abc import Iterable
from typing import Any, NamedTuple

from orchestra.audit.entry import (
    CANONICAL_ENCODER,
    AuditEntry,
    canonical_json,
    entry_from,
    fields_of,
)

__all__ = ["GENESIS", "ChainHead", "entry_hash", "link"]

GENESIS = "0" * 64
"""The `prev_hash` of a thread's first entry."""


def entry_hash(entry: AuditEntry) -> str:
    """SHA-256 (hex) of the canonical JSON of every field of `entry` but `hash` itself."""
    body = fields_of(entry)
    del body["hash"]
    return _body_hash(body)


def _body_hash(body: dict[str, Any]) -> str:
    # An entry's fields are plain strings and numbers, whose canonical JSON is what
    # the canonical encoder makes of them directly; anything else takes the general way.
    # The types are tested as one set (C-level), not field by field: it runs per entry.
    values = body.values()
    kinds = set(map(type, values))
    if kinds <= _PLAIN_KINDS and (
        float not in kinds or all(math.isfinite(v) for v in values if type(v) is float)
    ):
        text = CANONICAL_ENCODER.encode(body)
    else:
        text = canonical_json(body)
    return hashlib.sha256(text.encode()).hexdigest()


_PLAIN_KINDS = frozenset({str, int, float, type(None)})


def link(drafts: Iterable[AuditEntry], seq: int, prev_hash: str) -> list[AuditEntry]:
    """Place `drafts` after the entry numbered `seq` whose hash is `prev_hash`, in order."""
    linked = []
    for draft in drafts:
        seq += 1
        body = fields_of(draft)
        del body["hash"]
        body["seq"] = seq
        body["prev_hash"] = prev_hash
        prev_hash = _body_hash(body)
        body["hash"] = prev_hash
        linked.append(entry_from(body))
    return linked


class ChainHead(NamedTuple):
    """The newest entry of a thread's chain, as the heads table records it."""

    seq: int
    hash: str
