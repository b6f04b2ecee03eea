"""What the policy and the keywords do to texts: holds wait for a supervisor and go through the same
review as e-mail, quiet hours defer, STOP/START/HELP are honoured per number, and the staff member always
hears back by text from the conversation's number."""

from __future__ import annotations

from pathlib import Path

from archive.records import RecordKind
from gateway.directory import Directory
from gateway.review import ReviewDesk
from tests.conftest import Downstream, archive_url, zone_where_it_is
from tests.mail import archive_rows, eventually
from tests.sms import (
    KIM,
    MAIN,
    OKAFOR,
    PATEL,
    PATEL_MOM,
    POOL,
    REYES,
    outbox,
    sms_relay,
    sms_settings,
    text,
    texts_sent,
)

OPERATOR = {"os_user": "test"}


async def test_a_held_text_reaches_no_one_until_a_supervisor_approves_it(
    tmp_path: Path, downstream: Downstream, directory: Directory
) -> None:
    settings = sms_settings(tmp_path, downstream.port)
    async with sms_relay(settings, directory) as relay:
        await text(relay, REYES, MAIN, "@spatel this stays between us, don't tell your parents ok")
        sent = await texts_sent(settings, 2)  # the staff member's two notices: held, and the number
        assert {t["to"] for t in sent} == {REYES}
        assert any(t["body"].startswith("Held for review") for t in sent)
        [held] = await ReviewDesk(settings, relay.store, directory).waiting()
        assert held.sender == REYES
        desk = ReviewDesk(settings, relay.store, directory)
        await desk.decide(held.message_id, approve=True, reviewer="abrooks@nusd.example.org", comment="ok",
                          operator=OPERATOR)  # fmt: skip
        after = await texts_sent(settings, 4)
    assert {t["to"] for t in after[2:]} == {PATEL, PATEL_MOM}


async def test_the_sender_of_a_held_text_cannot_approve_it(
    tmp_path: Path, downstream: Downstream, directory: Directory
) -> None:
    settings = sms_settings(tmp_path, downstream.port)
    async with sms_relay(settings, directory) as relay:
        await text(relay, REYES, MAIN, "@spatel this stays between us, don't tell your parents ok")
        await texts_sent(settings, 2)
        desk = ReviewDesk(settings, relay.store, directory)
        [held] = await desk.waiting()
        try:
            await desk.decide(held.message_id, approve=True, reviewer="dreyes@nusd.example.org", comment="",
                              operator=OPERATOR)  # fmt: skip
        except Exception as refused:
            assert "sent this message" in str(refused)
        else:
            raise AssertionError("the sender approved their own text")
        await desk.decide(held.message_id, approve=False, reviewer="abrooks@nusd.example.org",
                          comment="not appropriate", operator=OPERATOR)  # fmt: skip
        after = await texts_sent(settings, 3)
    assert after[2]["to"] == REYES and "rejected" in after[2]["body"] and after[2]["from"] in POOL
    assert not any(t["to"] in (PATEL, PATEL_MOM) for t in after)


async def test_a_text_at_night_is_deferred_and_the_staff_member_told_when_it_goes(
    tmp_path: Path, downstream: Downstream, directory: Directory
) -> None:
    settings = sms_settings(tmp_path, downstream.port, district={"timezone": zone_where_it_is(23)})
    async with sms_relay(settings, directory) as relay:
        await text(relay, REYES, MAIN, "@spatel Practice moved to 4pm tomorrow")
        sent = await texts_sent(settings, 2)
    assert {t["to"] for t in sent} == {REYES}
    assert any(t["body"].startswith("Scheduled: your text to Sam Patel goes") for t in sent)
    [decision] = archive_rows(archive_url(tmp_path), RecordKind.DECISION)
    assert decision["payload"]["action"] == "defer"


