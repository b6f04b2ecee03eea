"""The district's decisions in the path of the mail: defer for the night, hold for review, alert, block."""

from __future__ import annotations

import asyncio
import json
import os
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import aiosmtplib
import pytest

from gateway.cli import main
from gateway.config import Settings
from gateway.directory import Directory
from gateway.roster_snapshot import roster_snapshot_path, save_directory
from gateway.service import Relay, running_relay
from tests.conftest import Downstream, give_passwords, relay_settings, zone_where_it_is
from tests.mail import archive_rows, compose, eventually, parse, queued_copies, raw_sql, submit

REYES = "dreyes@nusd.example.org"
PATEL = "spatel@students.nusd.example.org"
BROOKS = "abrooks@nusd.example.org"
FIELD = "rfield@nusd.example.org"
GROOMING = "Great game. Let's keep this just between us, don't tell your parents. I can drive you home after."


def deliveries(url: str) -> list[tuple[str, str, float]]:
    return [(copy.purpose, copy.state, copy.not_before) for copy in queued_copies(url)]


def delivered_to(downstream: Downstream) -> set[str]:
    return {address for r in downstream.received for address in r.rcpt_tos}


async def test_a_message_to_a_student_at_night_waits_until_six(
    tmp_path: Path, downstream: Downstream, directory: Directory
) -> None:
    zone = zone_where_it_is(23)
    settings = relay_settings(tmp_path, downstream.port, district={"timezone": zone})
    give_passwords(settings, REYES)
    async with running_relay(settings, directory) as relay:
        response = await submit(relay.port("submission"), REYES, [PATEL])
        notice = await downstream.wait_for(1)
        assert "06:00" in response and "quiet" in response.lower()
        assert [r.rcpt_tos for r in notice] == [[REYES]]  # only the sender hears, when it will go out
        assert "06:00" in parse(notice[0].content).get_content()
    release = [
        not_before for purpose, state, not_before in deliveries(settings.archive.url) if purpose == "family"
    ]
    morning = datetime.fromtimestamp(release[0], ZoneInfo(zone))
    assert (morning.hour, morning.minute) == (6, 0)
    assert 0 < release[0] - datetime.now().timestamp() < 8 * 3600


async def test_an_urgent_message_goes_at_night_and_is_listed_for_review(
    tmp_path: Path, downstream: Downstream, directory: Directory
) -> None:
    settings = relay_settings(tmp_path, downstream.port, district={"timezone": zone_where_it_is(23)})
    give_passwords(settings, REYES)
    async with running_relay(settings, directory) as relay:
        urgent = compose(REYES, [PATEL], X_Chaperone_Urgent="bus leaves at 6:30 from the north lot")
        await submit(relay.port("submission"), REYES, [PATEL], urgent)
        await downstream.wait_for(2)
    assert PATEL in delivered_to(downstream)
    reviews = archive_rows(settings.archive.url, "review.opened")
    assert [r["payload"]["action"] for r in reviews] == ["flag"]


def cli_config(settings: Settings, directory: Directory, downstream: Downstream) -> Path:
    """The config file a supervisor's `chaperone review` uses on the relay's machine."""
    save_directory(directory, roster_snapshot_path(settings))
    config = settings.data_dir / "chaperone.toml"
    config.write_text(
        f'data_dir = "{settings.data_dir}"\n[archive]\nurl = "{settings.archive.url}"\n'
        f'[district]\ntimezone = "{settings.district.timezone}"\ncompliance_contact = "{FIELD}"\n'
        f'[delivery]\ntarget = "smtp://127.0.0.1:{downstream.port}"\n',
        encoding="utf-8",
    )
    return config


async def held_grooming_message(relay: Relay, downstream: Downstream) -> str:
    """Send the grooming message, wait for the sender's notice and the alert, and return its id."""
    message = compose(REYES, [PATEL], body=GROOMING)
    response = await submit(relay.port("submission"), REYES, [PATEL], message)
    await downstream.wait_for(2)
    return response.split()[3].rstrip(";")


async def chaperone(config: Path, *args: str) -> int:
    return await asyncio.to_thread(main, ["--config", str(config), *args])


