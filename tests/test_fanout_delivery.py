"""Transparency: supervisors and guardians get their copies, and no family sees another's addresses."""

from __future__ import annotations

from gateway.service import Relay
from tests.conftest import Downstream
from tests.mail import archive_rows, compose, parse, submit

REYES = "dreyes@nusd.example.org"
OKAFOR = "cokafor@nusd.example.org"
LINDQVIST = "mlindqvist@nusd.example.org"
BROOKS = "abrooks@nusd.example.org"
PATEL = "spatel@students.nusd.example.org"
PATEL_GUARDIANS = {"priya.patel@example.net", "raj.patel@example.com"}


def by_first_recipient(downstream: Downstream) -> dict[str, list[str]]:
    return {r.rcpt_tos[0]: r.rcpt_tos for r in downstream.received}


async def test_a_minors_guardians_and_the_principal_get_copies(relay: Relay, downstream: Downstream) -> None:
    original = compose(REYES, [PATEL], body="Your lab report is due Friday.\r\n-- \r\nMs. Reyes")
    await submit(relay.port("submission"), REYES, [PATEL], original)
    received = await downstream.wait_for(2)
    family = next(r for r in received if PATEL in r.rcpt_tos)
    assert set(family.rcpt_tos) == {PATEL, *PATEL_GUARDIANS}
    copy = parse(family.content)
    assert copy["To"] == PATEL
    assert set(a.strip() for a in copy["Cc"].split(",")) == {*PATEL_GUARDIANS, BROOKS}
    assert copy["Reply-To"].startswith("c-") and copy["Reply-To"].endswith("@relay.nusd.example.org")
    assert family.content.endswith(original.split(b"\r\n\r\n", 1)[1])  # the body, byte for byte
    supervisors = next(r for r in received if r.rcpt_tos == [BROOKS])
    assert parse(supervisors.content)["To"] == PATEL
    assert family.mail_from == REYES


async def test_an_adult_students_guardians_get_no_copy(relay: Relay, downstream: Downstream) -> None:
    kim = "jkim@students.nusd.example.org"
    await submit(relay.port("submission"), OKAFOR, [kim])
    received = await downstream.wait_for(2)
    everyone = {address for r in received for address in r.rcpt_tos}
    assert everyone == {kim, BROOKS}
    assert "helen.kim@example.org" not in b"".join(r.content for r in received).decode()


async def test_an_unreachable_guardian_is_recorded_not_skipped(relay: Relay, downstream: Downstream) -> None:
    ito = "mito@students.nusd.example.org"
    await submit(relay.port("submission"), REYES, [ito])
    received = await downstream.wait_for(2)
    assert {a for r in received for a in r.rcpt_tos} == {ito, BROOKS}
    unreachable = archive_rows(relay.settings.archive.url, "party.unreachable")
    assert [u["payload"]["person_id"] for u in unreachable] == ["g-ito"]


async def test_each_family_sees_only_its_own_addresses(relay: Relay, downstream: Downstream) -> None:
    team = [PATEL, "jkim@students.nusd.example.org", "astone@students.nusd.example.org"]
    await submit(relay.port("submission"), OKAFOR, team)
    received = await downstream.wait_for(4)
    copies = by_first_recipient(downstream)
    patel_copy = next(r.content for r in received if r.rcpt_tos[0] == PATEL)
    stone_copy = next(r.content for r in received if r.rcpt_tos[0] == "astone@students.nusd.example.org")
    assert b"mark.stone@example.com" not in patel_copy and b"astone@" not in patel_copy
    assert b"priya.patel@example.net" not in stone_copy and b"spatel@" not in stone_copy
    assert set(copies["astone@students.nusd.example.org"]) == {
        "astone@students.nusd.example.org",
        "mark.stone@example.com",
    }
    # The principal's single copy may show everyone: staff are entitled to the whole class list.
    assert copies[BROOKS] == [BROOKS]


async def test_staff_to_staff_has_no_fanout(relay: Relay, downstream: Downstream) -> None:
    await submit(relay.port("submission"), REYES, [OKAFOR])
    received = await downstream.wait_for(1)
    assert [r.rcpt_tos for r in received] == [[OKAFOR]]
    assert "Cc" not in parse(received[0].content)


async def test_staff_to_guardian_copies_the_supervisor(relay: Relay, downstream: Downstream) -> None:
    await submit(relay.port("submission"), REYES, ["priya.patel@example.net"])
    received = await downstream.wait_for(2)
    assert sorted(r.rcpt_tos[0] for r in received) == [BROOKS, "priya.patel@example.net"]


async def test_a_staff_member_who_is_also_a_parent_gets_the_parent_copy(
    relay: Relay, downstream: Downstream
) -> None:
    tobi = "tokafor@students.nusd.example.org"
    await submit(relay.port("submission"), LINDQVIST, [tobi])
    received = await downstream.wait_for(2)
    family = next(r for r in received if tobi in r.rcpt_tos)
    assert set(family.rcpt_tos) == {tobi, "chris.okafor@example.com"}  # his parent row, not his staff one
    assert {a for r in received for a in r.rcpt_tos} == {
        tobi,
        "chris.okafor@example.com",
        "tnguyen@nusd.example.org",
    }


async def test_everything_is_archived_under_one_message_id(relay: Relay, downstream: Downstream) -> None:
    response = await submit(relay.port("submission"), REYES, [PATEL])
    message_id = response.split()[3]
    await downstream.wait_for(2)
    rows = [r for r in archive_rows(relay.settings.archive.url) if r["message_id"] == message_id]
    kinds = [r["kind"] for r in rows]
    assert kinds[:2] == ["message", "decision"]
    assert kinds.count("delivery.planned") == 2
    assert "conversation.opened" in kinds
    message = rows[0]["payload"]
    assert message["sender"]["person_id"] == "t-reyes"
    assert message["body_digest"].startswith("sha256:")
