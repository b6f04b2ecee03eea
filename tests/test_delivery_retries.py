"""Delivery: temporary failures retry, permanent ones bounce to the sender, nothing is sent twice."""

from __future__ import annotations

from gateway.service import Relay
from tests.conftest import Downstream
from tests.mail import archive_rows, eventually, parse, queued_copies, submit

REYES = "dreyes@nusd.example.org"
OKAFOR = "cokafor@nusd.example.org"


def delivery_states(relay: Relay) -> list[tuple[str, int]]:
    return [(copy.state, copy.attempts) for copy in queued_copies(relay.settings.archive.url)]


async def test_downstream_4xx_then_success(relay: Relay, downstream: Downstream) -> None:
    downstream.data_replies = ["451 4.3.0 try later", "421 4.4.2 busy"]
    await submit(relay.port("submission"), REYES, [OKAFOR])
    received = await downstream.wait_for(1)
    assert received[0].rcpt_tos == [OKAFOR]
    await eventually(lambda: delivery_states(relay) == [("sent", 3)])
    attempts = archive_rows(relay.settings.archive.url, "delivery.attempt")
    assert [a["payload"]["outcomes"][0]["code"] for a in attempts] == [451, 421, 250]


async def test_downstream_5xx_sends_a_dsn_to_the_sender(relay: Relay, downstream: Downstream) -> None:
    downstream.refuse_rcpt[OKAFOR] = "550 5.1.1 mailbox unavailable"
    await submit(relay.port("submission"), REYES, [OKAFOR])
    received = await downstream.wait_for(1)
    dsn = received[0]
    assert dsn.mail_from == "<>" and dsn.rcpt_tos == [REYES]  # the null sender: never bounced
    report = parse(dsn.content)
    assert report.get_content_type() == "multipart/report"
    assert "5.1.1" in dsn.content.decode("utf-8", "replace")
    # the copy failed; its DSN went out
    await eventually(lambda: sorted(state for state, _ in delivery_states(relay)) == ["failed", "sent"])
    assert archive_rows(relay.settings.archive.url, "dsn.sent")


async def test_a_partial_refusal_delivers_the_others_and_bounces_one(
    relay: Relay, downstream: Downstream
) -> None:
    patel = "spatel@students.nusd.example.org"
    downstream.refuse_rcpt["raj.patel@example.com"] = "550 5.1.1 no such user"
    await submit(relay.port("submission"), REYES, [patel])
    received = await downstream.wait_for(3)
    family = next(r for r in received if patel in r.rcpt_tos)
    assert set(family.rcpt_tos) == {patel, "priya.patel@example.net"}
    dsn = next(r for r in received if r.mail_from == "<>")
    assert "raj.patel@example.com" in dsn.content.decode()
