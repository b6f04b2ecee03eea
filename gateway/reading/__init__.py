"""Reading a received e-mail or text message into the ``Message`` the policy rules see.

The reader must answer for any bytes a client can send, so it never raises and its cost is bounded by the
size of the input, not by its shape:

- The MIME parser is the stdlib's, with a bounded Compat32 policy rather than ``email.policy.default``:
  the default policy's header parser is quadratic (a 96 KB Content-Type of comments took 95 s on Python
  3.11.7) and the parser itself calls it for every part, so no later limit could help (``budget``).
- The parser's cost grows with lines times multipart nesting (300 levels around 1 M lines took 25 s), so
  it reads only the prefix of the message that fits a fixed budget; a message cut there reports its last
  part's size as unknown (``budget``).
- html.parser is quadratic on unclosed constructs (30 000 ``<a `` took 31 s), so markup is defused first:
  every ``<`` that does not close within a short window becomes text (``html_text``).
- Text is capped at ``TEXT_LIMIT`` characters for the body and again for the quoted history (``limits``,
  ``mime``).

Header fields are decoded (RFC 2047 words, raw 8-bit UTF-8) and charsets are looked up with care: a label
can name a codec that is not a text encoding, or one that is quadratic (punycode) (``charsets``).

This module holds the public readers and the fallback for a message the MIME parser cannot read; the tree
walk is in ``mime``, the split of new text from quoted history in ``quoting``, and the subject and the
relay's own header fields in ``fields``.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import datetime
from email.parser import BytesParser

from gateway.reading.budget import _HEADER_CHARS, _POLICY, _parseable_prefix
from gateway.reading.charsets import _clean, _decode, _header_text, _one_line
from gateway.reading.fields import _pictured, _read_headers, _urgent
from gateway.reading.limits import (
    FILENAME_LIMIT,
    MAX_DEPTH,
    MAX_PARTS,
    MAX_PICTURED,
    SUBJECT_LIMIT,
    TEXT_LIMIT,
    URGENT_LIMIT,
)
from gateway.reading.mime import _Into, _Reading, _walk
from gateway.reading.quoting import split_history
from gateway.reading.sniffing import attachment_of
from policies.message import Message, Party

__all__ = [
    "FILENAME_LIMIT",
    "MAX_DEPTH",
    "MAX_PARTS",
    "MAX_PICTURED",
    "SUBJECT_LIMIT",
    "TEXT_LIMIT",
    "URGENT_LIMIT",
    "archived_text",
    "read_email",
    "read_sms",
    "split_history",
]


def _read_mime(raw: bytes) -> _Reading:
    reading = _Reading()
    cut = _parseable_prefix(raw)
    mime = BytesParser(policy=_POLICY).parsebytes(raw if cut == len(raw) else raw[:cut])
    try:
        _read_headers(mime, reading)
    except Exception:  # a header we cannot read is an empty one; the body still counts
        reading.subject, reading.urgent, reading.pictured = "", None, ()
    _walk(mime, reading, truncated=cut < len(raw))
    return reading


_HEADER_END = re.compile(rb"\r?\n\r?\n")
_UNPARSED_FIELD = re.compile(rb"^(subject|x-chaperone-urgent|x-chaperone-pictured):([^\r\n]*)", re.I | re.M)


def _read_unparsed(raw: bytes) -> _Reading:
    """Best effort when the MIME parser fails: header block up to the first blank line, the rest text."""
    reading = _Reading()
    header_end = _HEADER_END.search(raw, 0, 1 << 18)
    head, rest = (raw[: header_end.start()], raw[header_end.end() :]) if header_end else (b"", raw)
    fields: dict[str, list[str]] = {}
    for match in _UNPARSED_FIELD.finditer(head):
        value = match.group(2)[:_HEADER_CHARS].decode("latin-1")
        fields.setdefault(match.group(1).decode().lower(), []).append(value)
    reading.subject = _one_line(_header_text(fields.get("subject", [""])[0]), SUBJECT_LIMIT)
    urgent = fields.get("x-chaperone-urgent")
    reading.urgent = _urgent(_header_text(urgent[0]) if urgent else None)
    reading.pictured = _pictured(fields.get("x-chaperone-pictured", []))
    limit = 4 * TEXT_LIMIT
    text = _decode(rest[:limit], None, complete=len(rest) <= limit)
    if len(rest) > limit or len(text) > TEXT_LIMIT:
        reading.skipped.add("text beyond the reading budget")
    reading.add_text(_clean(text[:TEXT_LIMIT]), _Into.BODY)
    return reading


def read_email(
    raw: bytes,
    *,
    message_id: str,
    sender: Party,
    recipients: tuple[Party, ...],
    received_at: datetime,
    sender_verified: bool | None = None,
) -> Message:
    """The message the rules read from a received e-mail. Never raises; ``sent_at`` is ``received_at``
    because a client's Date header is whatever the client says. ``sender_verified`` is what the relay
    found out about an unauthenticated sender (SPF/DKIM/DMARC), passed through to the rules."""
    try:
        reading = _read_mime(raw)
    except Exception:
        try:
            reading = _read_unparsed(raw)
        except Exception:  # nothing readable at all: the rules still see who sent what to whom, and when
            reading = _Reading(skipped={"a message that could not be read"})
    return Message(
        message_id=message_id,
        channel="email",
        sender=sender,
        recipients=recipients,
        sent_at=received_at,
        subject=reading.subject,
        body=reading.body.text(),
        quoted=reading.quoted.text(),
        attachments=tuple(reading.attachments),
        urgent=reading.urgent,
        pictured=reading.pictured,
        unread=tuple(sorted(reading.skipped)),
        sender_verified=sender_verified,
    )


def archived_text(raw: bytes, channel: str) -> str:
    """An archived message's words as a reader is shown them: a text as it came; an e-mail's new text,
    then its quoted history. Never raises."""
    if channel == "sms":
        return raw.decode("utf-8", errors="replace")
    try:
        reading = _read_mime(raw)
    except Exception:
        try:
            reading = _read_unparsed(raw)
        except Exception:
            return ""
    return "\n\n".join(part for part in (reading.body.text(), reading.quoted.text()) if part)


_URGENT_PREFIX = re.compile(r"\A\s*URGENTE?[ \t]*:[ \t]*", re.IGNORECASE)


def read_sms(
    text: str,
    *,
    message_id: str,
    sender: Party,
    recipients: tuple[Party, ...],
    received_at: datetime,
    media: Sequence[tuple[str, str, bytes]] = (),
) -> Message:
    """The message the rules read from a text, and its media (an MMS: filename, declared type, bytes),
    each seen by its bytes as an e-mail's attachment is. "URGENT:" or "URGENTE:" in front marks it
    urgent, with the rest of that line as the reason; the prefix itself is not part of what was said."""
    body = _clean(text[: 4 * TEXT_LIMIT])
    urgent = None
    prefix = _URGENT_PREFIX.match(body)
    if prefix is not None:
        body = body[prefix.end() :]
        urgent = _urgent(body.split("\n", 1)[0])
    return Message(
        message_id=message_id,
        channel="sms",
        sender=sender,
        recipients=recipients,
        sent_at=received_at,
        body=body.strip()[:TEXT_LIMIT],
        attachments=tuple(a for name, declared, data in media for a in attachment_of(name, declared, data)),
        urgent=urgent,
    )
