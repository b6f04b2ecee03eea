"""A record's canonical bytes: the same document always gives the same bytes, and any document gives valid
UTF-8 JSON, even one carrying undecodable bytes a parser passed on as lone surrogates."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from archive.records import Record, RecordKind, leaf_hash

AT = datetime(2026, 12, 4, 14, 0, tzinfo=UTC)
# Any text, lone surrogates included: what an 8-bit header decoded with surrogateescape looks like.
text = st.text(st.characters(codec=None, exclude_categories=()), max_size=12)
documents = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**53), 2**53) | text,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(text, inner, max_size=4),
    max_leaves=12,
)


def test_canonical_bytes_are_sorted_compact_utf8_json() -> None:
    record = Record(RecordKind.MESSAGE, "m-1", {"subject": "café", "b": [2, 1], "a": None}, AT)
    assert (
        record.canonical()
        == (
            '{"kind":"message","message_id":"m-1","payload":{"a":null,"b":[2,1],"subject":"café"},'
            '"recorded_at":"2026-12-04T14:00:00.000000+00:00"}'
        ).encode()
    )
    assert record.leaf_hash() == leaf_hash(record.canonical())


def test_a_lone_surrogate_is_recorded_as_a_question_mark() -> None:
    record = Record(RecordKind.MESSAGE, "m-1", {"content_type": "/\udc80", "\udcff": ["x\udc80"]}, AT)
    assert json.loads(record.canonical())["payload"] == {"content_type": "/?", "?": ["x?"]}


@given(payload=st.dictionaries(text, documents, max_size=5))
def test_any_payload_gives_valid_json_and_the_same_bytes_twice(payload: dict[str, Any]) -> None:
    record = Record(RecordKind.DECISION, "m-1", payload, AT)
    canonical = record.canonical()
    document = json.loads(canonical.decode("utf-8"))  # strict UTF-8: no surrogate got through
    assert set(document) == {"kind", "message_id", "payload", "recorded_at"}
    assert canonical == Record(RecordKind.DECISION, "m-1", payload, AT).canonical()
