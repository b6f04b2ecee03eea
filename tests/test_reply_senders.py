"""Who a reply is from: port 25 has no sign-in, so a reply is fanned out as a member's only when DNS
vouches for its From: domain (SPF or DKIM in DMARC alignment); otherwise it waits for a supervisor.
Conversation addresses go idle, and the CLI never prints one whole."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import aiosmtplib
import pytest

from adapters.sender_auth import SenderVerifier
from gateway import conversations
from gateway.cli import main
from gateway.config import ConfigError, load_settings
from gateway.directory import Directory
from gateway.service import Relay, running_relay
from policies.decision import Action
from policies.engine import evaluate
from tests.conftest import Downstream, give_passwords, relay_settings
from tests.dns_zone import DnsZone, SigningKey, serving
from tests.mail import archive_rows, compose, conversation_address, queued_copies, send_inbound
from tests.policy_fixtures import FixtureRoster, chicago, context, message

REYES = "dreyes@nusd.example.org"
PATEL = "spatel@students.nusd.example.org"  # the student
MOTHER = "priya.patel@example.net"  # a guardian, whose mail provider signs and publishes SPF and DMARC
FATHER = "raj.patel@example.com"  # a guardian whose domain's DNS does not answer in one test
FAMILY = {PATEL, MOTHER, FATHER}
PROVIDER = "v=spf1 ip4:192.0.2.0/24 -all"  # the family's provider sends from there, not from this machine


@dataclass
class District:
    relay: Relay
    downstream: Downstream
    zone: DnsZone
    key: SigningKey


def zone_for(key: SigningKey) -> DnsZone:
    return DnsZone(
        {
            ("students.nusd.example.org", "TXT"): ["v=spf1 ip4:127.0.0.1 -all"],
            ("example.net", "TXT"): [PROVIDER],
            ("_dmarc.example.net", "TXT"): ["v=DMARC1; p=reject"],
            (key.record_name, "TXT"): [key.public_record],
        },
        silent={"example.com", "_dmarc.example.com"},
    )


@pytest.fixture
async def district(tmp_path: Path, downstream: Downstream, directory: Directory) -> AsyncIterator[District]:
    key = SigningKey.new("s2026", "example.net")
    async with serving(zone_for(key)) as zone:
        smtp = {"inbound_dns_resolver": zone.address, "inbound_dns_timeout": 1.0}
        settings = relay_settings(tmp_path, downstream.port, smtp=smtp)
        give_passwords(settings, REYES)
        async with running_relay(settings, directory) as relay:
            yield District(relay, downstream, zone, key)


def message_id_of(response: str) -> str:
    return response.split("Accepted as ")[1].split()[0]


def archived(relay: Relay, message_id: str, kind: str) -> dict[str, Any]:
    rows = archive_rows(relay.settings.archive.url, kind)
    return next(r["payload"] for r in rows if r["message_id"] == message_id)


def delivery_states(relay: Relay, message_id: str) -> set[str]:
    return {copy.state for copy in queued_copies(relay.settings.archive.url, message_id)}


# --- through the relay -----------------------------------------------------------------------------------


async def test_a_student_writing_as_their_mother_is_held_not_fanned_out(district: District) -> None:
    address = await conversation_address(district.relay, district.downstream, REYES, PATEL)
    # The student knows the conversation address and their mother's: envelope and From: are hers, but
    # the mail comes from the student's own machine, unsigned, and her provider's SPF does not list it.
    response = await send_inbound(district.relay, MOTHER, address)
    message_id = message_id_of(response)

    assert delivery_states(district.relay, message_id) == {"held"}
    decision = archived(district.relay, message_id, "decision")
    held_by = [f["rule"] for f in decision["findings"] if f["action"] == "hold"]
    assert decision["action"] == "hold" and held_by == ["channel.unverified_sender"]
    checked = archived(district.relay, message_id, "message")["sender_auth"]
    assert checked["from_domain"] == "example.net" and checked["aligned"] is False
    assert (checked["spf"], checked["dkim"], checked["dmarc"]) == ("fail", "none", "fail")
    assert checked["dmarc_policy"] == "reject"
    await asyncio.sleep(0.3)  # nothing goes out meanwhile, not even to the teacher
    assert district.downstream.received == []


async def test_a_reply_signed_by_the_guardians_domain_is_fanned_out_as_before(district: District) -> None:
    address = await conversation_address(district.relay, district.downstream, REYES, PATEL)
    signed = district.key.sign(compose(MOTHER, [address], subject="Re: Lab report", body="Thank you!"))
    response = await send_inbound(district.relay, MOTHER, address, signed)

    received = await district.downstream.wait_for(1)
    assert set(received[0].rcpt_tos) == {REYES, PATEL, FATHER, "abrooks@nusd.example.org"}
    checked = archived(district.relay, message_id_of(response), "message")["sender_auth"]
    assert (checked["dkim"], checked["dkim_domains"], checked["dmarc"]) == ("pass", ["example.net"], "pass")
    assert checked["aligned"] is True and checked["spf"] == "fail"  # DKIM alone is enough


async def test_a_signature_from_another_domain_does_not_vouch_for_the_guardian(district: District) -> None:
    address = await conversation_address(district.relay, district.downstream, REYES, PATEL)
    elsewhere = SigningKey.new("s1", "students.nusd.example.org")
    district.zone.records[(elsewhere.record_name, "TXT")] = [elsewhere.public_record]
    forged = elsewhere.sign(compose(MOTHER, [address], body="Please excuse Sam from practice."))
    response = await send_inbound(district.relay, MOTHER, address, forged)

    checked = archived(district.relay, message_id_of(response), "message")["sender_auth"]
    assert checked["dkim"] == "pass" and checked["dkim_domains"] == ["students.nusd.example.org"]
    assert checked["aligned"] is False
    assert delivery_states(district.relay, message_id_of(response)) == {"held"}


async def test_a_dns_timeout_is_a_temporary_error_and_the_reply_is_held(district: District) -> None:
    address = await conversation_address(district.relay, district.downstream, REYES, PATEL)
    response = await send_inbound(district.relay, FATHER, address)  # example.com's DNS never answers

    message_id = message_id_of(response)
    checked = archived(district.relay, message_id, "message")["sender_auth"]
    assert (checked["spf"], checked["dmarc"], checked["aligned"]) == ("temperror", "temperror", False)
    assert ("example.com", "TXT") in district.zone.asked
    assert delivery_states(district.relay, message_id) == {"held"}


async def test_an_expired_conversation_address_is_refused_at_rcpt_with_550(
    tmp_path: Path, downstream: Downstream, directory: Directory
) -> None:
    zone = DnsZone({("students.nusd.example.org", "TXT"): ["v=spf1 ip4:127.0.0.1 -all"]})
    async with serving(zone):
        smtp = {"inbound_dns_resolver": zone.address, "conversation_idle_days": 1 / 86400}  # one second
        settings = relay_settings(tmp_path, downstream.port, smtp=smtp)
        give_passwords(settings, REYES)
        async with running_relay(settings, directory) as relay:
            address = await conversation_address(relay, downstream, REYES, PATEL)
            await asyncio.sleep(1.2)
            with pytest.raises(aiosmtplib.SMTPRecipientsRefused) as refused:
                await send_inbound(relay, PATEL, address)
    assert refused.value.recipients[0].code == 550
    assert refused.value.recipients[0].message.startswith("5.1.1")
    assert "expired" in refused.value.recipients[0].message
    assert downstream.received == []


async def test_review_show_prints_conversation_addresses_only_in_part(
    district: District, capsys: pytest.CaptureFixture[str]
) -> None:
    address = await conversation_address(district.relay, district.downstream, REYES, PATEL)
    token = conversations.token_of(address, "relay.nusd.example.org")
    assert token is not None
    message_id = message_id_of(await send_inbound(district.relay, MOTHER, address))  # held: for review
    settings = district.relay.settings
    config = settings.data_dir / "chaperone.toml"
    config.write_text(f'data_dir = "{settings.data_dir}"\n[archive]\nurl = "{settings.archive.url}"\n')
    capsys.readouterr()

    assert await asyncio.to_thread(main, ["--config", str(config), "review", "show", message_id]) == 0
    shown = capsys.readouterr().out
    assert token not in shown
    assert f'"conversation": "c-{token[:4]}…"' in shown
    assert '"sender_auth"' in shown  # what the reviewer needs to judge who wrote it


# --- the parts on their own ------------------------------------------------------------------------------


def table(records: dict[tuple[str, str], list[str]]) -> Any:
    def lookup(name: str, rdtype: str, timeout: float) -> list[str]:
        return records.get((name, rdtype), [])

    return lookup


def test_alignment_is_by_organizational_domain_unless_the_domain_asks_for_strict() -> None:
    key = SigningKey.new("s", "example.co.uk")
    records = {(key.record_name, "TXT"): [key.public_record]}
    signed = key.sign(compose("mum@mail.example.co.uk", ["c-x@relay.nusd.example.org"]))
    relaxed = SenderVerifier(table(records)).check(
        signed, client_ip="127.0.0.1", helo="localhost", mail_from="mum@mail.example.co.uk"
    )
    assert relaxed.aligned and relaxed.dmarc == "none"  # aligned; the domain publishes no DMARC record

    records[("_dmarc.example.co.uk", "TXT")] = ["v=DMARC1; p=quarantine; adkim=s"]
    strict = SenderVerifier(table(records)).check(
        signed, client_ip="127.0.0.1", helo="localhost", mail_from="mum@mail.example.co.uk"
    )
    assert not strict.aligned and strict.dmarc == "fail" and strict.dmarc_policy == "quarantine"


def test_a_public_suffix_is_no_organizational_domain() -> None:
    # Anyone may register under co.uk: another registrant's signature never vouches for this one.
    key = SigningKey.new("s", "attacker.co.uk")
    records = {(key.record_name, "TXT"): [key.public_record]}
    signed = key.sign(compose("mum@family.co.uk", ["c-x@relay.nusd.example.org"]))
    checked = SenderVerifier(table(records)).check(
        signed, client_ip="127.0.0.1", helo="localhost", mail_from="mum@family.co.uk"
    )
    assert checked.dkim == "pass" and not checked.aligned


async def test_a_lookup_that_hangs_past_the_budget_is_temperror() -> None:
    release = threading.Event()

    def hanging(name: str, rdtype: str, timeout: float) -> list[str]:
        release.wait(5)  # ignores its timeout, as a broken resolver might
        return []

    verifier = SenderVerifier(hanging, seconds=0.2)
    started = asyncio.get_running_loop().time()
    checked = await verifier.verify(
        compose(MOTHER, [REYES]), client_ip="127.0.0.1", helo="localhost", mail_from=MOTHER
    )
    release.set()
    assert asyncio.get_running_loop().time() - started < 3
    assert (checked.spf, checked.dmarc, checked.aligned) == ("temperror", "temperror", False)


def test_the_policy_holds_an_unverified_reply_and_ignores_senders_it_did_not_check() -> None:
    roster = FixtureRoster()
    base = message(roster, MOTHER, [REYES], chicago(2026, 10, 5, 16, 0), body="Thanks for the update.")
    for verified in (None, True):  # None: not checked (staff sign in; a text message)
        assert evaluate(replace(base, sender_verified=verified), context(roster)).action is Action.DELIVER
    unverified = evaluate(replace(base, sender_verified=False), context(roster))
    assert unverified.action is Action.HOLD
    assert [f.category for f in unverified.findings] == ["unverified_sender"]
    assert "identity" in unverified.findings[0].citation


def test_an_inbound_resolver_must_be_an_address(tmp_path: Path) -> None:
    path = tmp_path / "chaperone.toml"
    path.write_text('[smtp]\ninbound_dns_resolver = "dns.example.net"\n', encoding="utf-8")
    with pytest.raises(ConfigError, match="inbound_dns_resolver"):
        load_settings(path)
    path.write_text('[smtp]\ninbound_dns_resolver = "[::1]:5353"\n', encoding="utf-8")
    assert load_settings(path).smtp.inbound_nameserver == ("::1", 5353)
