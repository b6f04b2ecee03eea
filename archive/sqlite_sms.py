"""The SQLite statements for the SMS channel's working state: masked-number sessions, opt-outs, and the
provider ids of texts received. Called on the store's threads, inside its transactions."""

from __future__ import annotations

import sqlite3
from collections.abc import Collection

from archive.changes import Changes
from archive.models import Conflict, SmsParticipant, SmsSession


def apply(connection: sqlite3.Connection, changes: Changes) -> None:
    execute = connection.execute
    for provider_id, message_id in changes.received:
        try:
            execute(
                "INSERT INTO received_texts(provider_id, message_id) VALUES (?,?)", (provider_id, message_id)
            )
        except sqlite3.IntegrityError:
            raise Conflict(f"text {provider_id} was already received") from None
    for session, active_after in changes.sms_sessions:
        # One writer holds the database: nobody can open a session between this look and the insert.
        phones = [p.phone for p in session.participants]
        if sessions(connection, phones, active_after=active_after, relay_number=session.relay_number):
            raise Conflict(f"a participant already has a session on {session.relay_number}")
        execute(
            "INSERT INTO sms_sessions(session_id, relay_number, staff_id, contact_id, opened_at, last_active)"
            " VALUES (?,?,?,?,?,?)",
            (session.session_id, session.relay_number, session.staff_id, session.contact_id,
             session.opened_at, session.last_active),
        )  # fmt: skip
        connection.executemany(
            "INSERT INTO sms_participants(session_id, relay_number, phone, person_id) VALUES (?,?,?,?)",
            [(session.session_id, session.relay_number, p.phone, p.person_id) for p in session.participants],
        )
    for session_id, at in changes.sms_activity:
        execute(
            "UPDATE sms_sessions SET last_active = max(last_active, ?) WHERE session_id = ?", (at, session_id)
        )
    for o in changes.opt_outs:
        execute(
            "INSERT INTO sms_opt_outs(phone, relay_number, opted_out, changed_at) VALUES (?,?,?,?)"
            " ON CONFLICT(phone, relay_number) DO UPDATE SET opted_out = excluded.opted_out,"
            " changed_at = excluded.changed_at",
            (o.phone, o.relay_number, int(o.opted_out), o.changed_at),
        )


def sessions(
    connection: sqlite3.Connection,
    phones: Collection[str],
    *,
    active_after: float,
    relay_number: str | None = None,
) -> list[SmsSession]:
    if not phones:
        return []
    marks = ",".join("?" * len(phones))
    rows = connection.execute(
        "SELECT DISTINCT s.session_id, s.relay_number, s.staff_id, s.contact_id, s.opened_at, s.last_active"  # noqa: S608 - marks only
        " FROM sms_participants p JOIN sms_sessions s ON s.session_id = p.session_id"
        f" WHERE p.phone IN ({marks}) AND s.last_active > ? AND (? IS NULL OR p.relay_number = ?)"
        " ORDER BY s.last_active DESC",
        (*phones, active_after, relay_number, relay_number),
    ).fetchall()
    found = []
    for session_id, relay, staff_id, contact_id, opened_at, last_active in rows:
        participants = connection.execute(
            "SELECT p.phone, p.person_id, COALESCE(o.opted_out, 0) FROM sms_participants p"
            " LEFT JOIN sms_opt_outs o ON o.phone = p.phone AND o.relay_number = p.relay_number"
            " WHERE p.session_id = ? ORDER BY p.rowid",
            (session_id,),
        ).fetchall()
        found.append(
            SmsSession(
                session_id, relay, staff_id, contact_id,
                tuple(SmsParticipant(phone, person, bool(stop)) for phone, person, stop in participants),
                float(opened_at), float(last_active),
            )
        )  # fmt: skip
    return found


def reserve_send(connection: sqlite3.Connection, relay_number: str, seconds: float, now: float) -> float:
    (next_at,) = connection.execute(
        "INSERT INTO sms_send_slots(relay_number, next_at) VALUES (?, ? + ?)"
        " ON CONFLICT(relay_number) DO UPDATE SET next_at = max(next_at, ?) + ?"
        " RETURNING next_at",
        (relay_number, now, seconds, now, seconds),
    ).fetchone()
    return float(next_at) - seconds


def opted_out(connection: sqlite3.Connection, phones: Collection[str]) -> set[tuple[str, str]]:
    if not phones:
        return set()
    marks = ",".join("?" * len(phones))
    rows = connection.execute(
        f"SELECT phone, relay_number FROM sms_opt_outs WHERE opted_out = 1 AND phone IN ({marks})",  # noqa: S608
        tuple(phones),
    ).fetchall()
    return {(str(phone), str(relay)) for phone, relay in rows}
