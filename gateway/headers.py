"""Rewriting a message's header block for one copy without touching anything else.

The delivered message is the original bytes with our header fields in front: only the address fields that
must differ per copy (To, Cc, Bcc, Reply-To) are dropped, every other field and the body stay byte for
byte as the staff member's client wrote them. Re-serialising a parsed message would change bytes and
break signatures.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from email.header import decode_header, make_header

# Fields dropped from every copy: the addresses that differ per copy, and every field that tells a
# reader's client where replies, receipts or errors should go (a personal address would slip in there);
# replies go to the conversation address we write.
_REPLACED = {
    b"to",
    b"cc",
    b"bcc",
    b"reply-to",
    b"return-path",
    b"mail-reply-to",
    b"mail-followup-to",
    b"disposition-notification-to",
    b"return-receipt-to",
    b"errors-to",
    b"resent-to",
    b"resent-cc",
    b"resent-bcc",
    b"resent-reply-to",
}
_BLANK_LINE = re.compile(rb"\r?\n\r?\n")


def split_message(raw: bytes) -> tuple[bytes, memoryview]:
    """(header block including its final line break, body). The body is a view into ``raw``, not a copy:
    a 25 MB message is not held twice to read its header or to put new fields in front of it. A message
    without a body is all header."""
    match = _BLANK_LINE.search(raw)
    if match is None:
        return raw, memoryview(b"")
    end_of_headers = match.start() + (2 if raw[match.start() : match.start() + 2] == b"\r\n" else 1)
    return raw[:end_of_headers], memoryview(raw)[match.end() :]


def header_fields(block: bytes) -> list[tuple[bytes, bytes]]:
    """The fields of a header block as (lower-cased name, the field's exact bytes incl. folded lines)."""
    # Lines are gathered per field and joined once: appending to the field's bytes line by line made
    # 2.3 MiB of folded lines cost 25 s (quadratic).
    names: list[bytes] = []
    lines: list[list[bytes]] = []
    for line in block.splitlines(keepends=True):
        if line[:1] in (b" ", b"\t") and lines:
            lines[-1].append(line)
        else:
            names.append(line.split(b":", 1)[0].strip().lower() if b":" in line else b"")
            lines.append([line])
    return [(name, b"".join(parts)) for name, parts in zip(names, lines, strict=True)]


class MalformedHeader(ValueError):
    """A header block that is not RFC 5322: refused at DATA, so no copy of it can poison the queue
    (the DKIM signer, and any client, would trip over it at every attempt)."""


# RFC 5322 §2.2 and §3.6.8: a field name is printable US-ASCII but the colon; a line is at most 998
# octets; the header starts with a field, not a continuation.
_FIELD_NAME = re.compile(rb"[!-9;-~]+\Z")
_LINE_LIMIT = 998


def check_header_block(fields: Iterable[tuple[bytes, bytes]]) -> None:
    """Raise MalformedHeader naming the first field that is not RFC 5322."""
    for number, (_, text) in enumerate(fields, start=1):
        first = text.split(b"\n", 1)[0].rstrip(b"\r")
        raw_name = first.split(b":", 1)[0] if b":" in first else None
        if raw_name is None or not _FIELD_NAME.match(raw_name):
            shown = first[:60].decode("ascii", "replace")
            raise MalformedHeader(
                f"header field {number} ({shown!r}) is not 'Name: value' with a printable name and no spaces"
                " (RFC 5322 section 2.2)"
            )
        if any(len(line.rstrip(b"\r\n")) > _LINE_LIMIT for line in text.split(b"\n")):
            raise MalformedHeader(
                f"header field {raw_name[:60].decode('ascii', 'replace')} has a line longer than 998 octets"
                " (RFC 5322 section 2.1.1)"
            )
        if b"\0" in text:
            raise MalformedHeader(f"header field {raw_name[:60].decode('ascii', 'replace')} contains NUL")


@dataclass(frozen=True, slots=True)
class HeaderBlock:
    """A message's header fields, split once and shared by everything that reads or copies them."""

    fields: tuple[tuple[bytes, bytes], ...]

    @classmethod
    def of(cls, raw: bytes) -> HeaderBlock:
        return cls(tuple(header_fields(split_message(raw)[0])))

    def value(self, name: str) -> bytes | None:
        """The first ``name`` field's value (``values``)."""
        found = self.values(name)
        return found[0] if found else None

    def values(self, name: str) -> list[bytes]:
        """Every ``name`` field's value, unfolded and capped, without parsing it (hostile headers make the
        stdlib's parsers quadratic or recursive)."""
        wanted = name.lower().encode()
        return [
            b" ".join(text.split(b":", 1)[1][:FIELD_LIMIT].split())
            for field_name, text in self.fields
            if field_name == wanted
        ]

    def text(self, name: str) -> str | None:
        value = self.value(name)
        return None if value is None else value.decode("utf-8", "replace")


def copy_headers(
    original: HeaderBlock,
    *,
    to: Iterable[str],
    cc: Iterable[str] = (),
    reply_to: str | None = None,
    extra: Iterable[tuple[str, str]] = (),
) -> bytes:
    """The header block of one copy: our fields first, then the original's other fields unchanged."""
    ours = [_field("To", _address_list(to))]
    cc_list = _address_list(cc)
    if cc_list:
        ours.append(_field("Cc", cc_list))
    if reply_to:
        ours.append(_field("Reply-To", reply_to))
    ours.extend(_field(name, value) for name, value in extra)
    kept = [text for name, text in original.fields if name not in _REPLACED]
    kept_block = b"".join(kept)
    if kept_block and not kept_block.endswith(b"\n"):
        kept_block += b"\r\n"
    return b"".join(ours) + kept_block


def _field(name: str, value: str) -> bytes:
    # Values we write are addresses and ids we produced or validated: no CR/LF can reach here.
    clean = value.replace("\r", " ").replace("\n", " ")
    return f"{name}: {clean}\r\n".encode()


def _address_list(addresses: Iterable[str]) -> str:
    return ", ".join(addresses)


def assemble(header_block: bytes, body: bytes | memoryview) -> bytes:
    return b"".join((header_block, b"\r\n", body))


_ADDRESS = re.compile(rb"[^\s<>()\[\],;:\"@]+@[^\s<>()\[\],;:\"@]+")
FIELD_LIMIT = 4096  # bytes of one field we look at: enough for any honest From, Date or Message-ID


def decoded_words(value: bytes) -> bytes:
    """A field value with its RFC 2047 encoded words decoded (as UTF-8), so an address hidden in an
    encoded display name is seen as a reader's client shows it. Undecodable words stay as they are."""
    try:
        text = str(make_header(decode_header(value.decode("ascii", "surrogateescape"))))
    except Exception:
        return value
    return text.encode("utf-8", "surrogateescape")


def addresses_in(value: bytes) -> list[str]:
    """Every address-shaped token in a field: a display name that looks like an address counts too,
    so a From: that could show a reader two addresses never passes for one."""
    return [match.decode("utf-8", "replace").lower().strip(".") for match in _ADDRESS.findall(value)]
