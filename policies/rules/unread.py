"""Unread content: a message the reader could not read whole (more parts, nesting or text than its
bounds allow, or bytes it could not parse) is held for a person to read, never delivered unread.

The gateway names what was left unread in ``message.unread``; this rule only turns that into a hold.
"""

from __future__ import annotations

from collections.abc import Iterable

from policies.context import Context
from policies.decision import Severity
from policies.message import Message
from policies.rules import Hit


class Unread:
    id = "content.unread"
    category = "unread"
    description = "A message the relay could not read whole: held so that a person reads it."

    def __init__(self, options: None = None) -> None:
        pass

    def check(self, message: Message, context: Context) -> Iterable[Hit]:
        if not message.unread:
            return ()
        return (
            Hit(
                reason="Part of this message could not be checked ("
                + "; ".join(message.unread)
                + "): it waits for a supervisor to read it.",
                severity=Severity.HIGH,
            ),
        )
