"""Delivery status notifications (RFC 3464): telling a staff member that a copy could not be delivered.

The DSN is a multipart/report with a human explanation, the machine-readable message/delivery-status part,
and the headers of the copy that failed (text/rfc822-headers). Its envelope sender is empty, so nobody
ever bounces a bounce.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import UTC, datetime
from email.utils import format_datetime, make_msgid
from secrets import token_hex
from typing import Protocol

_STATUS = re.compile(r"\b([245]\.\d{1,3}\.\d{1,3})\b")


class Failure(Protocol):
    @property
    def recipient(self) -> str: ...
    @property
    def code(self) -> int: ...
    @property
    def text(self) -> str: ...


def build_dsn(
    *,
    original: bytes,
    envelope_from: str,
    reporting_mta: str,
    bounce_from: str,
    failures: Sequence[Failure],
    arrival_date: datetime,
) -> bytes | None:
    """The DSN for ``failures`` of one copy, or None when there is nobody to tell."""
    if not envelope_from or not failures:
        return None
    boundary = f"=_chaperone_{token_hex(12)}"
    now = datetime.now(UTC)
    human = "\r\n".join(
        [
            "This is the Chaperone relay. A copy of your message could not be delivered to:",
            "",
            *(f"  {f.recipient}: {_one_line(f.code, f.text)}" for f in failures),
            "",
            "The message itself is kept in the district archive. Contact district IT if you need help.",
        ]
    )
    per_message = [
        f"Reporting-MTA: dns; {reporting_mta}",
        f"Arrival-Date: {format_datetime(arrival_date.astimezone(UTC))}",
    ]
    per_recipient = []
    for failure in failures:
        status = _status(failure)
        per_recipient += [
            "",
            f"Final-Recipient: rfc822; {failure.recipient}",
            "Action: failed",
            f"Status: {status}",
            *([f"Diagnostic-Code: smtp; {_one_line(failure.code, failure.text)}"] if failure.code else []),
            f"Last-Attempt-Date: {format_datetime(now)}",
        ]
    headers = original.split(b"\r\n\r\n", 1)[0].split(b"\n\n", 1)[0].rstrip(b"\r\n")
    head = "\r\n".join(
        [
            f"From: Mail Delivery System <{bounce_from}>",
            f"To: <{envelope_from}>",
            "Subject: Undelivered copy: delivery status notification",
            f"Date: {format_datetime(now)}",
            f"Message-ID: {make_msgid(domain=reporting_mta)}",
            "Auto-Submitted: auto-replied",
            "MIME-Version: 1.0",
            f'Content-Type: multipart/report; report-type=delivery-status; boundary="{boundary}"',
        ]
    )
    parts = [
        ("text/plain; charset=utf-8", human.encode()),
        ("message/delivery-status", "\r\n".join(per_message + per_recipient).encode() + b"\r\n"),
        ("text/rfc822-headers", headers + b"\r\n"),
    ]
    body = b"".join(
        b"--" + boundary.encode() + b"\r\nContent-Type: " + kind.encode() + b"\r\n\r\n" + content + b"\r\n"
        for kind, content in parts
    )
    return head.encode() + b"\r\n\r\n" + body + b"--" + boundary.encode() + b"--\r\n"


def _status(failure: Failure) -> str:
    match = _STATUS.search(failure.text)
    if match is not None and match.group(1)[0] in "45":
        return match.group(1)
    if 400 <= failure.code < 500 or failure.code == 0:
        return "4.4.7"  # delivery time expired
    return "5.0.0"


def _one_line(code: int, text: str) -> str:
    flat = " ".join(text.split())
    return f"{code} {flat}" if code else flat