async def test_stop_on_one_number_leaves_the_family_reachable_on_the_others(
    tmp_path: Path, downstream: Downstream, directory: Directory
) -> None:
    settings = sms_settings(tmp_path, downstream.port)
    async with sms_relay(settings, directory) as relay:
        await text(relay, REYES, MAIN, "@spatel Lab is in room 12")
        first = await texts_sent(settings, 3)
        number = next(t["from"] for t in first if t["to"] == PATEL)
        status, twiml = await text(relay, PATEL, number, "stop")
        assert status == 200 and "<Message>" not in twiml  # Twilio confirms a STOP itself
        await text(relay, REYES, number, "Reminder: lab is in room 12")
        second = await texts_sent(settings, 4)  # the mother's copy only
        assert [t["to"] for t in second[3:]] == [PATEL_MOM]
        # Another teacher's conversation with Sam goes on a number Sam did not stop.
        await text(relay, OKAFOR, MAIN, "@spatel Soccer practice is cancelled today")
        third = await texts_sent(settings, 7)
        okafor_number = next(t["from"] for t in third[4:] if t["to"] == PATEL)
        assert okafor_number != number
        _, help_reply = await text(relay, PATEL, number, "HELP")
        assert "Reply STOP" in help_reply
        await text(relay, PATEL, number, "START")
        await text(relay, REYES, number, "Room 12 again")
        fourth = await texts_sent(settings, 9)
    assert {t["to"] for t in fourth[7:]} == {PATEL, PATEL_MOM}
    keywords = [r["payload"]["keyword"] for r in archive_rows(archive_url(tmp_path), RecordKind.SMS_KEYWORD)]
    assert keywords == ["STOP", "HELP", "START"]
    unreachable = archive_rows(archive_url(tmp_path), RecordKind.UNREACHABLE)
    assert [u["payload"]["reason"] for u in unreachable] == [f"said STOP to {number}"]


async def test_unknown_recipients_and_a_text_with_no_conversation_are_refused_with_the_reason(
    tmp_path: Path, downstream: Downstream, directory: Directory
) -> None:
    settings = sms_settings(tmp_path, downstream.port)
    async with sms_relay(settings, directory) as relay:
        _, unknown = await text(relay, REYES, MAIN, "@nobody hello")
        _, staff = await text(relay, REYES, MAIN, "@abrooks hello")
        _, no_phone = await text(relay, REYES, MAIN, "@mito hello")
        _, no_prefix = await text(relay, REYES, MAIN, "hello class")
        _, student_first = await text(relay, KIM, POOL[3], "hi teacher")
    assert "@nobody is not on the district roster" in unknown
    assert "is staff" in staff
    assert "Mei Ito has no mobile number" in no_phone
    assert "@username" in no_prefix
    assert "no open conversation" in student_first
    assert outbox(settings) == []
    assert len(archive_rows(archive_url(tmp_path), RecordKind.SMS_REFUSAL)) == 5


async def test_a_class_code_texts_each_student_in_their_own_session_as_far_as_the_pool_goes(
    tmp_path: Path, downstream: Downstream, directory: Directory
) -> None:
    settings = sms_settings(tmp_path, downstream.port)
    with_phone = [s for s in directory.students_in_class("class-soccer") if s.sms]
    assert len(with_phone) > len(POOL)
    async with sms_relay(settings, directory) as relay:
        await text(relay, OKAFOR, MAIN, "@class-soccer Practice moved to the gym")
        await texts_sent(settings, len(POOL), within=20)
        sessions = archive_rows(archive_url(tmp_path), RecordKind.SMS_SESSION)
        sent = outbox(settings)
    # The coach's phone takes part in each session: one per relay number, no more.
    assert sorted(s["payload"]["relay_number"] for s in sessions) == sorted(POOL)
    students = {s.sms for s in with_phone}
    to_students = [t for t in sent if t["to"] in students]
    assert len(to_students) == len(POOL) and len({t["from"] for t in to_students}) == len(POOL)
    told = [t["body"] for t in sent if t["to"] == OKAFOR]
    assert any(b.startswith(f"Not sent to {len(with_phone) - len(POOL)} ") for b in told)


async def test_a_deferred_text_goes_when_quiet_hours_end_and_not_before(
    tmp_path: Path, downstream: Downstream, directory: Directory
) -> None:
    from datetime import datetime, timedelta
    from zoneinfo import ZoneInfo

    zone = zone_where_it_is(12)
    opens = (datetime.now(ZoneInfo(zone)) + timedelta(seconds=4)).replace(microsecond=0)
    pack = tmp_path / "pack.toml"
    pack.write_text(
        '[pack]\nextends = "default"\n\n[rules.quiet_hours.options]\n'
        f'start = "{opens:%H:%M:%S}"\nend = "23:59:59"\n',
        encoding="utf-8",
    )
    settings = sms_settings(
        tmp_path, downstream.port, district={"timezone": zone}, policy={"pack": str(pack)}
    )
    async with sms_relay(settings, directory) as relay:
        await text(relay, REYES, MAIN, "@spatel Bus leaves at 7")
        told = await texts_sent(settings, 2)
        assert {t["to"] for t in told} == {REYES}  # nothing to the family before the window opens
        await eventually(lambda: any(t["to"] == PATEL for t in outbox(settings)), within=15)
        sent = outbox(settings)
    to_student = next(t for t in sent if t["to"] == PATEL)
    went = datetime.fromisoformat(to_student["at"])
    assert opens <= went < opens + timedelta(seconds=5), (opens, went)
