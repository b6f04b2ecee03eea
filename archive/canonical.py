"""Canonical bytes: RFC 8785, the JSON Canonicalization Scheme, for every leaf of the archive.

A record's canonical bytes are what its leaf hash covers, so they must be the same bytes whoever makes them
again, years later, in any language: RFC 8785 says exactly which (UTF-8, keys sorted by UTF-16 code
units, ECMAScript number forms, minimal string escapes). orjson with sorted keys writes those very bytes
for the documents the relay writes, which hold no floats and only ASCII keys; it is about 70 times faster
than the reference implementation (``rfc8785``), which writes every other document.

JSON cannot hold a string that is not valid Unicode (a lone surrogate, as a parser leaves for bytes it
could not decode). Such a string is written losslessly as ``{"$utf8b": <base64 of its UTF-8 bytes with
surrogates passed through>}`` (a key: ``"$utf8b:<base64>"``), and ``restore`` turns it back into the
same Python string. Keys that begin with "$" are the archive's own; a payload's key that does is written
with one more "$" in front.
"""

from __future__ import annotations

import base64
from typing import Any

import orjson
import rfc8785

UNDECODABLE = "$utf8b"  # the key of a string that is not valid Unicode, kept as its exact bytes


def canonical(document: Any, *, fast: bool | None = None) -> bytes:
    """The RFC 8785 bytes of a JSON document (after ``escaped``). ``fast``: whether the document is
    known to be in orjson's exact domain (``exact_leaf`` held for every leaf, and every key is ASCII);
    None: look."""
    if fast if fast is not None else _fast(document):
        return orjson.dumps(document, option=orjson.OPT_SORT_KEYS)
    return rfc8785.dumps(document)


def escaped(value: Any) -> Any:
    """The value with every string that is not valid Unicode replaced by its lossless form."""
    if isinstance(value, str):
        return escaped_text(value)
    if isinstance(value, dict):
        return {escaped_key(key): escaped(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [escaped(item) for item in value]
    return value


def escaped_text(text: str) -> Any:
    return text if _valid(text) else {UNDECODABLE: _utf8b(text)}


def exact_leaf(value: Any) -> bool:
    """Whether orjson writes this scalar exactly as RFC 8785 does: not a float, not an integer beyond a
    double's exact range."""
    if isinstance(value, int) and not isinstance(value, bool):
        return -EXACT_INTEGERS < value < EXACT_INTEGERS
    return value is None or isinstance(value, str | bool)


def restore(value: Any) -> Any:
    """``escaped`` undone."""
    if isinstance(value, dict):
        if len(value) == 1 and isinstance(value.get(UNDECODABLE), str):
            return base64.b64decode(value[UNDECODABLE]).decode("utf-8", "surrogatepass")
        return {_restored_key(key): restore(item) for key, item in value.items()}
    if isinstance(value, list):
        return [restore(item) for item in value]
    return value


def _utf8b(text: str) -> str:
    return base64.b64encode(text.encode("utf-8", "surrogatepass")).decode()


def escaped_key(key: str) -> str:
    if not _valid(key):
        return f"{UNDECODABLE}:{_utf8b(key)}"
    return "$" + key if key.startswith("$") else key  # "$" starts only the archive's own keys


def _restored_key(key: str) -> str:
    if key.startswith("$$"):
        return key[1:]
    if key.startswith(UNDECODABLE + ":"):
        return base64.b64decode(key[len(UNDECODABLE) + 1 :]).decode("utf-8", "surrogatepass")
    return key


def _valid(text: str) -> bool:
    if text.isascii():
        return True
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


# The largest integer an IEEE double holds exactly; RFC 8785 writes numbers as ECMAScript does.
EXACT_INTEGERS = 2**53


def _fast(value: Any) -> bool:
    """Whether orjson's sorted output is already RFC 8785: no floats, no integers beyond a double's exact
    range, and keys whose UTF-8 order is their UTF-16 order (ASCII keys; ours all are)."""
    if isinstance(value, dict):
        return all(key.isascii() and _fast(item) for key, item in value.items())
    if isinstance(value, list | tuple):
        return all(_fast(item) for item in value)
    return exact_leaf(value)
