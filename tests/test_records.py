"""A record's canonical bytes: RFC 8785 JSON with a format version, the same bytes every time, personal
values sealed as salted commitments, and nothing lost, not even undecodable bytes a parser passed on as
lone surrogates."""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Callable
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

import rfc8785
from hypothesis import given
from hypothesis import strategies as st

from archive.canonical import canonical
from archive.records import Record, RecordKind, leaf_hash
from archive.sealing import _as_is, _dollar_escaped, _seal, mismatched, opened_payload, openings_bytes, seal

AT = datetime(2026, 12, 4, 14, 0, tzinfo=UTC)
SALT = bytes(range(16))
# Any text, lone surrogates included: what an 8-bit header decoded with surrogateescape looks like.
text = st.text(st.characters(codec=None, exclude_categories=()), max_size=12)
keys = text | st.sampled_from(["subject", "address", "reason", "to", "person_id", "recipients", "$sealed"])
documents = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**53) + 1, 2**53 - 1) | text,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(keys, inner, max_size=4),
    max_leaves=12,
)
json_documents = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**53) + 1, 2**53 - 1)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=12,
)


def stored(record: Record) -> tuple[bytes, bytes | None]:
    sealed = record.sealed()
    return record.canonical(sealed=sealed), openings_bytes(sealed.openings) if sealed.openings else None


def test_canonical_bytes_are_rfc8785_with_a_version_and_personal_values_sealed() -> None:
    record = Record(RecordKind.MESSAGE, "m-1", {"subject": "café", "b": [2, 1], "a": None}, AT, SALT)
    # The commitment, computed here from its definition: SHA-256(salt || pointer || 0x00 || JCS(value)).
    sealed = "sha256:" + hashlib.sha256(SALT + b"/subject\x00" + rfc8785.dumps("café")).hexdigest()
    assert (
        record.canonical()
        == (
            '{"kind":"message","message_id":"m-1","payload":{"a":null,"b":[2,1],"subject":{"$sealed":"'
            + sealed
            + '"}},"recorded_at":"2026-12-04T14:00:00.000000+00:00","v":2}'
        ).encode()
    )
    assert record.leaf_hash() == leaf_hash(record.canonical())


def test_a_party_keeps_its_person_clear_and_its_address_sealed() -> None:
    party = {"address": "sam@students.example.org", "person_id": "stu-1", "role": "student"}
    record = Record(RecordKind.MESSAGE, "m-1", {"recipients": [party], "to": ["a@x.org"]}, AT, SALT)
    leaf = json.loads(record.canonical())["payload"]
    assert leaf["recipients"][0]["person_id"] == "stu-1"
    assert set(leaf["recipients"][0]["address"]) == {"$sealed"}
    assert set(leaf["to"]) == {"$sealed"}
    assert b"sam@students" not in record.canonical()


def test_disposing_of_the_openings_leaves_the_leaf_and_blanks_the_personal_values() -> None:
    record = Record(RecordKind.MESSAGE, "m-1", {"subject": "Field trip", "size": 10}, AT, SALT)
    leaf, openings = stored(record)
    assert opened_payload(leaf, openings) == {"subject": "Field trip", "size": 10}
    assert opened_payload(leaf, None) == {"subject": None, "size": 10}


def test_a_changed_kept_value_no_longer_matches_its_commitment() -> None:
    record = Record(RecordKind.DECISION, "m-1", {"findings": [{"evidence": "bad", "rule": "r"}]}, AT, SALT)
    sealed = record.sealed()
    assert mismatched(sealed.payload, SALT, sealed.openings) == []
    assert mismatched(sealed.payload, SALT, {"/findings/0/evidence": "fine"}) == ["/findings/0/evidence"]
    assert mismatched(sealed.payload, b"\x00" * 16, sealed.openings) == ["/findings/0/evidence"]


def test_a_lone_surrogate_is_kept_exactly() -> None:
    payload = {"content_type": "/\udc80", "\udcff": ["x\udc80"], "subject": "caf\udce9"}
    leaf, openings = stored(Record(RecordKind.MESSAGE, "m-1", payload, AT))
    document = json.loads(leaf.decode("utf-8"))  # strict UTF-8
    assert document["payload"]["content_type"] == {"$utf8b": base64.b64encode(b"/\xed\xb2\x80").decode()}
    assert opened_payload(leaf, openings) == payload


@given(payload=st.dictionaries(keys, documents, max_size=5))
def test_any_payload_is_valid_rfc8785_and_comes_back_whole(payload: dict[str, Any]) -> None:
    record = Record(RecordKind.DECISION, "m-1", payload, AT)
    leaf, openings = stored(record)
    document = json.loads(leaf.decode("utf-8"))  # strict UTF-8: no surrogate got through
    assert set(document) == {"v", "kind", "message_id", "payload", "recorded_at"}
    assert leaf == rfc8785.dumps(document)
    assert leaf == record.canonical()  # the same bytes again
    assert opened_payload(leaf, openings) == json.loads(json.dumps(payload, ensure_ascii=False), strict=False)


@given(document=json_documents)
def test_the_fast_path_writes_what_the_reference_implementation_writes(document: Any) -> None:
    assert canonical(document) == rfc8785.dumps(document)


class Role(StrEnum):
    STUDENT = "student"


valid_text = st.text(max_size=12)  # no lone surrogates: what orjson writes
valid_documents = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**60), 2**60)  # beyond a double's exact range too
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.just(Role.STUDENT)
    | valid_text,
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.lists(inner, max_size=3).map(tuple)
        | st.dictionaries(
            valid_text | st.sampled_from(["address", "to", "recipients", "person_id", "$sealed", "é"]),
            inner,
            max_size=4,
        )
    ),
    max_leaves=14,
)


@given(payload=st.dictionaries(valid_text | st.sampled_from(["sender", "to", "reason"]), valid_documents))
def test_the_walk_for_valid_unicode_seals_as_the_general_walk_does(payload: dict[str, Any]) -> None:
    def outcome(walk: Callable[[], Any]) -> Any:
        try:
            return walk()
        except Exception as error:  # a personal integer beyond 2**53 has no RFC 8785 form: both refuse it
            return type(error)

    assert outcome(lambda: seal(payload, SALT)) == outcome(
        lambda: _seal(payload, SALT, _dollar_escaped, _as_is)
    )
