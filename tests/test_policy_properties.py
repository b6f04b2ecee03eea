"""Properties the engine keeps for any message at all: it never raises, its decision is the most severe
action of its findings, and every finding's evidence is the text its offsets point at.

Run over every rule installed in ``policies.rules`` (with the default pack's settings where it has them),
so a rule added later is held to the same promises without touching this file.
"""

from __future__ import annotations

import json
import tomllib
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from policy_fixtures import CHICAGO, message, sample_roster

from policies import engine as engine_module
from policies.context import Context
from policies.decision import Action
from policies.engine import Engine
from policies.message import Attachment, Message
from policies.pack import parse_pack
from policies.rules.quiet_hours import QuietHours
from policies.rules.registry import rule_types

ROSTER = sample_roster()
DEFAULT_TOML = Path(engine_module.__file__).parent / "packs" / "default.toml"


def _every_installed_rule() -> str:
    configured = tomllib.loads(DEFAULT_TOML.read_text(encoding="utf-8"))["rules"]
    tables = []
    for rule_id in rule_types():
        rule = configured.get(rule_id, {"action": "hold", "citation": "test.txt: Every rule is run."})
        lines = [f"[rules.{json.dumps(rule_id)}]"]
        lines += [f"{key} = {json.dumps(value)}" for key, value in rule.items() if key != "options"]
        options = ", ".join(f"{key} = {json.dumps(value)}" for key, value in rule.get("options", {}).items())
        lines.append(f"options = {{ {options} }}")
        tables.append("\n".join(lines))
    return '[pack]\nname = "everything"\n\n' + "\n\n".join(tables) + "\n"


PACK = parse_pack(_every_installed_rule(), "every-installed-rule")
ENGINE = Engine(PACK)

ADDRESSES = [
    "dreyes@nusd.example.org", "cokafor@nusd.example.org", "mlindqvist@nusd.example.org",
    "rfield@nusd.example.org",
    "spatel@students.nusd.example.org", "jkim@students.nusd.example.org", "mito@students.nusd.example.org",
    "lgarcia@students.nusd.example.org", "priya.patel@example.net", "ana.garcia@example.org",
    "mark.stone@example.com", "+12025550112", "+12025550122", "+12025550131", "+17735550142",
    "dana.reyes.home@gmail.com", "sampatel2010@gmail.com",
]  # fmt: skip
PHRASES = [
    "Here's a photo of Luis and Tobi", "team pics!", "look at Marcus", "photo of him", "Sam Patel", "Ava's",
    "diagram", "URGENT:", "text my cell 312-555-0177", "don't tell your mom", "damn", "sh!t", "kill it",
    "foto del equipo", "\n\n", "!!!", "Ñandú", "𝔘𝔫𝔦𝔠𝔬𝔡𝔢", "\u200b", "'s", "of", "photos of the",
]  # fmt: skip
FILENAMES = [
    "IMG_4401.jpg",
    "animal_cell_diagram.png",
    "team_1.jpg",
    "sam_presentation.mp4",
    "x.pdf",
    "",
    ".jpg",
]
TYPES = ["image/jpeg", "image/png", "video/mp4", "application/pdf", "text/plain", ""]

words = st.lists(st.one_of(st.text(max_size=25), st.sampled_from(PHRASES)), max_size=12).map(" ".join)
# Mostly people the rules have something to say about (staff writing to students), some strangers.
addresses = st.booleans().flatmap(
    lambda usual: st.sampled_from(ADDRESSES) if usual else st.one_of(st.text(max_size=30), st.emails())
)
senders = st.booleans().flatmap(
    lambda staff: st.sampled_from([*ADDRESSES[:4], "+12025550112"]) if staff else addresses
)
times = st.one_of(st.datetimes(timezones=st.timezones()), st.datetimes())  # naive ones too: never trusted
attachments = st.lists(
    st.builds(
        Attachment,
        filename=st.one_of(st.sampled_from(FILENAMES), st.text(max_size=30)),
        content_type=st.one_of(st.sampled_from(TYPES), st.text(max_size=15)),
    ),
    max_size=3,
)
ids = st.one_of(st.sampled_from(["s-patel", "s-kim", "s-garcia", "g-garcia", "t-reyes"]), st.text(max_size=8))


