"""Masked-number sessions: whatever sequence of conversations opens and goes idle, no phone ever has two
active sessions on one relay number (so a phone and a number always name one conversation), and no one is
given a session on a number they said STOP to; the store enforces the first itself, against a race."""

from __future__ import annotations

import asyncio

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from archive.changes import Changes
from archive.models import Conflict, OptOut, SmsParticipant, SmsSession
from archive.store import Store
from gateway.sms_sessions import free_numbers

POOL = ("+12025550105", "+12025550106", "+12025550107")
PHONES = tuple(f"+1202555{n:04d}" for n in range(140, 148))
IDLE = 50

opened = st.tuples(
    st.sampled_from(PHONES),  # staff
    st.sampled_from(PHONES),  # contact
    st.lists(st.sampled_from(PHONES), max_size=2),  # the contact's guardians
    st.integers(0, 40),  # seconds since the last event
    st.none() | st.tuples(st.sampled_from(PHONES), st.sampled_from(POOL)),  # a STOP on the way
)


@settings(max_examples=300, deadline=None)
@given(st.lists(opened, max_size=60))
def test_no_phone_ever_has_two_active_sessions_on_one_number(events: list) -> None:
    sessions: list[SmsSession] = []
    stopped: set[tuple[str, str]] = set()
    now = 0
    for n, (staff, contact, guardians, advance, stop) in enumerate(events):
        now += advance
        if stop is not None:
            stopped.add(stop)
        phones = {staff, contact, *guardians}
        active = [s for s in sessions if s.last_active > now - IDLE]
        free = free_numbers(POOL, phones, active, stopped)
        if free:
            parties = tuple(SmsParticipant(p, f"p{p}") for p in phones)
            sessions.append(SmsSession(f"s{n}", free[0], "staff", "contact", parties, now, now))
            assert all((p, free[0]) not in stopped for p in phones)
        else:  # refused only when every number is taken or stopped for one of them
            assert all(
                any(p in phones for s in active if s.relay_number == number for p in _phones(s))
                or any((p, number) in stopped for p in phones)
                for number in POOL
            )
        active = [s for s in sessions if s.last_active > now - IDLE]
        for number in POOL:
            on_number = [p for s in active if s.relay_number == number for p in _phones(s)]
            assert len(on_number) == len(set(on_number)), (number, on_number)


def _phones(session: SmsSession) -> list[str]:
    return [p.phone for p in session.participants]


def _session(session_id: str, number: str, *phones: str, at: float = 1000.0) -> SmsSession:
    return SmsSession(
        session_id, number, "t-1", "s-1", tuple(SmsParticipant(p, "x" + p) for p in phones), at, at
    )


async def test_the_store_refuses_a_second_active_session_for_a_phone_on_one_number(store: Store) -> None:
    first = Changes()
    first.open_sms_session(_session("a", POOL[0], PHONES[0], PHONES[1]), active_after=900)
    await store.commit(first)
    clash = Changes()
    clash.open_sms_session(_session("b", POOL[0], PHONES[2], PHONES[1]), active_after=900)
    with pytest.raises(Conflict):
        await store.commit(clash)
    # Another number, or the same number once the first session is idle, is fine.
    other = Changes()
    other.open_sms_session(_session("c", POOL[1], PHONES[2], PHONES[1]), active_after=900)
    await store.commit(other)
    later = Changes()
    later.open_sms_session(_session("d", POOL[0], PHONES[3], PHONES[1], at=2000), active_after=1500)
    await store.commit(later)
    found = await store.sms_sessions([PHONES[1]], active_after=1500)
    assert [s.session_id for s in found] == ["d"]
    everything = await store.sms_sessions([PHONES[1]], active_after=900)
    assert everything[0].session_id == "d" and {s.session_id for s in everything} == {"a", "c", "d"}


async def test_two_sessions_racing_for_one_number_one_wins(store: Store) -> None:
    racing = []
    for n in range(6):
        changes = Changes()
        changes.open_sms_session(_session(f"r{n}", POOL[0], PHONES[0], PHONES[n + 1]), active_after=0)
        racing.append(store.commit(changes))
    outcomes = await asyncio.gather(*racing, return_exceptions=True)
    assert sum(o is None for o in outcomes) == 1
    assert all(isinstance(o, Conflict) for o in outcomes if o is not None)


async def test_sends_on_one_number_are_spaced_for_every_process_alike(store: Store) -> None:
    starts = await asyncio.gather(*(store.reserve_send(POOL[0], 1.0, 1000.0) for _ in range(5)))
    assert sorted(starts) == [1000.0, 1001.0, 1002.0, 1003.0, 1004.0]
    assert await store.reserve_send(POOL[1], 2.0, 1000.5) == 1000.5  # another number: free now
    assert await store.reserve_send(POOL[0], 1.0, 2000.0) == 2000.0  # idle since: free at once


async def test_opt_outs_and_received_ids(store: Store) -> None:
    changes = Changes()
    changes.set_opt_out(OptOut(PHONES[0], POOL[0], True, 1.0))
    changes.set_opt_out(OptOut(PHONES[0], POOL[1], True, 1.0))
    changes.receive_once("SM1", "m-1")
    await store.commit(changes)
    undo = Changes()
    undo.set_opt_out(OptOut(PHONES[0], POOL[1], False, 2.0))
    await store.commit(undo)
    assert await store.opted_out([PHONES[0], PHONES[1]]) == {(PHONES[0], POOL[0])}
    again = Changes()
    again.receive_once("SM1", "m-2")
    with pytest.raises(Conflict):
        await store.commit(again)
