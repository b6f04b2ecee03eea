"""Registration: a message goes through the relay only between people the district's roster knows.

A sender not on the roster is a staff member's personal account or a stranger posing as one; a recipient
not on the roster is a personal address or number, a student's or the sender's own. Both are blocked:
the seeds require professional channels kept separate from personal ones.
"""

from __future__ import annotations

from collections.abc import Iterable

from policies.context import Context
from policies.message import Message
from policies.rules import Hit


class UnregisteredSender:
    id = "channel.unregistered_sender"
    category = "unregistered_sender"
    description = "The sender's address or number is not on the district roster."

    def __init__(self, options: None = None) -> None:
        pass

    def check(self, message: Message, context: Context) -> Iterable[Hit]:
        if message.sender.person is not None:
            return ()
        return (Hit(reason=f"The sender {message.sender.address} is not on the district roster."),)


class UnknownRecipient:
    id = "channel.unknown_recipient"
    category = "unknown_recipient"
    description = "A rostered sender writes to an address or number that is not on the roster."

    def __init__(self, options: None = None) -> None:
        pass

    def check(self, message: Message, context: Context) -> Iterable[Hit]:
        # An unregistered sender is blocked on its own account; naming its recipients too says nothing new.
        if message.sender.person is None:
            return ()
        seen: set[str] = set()
        hits = []
        for party in message.recipients:
            if party.person is None and party.address not in seen:
                seen.add(party.address)
                hits.append(Hit(reason=f"The recipient {party.address} is not on the district roster."))
        return hits
