"""The SMS channel: a text as it arrived (its words, the relay number it came to, the provider's id), what
the message record keeps of it (segments and encoding, for cost reporting: one emoji turns a whole text
into UCS-2), and each copy's envelope: the line that tells a guardian who wrote to whom."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson
import smsutil

from archive.records import body_digest
from gateway.models import Channel, Copy, Submission


@dataclass(frozen=True, slots=True)
class TextEnvelope:
    text: str
    relay_number: str
    provider_id: str
    encoding: str  # "GSM-7" or "UCS-2"
    segments: int
    media: tuple[tuple[str, str, int], ...] = ()  # an MMS's: (body digest, declared type, size)


@dataclass(frozen=True, slots=True)
class TextCopy:
    """A text copy's envelope, as the queue keeps it: what goes before the words, and the media it
    carries (digests in the body store)."""

    prefix: str = ""
    media: tuple[tuple[str, str], ...] = ()  # (digest, content type)

    def envelope(self) -> bytes:
        if not self.prefix and not self.media:
            return b""  # a text the relay writes itself
        return orjson.dumps({"prefix": self.prefix, "media": self.media})

    @classmethod
    def of(cls, envelope: bytes) -> TextCopy:
        if not envelope:
            return cls()
        document = orjson.loads(envelope)
        return cls(str(document["prefix"]), tuple((str(d), str(t)) for d, t in document["media"]))


def segments(text: str) -> tuple[str, int]:
    """(encoding, segment count) of a text as a carrier bills it."""
    split = smsutil.split(text)
    return ("GSM-7" if split.encoding == "gsm0338" else "UCS-2"), max(1, len(split.parts))


class SmsChannel:
    channel = Channel.SMS

    def check(self, submission: Submission) -> TextEnvelope:
        text = submission.raw.decode("utf-8", errors="replace")
        encoding, count = segments(text)
        media = tuple((body_digest(m.content), m.content_type, len(m.content)) for m in submission.media)
        return TextEnvelope(
            text, submission.relay_number or "", submission.provider_id or "", encoding, count, media
        )

    def subject(self, envelope: TextEnvelope) -> str:
        return ""

    def record_fields(self, envelope: TextEnvelope) -> dict[str, Any]:
        return {
            "relay_number": envelope.relay_number,
            "provider_id": envelope.provider_id,
            "encoding": envelope.encoding,
            "segments": envelope.segments,
            "media": [{"digest": d, "content_type": t, "size": n} for d, t, n in envelope.media],
        }

    def copy_envelope(self, original: TextEnvelope, copy: Copy, message_id: str) -> bytes:
        """What goes before the words (a guardian's "Dana Reyes to Sam Patel: "), and the MMS's media."""
        return TextCopy(copy.prefix, tuple((d, t) for d, t, _ in original.media)).envelope()
