"""Properties of the content rules that must hold for any text at all.

No rule raises, whatever arrives (control characters, emoji, combining marks, right-to-left text, lone
surrogate-free garbage); and every hit points at the words it quotes: ``message.text[start:end]`` is a
non-empty slice and the reason quotes exactly that slice. Texts are drawn both at random and from fragments
that make the rules fire (obfuscated profanity, threats, handles, numbers), so the hit paths are exercised.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from policies.context import Context, DistrictFacts
from policies.lexicon import terms
from policies.message import Message, Party
from policies.parties import Person, Role
from policies.rules.confidential import ConfidentialRule
from policies.rules.harassment import HarassmentRule
from policies.rules.personal_channel import PersonalChannelRule
from policies.rules.profanity import ProfanityRule
from policies.rules.secrecy import SecrecyRule
from policies.rules.sexual import SexualRule
from policies.rules.substances import SubstancesRule
from policies.rules.threat import ThreatRule
from policies.text import normalise, quote

TEACHER = Person("t-1", Role.STAFF, "teacher", "Dana", "Reyes", email="dreyes@nusd.example.org")
STUDENT = Person("s-1", Role.STUDENT, "student", "Sam", "Patel", email="spatel@students.nusd.example.org")
OTHER = Person("s-2", Role.STUDENT, "student", "Mei", "Ito", email="mito@students.nusd.example.org")
PARENT = Person("g-1", Role.GUARDIAN, "parent", "Priya", "Patel", email="p@example.net", student_ids=("s-1",))


class TinyRoster:
    def person(self, person_id: str) -> Person | None:
        return None

    def by_email(self, address: str) -> Person | None:
        return None

    def by_phone(self, number: str) -> tuple[Person, ...]:
        return ()

    def students(self) -> Iterable[Person]:
        return (STUDENT, OTHER)

    def guardians_of(self, student: Person) -> tuple[Person, ...]:
        return ()

    def supervisors_of(self, staff: Person) -> tuple[Person, ...]:
        return ()

    def students_named(self, name: str) -> tuple[Person, ...]:
        key = name.strip().casefold()
        return tuple(
            p for p in (STUDENT, OTHER) if key in (p.given_name.casefold(), p.family_name.casefold())
        )


CONTEXT = Context(
    roster=TinyRoster(),
    timezone=ZoneInfo("America/Chicago"),
    district=DistrictFacts(staff_domains=("nusd.example.org",), official_numbers=("+12025550100",)),
)
RULES = (
    ProfanityRule(None),
    HarassmentRule(None),
    ThreatRule(None),
    SexualRule(None),
    SubstancesRule(None),
    SecrecyRule(None),
    ConfidentialRule(None),
    PersonalChannelRule(None),
)

FRAGMENTS = [
    "f u c k",
    "sh!t",
    "a$$hole",
    "F***ING",
    "ｆｕｃｋ",
    "d\u200bamn",
    "fuuuuck",
    "you're a lazy idiot",
    "I'll break your legs",
    "I know where you live",
    "te voy a matar",
    "keep it between us",
    "delete this email",
    "your parents don't need to know",
    "you looked hot in that dress",
    "grab a few beers",
    "weed lol",
    "text me at 312-555-0177",
    "@coach_o on snapchat",
    "gmail: x.y@gmail.com",
    "Mei got a 58",
    "SSN 987-65-4321",
    "Sam Patel",
    "Mei Ito has an IEP.",
    "é",
    "\u0301",
    "\n\n",
    ". ",
    "Ms. ",
    "😏",
    "ﬁ",
    "ß",
    "İ",
    "\u202e",
    "…",
    " ",
]
texts = st.one_of(
    st.text(max_size=300),
    st.lists(st.one_of(st.sampled_from(FRAGMENTS), st.text(max_size=8)), max_size=12).map("".join),
)
parties = st.sampled_from([TEACHER, STUDENT, PARENT])


def _message(subject: str, body: str, sender: Person, recipient: Person) -> Message:
    return Message(
        message_id="p-1",
        channel="email",
        sender=Party(sender.email or "", sender),
        recipients=(Party(recipient.email or "", recipient), Party(OTHER.email or "", OTHER)),
        sent_at=datetime(2026, 10, 14, 15, 0, tzinfo=UTC),
        subject=subject,
        body=body,
    )


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(subject=st.one_of(st.just(""), texts), body=texts, sender=parties, recipient=parties)
def test_no_rule_raises_and_every_hit_quotes_exactly_what_it_points_at(
    subject: str, body: str, sender: Person, recipient: Person
) -> None:
    msg = _message(subject, body, sender, recipient)
    for rule in RULES:
        for hit in rule.check(msg, CONTEXT):
            assert hit.start is not None and hit.end is not None
            assert 0 <= hit.start < hit.end <= len(msg.text)
            evidence = msg.text[hit.start : hit.end]
            assert evidence.strip()
            assert hit.reason.startswith(f"{rule.category}: '")
            assert f"'{quote(evidence)}'" in hit.reason


@given(text=texts)
def test_every_canonical_span_maps_back_inside_the_text(text: str) -> None:
    normal = normalise(text)
    canonical = normal.canonical.text
    for start in range(len(canonical) + 1):
        for end in (start, min(start + 1, len(canonical)), len(canonical)):
            if end < start:
                continue
            begin, finish = normal.source(start, end)
            assert 0 <= begin <= finish <= len(text)


@given(text=texts)
def test_every_sentence_is_a_span_of_the_canonical_text(text: str) -> None:
    normal = normalise(text)
    previous_end = 0
    for start, end in normal.sentences:
        assert previous_end <= start < end <= len(normal.canonical.text)
        previous_end = end


@given(words=st.lists(st.sampled_from(sorted(terms("identity"))), min_size=1, max_size=4))
def test_identity_words_alone_never_trigger_anything(words: list[str]) -> None:
    body = "Our " + " and ".join(words) + " students are welcome at the club meeting on Thursday."
    msg = _message("", body, TEACHER, STUDENT)
    assert [hit for rule in RULES for hit in rule.check(msg, CONTEXT)] == []


@given(body=texts)
def test_profanity_does_not_depend_on_letter_case(body: str) -> None:
    rule = RULES[0]
    lower = _message("", body.lower(), TEACHER, PARENT)
    upper = _message("", body.upper(), TEACHER, PARENT)
    if len(lower.text) == len(upper.text) == len(body):  # some letters change length when cased (ß)
        assert len(list(rule.check(lower, CONTEXT))) == len(list(rule.check(upper, CONTEXT)))