async def test_grooming_signals_are_held_and_alert_the_principal_and_compliance(
    tmp_path: Path, downstream: Downstream, directory: Directory, capsys: pytest.CaptureFixture[str]
) -> None:
    settings = relay_settings(tmp_path, downstream.port, district={"compliance_contact": FIELD})
    give_passwords(settings, REYES)
    async with running_relay(settings, directory) as relay:
        response = await submit(
            relay.port("submission"), REYES, [PATEL], compose(REYES, [PATEL], body=GROOMING)
        )
        assert "held" in response.lower() or "review" in response.lower()
        await downstream.wait_for(2)  # the sender's notice and the alert, nothing else
        await eventually(lambda: len(downstream.received) >= 2)
    assert PATEL not in delivered_to(downstream) and "priya.patel@example.net" not in delivered_to(downstream)
    alert = next(r for r in downstream.received if BROOKS in r.rcpt_tos)
    assert set(alert.rcpt_tos) == {BROOKS, FIELD}
    text = parse(alert.content).get_content()
    assert "secrecy" in text and "tell your parents" in text  # the alert quotes the evidence
    states = {state for purpose, state, _ in deliveries(settings.archive.url) if purpose == "family"}
    assert states == {"held"}


async def test_a_district_pack_can_block_threats_at_smtp_time(
    tmp_path: Path, downstream: Downstream, directory: Directory
) -> None:
    pack = tmp_path / "strict.toml"
    pack.write_text(
        '[pack]\nextends = "default"\n\n[rules."content.threat"]\naction = "block"\n', encoding="utf-8"
    )
    settings = relay_settings(tmp_path, downstream.port, policy={"pack": str(pack)})
    give_passwords(settings, REYES)
    threat = compose(REYES, [PATEL], body="If you miss practice again I will break your legs.")
    async with running_relay(settings, directory) as relay:
        with pytest.raises(aiosmtplib.SMTPDataError) as refused:
            await submit(relay.port("submission"), REYES, [PATEL], threat)
    assert refused.value.code == 550 and refused.value.message.startswith("5.7.1")
    assert "004_c1cf45d309814995.txt" in refused.value.message  # the clause it enforces
    assert downstream.received == []
    # Refused once read: the one refusal shape, with the decision's reason and the message it was about.
    (refusal,) = archive_rows(settings.archive.url, "smtp.refusal")
    assert refusal["message_id"] and refusal["payload"]["stage"] == "policy"
    assert refusal["payload"]["sender"] == REYES and refusal["payload"]["address"] == PATEL
    assert "004_c1cf45d309814995.txt" in refusal["payload"]["reason"]


async def test_a_supervisor_approves_a_held_message_and_the_family_gets_it(
    tmp_path: Path, downstream: Downstream, directory: Directory, capsys: pytest.CaptureFixture[str]
) -> None:
    # The relay looks at its queue unprompted only once a minute: the approval itself rings its doorbell.
    settings = relay_settings(
        tmp_path, downstream.port, district={"compliance_contact": FIELD}, delivery={"poll_seconds": 60}
    )
    give_passwords(settings, REYES)
    config = cli_config(settings, directory, downstream)
    async with running_relay(settings, directory) as relay:
        message_id = await held_grooming_message(relay, downstream)
        assert await chaperone(config, "review", "list") == 0
        assert message_id in capsys.readouterr().out
        # A teacher who does not supervise Ms. Reyes cannot release her message.
        assert (
            await chaperone(config, "review", "approve", message_id, "--reviewer", "cokafor@nusd.example.org")
            == 1
        )
        assert (
            await chaperone(config, "review", "approve", message_id, "--reviewer", BROOKS, "--comment", "ok")
            == 0
        )
        await downstream.wait_for(4, within=15)  # the family's copy and the principal's copy
    assert {PATEL, "priya.patel@example.net", "raj.patel@example.com"} <= delivered_to(downstream)
    decided = archive_rows(settings.archive.url, "review.decided")
    assert [(d["payload"]["verdict"], d["payload"]["reviewer"]) for d in decided] == [("approved", BROOKS)]


