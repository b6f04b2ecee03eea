"""The SMS relay end to end: texts posted to the webhook as Twilio posts them, the relay's decisions, the
texts it sends (the development outbox), the e-mail copies (a real downstream SMTP server) and the
archive, on both stores."""

from __future__ import annotations

from pathlib import Path

from archive.records import RecordKind
from gateway.directory import Directory
from tests.conftest import Downstream, archive_url
from tests.mail import archive_rows
from tests.sms import (
    MAIN,
    PATEL,
    PATEL_MOM,
    POOL,
    REYES,
    STRANGER,
    outbox,
    post_webhook,
    sms_relay,
    sms_settings,
    text,
    texts_sent,
)


async def test_a_staff_text_reaches_the_student_from_a_pool_number_with_family_copies(
    tmp_path: Path, downstream: Downstream, directory: Directory
) -> None:
    settings = sms_settings(tmp_path, downstream.port)
    async with sms_relay(settings, directory) as relay:
        status, twiml = await text(relay, REYES, MAIN, "@spatel Practice moved to 4pm")
        assert status == 200 and "<Response" in twiml and "<Message>" not in twiml
        sent = await texts_sent(settings, 3)
        # Raj Patel has no mobile number: his copy comes by e-mail.
        mailed = await downstream.wait_for(1)
    to_student = next(t for t in sent if t["to"] == PATEL)
    assert to_student["body"] == "Practice moved to 4pm"
    relay_number = to_student["from"]
    assert relay_number in POOL
    to_mother = next(t for t in sent if t["to"] == PATEL_MOM)
    assert to_mother == {
        **to_mother,
        "from": relay_number,
        "body": "Dana Reyes to Sam Patel: Practice moved to 4pm",
    }
    told = next(t for t in sent if t["to"] == REYES)
    assert told["from"] == relay_number and "reply here" in told["body"]
    assert REYES not in to_student["body"] and all(t["from"] in POOL for t in sent)
    assert mailed[0].rcpt_tos == ["raj.patel@example.com"]
    assert b"Dana Reyes to Sam Patel: Practice moved to 4pm" in mailed[0].content
    url = archive_url(tmp_path)
    [message] = archive_rows(url, RecordKind.MESSAGE)
    assert message["payload"]["channel"] == "sms"
    assert message["payload"]["relay_number"] == relay_number
    assert message["payload"]["encoding"] == "GSM-7" and message["payload"]["segments"] == 1
    [opened] = archive_rows(url, RecordKind.SMS_SESSION)
    assert opened["payload"]["relay_number"] == relay_number


async def test_replies_route_back_through_the_session_both_ways(
    tmp_path: Path, downstream: Downstream, directory: Directory
) -> None:
    settings = sms_settings(tmp_path, downstream.port)
    async with sms_relay(settings, directory) as relay:
        await text(relay, REYES, MAIN, "@spatel Bring your lab notebook tomorrow")
        first = await texts_sent(settings, 3)
        number = next(t["from"] for t in first if t["to"] == PATEL)
        await text(relay, PATEL, number, "ok will do 👍")
        after_student = await texts_sent(settings, 5)
        await text(relay, PATEL_MOM, number, "Thanks for the reminder")
        after_mother = await texts_sent(settings, 7)
        await text(relay, REYES, number, "You're welcome")
        after_staff = await texts_sent(settings, 9)
    student_reply = after_student[3:]
    assert {t["to"] for t in student_reply} == {REYES, PATEL_MOM}
    assert next(t for t in student_reply if t["to"] == REYES)["body"] == "ok will do 👍"
    assert (
        next(t for t in student_reply if t["to"] == PATEL_MOM)["body"]
        == "Sam Patel to Dana Reyes: ok will do 👍"
    )
    assert all(t["from"] == number for t in student_reply)
    mother_reply = after_mother[5:]
    assert {t["to"] for t in mother_reply} == {REYES, PATEL}
    assert next(t for t in mother_reply if t["to"] == REYES)["body"] == "Thanks for the reminder"
    staff_text = after_staff[7:]
    assert {t["to"] for t in staff_text} == {PATEL, PATEL_MOM}
    rows = archive_rows(archive_url(tmp_path), RecordKind.MESSAGE)
    assert [r["payload"]["sender"]["person_id"] for r in rows] == [
        "t-reyes",
        "s-patel",
        "g-patel-1",
        "t-reyes",
    ]
    assert rows[1]["payload"]["encoding"] == "UCS-2"


