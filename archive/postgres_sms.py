"""The PostgreSQL statements for the SMS channel's working state: masked-number sessions, opt-outs, and the
provider ids of texts received. Each runs on a connection inside the caller's transaction."""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

import asyncpg

from archive.changes import Changes
from archive.models import Conflict, SmsParticipant, SmsSession

_SESSION_LOCK = 0x43686173  # pg_advisory_xact_lock key ("Chas"): one session opened at a time


async def apply(connection: Any, changes: Changes) -> None:
    for provider_id, message_id in changes.received:
        try:  # the unit's own savepoint (archive.postgres_commits) rolls back what it wrote before
            await connection.execute(
                "INSERT INTO working.received_texts(provider_id, message_id) VALUES ($1, $2)",
                provider_id, message_id,
            )  # fmt: skip
        except asyncpg.UniqueViolationError:
            raise Conflict(f"text {provider_id} was already received") from None
    if changes.sms_sessions:
        # Two instances must not both find a number free and both take it: they take turns here.
        await connection.execute("SELECT pg_advisory_xact_lock($1)", _SESSION_LOCK)
    for session, active_after in changes.sms_sessions:
        phones = [p.phone for p in session.participants]
        if await sessions(connection, phones, active_after=active_after, relay_number=session.relay_number):
            raise Conflict(f"a participant already has a session on {session.relay_number}")
        await connection.execute(
            "INSERT INTO working.sms_sessions(session_id, relay_number, staff_id, contact_id, opened_at,"
            " last_active) VALUES ($1,$2,$3,$4,$5,$6)",
            session.session_id, session.relay_number, session.staff_id, session.contact_id,
            session.opened_at, session.last_active,
        )  # fmt: skip
        await connection.executemany(
            "INSERT INTO working.sms_participants(session_id, relay_number, phone, person_id)"
            " VALUES ($1,$2,$3,$4)",
            [(session.session_id, session.relay_number, p.phone, p.person_id) for p in session.participants],
        )
    for session_id, at in changes.sms_activity:
        await connection.execute(
            "UPDATE working.sms_sessions SET last_active = greatest(last_active, $1) WHERE session_id = $2",
            at, session_id,
        )  # fmt: skip
    if changes.opt_outs:
        await connection.executemany(
            "INSERT INTO working.sms_opt_outs(phone, relay_number, opted_out, changed_at)"
            " VALUES ($1,$2,$3,$4) ON CONFLICT (phone, relay_number) DO UPDATE"
            " SET opted_out = excluded.opted_out, changed_at = excluded.changed_at",
            [(o.phone, o.relay_number, o.opted_out, o.changed_at) for o in changes.opt_outs],
        )


async def sessions(
    connection: Any, phones: Collection[str], *, active_after: float, relay_number: str | None = None
) -> list[SmsSession]:
    rows = await connection.fetch(
        "SELECT s.session_id, s.relay_number, s.staff_id, s.contact_id, s.opened_at, s.last_active,"
        " array_agg(p.phone ORDER BY p.phone, p.person_id) AS phones,"
        " array_agg(p.person_id ORDER BY p.phone, p.person_id) AS people,"
        " array_agg(COALESCE(o.opted_out, false) ORDER BY p.phone, p.person_id) AS stopped"
        " FROM working.sms_sessions s JOIN working.sms_participants p ON p.session_id = s.session_id"
        " LEFT JOIN working.sms_opt_outs o ON o.phone = p.phone AND o.relay_number = p.relay_number"
        " WHERE s.last_active > $2 AND ($3::text IS NULL OR s.relay_number = $3)"
        " AND s.session_id IN (SELECT session_id FROM working.sms_participants WHERE phone = ANY($1::text[]))"
        " GROUP BY s.session_id ORDER BY s.last_active DESC",
        list(phones), active_after, relay_number,
    )  # fmt: skip
    return [
        SmsSession(
            row["session_id"],
            row["relay_number"],
            row["staff_id"],
            row["contact_id"],
            tuple(
                SmsParticipant(phone, person, stopped)
                for phone, person, stopped in zip(row["phones"], row["people"], row["stopped"], strict=True)
            ),
            float(row["opened_at"]),
            float(row["last_active"]),
        )
        for row in rows
    ]


async def reserve_send(connection: Any, relay_number: str, seconds: float, now: float) -> float:
    next_at = await connection.fetchval(
        "INSERT INTO working.sms_send_slots(relay_number, next_at) VALUES ($1, $2::float8 + $3::float8)"
        " ON CONFLICT (relay_number) DO UPDATE"
        " SET next_at = greatest(working.sms_send_slots.next_at, $2::float8) + $3::float8 RETURNING next_at",
        relay_number, now, seconds,
    )  # fmt: skip
    return float(next_at) - seconds


async def opted_out(connection: Any, phones: Collection[str]) -> set[tuple[str, str]]:
    rows = await connection.fetch(
        "SELECT phone, relay_number FROM working.sms_opt_outs WHERE opted_out AND phone = ANY($1::text[])",
        list(phones),
    )
    return {(row["phone"], row["relay_number"]) for row in rows}
