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

_REPLACED = {b"to", b"cc", b"bcc", b"reply-to", b"return-path"}
_BLANK_LINE = re.compile(rb"\r?\n\r?\n")


def split_message(raw: bytes) -> tuple[bytes, bytes]:
    """(header block including its final line break, body). A message without a body is all header."""
    match = _BLANK_LINE.search(raw)
    if match is None:
        return raw, b""
    end_of_headers = match.start() + (2 if raw[match.start() : match.start() + 2] == b"\r\n" else 1)
    return raw[:end_of_headers], raw[match.end() :]


def header_fields(block: bytes) -> list[tuple[bytes, bytes]]:
    """The fields of a header block as (lower-cased name, the field's exact bytes incl. folded lines)."""
    fields: list[tuple[bytes, bytes]] = []
    for line in block.splitlines(keepends=True):
        if line[:1] in (b" ", b"\t") and fields:
            name, text = fields[-1]
            fields[-1] = (name, text + line)
        else:
            name = line.split(b":", 1)[0].strip().lower() if b":" in line else b""
            fields.append((name, line))
    return fields


@dataclass(frozen=True, slots=True)
class HeaderBlock:
    """A message's header fields, split once and shared by everything that reads or copies them."""

    fields: tuple[tuple[bytes, bytes], ...]

    @classmethod
    def of(cls, raw: bytes) -> HeaderBlock:
        return cls(tuple(header_fields(split_message(raw)[0])))

    def value(self, name: str) -> bytes | None:
        """The first ``name`` field's value, unfolded and capped, without parsing it (hostile headers
        make the stdlib's parsers quadratic or recursive)."""
        wanted = name.lower().encode()
        for field_name, text in self.fields:
            if field_name == wanted:
                value = text.split(b":", 1)[1][:FIELD_LIMIT]
                return b" ".join(value.split())
        return None

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


def assemble(header_block: bytes, body: bytes) -> bytes:
    return header_block + b"\r\n" + body


_ADDRESS = re.compile(rb"[^\s<>()\[\],;:\"@]+@[^\s<>()\[\],;:\"@]+")
FIELD_LIMIT = 4096  # bytes of one field we look at: enough for any honest From, Date or Message-ID


def addresses_in(value: bytes) -> list[str]:
    """Every address-shaped token in a field: a display name that looks like an address counts too,
    so a From: that could show a reader two addresses never passes for one."""
    return [match.decode("utf-8", "replace").lower().strip(".") for match in _ADDRESS.findall(value)]
