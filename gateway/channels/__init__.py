"""Channels: what is particular to e-mail (and, next, to SMS) about a message, kept out of the pipeline.

The pipeline's steps are the same for every channel: authorise, read, evaluate, plan, commit. A channel
checks what arrived and parses its envelope (for e-mail, the header block), says what of it the message
record keeps, and writes the envelope of each planned copy. An SMS channel is a sibling of ``email``.
"""

from __future__ import annotations

from typing import Any, Protocol, TypeVar

from gateway.models import Channel, Copy, Submission

Envelope = TypeVar("Envelope")


class MessageChannel(Protocol[Envelope]):
    channel: Channel

    def check(self, submission: Submission) -> Envelope:
        """Parse what arrived; raise (a channel's own exceptions) if it may not go further."""
        ...

    def subject(self, envelope: Envelope) -> str: ...

    def record_fields(self, envelope: Envelope) -> dict[str, Any]:
        """What of the envelope the message record keeps, beside what every channel's record has."""
        ...

    def copy_envelope(self, original: Envelope, copy: Copy, message_id: str) -> bytes:
        """The envelope of one planned copy (for e-mail: its header block), stored with the copy."""
        ...
