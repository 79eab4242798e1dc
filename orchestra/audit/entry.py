"""`AuditEntry`: one fact of a run in its thread's hash chain; and the JSON it is hashed as."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass, fields
from typing import Any

from pydantic_core import to_jsonable_python

__all__ = [
    "CANONICAL_ENCODER",
    "ENTRY_FIELDS",
    "AuditEntry",
    "canonical_json",
    "digest",
    "entry_from",
    "fields_of",
]

CANONICAL_ENCODER = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False)
"""The one encoder of canonical JSON, built once: `json.dumps` with options builds one a call,
which a fan-out of a thousand agents pays for every audit entry it hashes."""


def canonical_json(value: Any) -> str:
    """`value` as JSON with sorted keys and no spaces: one text for equal data, to hash.

    Pydantic models, dataclasses and LangChain messages become their JSON form; any other
    object its `str`, so that recording never fails on an odd value.
    """
    return CANONICAL_ENCODER.encode(to_jsonable_python(value, fallback=str))


def digest(value: Any) -> str:
    """The SHA-256 (hex) of `value`'s canonical JSON: what an audit entry keeps of a payload.

    Example:
        ```python
        assert entry.input_digest == digest(result.input)
        ```
    """
    kind = type(value)
    if kind is list and not value:
        return _EMPTY_LIST  # a function agent's input, on every call
    # Text and ints (most outputs) are their own JSON form: encoded as canonical_json
    # encodes them, without its conversion and the encoder's dispatch.
    if kind is str:
        text = _encode_string(value)
    elif kind is int:
        text = int.__repr__(value)
    else:
        text = canonical_json(value)
    return hashlib.sha256(text.encode()).hexdigest()


_EMPTY_LIST = hashlib.sha256(b"[]").hexdigest()
_encode_string: Callable[[str], str] = json.encoder.encode_basestring
"""What `CANONICAL_ENCODER` (`ensure_ascii=False`) makes of a `str`."""


@dataclass(frozen=True)
class AuditEntry:
    """One fact of a run, as the audit trail holds it.

    `kind` is `result` (an agent's call: digests of what it received and returned),
    `decision` (a route, gate verdict, vote, judgement, ...), `interrupt` (a question put
    to a human) or `answer` (the human's answer). `record_kind` is the record's own kind
    (`model`, `route`, `vote`, ...). `hash` covers every other field, `prev_hash` included,
    so a change anywhere in the chain shows.
    """

    thread_id: str
    seq: int
    record_id: str
    """The `AgentResult`/`Decision` id, or an id derived from the interrupt or answer."""
    kind: str
    record_kind: str
    node: str
    """The agent that ran, or the node that decided, asked or was answered."""
    checkpoint_ns: str
    checkpoint_id: str
    task_id: str
    input_digest: str | None
    output_digest: str | None
    choice: str | None
    reason: str
    detail: str
    """Canonical JSON of the rest of the record (usage, tally, the question, the answer ...)."""
    recorded_at: float
    """When the record was made (seconds since the epoch)."""
    prev_hash: str
    hash: str

    @property
    def details(self) -> Any:
        """`detail` parsed."""
        return json.loads(self.detail)

    def as_dict(self) -> dict[str, Any]:
        """The entry as plain data, `detail` parsed (for `--json`)."""
        return {**fields_of(self), "detail": self.details}


ENTRY_FIELDS = tuple(f.name for f in fields(AuditEntry))
"""The names of an entry's fields, which are also the audit table's columns."""


def entry_from(values: dict[str, Any]) -> AuditEntry:
    """An `AuditEntry` whose fields are `values` (every field, already of its type).

    For the entries the engine drafts and links, two for every agent call: the frozen
    dataclass's `__init__` sets each of its 17 fields through `object.__setattr__`,
    ten times the cost of taking `values` as the instance's `__dict__`.
    """
    if len(values) != len(ENTRY_FIELDS):
        raise TypeError(
            f"entry_from: give every field; missing {sorted(_FIELD_SET - values.keys())}"
        )
    entry = _new(AuditEntry)
    entry.__dict__.update(values)
    return entry


_FIELD_SET = frozenset(ENTRY_FIELDS)
_new = object.__new__


def fields_of(entry: AuditEntry) -> dict[str, Any]:
    """The fields of `entry` by name: `dataclasses.asdict` without its deep copies.

    An entry's `__dict__` holds exactly its fields (set by the dataclass's `__init__` or
    by `entry_from`), so one C-level copy, not a getattr per field: it runs for every
    entry linked and stored."""
    return dict(entry.__dict__)
