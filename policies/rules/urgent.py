"""Urgent messages: staff may mark a message urgent so quiet hours do not hold it back (a cancelled bus
at 05:30); every such message is delivered at once and listed for supervisor review with its reason.

The marker comes from the X-Chaperone-Urgent header or an SMS "URGENT:" prefix (``message.urgent``).
"""

from __future__ import annotations

from collections.abc import Iterable

from policies.context import Context
from policies.message import Message
from policies.rules import Hit


class Urgent:
    id = "urgent"
    category = "urgent"
    description = "A message staff marked urgent: not deferred by quiet hours, but reviewed."

    def __init__(self, options: None = None) -> None:
        pass

    def check(self, message: Message, context: Context) -> Iterable[Hit]:
        if message.urgent is None or not message.sender_is_staff:
            return ()
        given = message.urgent.strip()
        reason = f"Marked urgent ({given})" if given else "Marked urgent with no reason given"
        # Point at the reason where the sender wrote it (an SMS "URGENT: bus cancelled" keeps it in the text).
        start = message.text.find(given) if given else -1
        return (
            Hit(
                reason=f"{reason}: sent at once, outside quiet hours if need be, and listed for review.",
                start=start if start >= 0 else None,
                end=start + len(given) if start >= 0 else None,
            ),
        )
