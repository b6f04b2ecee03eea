"""The header fields the rules read besides the body: the subject, and the relay's own fields a sender
may set, X-Chaperone-Urgent (the reason a message must go at once) and X-Chaperone-Pictured (the
sourcedIds of the students a photo shows). They are read the same way from a parsed message and from the
raw header block when the parser fails, and bounded like everything else a sender writes.
"""

from __future__ import annotations

import re
from email.message import Message as MimePart

from gateway.reading.charsets import _header_text, _one_line
from gateway.reading.limits import MAX_PICTURED, SUBJECT_LIMIT, URGENT_LIMIT
from gateway.reading.mime import _Reading

_SOURCED_ID = re.compile(r"[A-Za-z0-9._-]{1,255}")
_ID_SEPARATORS = re.compile(r"[\s,]+")


def _urgent(value: str | None) -> str | None:
    """The sender's urgent reason; a header or prefix without a reason still means urgent."""
    if value is None:
        return None
    return _one_line(value, URGENT_LIMIT) or "urgent"


def _pictured(values: list[str]) -> tuple[str, ...]:
    ids: dict[str, None] = {}
    for value in values:
        for token in _ID_SEPARATORS.split(_header_text(value)):
            if _SOURCED_ID.fullmatch(token) and len(ids) < MAX_PICTURED:
                ids[token] = None
    return tuple(ids)


def _read_headers(mime: MimePart, reading: _Reading) -> None:
    subject = mime.get("subject")
    reading.subject = _one_line(_header_text(str(subject)), SUBJECT_LIMIT) if subject is not None else ""
    urgent = mime.get("x-chaperone-urgent")
    reading.urgent = _urgent(None if urgent is None else _header_text(str(urgent)))
    pictured = mime.get_all("x-chaperone-pictured", [])[:MAX_PICTURED]
    reading.pictured = _pictured([str(value) for value in pictured])