async def test_a_rejected_message_is_never_sent_and_the_sender_is_told_why(
    tmp_path: Path, downstream: Downstream, directory: Directory
) -> None:
    settings = relay_settings(tmp_path, downstream.port, district={"compliance_contact": FIELD})
    give_passwords(settings, REYES)
    config = cli_config(settings, directory, downstream)
    async with running_relay(settings, directory) as relay:
        message_id = await held_grooming_message(relay, downstream)
        assert (
            await chaperone(
                config, "review", "reject", message_id, "--reviewer", FIELD, "--comment", "See me."
            )
            == 0
        )
        await downstream.wait_for(3, within=15)
    rejection = downstream.received[-1]
    assert rejection.rcpt_tos == [REYES] and "See me." in parse(rejection.content).get_content()
    assert PATEL not in delivered_to(downstream)
    states = {state for purpose, state, _ in deliveries(settings.archive.url) if purpose == "family"}
    assert states == {"rejected"}


async def test_no_one_decides_on_their_own_message_and_the_operator_is_recorded(
    tmp_path: Path, downstream: Downstream, directory: Directory, capsys: pytest.CaptureFixture[str]
) -> None:
    # Hardening: the compliance contact could approve her own held message.
    settings = relay_settings(tmp_path, downstream.port, district={"compliance_contact": FIELD})
    give_passwords(settings, FIELD, REYES)
    config = cli_config(settings, directory, downstream)
    async with running_relay(settings, directory) as relay:
        response = await submit(
            relay.port("submission"), FIELD, [PATEL], compose(FIELD, [PATEL], body=GROOMING)
        )
        own = response.split()[3].rstrip(";")
        assert (
            await chaperone(config, "review", "approve", own, "--reviewer", FIELD, "--comment", "fine") == 1
        )
        assert "must decide" in capsys.readouterr().err
        held = await held_grooming_message(relay, downstream)
        assert await chaperone(config, "review", "reject", held, "--reviewer", FIELD, "--comment", "No.") == 0
    decided = archive_rows(settings.archive.url, "review.decided")
    assert [d["message_id"] for d in decided] == [held]
    operator = decided[0]["payload"]["operator"]
    assert operator["uid"] == os.getuid() and operator["os_user"]


async def test_a_held_copy_flipped_to_pending_by_hand_is_not_sent(
    tmp_path: Path, downstream: Downstream, directory: Directory
) -> None:
    # Hardening: "UPDATE deliveries SET state = 'pending'" sent a held message with no review record.
    settings = relay_settings(tmp_path, downstream.port, district={"compliance_contact": FIELD})
    give_passwords(settings, REYES)
    async with running_relay(settings, directory) as relay:
        message_id = await held_grooming_message(relay, downstream)
        raw_sql(
            settings.archive.url, f"UPDATE deliveries SET state = 'pending' WHERE message_id = '{message_id}'"
        )
        assert relay.workers is not None
        relay.workers.wake()
        db = settings.archive.url
        await eventually(
            lambda: any(a["payload"].get("delivery_id") for a in archive_rows(db, "alert.raised"))
        )
        await asyncio.sleep(0.5)
    assert PATEL not in delivered_to(downstream)
    states = {state for purpose, state, _ in deliveries(settings.archive.url) if purpose == "family"}
    assert states == {"held"}


async def test_reviewers_verdicts_export_as_labelled_corpus_lines(
    tmp_path: Path, downstream: Downstream, directory: Directory
) -> None:
    settings = relay_settings(tmp_path, downstream.port, district={"compliance_contact": FIELD})
    give_passwords(settings, REYES)
    config = cli_config(settings, directory, downstream)
    async with running_relay(settings, directory) as relay:
        rejected = await held_grooming_message(relay, downstream)
        assert (
            await chaperone(config, "review", "reject", rejected, "--reviewer", FIELD, "--comment", "No.")
            == 0
        )
        approved = await held_grooming_message(relay, downstream)
        assert await chaperone(config, "review", "approve", approved, "--reviewer", BROOKS) == 0
    out = tmp_path / "reviews.jsonl"
    assert await chaperone(config, "policy", "export-reviews", "--out", str(out)) == 0
    lines = {line["id"]: line for line in map(json.loads, out.read_text(encoding="utf-8").splitlines())}
    held, released = lines[f"review-{rejected}"], lines[f"review-{approved}"]
    assert "secrecy" in held["expect"]["categories"] and held["expect"]["action"] == "hold"
    assert released["expect"] == {"categories": [], "action": "deliver"}
    assert "tell your parents" in held["body"] and held["from"] == REYES and held["to"] == [PATEL]