@st.composite
def messages(draw: st.DrawFn) -> Message:
    built = message(
        ROSTER,
        draw(senders),
        draw(st.lists(addresses, min_size=1, max_size=4)),
        draw(times),
        body=draw(words),
        subject=draw(st.one_of(st.just(""), words)),
        urgent=draw(st.one_of(st.none(), st.text(max_size=20))),
        pictured=tuple(draw(st.lists(ids, max_size=3))),
    )
    return Message(
        message_id=built.message_id,
        channel=built.channel,
        sender=built.sender,
        recipients=built.recipients,
        sent_at=built.sent_at,
        subject=built.subject,
        body=built.body,
        attachments=tuple(draw(attachments)),
        urgent=built.urgent,
        pictured=built.pictured,
    )


contexts = st.builds(
    Context,
    roster=st.just(ROSTER),
    timezone=st.sampled_from([CHICAGO]),
    closed_days=st.frozensets(
        st.dates(min_value=date(2020, 1, 1), max_value=date(2030, 12, 31)), max_size=20
    ),
    media_consent=st.frozensets(ids, max_size=3),
)

EXAMPLES = settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@EXAMPLES
@given(messages(), contexts)
def test_the_engine_never_raises_and_decides_the_most_severe_action_of_its_findings(
    msg: Message, ctx: Context
) -> None:
    decision = ENGINE.evaluate(msg, ctx)
    strongest = max((f.action for f in decision.findings), key=lambda a: a.rank, default=Action.DELIVER)
    assert decision.action is strongest
    assert all(f.action.rank <= decision.action.rank for f in decision.findings)
    assert bool(decision.findings) or decision.action is Action.DELIVER


@EXAMPLES
@given(messages(), contexts)
def test_evidence_is_the_text_its_offsets_point_at(msg: Message, ctx: Context) -> None:
    for finding in ENGINE.evaluate(msg, ctx).findings:
        if finding.start is None:  # a whole-message finding; the learned detector's names its words
            assert finding.end is None
            assert finding.evidence == "" or finding.rule.startswith("model.")
            continue
        assert finding.end is not None
        assert 0 <= finding.start <= finding.end <= len(msg.text)
        assert finding.evidence == msg.text[finding.start : finding.end]


@EXAMPLES
@given(messages(), contexts)
def test_a_decision_replays_exactly(msg: Message, ctx: Context) -> None:
    assert ENGINE.evaluate(msg, ctx) == ENGINE.evaluate(msg, ctx)


@EXAMPLES
@given(
    st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1), timezones=st.timezones()),
    st.frozensets(st.dates(min_value=date(2000, 1, 1), max_value=date(2100, 1, 1)), max_size=30),
)
def test_quiet_hours_defer_exactly_the_night_and_release_at_the_next_0600_on_an_open_day(
    sent: datetime, closed: frozenset[date]
) -> None:
    msg = message(ROSTER, "dreyes@nusd.example.org", ["spatel@students.nusd.example.org"], sent)
    found = list(QuietHours().check(msg, Context(roster=ROSTER, timezone=CHICAGO, closed_days=closed)))
    local = sent.astimezone(CHICAGO)
    night = not 6 <= local.hour < 21
    assert bool(found) == (night or local.date() in closed)
    if found:
        release = found[0].release_at
        assert release is not None and release > sent
        on_clock = release.astimezone(CHICAGO)
        assert (on_clock.hour, on_clock.minute) == (6, 0) and on_clock.date() not in closed
        # Nothing earlier would do: every 06:00 between sending and release fell on a closed day.
        day = local.date() if local.hour < 6 else local.date() + timedelta(days=1)
        while day < on_clock.date():
            assert day in closed
            day += timedelta(days=1)
        assert release.astimezone(UTC) - sent.astimezone(UTC) < timedelta(days=len(closed) + 2)
