"""Conversation addresses: how a student's or guardian's reply finds its way back through the relay.

Each family's copy carries Reply-To c-<token>@<relay domain>. The token is unguessable (120 random bits),
so knowing one conversation address tells nothing about another, and a forged token matches nothing.
An address is a capability anyone holding it can use, so it does not last for ever: one through which no
message has passed for ``[smtp] conversation_idle_days`` is refused, and the CLI never prints one whole.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from archive.changes import Changes
from archive.models import StoredConversation
from archive.records import Record, RecordKind
from archive.store import Conversations
from gateway.models import Conversation

_ADDRESS = re.compile(r"c-([a-z2-7]{24})@(.+)", re.IGNORECASE)


def open(writer: Changes, message_id: str, conversation: Conversation) -> None:
    writer.open_conversation(
        StoredConversation(
            token=conversation.token,
            message_id=message_id,
            staff_id=conversation.staff.person_id,
            staff_email=conversation.staff.email or "",
            student_ids=tuple(s.person_id for s in conversation.students),
            member_ids=tuple(conversation.member_ids),
            created_at=datetime.now(UTC),
        )
    )
    writer.append(
        Record(
            RecordKind.CONVERSATION,
            message_id,
            {
                "staff_id": conversation.staff.person_id,
                "student_ids": [s.person_id for s in conversation.students],
                "member_ids": list(conversation.member_ids),
                # The token itself is a capability: the archive keeps it to route evidence, the logs never.
                "token": conversation.token,
            },
        )
    )


def token_of(address: str, relay_domain: str) -> str | None:
    match = _ADDRESS.fullmatch(address.strip())
    if match is None or match.group(2).lower() != relay_domain.lower():
        return None
    return match.group(1).lower()


@dataclass(frozen=True, slots=True)
class Route:
    """Where an address at the relay domain leads: a live conversation, an expired one, or nowhere."""

    conversation: StoredConversation | None
    expired: bool = False


class ConversationRoutes:
    """The gateway service every edge asks about conversation addresses (SMTP port 25 today)."""

    def __init__(self, store: Conversations, *, relay_domain: str, idle_days: float) -> None:
        self.store = store
        self.relay_domain = relay_domain
        self.idle = timedelta(days=idle_days)

    async def route(self, address: str) -> Route:
        token = token_of(address, self.relay_domain)
        found = None if token is None else await self.store.conversation(token)
        if found is None:
            return Route(None)
        used = await self.store.used_since(found, datetime.now(UTC) - self.idle)
        return Route(found, expired=not used)

    async def conversation(self, address: str) -> StoredConversation | None:
        token = token_of(address, self.relay_domain)
        return None if token is None else await self.store.conversation(token)


# --- showing addresses to people ----------------------------------------------------------------------
_TOKEN_IN_TEXT = re.compile(r"\b(c-)?([a-z2-7]{24})\b", re.IGNORECASE)
_SHOWN = 4  # characters of a token a person sees: enough to tell two apart, far too few to use


def masked(token: str) -> str:
    """A token as the CLI shows it: its first characters only (``c-abcd…``)."""
    return f"c-{token.removeprefix('c-')[:_SHOWN]}…"


def mask_tokens(value: Any) -> Any:
    """``value`` (archived JSON) with every conversation token shortened: a token printed on a terminal
    or pasted into a ticket is a way into the conversation for whoever reads it."""
    if isinstance(value, dict):
        return {key: _mask_field(key, item) for key, item in value.items()}
    if isinstance(value, list):
        return [mask_tokens(item) for item in value]
    if isinstance(value, str):
        return _TOKEN_IN_TEXT.sub(lambda m: masked(m.group(2)) if m.group(1) else m.group(0), value)
    return value


def _mask_field(key: str, value: Any) -> Any:
    # Where a field holds a token on its own (the message's "conversation", the opened record's "token").
    if key in ("conversation", "token") and isinstance(value, str) and _TOKEN_IN_TEXT.fullmatch(value):
        return masked(value)
    return mask_tokens(value)
