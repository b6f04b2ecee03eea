"""The e-mail channel: the header block checked (RFC 5322, and who the message says it is from), the
fields the record keeps, and each copy's own header block (To/Cc of its family, Reply-To its conversation
address, reply-steering fields dropped: ``gateway.headers``)."""

from __future__ import annotations

from typing import Any

from gateway.headers import HeaderBlock, addresses_in, check_header_block, copy_headers, decoded_words
from gateway.models import Channel, Copy, Submission

# Fields that say who wrote or sent a message: a reader's client shows them, so each must name the
# authenticated sender and nobody else.
_AUTHOR_FIELDS = ("from", "sender", "resent-from", "resent-sender")


class AuthorMismatch(Exception):
    """The From: header names someone other than the authenticated staff member."""


class EmailChannel:
    channel = Channel.EMAIL

    def check(self, submission: Submission) -> HeaderBlock:
        headers = HeaderBlock.of(submission.raw)
        check_header_block(headers.fields)
        check_author(submission, headers)
        return headers

    def subject(self, envelope: HeaderBlock) -> str:
        return envelope.text("Subject") or ""

    def record_fields(self, envelope: HeaderBlock) -> dict[str, Any]:
        return {"header_message_id": envelope.text("Message-ID"), "date": envelope.text("Date")}

    def copy_envelope(self, original: HeaderBlock, copy: Copy, message_id: str) -> bytes:
        return copy_headers(
            original, to=copy.to, cc=copy.cc, reply_to=copy.reply_to, extra=[("X-Chaperone-Id", message_id)]
        )


def check_author(submission: Submission, headers: HeaderBlock) -> None:
    """A staff member may send only as themself: exactly one From: naming exactly their own address
    (its display name decoded and read too), and any Sender: or Resent-* author field the same."""
    own = submission.envelope_from.lower()
    froms = headers.values("From")
    if len(froms) != 1:
        raise AuthorMismatch(f"a message needs exactly one From: field with {own}, not {len(froms)}")
    for name in _AUTHOR_FIELDS:
        for value in headers.values(name):
            authors = addresses_in(decoded_words(value))
            if authors != [own]:
                shown = ", ".join(authors[:3])[:200]
                label = name.title()
                raise AuthorMismatch(
                    f"{label}: must be your own district address {own}" + (f", not {shown}" if shown else "")
                )
