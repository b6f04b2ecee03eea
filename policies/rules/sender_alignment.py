"""Unverified sender: a reply from outside whose From: domain the relay could not verify is held.

Replies come in on port 25 without a sign-in, so the sender's address is only what the client claims:
anyone holding a conversation address could write as a member of it (a student as their mother). The
gateway checks the From: domain with SPF, DKIM and DMARC alignment and sets ``message.sender_verified``;
this rule turns "not aligned" (a failure, no evidence at all, or a DNS error) into a finding, so a person
confirms who wrote before the family and the staff member read it as that member's. Staff submissions
are authenticated by their sign-in and never checked (``None``).
"""

from __future__ import annotations

from collections.abc import Iterable

from policies.context import Context
from policies.message import Message
from policies.rules import Hit


class UnverifiedSender:
    id = "channel.unverified_sender"
    category = "unverified_sender"
    description = "A reply whose From: domain did not pass SPF or DKIM in DMARC alignment."

    def __init__(self, options: None = None) -> None:
        pass

    def check(self, message: Message, context: Context) -> Iterable[Hit]:
        if message.sender_verified is not False:
            return ()
        return (
            Hit(
                reason=f"The relay could not verify that this reply comes from {message.sender.address}"
                " (its domain's SPF, DKIM and DMARC do not vouch for it): a supervisor confirms who"
                " wrote it before anyone reads it as theirs."
            ),
        )
