"""Fan-out is planned per party and per channel: a guardian with no e-mail address but an SMS number gets a
copy by SMS where the relay sends SMS, and is archived as unreachable (saying why) where it does not."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

from gateway.config import Fanout
from gateway.fanout import FanoutPlan, plan_fanout
from gateway.models import Channel, Recipient
from tests.policy_fixtures import PEOPLE, FixtureRoster

TEXTS_ONLY = "+12025550188"


def roster_where_mei_itos_father_only_texts() -> FixtureRoster:
    return FixtureRoster(replace(p, sms=TEXTS_ONLY) if p.person_id == "g-ito" else p for p in PEOPLE)


def plan(channels: frozenset[Channel]) -> FanoutPlan:
    roster = roster_where_mei_itos_father_only_texts()
    reyes, mei = roster.person("t-reyes"), roster.person("s-ito")
    assert reyes is not None and mei is not None and mei.email is not None
    return plan_fanout(
        reyes,
        [Recipient(mei.email, mei)],
        roster,
        Fanout(),
        "relay.nusd.example.org",
        date(2026, 12, 5),
        channels,
    )


def test_a_guardian_who_only_texts_gets_an_sms_copy_where_the_relay_sends_sms() -> None:
    planned = plan(frozenset({Channel.EMAIL, Channel.SMS}))
    texts = [c for c in planned.copies if c.channel is Channel.SMS]
    assert [(c.envelope, c.purpose) for c in texts] == [((TEXTS_ONLY,), "family")]
    assert planned.unreachable == []
    family = next(c for c in planned.copies if c.channel is Channel.EMAIL and c.conversation)
    assert family.envelope == ("mito@students.nusd.example.org",)  # no e-mail address for him to show
    assert family.conversation is not None
    assert "g-ito" in family.conversation.member_ids  # his reply by SMS belongs to the conversation


def test_without_sms_the_same_guardian_is_unreachable_and_the_record_says_why() -> None:
    planned = plan(frozenset({Channel.EMAIL}))
    assert all(c.channel is Channel.EMAIL for c in planned.copies)
    [unreachable] = planned.unreachable
    assert unreachable.person.person_id == "g-ito"
    assert "relay sends no SMS" in unreachable.reason
