"""Bytes and raw header values as clean text: which codec a charset label names, best-effort decoding
with the fallbacks browsers use, RFC 2047 encoded words and raw 8-bit header bytes, and text scrubbed of
what the rules and the database must not see. Labels are looked up with care because any sender writes
them: a label can name a codec that is not a text encoding, or one that is quadratic (punycode).
"""

from __future__ import annotations

import binascii
import codecs
import contextlib
import functools
import re

# Quadratic pure-Python codecs, and escape codecs (no mailer's charset) that warn on every bad escape.
_CODEC_DENIED = frozenset({"idna", "punycode", "unicode-escape", "raw-unicode-escape"})
_CODEC_GUESSED = frozenset({"ascii", "iso8859-1"})  # labels that usually mean UTF-8 or windows-1252

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]+")
_CONTROL_BYTES = bytes([*range(0x00, 0x09), 0x0B, 0x0C, *range(0x0E, 0x20), 0x7F])  # the same, as bytes
_SURROGATE = re.compile(r"[\ud800-\udfff]")
_WHITESPACE = re.compile(r"\s+")


def _clean(text: str) -> str:
    """Newlines as LF, no C0 controls (NUL splits words and PostgreSQL refuses it), no lone surrogates,
    and text in the order a reader sees it (``_as_displayed``)."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    if text.isascii():  # most text: the controls dropped by bytes.translate, six times faster than a regex
        return text.encode("ascii").translate(None, _CONTROL_BYTES).decode("ascii")
    return _as_displayed(_SURROGATE.sub("\ufffd", _CONTROL.sub("", text)))


_RIGHT_TO_LEFT_OVERRIDE = re.compile("\u202e([^\u202c\n]*)\u202c?")
_INVISIBLE = re.compile("[\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff]")


def _as_displayed(text: str) -> str:
    """A right-to-left override shows the characters after it reversed ("\u202etaerht" reads "threat"),
    so the rules read that run reversed; then no bidi or zero-width formatting character is left to split
    a word. Each run ends at the pop (U+202C) or the end of the line, as a renderer ends it."""
    if "\u202e" in text:
        text = _RIGHT_TO_LEFT_OVERRIDE.sub(lambda run: run.group(1)[::-1], text)
    return _INVISIBLE.sub("", text)


def _one_line(text: str, limit: int) -> str:
    return _WHITESPACE.sub(" ", _clean(text)).strip()[:limit].rstrip()


@functools.lru_cache(maxsize=256)
def _codec(label: str | None) -> str | None:
    """The text codec a charset label names, or None: unlabelled, unknown, not text, or denied."""
    if not label:
        return None
    try:
        name = codecs.lookup(label.strip().strip("\"'")).name
        b"a".decode(name)  # LookupError for bytes-to-bytes codecs such as base64 (not for empty input)
    except Exception:  # any label a sender can write: LookupError, ValueError, UnicodeError, ...
        return None
    return None if name in _CODEC_DENIED else name


def _decode(data: bytes, label: str | None, *, complete: bool = True) -> str:
    """Best-effort text: the declared codec if it decodes cleanly; unlabelled, US-ASCII and Latin-1
    labels as UTF-8, else windows-1252 (what browsers do); otherwise the declared codec with
    replacement. ``complete=False`` tolerates a character cut at the end."""
    codec = _codec(label)
    tries = ["utf-8", "cp1252"] if codec is None or codec in _CODEC_GUESSED else [codec, codec]
    for attempt, name in enumerate(tries):
        errors_ = "replace" if attempt == len(tries) - 1 else "strict"
        # UnicodeError, or a codec's own complaint: some assert on their arguments
        with contextlib.suppress(Exception):
            return codecs.getincrementaldecoder(name)(errors_).decode(data, final=complete)
    return data.decode("utf-8", "replace")


def _raw_bytes(value: str) -> bytes:
    """A header value as the bytes it came from: the parser keeps 8-bit bytes as surrogate escapes."""
    try:
        return value.encode("latin-1", "surrogateescape")
    except UnicodeError:  # not from the parser: already text
        return value.encode("utf-8", "replace")


_ENCODED_WORD = re.compile(r"=\?([^?\s]{1,64})\?([bBqQ])\?([^?\s]*)\?=")
_Q_ESCAPE = re.compile(rb"=([0-9A-Fa-f]{2})")


def _decode_word(kind: str, payload: str) -> bytes:
    if kind in "bB":
        data = payload.encode("ascii", "replace")
        data += b"=" * (-len(data) % 4)
        try:
            return binascii.a2b_base64(data)
        except binascii.Error:
            return payload.encode("ascii", "replace")
    data = payload.replace("_", " ").encode("ascii", "replace")
    return _Q_ESCAPE.sub(lambda m: bytes([int(m.group(1), 16)]), data)


def _header_text(value: str) -> str:
    """Decode a raw header value: 8-bit bytes as UTF-8 (or windows-1252), then RFC 2047 encoded words.
    Adjacent words are joined before decoding because mailers split multi-byte characters across them."""
    text = _decode(_raw_bytes(value), None)
    pieces: list[str] = []
    pending = b""
    pending_label = ""
    end = 0
    for match in _ENCODED_WORD.finditer(text):
        between = text[end : match.start()]
        label = match.group(1).split("*", 1)[0]  # RFC 2231 language suffix
        adjacent = end > 0 and not between.strip()  # whitespace between encoded words is not text
        if pending and not (adjacent and label.lower() == pending_label.lower()):
            pieces.append(_decode(pending, pending_label))
            pending = b""
        if not adjacent:
            pieces.append(between)
        pending += _decode_word(match.group(2), match.group(3))
        pending_label = label
        end = match.end()
    if pending:
        pieces.append(_decode(pending, pending_label))
    pieces.append(text[end:])
    return "".join(pieces)
