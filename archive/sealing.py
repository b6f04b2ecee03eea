"""Personal data enters a leaf as a salted commitment, so it can be disposed of and every proof still holds.

A record's addresses, phone numbers, subjects, texts, quoted evidence, reasons that quote them and
conversation tokens are personal data or capabilities. The leaf keeps, in place of each such value,
``{"$sealed": "sha256:<hex>"}``: the hash of the record's salt, the value's JSON pointer and the value's
canonical bytes. The values and the salt (the record's *openings*) are kept beside the log, not in it. A
lawful disposal deletes the openings; the leaf, and so the tree and every proof, is unchanged, and the
value can no longer be recovered or confirmed by guessing (the salt is gone with it).

Which values are personal is decided by the key they sit under (``PERSONAL``). Under such a key a dict,
or a list of dicts, is walked into (a party's ``person_id`` and ``role`` stay clear: retention, legal hold
and search by person need them); anything else but null is sealed whole.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import orjson

from archive.canonical import (
    EXACT_INTEGERS,
    canonical,
    escaped,
    escaped_key,
    escaped_text,
    exact_leaf,
    restore,
)

SEALED = "$sealed"

PERSONAL = frozenset(
    {
        "address",
        "addresses",
        "comment",
        "conversation",
        "detail",
        "envelope_from",
        "evidence",
        "filename",
        "from",
        "instead_of",
        "peer",
        "phone",
        "query",
        "reason",
        "recipient",
        "recipients",
        "sender",
        "staff_email",
        "subject",
        "text",
        "to",
        "token",
        "why",
    }
)


@dataclass(frozen=True, slots=True)
class Sealed:
    payload: Any  # the payload as the leaf holds it: commitments in place of personal values
    openings: dict[str, Any]  # JSON pointer -> the value it seals (escaped: archive.canonical)
    fast: bool  # whether orjson writes the payload's canonical bytes (archive.canonical)


def seal(payload: Any, salt: bytes) -> Sealed:
    """The payload escaped (archive.canonical) and its personal values sealed, in one walk: every record
    of every message comes through here, so it is walked once, and a plain leaf (most of them: a clear
    string, a number, null) costs no call and no pointer."""
    # orjson refuses a string that is not valid Unicode: if it writes the payload, no string or key needs
    # its lossless form, and only a key beginning with "$" is escaped.
    try:
        orjson.dumps(payload)
    except orjson.JSONEncodeError:
        return _seal(payload, salt, escaped_key, escaped_text)
    sealing = _ValidSealing(salt)
    return Sealed(sealing.any(payload, ""), sealing.openings, sealing.exact)


def _seal(payload: Any, salt: bytes, key_of: Callable[[str], str], text_of: Callable[[str], Any]) -> Sealed:
    """Any payload, its keys and strings written by ``key_of`` and ``text_of``."""
    openings: dict[str, Any] = {}
    fast = True

    def walk(value: Any, pointer: str, personal: bool) -> Any:
        nonlocal fast
        if isinstance(value, dict):
            walked = {}
            for key, item in value.items():
                written = key_of(key)
                fast = fast and written.isascii()
                if written in PERSONAL or isinstance(item, dict | list | tuple):
                    walked[written] = walk(item, f"{pointer}/{_token(written)}", written in PERSONAL)
                elif isinstance(item, str):
                    walked[written] = text_of(item)
                else:
                    fast = fast and exact_leaf(item)
                    walked[written] = item
            return walked
        if personal and value is not None and not _list_of_dicts(value):
            opened = escaped(value)
            openings[pointer] = opened
            return {SEALED: commitment(salt, pointer, opened)}
        if isinstance(value, list | tuple):
            return [walk(item, f"{pointer}/{n}", False) for n, item in enumerate(value)]
        if isinstance(value, str):
            return text_of(value)
        fast = fast and exact_leaf(value)
        return value

    walked = walk(payload, "", False)
    return Sealed(walked, openings, fast)


class _ValidSealing:
    """``_seal`` for a payload orjson writes (valid Unicode, string keys: nearly every record), the same
    walk with the types of the common leaves tested first and no call for them: about twice as fast."""

    __slots__ = ("exact", "openings", "salt")

    def __init__(self, salt: bytes) -> None:
        self.salt = salt
        self.openings: dict[str, Any] = {}
        self.exact = True  # every key ASCII and every leaf in orjson's exact domain (Sealed.fast)

    def mapping(self, value: dict[str, Any], pointer: str) -> dict[str, Any]:
        walked = {}
        for key, item in value.items():
            if key[:1] == "$":
                key = "$" + key
            if not key.isascii():
                self.exact = False
            kind = type(item)
            if key in PERSONAL:
                walked[key] = self.personal(item, f"{pointer}/{_token(key)}")
            elif kind is str or item is None or kind is bool:
                walked[key] = item
            elif kind is int:
                self.exact = self.exact and -EXACT_INTEGERS < item < EXACT_INTEGERS
                walked[key] = item
            else:
                walked[key] = self.any(item, f"{pointer}/{_token(key)}")
        return walked

    def personal(self, value: Any, pointer: str) -> Any:
        if value is None:
            return None
        if isinstance(value, dict):
            return self.mapping(value, pointer)
        if _list_of_dicts(value):
            return self.sequence(value, pointer)
        opened = escaped(value)
        self.openings[pointer] = opened
        return {SEALED: commitment(self.salt, pointer, opened)}

    def sequence(self, value: list[Any] | tuple[Any, ...], pointer: str) -> list[Any]:
        return [self.any(item, f"{pointer}/{n}") for n, item in enumerate(value)]

    def any(self, value: Any, pointer: str) -> Any:
        if isinstance(value, dict):
            return self.mapping(value, pointer)
        if isinstance(value, list | tuple):
            return self.sequence(value, pointer)
        if not isinstance(value, str) and not exact_leaf(value):
            self.exact = False
        return value


def commitment(salt: bytes, pointer: str, value: Any) -> str:
    # Most sealed values are one string (escaped: valid Unicode), whose RFC 8785 form is orjson's.
    written = orjson.dumps(value) if type(value) is str else canonical(value)
    digest = hashlib.sha256(salt + pointer.encode() + b"\x00" + written)
    return "sha256:" + digest.hexdigest()


def reopen(payload: Any, openings: dict[str, Any]) -> Any:
    """The payload with its sealed values back (restored to the strings they were), or None for each one
    whose opening was disposed of."""

    def walk(value: Any, pointer: str) -> Any:
        if isinstance(value, dict):
            if len(value) == 1 and SEALED in value:
                return openings.get(pointer)
            return {key: walk(item, f"{pointer}/{_token(key)}") for key, item in value.items()}
        if isinstance(value, list):
            return [walk(item, f"{pointer}/{n}") for n, item in enumerate(value)]
        return value

    return restore(walk(payload, ""))


def openings_bytes(openings: dict[str, Any]) -> bytes:
    return orjson.dumps(openings)


def openings_from(stored: bytes | None) -> dict[str, Any]:
    return {} if stored is None else dict(orjson.loads(stored))


def mismatched(payload: Any, salt: bytes, openings: dict[str, Any]) -> list[str]:
    """The pointers whose kept value is not the one the leaf committed to (someone changed it)."""
    return [p for p, value in openings.items() if _at(payload, p) != {SEALED: commitment(salt, p, value)}]


def _at(document: Any, pointer: str) -> Any:
    for token in pointer.split("/")[1:]:
        key = token.replace("~1", "/").replace("~0", "~")
        if isinstance(document, list):
            document = document[int(key)] if key.isdigit() and int(key) < len(document) else None
        elif isinstance(document, dict):
            document = document.get(key)
        else:
            return None
    return document


def _dollar_escaped(key: str) -> str:
    return "$" + key if key.startswith("$") else key


def _as_is(text: str) -> str:
    return text


def _token(key: str) -> str:
    """A key as a JSON pointer (RFC 6901) names it."""
    return key.replace("~", "~0").replace("/", "~1")


def _list_of_dicts(value: Any) -> bool:
    return isinstance(value, list | tuple) and bool(value) and all(isinstance(item, dict) for item in value)


def opened_payload(canonical: bytes, openings: bytes | None) -> Any:
    """A stored record's payload as it was written, as far as its openings are still kept."""
    return reopen(orjson.loads(canonical)["payload"], openings_from(openings))


def conversation_needle(token: str) -> bytes:
    """What a message record's openings hold when it continues this conversation (they are compact JSON)."""
    return b'"/conversation":"' + token.encode() + b'"'
