"""Canonical JSON: the one text an audit entry's hash is computed over."""

from __future__ import annotations

import hashlib
import json
from dataclasses import FrozenInstanceError

import pytest

from orchestra.audit import AuditEntry, canonical_json
from orchestra.audit.chain import GENESIS, entry_hash, link
from orchestra.audit.entry import ENTRY_FIELDS, digest, entry_from


def test_canonical_json_sorts_keys_drops_spaces_and_keeps_unicode() -> None:
    text = canonical_json({"b": [1, 2.5], "a": {"z": None, "y": "café"}})

    assert text == '{"a":{"y":"café","z":null},"b":[1,2.5]}'


def test_canonical_json_is_the_same_text_on_every_call() -> None:
    value = {"k": "v", "n": 3}

    assert canonical_json(value) == canonical_json(dict(reversed(value.items())))


def test_a_linked_entry_hash_covers_its_fields_as_sorted_compact_json() -> None:
    draft = AuditEntry(
        thread_id="t",
        seq=0,
        record_id="r",
        kind="result",
        record_kind="model",
        node="writer",
        checkpoint_ns="",
        checkpoint_id="c",
        task_id="k",
        input_digest="0" * 64,
        output_digest=None,
        choice=None,
        reason="",
        detail="{}",
        recorded_at=1.5,
        prev_hash="",
        hash="",
    )

    (entry,) = link([draft], 0, GENESIS)

    body = {f: getattr(entry, f) for f in ENTRY_FIELDS if f != "hash"}
    expected = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    assert entry.hash == hashlib.sha256(expected.encode()).hexdigest()
    assert entry_hash(entry) == entry.hash
    assert entry == AuditEntry(**{**body, "hash": entry.hash})
    assert repr(entry) == repr(AuditEntry(**{**body, "hash": entry.hash}))


def test_an_entry_built_from_its_fields_needs_every_field() -> None:
    values = {name: "" for name in ENTRY_FIELDS if name != "hash"}
    with pytest.raises(TypeError, match="hash"):
        entry_from(values)
    entry = entry_from({**values, "hash": "h"})
    with pytest.raises(FrozenInstanceError):
        entry.hash = "other"  # type: ignore[misc]


@pytest.mark.parametrize(
    "value", ["", 'a "quoted" \\ line\n\x01', "café \u2028 😀", 0, -5, 10**40, True, None, 1.5, [1]]
)
def test_a_digest_is_the_sha256_of_the_canonical_json(value: object) -> None:
    expected = hashlib.sha256(canonical_json(value).encode()).hexdigest()

    assert digest(value) == expected
