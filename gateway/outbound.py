"""What delivery needs from the outside world, as Protocols the adapters implement.

The gateway owns these contracts so that dependencies point inward: adapters/transport.py (SMTP,
Maildir) and adapters/dkim_sign.py implement them; gateway/delivery.py only calls them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

import orjson


@dataclass(frozen=True, slots=True)
class RecipientOutcome:
    recipient: str
    code: int  # the SMTP reply code; 0 when no server answered (connection failure)
    text: str
    at_relay: bool = False  # the relay itself failed (could not build or send the copy), not the far side
    # A provider that reports the outcome later (an SMS provider's status callback) accepted the copy under
    # this id: the copy is accepted, not yet delivered (gateway.status settles it).
    provider_id: str | None = None

    @property
    def delivered(self) -> bool:
        return 200 <= self.code < 300

    @property
    def permanent(self) -> bool:
        return 500 <= self.code < 600

    @property
    def temporary(self) -> bool:
        return not self.delivered and not self.permanent


class Transport(Protocol):
    """Sends one message to all its recipients in one transaction; reports what the far side said."""

    async def send(
        self, envelope_from: str, recipients: Sequence[str], message: bytes
    ) -> list[RecipientOutcome]: ...

    async def close(self) -> None: ...


class Signer(Protocol):
    async def sign(self, message: bytes) -> bytes: ...


@dataclass(frozen=True, slots=True)
class OutboundText:
    """What delivery hands an SMS transport as a text's "message": its words, and the media it carries
    (content digests in the archive's body store, with their types; the transport links them)."""

    body: str
    media: tuple[tuple[str, str], ...] = ()  # (digest, content type)

    def to_bytes(self) -> bytes:
        return orjson.dumps({"body": self.body, "media": self.media})

    @classmethod
    def of(cls, message: bytes) -> OutboundText:
        document = orjson.loads(message)
        return cls(str(document["body"]), tuple((str(d), str(t)) for d, t in document.get("media", ())))
