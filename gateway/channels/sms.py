"""The SMS channel: a text as it arrived (its words, the relay number it came to, the provider's id), what
the message record keeps of it (segments and encoding, for cost reporting: one emoji turns a whole text
into UCS-2), and each copy's envelope: the line that tells a guardian who wrote to whom."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import smsutil

from gateway.models import Channel, Copy, Submission


@dataclass(frozen=True, slots=True)
class TextEnvelope:
    text: str
    relay_number: str
    provider_id: str
    encoding: str  # "GSM-7" or "UCS-2"
    segments: int


def segments(text: str) -> tuple[str, int]:
    """(encoding, segment count) of a text as a carrier bills it."""
    split = smsutil.split(text)
    return ("GSM-7" if split.encoding == "gsm0338" else "UCS-2"), max(1, len(split.parts))


class SmsChannel:
    channel = Channel.SMS

    def check(self, submission: Submission) -> TextEnvelope:
        text = submission.raw.decode("utf-8", errors="replace")
        encoding, count = segments(text)
        return TextEnvelope(
            text, submission.relay_number or "", submission.provider_id or "", encoding, count
        )

    def subject(self, envelope: TextEnvelope) -> str:
        return ""

    def record_fields(self, envelope: TextEnvelope) -> dict[str, Any]:
        return {
            "relay_number": envelope.relay_number,
            "provider_id": envelope.provider_id,
            "encoding": envelope.encoding,
            "segments": envelope.segments,
        }

    def copy_envelope(self, original: TextEnvelope, copy: Copy, message_id: str) -> bytes:
        """What goes before the text: the copy's prefix (a guardian's "Dana Reyes to Sam: "), if any."""
        return copy.prefix.encode()
