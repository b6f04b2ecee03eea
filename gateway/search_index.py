"""What the search index keeps of a message: made from its message record, its decision and the text the
policy rules read, so that the index is the same whether written with the message or rebuilt later."""

from __future__ import annotations

from typing import Any

from archive.models import SearchEntry
from gateway.directory import Directory
from policies.parties import Person, Role

_BODY_CHARACTERS = 200_000  # searched words past this are not worth the index's size


def concerned(sender: Person, recipients: list[Person], directory: Directory) -> dict[str, list[str]]:
    """Who and which schools a message concerns beyond its parties, for the message record: the guardians
    of every student party, and every party's schools."""
    parties = [sender, *recipients]
    guardians = {g.person_id for p in parties if p.role is Role.STUDENT for g in directory.guardians_of(p)}
    schools = {school for p in parties for school in p.schools}
    return {"guardians": sorted(guardians), "schools": sorted(schools)}


def concerned_people(message: dict[str, Any]) -> list[str]:
    """Everyone a message record concerns, by sourcedId: its sender and recipients, then the guardians of
    its students (who get their family's copy). Search files the message under each of them; a legal hold
    on any keeps it."""
    parties = [message.get("sender") or {}, *(message.get("recipients") or [])]
    people = [p["person_id"] for p in parties if isinstance(p, dict) and p.get("person_id")]
    return list(dict.fromkeys([*people, *(message.get("guardians") or [])]))


def search_entry(
    message_id: str, recorded_at: str, message: dict[str, Any], decision: dict[str, Any], body: str
) -> SearchEntry:
    """The index entry of a message, from its records (``message`` and ``decision`` payloads)."""
    sender = message.get("sender") or {}
    keys = [f"person:{p}" for p in concerned_people(message)]
    keys += [f"school:{s}" for s in message.get("schools") or []]
    findings = decision.get("findings") or []
    categories = sorted({f["category"] for f in findings if isinstance(f, dict) and f.get("category")})
    attachments = " ".join(a.get("filename") or "" for a in message.get("attachments") or [])
    return SearchEntry(
        message_id=message_id,
        recorded_at=recorded_at,
        channel=str(message.get("channel", "email")),
        direction="from_staff" if sender.get("role") == str(Role.STAFF) else "to_staff",
        action=str(decision.get("action", "deliver")),
        categories=tuple(categories),
        sender_id=str(sender.get("person_id", "")),
        keys=tuple(keys),
        thread=str(message.get("thread") or message_id),
        subject=message.get("subject") or "",
        body=body[:_BODY_CHARACTERS],
        attachments=attachments.strip(),
    )