async def test_a_stranger_gets_one_short_answer_and_nothing_is_forwarded(
    tmp_path: Path, downstream: Downstream, directory: Directory
) -> None:
    settings = sms_settings(tmp_path, downstream.port)
    async with sms_relay(settings, directory) as relay:
        status, twiml = await text(relay, STRANGER, MAIN, "@spatel hey it's your friend, text me back")
    assert status == 200 and "School District communication only" in twiml
    assert outbox(settings) == [] and downstream.received == []
    url = archive_rows(archive_url(tmp_path), RecordKind.SMS_REFUSAL)
    refusal = url[0]["payload"]
    assert refusal["sender"] == STRANGER and refusal["address"] == MAIN and refusal["stage"] == "received"
    assert refusal["channel"] == "sms" and "School District communication only" in refusal["reply"]
    assert archive_rows(archive_url(tmp_path), RecordKind.MESSAGE) == []


async def test_a_forged_or_unsigned_webhook_is_refused_and_archived_as_a_security_event(
    tmp_path: Path, downstream: Downstream, directory: Directory
) -> None:
    settings = sms_settings(tmp_path, downstream.port)
    form = {"MessageSid": "SM" + "1" * 32, "From": REYES, "To": MAIN, "Body": "@spatel forged"}
    async with sms_relay(settings, directory) as relay:
        forged = await post_webhook(relay, "/twilio/sms", form, signature="bm90IGEgc2lnbmF0dXJl")
        unsigned = await post_webhook(relay, "/twilio/sms", form, signature="")
        # Signed, then one parameter changed on the way.
        from tests.sms import sign

        tampered = await post_webhook(
            relay, "/twilio/sms", {**form, "Body": "@spatel changed"},
            signature=sign("https://relay.nusd.example.org/twilio/sms", form),
        )  # fmt: skip
    assert [forged[0], unsigned[0], tampered[0]] == [403, 403, 403]
    events = archive_rows(archive_url(tmp_path), RecordKind.SECURITY)
    assert len(events) == 3 and all(e["payload"]["event"] == "webhook signature invalid" for e in events)
    assert archive_rows(archive_url(tmp_path), RecordKind.MESSAGE) == [] and outbox(settings) == []


async def test_a_webhook_delivered_twice_is_taken_once(
    tmp_path: Path, downstream: Downstream, directory: Directory
) -> None:
    settings = sms_settings(tmp_path, downstream.port)
    async with sms_relay(settings, directory) as relay:
        sid = "SM" + "2" * 32
        first = await text(relay, REYES, MAIN, "@spatel Game is on", sid=sid)
        again = await text(relay, REYES, MAIN, "@spatel Game is on", sid=sid)
        sent = await texts_sent(settings, 3)
    assert first[0] == again[0] == 200
    assert len(sent) == 3
    assert len(archive_rows(archive_url(tmp_path), RecordKind.MESSAGE)) == 1


async def test_sms_simulate_posts_a_text_signed_as_twilio_signs_it(
    tmp_path: Path, downstream: Downstream, directory: Directory
) -> None:
    from gateway.commands.sms_cmd import simulate
    from gateway.config import Web

    settings = sms_settings(tmp_path, downstream.port, sms={"auth_token": None})  # the development secret
    async with sms_relay(settings, directory) as relay:
        local = settings.model_copy(update={"web": Web(listen=f"127.0.0.1:{relay.port('web')}")})
        status, _ = await simulate(local, REYES, MAIN, "@spatel See you at the game")
        sent = await texts_sent(settings, 3)
    assert status == 200
    assert next(t for t in sent if t["to"] == PATEL)["body"] == "See you at the game"
    assert (tmp_path / "sms-dev-token").stat().st_mode & 0o777 == 0o600


async def test_a_guardian_without_e_mail_gets_an_e_mail_s_gist_by_text(
    tmp_path: Path, downstream: Downstream, directory: Directory
) -> None:
    import asyncio

    from tests.conftest import give_passwords
    from tests.mail import compose, submit

    student, guardian = next(
        (s, g)
        for s in directory.students()
        if s.email and "org-nhs" in s.schools
        for g in directory.guardians_of(s)
        if g.email is None and g.sms is not None
    )
    settings = sms_settings(tmp_path, downstream.port)
    await asyncio.to_thread(give_passwords, settings, "dreyes@nusd.example.org")
    async with sms_relay(settings, directory) as relay:
        message = compose(
            "dreyes@nusd.example.org", [student.email], subject="Field trip", body="Forms due Monday."
        )
        reply = await submit(relay.port("submission"), "dreyes@nusd.example.org", [student.email], message)
        assert "Accepted" in reply
        sent = await texts_sent(settings, 1)
    [notice] = [t for t in sent if t["to"] == guardian.sms]
    assert notice["from"] == MAIN
    assert 'Dana Reyes e-mailed your family "Field trip" - Forms due Monday.' in notice["body"]
    planned = archive_rows(archive_url(tmp_path), RecordKind.DELIVERY_PLANNED)
    assert [guardian.sms] in [p["payload"]["recipients"] for p in planned]
    assert archive_rows(archive_url(tmp_path), RecordKind.UNREACHABLE) == []
