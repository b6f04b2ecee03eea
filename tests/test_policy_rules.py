"""The non-content rules, read as district policy: quiet and guardian hours, urgent messages, registration,
media consent and scope. Each has cases that must fire, cases that must not, and the hard cases between."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta, timezone

import pytest
from policy_fixtures import chicago, context, message, sample_roster
from pydantic import ValidationError

from policies.context import Context
from policies.decision import Action, Decision
from policies.engine import Engine
from policies.message import Message
from policies.pack import parse_pack
from policies.parties import Roster
from policies.rules import Hit, Rule
from policies.rules.guardian_hours import GuardianHours
from policies.rules.media_consent import MediaConsent
from policies.rules.quiet_hours import QuietHours, QuietHoursOptions
from policies.rules.registration import UnknownRecipient, UnregisteredSender
from policies.rules.registry import RuleType
from policies.rules.scope import Scope, ScopeOptions
from policies.rules.urgent import Urgent

# The people of the sample district, by the addresses they write from.
REYES, OKAFOR, LINDQVIST, FIELD = (
    "dreyes@nusd.example.org",
    "cokafor@nusd.example.org",
    "mlindqvist@nusd.example.org",
    "rfield@nusd.example.org",
)
SAM, JORDAN, MEI, LUIS, TOBI, AVA = (
    "spatel@students.nusd.example.org",
    "jkim@students.nusd.example.org",
    "mito@students.nusd.example.org",
    "lgarcia@students.nusd.example.org",
    "tokafor@students.nusd.example.org",
    "astone@students.nusd.example.org",
)
PRIYA, RAJ, ANA, MARK = (
    "priya.patel@example.net",
    "raj.patel@example.com",
    "ana.garcia@example.org",
    "mark.stone@example.com",
)
OKAFOR_SMS, JORDAN_SMS, PRIYA_SMS = "+12025550112", "+12025550122", "+12025550131"
STRANGER_SMS = "+17735550142"  # no one's: 773 is not among the sample district's area codes
TEAM = [JORDAN, AVA, SAM]

MONDAY = date(2026, 10, 5)
FRIDAY = date(2026, 10, 9)
JPEG, PNG, PDF, MP4 = "image/jpeg", "image/png", "application/pdf", "video/mp4"


@pytest.fixture(scope="module")
def roster() -> Roster:
    return sample_roster()


@pytest.fixture(scope="module")
def district(roster: Roster) -> Context:
    return context(roster)


def hits(rule: Rule, msg: Message, ctx: Context) -> list[Hit]:
    return list(rule.check(msg, ctx))


def at(day: date, hour: int, minute: int = 0) -> datetime:
    return chicago(day.year, day.month, day.day, hour, minute)


# --- quiet hours --------------------------------------------------------------------------------------


def test_a_message_to_a_student_at_2230_waits_until_0600_the_next_morning(
    roster: Roster, district: Context
) -> None:
    [hit] = hits(QuietHours(), message(roster, REYES, [SAM], at(MONDAY, 22, 30)), district)
    assert hit.release_at == at(MONDAY + timedelta(days=1), 6)
    assert "22:30" in hit.reason and "06:00" in hit.reason


def test_a_message_at_0559_waits_until_0600_the_same_morning(roster: Roster, district: Context) -> None:
    [hit] = hits(QuietHours(), message(roster, REYES, [SAM], at(MONDAY, 5, 59)), district)
    assert hit.release_at == at(MONDAY, 6)


@pytest.mark.parametrize(("hour", "minute"), [(6, 0), (12, 0), (20, 59)])
def test_a_message_inside_the_window_goes_now(
    roster: Roster, district: Context, hour: int, minute: int
) -> None:
    assert hits(QuietHours(), message(roster, REYES, [SAM], at(MONDAY, hour, minute)), district) == []


def test_the_window_closes_at_2100_sharp(roster: Roster, district: Context) -> None:
    [hit] = hits(QuietHours(), message(roster, REYES, [SAM], at(MONDAY, 21, 0)), district)
    assert hit.release_at == at(MONDAY + timedelta(days=1), 6)


def test_the_hour_is_read_on_the_district_clock_whatever_offset_the_sender_used(
    roster: Roster, district: Context
) -> None:
    # 15:30 in Tokyo on Tuesday is 01:30 on Tuesday in Chicago.
    tokyo = datetime(2026, 10, 6, 15, 30, tzinfo=timezone(timedelta(hours=9)))
    [hit] = hits(QuietHours(), message(roster, REYES, [SAM], tokyo), district)
    assert hit.release_at == at(date(2026, 10, 6), 6)
    # 02:30 UTC on Tuesday is 21:30 on Monday in Chicago.
    [hit] = hits(
        QuietHours(), message(roster, REYES, [SAM], datetime(2026, 10, 6, 2, 30, tzinfo=UTC)), district
    )
    assert hit.release_at == at(date(2026, 10, 6), 6)


def test_a_friday_2300_message_waits_until_monday_0600_when_weekends_defer(
    roster: Roster, district: Context
) -> None:
    rule = QuietHours(QuietHoursOptions(weekends="defer"))
    [hit] = hits(rule, message(roster, REYES, [SAM], at(FRIDAY, 23)), district)
    assert hit.release_at == at(date(2026, 10, 12), 6)


def test_a_saturday_noon_message_waits_for_monday_when_weekends_defer(
    roster: Roster, district: Context
) -> None:
    rule = QuietHours(QuietHoursOptions(weekends="defer"))
    [hit] = hits(rule, message(roster, REYES, [SAM], at(date(2026, 10, 10), 12)), district)
    assert hit.release_at == at(date(2026, 10, 12), 6)
    assert "weekend" in hit.reason


def test_by_default_weekends_are_ordinary_days(roster: Roster, district: Context) -> None:
    [hit] = hits(QuietHours(), message(roster, REYES, [SAM], at(FRIDAY, 23)), district)
    assert hit.release_at == at(date(2026, 10, 10), 6)
    assert hits(QuietHours(), message(roster, REYES, [SAM], at(date(2026, 10, 10), 12)), district) == []


def test_a_closed_day_is_skipped(roster: Roster) -> None:
    thanksgiving = date(2026, 11, 26)
    closed = context(roster, closed={thanksgiving, thanksgiving + timedelta(days=1)})
    [hit] = hits(QuietHours(), message(roster, REYES, [SAM], at(date(2026, 11, 25), 22, 30)), closed)
    assert hit.release_at == at(date(2026, 11, 28), 6)  # Saturday: weekends are allowed by default


def test_a_message_on_a_closed_day_waits_for_the_next_school_day(roster: Roster) -> None:
    closed = context(roster, closed={date(2026, 11, 26)})
    [hit] = hits(QuietHours(), message(roster, REYES, [SAM], at(date(2026, 11, 26), 11)), closed)
    assert hit.release_at == at(date(2026, 11, 27), 6)
    assert "closed" in hit.reason


def test_a_district_can_ignore_closed_days(roster: Roster) -> None:
    closed = context(roster, closed={date(2026, 11, 26)})
    rule = QuietHours(QuietHoursOptions(closed_days="allow"))
    assert hits(rule, message(roster, REYES, [SAM], at(date(2026, 11, 26), 11)), closed) == []


def test_the_same_utc_hour_is_quiet_on_one_side_of_the_spring_transition_and_not_the_other(
    roster: Roster, district: Context
) -> None:
    # 02:30 UTC: 20:30 CST on Saturday 7 March (allowed), 21:30 CDT on Sunday 8 March (quiet).
    before = datetime(2026, 3, 8, 2, 30, tzinfo=UTC)
    after = datetime(2026, 3, 9, 2, 30, tzinfo=UTC)
    assert hits(QuietHours(), message(roster, REYES, [SAM], before), district) == []
    [hit] = hits(QuietHours(), message(roster, REYES, [SAM], after), district)
    assert hit.release_at == at(date(2026, 3, 9), 6)


def test_a_night_message_across_spring_forward_is_released_at_0600_daylight_time(
    roster: Roster, district: Context
) -> None:
    [hit] = hits(QuietHours(), message(roster, REYES, [SAM], at(date(2026, 3, 7), 23)), district)
    assert hit.release_at is not None
    assert hit.release_at.utcoffset() == timedelta(hours=-5)  # CDT on the Sunday morning
    assert hit.release_at.astimezone(UTC) == datetime(2026, 3, 8, 11, 0, tzinfo=UTC)


def test_the_repeated_hour_of_fall_back_is_still_night(roster: Roster, district: Context) -> None:
    # 01:30 happens twice on 1 November; both are quiet and both wait for 06:00 CST.
    first = datetime(2026, 11, 1, 6, 30, tzinfo=UTC)  # 01:30 CDT
    second = datetime(2026, 11, 1, 7, 30, tzinfo=UTC)  # 01:30 CST
    for sent in (first, second):
        [hit] = hits(QuietHours(), message(roster, REYES, [SAM], sent), district)
        assert hit.release_at is not None
        assert hit.release_at.astimezone(UTC) == datetime(2026, 11, 1, 12, 0, tzinfo=UTC)


def test_a_window_that_opens_inside_the_spring_forward_gap_opens_at_the_first_real_minute(
    roster: Roster, district: Context
) -> None:
    # 02:30 does not exist on 8 March 2026 in Chicago; the first instant after the gap is 03:30 CDT.
    rule = QuietHours(QuietHoursOptions(start=time(2, 30)))
    [hit] = hits(rule, message(roster, REYES, [SAM], at(date(2026, 3, 8), 1, 0)), district)
    assert hit.release_at is not None
    assert hit.release_at.astimezone(UTC) == datetime(2026, 3, 8, 8, 30, tzinfo=UTC)


def test_an_adult_student_still_gets_quiet_hours(roster: Roster, district: Context) -> None:
    jordan = roster.by_email(JORDAN)
    assert jordan is not None and jordan.is_adult_on(MONDAY)
    assert hits(QuietHours(), message(roster, OKAFOR_SMS, [JORDAN_SMS], at(MONDAY, 22, 15)), district)


def test_a_student_and_their_parents_together_at_night_is_quiet_hours(
    roster: Roster, district: Context
) -> None:
    assert hits(QuietHours(), message(roster, REYES, [SAM, PRIYA, RAJ], at(MONDAY, 21, 20)), district)


@pytest.mark.parametrize(
    ("sender", "to"),
    [
        (JORDAN_SMS, [OKAFOR_SMS]),
        (PRIYA, [REYES]),
        (REYES, [PRIYA]),
        (REYES, [LINDQVIST]),
        ("x@gmail.com", [SAM]),
    ],
    ids=["student to staff", "parent to staff", "staff to parent", "staff to staff", "unregistered sender"],
)
def test_only_staff_writing_to_a_student_is_quiet_hours(
    roster: Roster, district: Context, sender: str, to: list[str]
) -> None:
    assert hits(QuietHours(), message(roster, sender, to, at(MONDAY, 23)), district) == []


def test_an_urgent_message_is_not_deferred_but_flagged_with_its_reason(
    roster: Roster, district: Context
) -> None:
    late = message(
        roster,
        OKAFOR_SMS,
        [JORDAN_SMS],
        at(MONDAY, 5, 30),
        body="URGENT: bus cancelled",
        urgent="bus cancelled",
    )
    assert hits(QuietHours(), late, district) == []
    [hit] = hits(Urgent(), late, district)
    assert "bus cancelled" in hit.reason
    assert hit.start is not None and late.text[hit.start : hit.end] == "bus cancelled"


def test_a_message_not_marked_urgent_is_not_flagged(roster: Roster, district: Context) -> None:
    assert hits(Urgent(), message(roster, OKAFOR_SMS, [JORDAN_SMS], at(MONDAY, 5, 30)), district) == []


def test_a_window_must_open_before_it_closes() -> None:
    with pytest.raises(ValidationError, match="before end"):
        QuietHoursOptions(start=time(21), end=time(6))


# --- guardian hours -----------------------------------------------------------------------------------


def test_staff_to_a_guardian_at_2130_waits_until_0700(roster: Roster, district: Context) -> None:
    [hit] = hits(GuardianHours(), message(roster, REYES, [PRIYA], at(MONDAY, 21, 30)), district)
    assert hit.release_at == at(MONDAY + timedelta(days=1), 7)
    assert "guardian" in hit.reason


@pytest.mark.parametrize(("hour", "minute"), [(7, 0), (19, 59)])
def test_staff_to_a_guardian_in_the_day_goes_now(
    roster: Roster, district: Context, hour: int, minute: int
) -> None:
    assert hits(GuardianHours(), message(roster, REYES, [PRIYA], at(MONDAY, hour, minute)), district) == []


def test_guardian_hours_leave_a_message_with_a_student_on_it_to_quiet_hours(
    roster: Roster, district: Context
) -> None:
    # 20:30 is after guardian hours but inside student hours: the student's rule decides, and lets it go.
    evening = message(roster, REYES, [SAM, PRIYA], at(MONDAY, 20, 30))
    assert hits(GuardianHours(), evening, district) == []
    assert hits(QuietHours(), evening, district) == []


def test_guardian_hours_ignore_school_closures_by_default(roster: Roster) -> None:
    closed = context(roster, closed={MONDAY})
    assert hits(GuardianHours(), message(roster, REYES, [PRIYA], at(MONDAY, 12)), closed) == []


def test_a_guardian_writing_to_staff_at_night_is_not_guardian_hours(
    roster: Roster, district: Context
) -> None:
    assert hits(GuardianHours(), message(roster, PRIYA, [REYES], at(MONDAY, 23)), district) == []


# --- registration -------------------------------------------------------------------------------------


def _decide(roster: Roster, ctx: Context, msg: Message, *rule_ids: str) -> Decision:
    tables = "".join(
        f'[rules."{rid}"]\naction = "{action}"\ncitation = "test.txt: A sentence."\n'
        for rid, action in [
            ("channel.unregistered_sender", "block"),
            ("channel.unknown_recipient", "block"),
            ("quiet_hours", "defer"),
            ("media_consent", "hold"),
            ("scope", "flag"),
        ]
        if rid in rule_ids
    )
    known = {
        cls.id: RuleType.of(cls)
        for cls in (UnregisteredSender, UnknownRecipient, QuietHours, MediaConsent, Scope)
    }
    return Engine(parse_pack(f'[pack]\nname = "t"\n{tables}', known=known)).evaluate(msg, ctx)


def test_an_unregistered_sender_is_blocked(roster: Roster, district: Context) -> None:
    msg = message(roster, STRANGER_SMS, [JORDAN_SMS], at(MONDAY, 15), body="Coach here, new number, save it")
    [hit] = hits(UnregisteredSender(), msg, district)
    assert STRANGER_SMS in hit.reason
    assert _decide(roster, district, msg, "channel.unregistered_sender").action is Action.BLOCK


def test_a_staff_members_personal_gmail_is_an_unregistered_sender(roster: Roster, district: Context) -> None:
    msg = message(roster, "dana.reyes.home@gmail.com", [SAM], at(MONDAY, 15))
    assert hits(UnregisteredSender(), msg, district)
    assert hits(UnknownRecipient(), msg, district) == []  # the sender is the problem, not the student


def test_an_unknown_recipient_is_blocked_one_finding_per_address(roster: Roster, district: Context) -> None:
    msg = message(roster, REYES, [SAM, "sampatel2010@gmail.com", "dana.reyes.home@gmail.com"], at(MONDAY, 15))
    found = hits(UnknownRecipient(), msg, district)
    assert [h.reason for h in found] == [
        "The recipient sampatel2010@gmail.com is not on the district roster.",
        "The recipient dana.reyes.home@gmail.com is not on the district roster.",
    ]
    decision = _decide(roster, district, msg, "channel.unknown_recipient")
    assert decision.action is Action.BLOCK and len(decision.findings) == 2


def test_rostered_people_on_both_ends_pass_registration(roster: Roster, district: Context) -> None:
    msg = message(roster, OKAFOR_SMS, [JORDAN_SMS, PRIYA_SMS], at(MONDAY, 15))
    assert hits(UnregisteredSender(), msg, district) == []
    assert hits(UnknownRecipient(), msg, district) == []


# --- media consent ------------------------------------------------------------------------------------


def test_camera_photos_sent_to_the_team_are_held(roster: Roster, district: Context) -> None:
    msg = message(
        roster,
        OKAFOR,
        TEAM,
        at(MONDAY, 15),
        subject="Team pics from Saturday!",
        body="What a win! Here are some team pics.",
        attachments=(("IMG_4401.jpg", JPEG), ("IMG_4402.jpg", JPEG)),
    )
    [hit] = hits(MediaConsent(), msg, district)
    assert "IMG_4401.jpg" in hit.reason
    assert hit.start is not None and msg.text[hit.start : hit.end].lower() == "team pics"
    assert _decide(roster, district, msg, "media_consent").action is Action.HOLD


def test_a_camera_photo_with_no_words_at_all_is_held(roster: Roster, district: Context) -> None:
    msg = message(
        roster, OKAFOR_SMS, [JORDAN_SMS], at(MONDAY, 15), body="", attachments=(("PXL_20261004.jpg", JPEG),)
    )
    assert hits(MediaConsent(), msg, district)


def test_a_cell_diagram_sent_to_students_passes(roster: Roster, district: Context) -> None:
    msg = message(
        roster,
        REYES,
        [SAM, MEI],
        at(MONDAY, 15),
        subject="Cell diagram for tonight",
        body="Here is the labeled animal cell diagram we drew on the board today.",
        attachments=(("animal_cell_diagram.png", PNG),),
    )
    assert hits(MediaConsent(), msg, district) == []


def test_a_phone_photo_of_the_whiteboard_passes(roster: Roster, district: Context) -> None:
    msg = message(
        roster,
        REYES,
        [SAM, MEI],
        at(MONDAY, 15),
        body="Here's a picture of the whiteboard notes from today.",
        attachments=(("IMG_5120.jpg", JPEG),),
    )
    assert hits(MediaConsent(), msg, district) == []


def test_a_logo_in_the_signature_is_not_a_photo_of_students(roster: Roster, district: Context) -> None:
    msg = message(
        roster,
        OKAFOR,
        TEAM,
        at(MONDAY, 15),
        body="Photo day is Thursday, wear your jerseys.",
        attachments=(("image001.png", PNG), ("nhs_athletics_logo.png", PNG)),
    )
    assert hits(MediaConsent(), msg, district) == []


def test_a_worksheet_pdf_passes_whatever_the_words(roster: Roster, district: Context) -> None:
    msg = message(
        roster,
        REYES,
        [SAM],
        at(MONDAY, 15),
        body="Photos of the lab setup are in the worksheet.",
        attachments=(("membrane_worksheet.pdf", PDF),),
    )
    assert hits(MediaConsent(), msg, district) == []


def test_talk_of_a_photo_without_an_attachment_passes(roster: Roster, district: Context) -> None:
    msg = message(roster, OKAFOR, TEAM, at(MONDAY, 15), body="Team photo day is Thursday, wear your jerseys.")
    assert hits(MediaConsent(), msg, district) == []


def test_a_photo_of_one_student_to_their_own_guardian_passes(roster: Roster, district: Context) -> None:
    msg = message(
        roster,
        OKAFOR,
        [MARK],
        at(MONDAY, 15),
        subject="Ava's award",
        body="Mr. Stone, here's a photo of Ava receiving the scholar-athlete award. Congratulations to her!",
        attachments=(("ava_scholar_athlete.jpg", JPEG),),
    )
    assert hits(MediaConsent(), msg, district) == []


def test_a_photo_of_one_student_to_both_their_guardians_passes(roster: Roster, district: Context) -> None:
    msg = message(
        roster,
        REYES,
        [PRIYA, RAJ],
        at(MONDAY, 15),
        body="A photo of Sam with his science fair ribbon!",
        attachments=(("IMG_0042.jpg", JPEG),),
    )
    assert hits(MediaConsent(), msg, district) == []


def test_your_sons_picture_to_his_parents_passes_but_not_with_his_lab_group(
    roster: Roster, district: Context
) -> None:
    alone = message(
        roster,
        REYES,
        [PRIYA, RAJ],
        at(MONDAY, 15),
        body="Here is your son's picture from the science fair!",
        attachments=(("fair.jpg", JPEG),),
    )
    group = message(
        roster,
        REYES,
        [PRIYA],
        at(MONDAY, 15),
        body="Here is your son with his lab group at the fair!",
        attachments=(("fair.jpg", JPEG),),
    )
    assert hits(MediaConsent(), alone, district) == []
    assert hits(MediaConsent(), group, district)


def test_a_spanish_photo_of_a_parents_own_son_passes(roster: Roster, district: Context) -> None:
    msg = message(
        roster,
        LINDQVIST,
        [ANA],
        at(MONDAY, 15),
        body="Le envío una foto de Luis con su diploma.",
        attachments=(("diploma.jpg", JPEG),),
    )
    assert hits(MediaConsent(), msg, district) == []


def test_a_screenshot_of_the_grade_portal_is_not_a_photo_of_students(
    roster: Roster, district: Context
) -> None:
    msg = message(
        roster,
        REYES,
        [SAM],
        at(MONDAY, 15),
        body="Here's a screenshot of the grade portal with the missing work.",
        attachments=(("Screenshot 2026-10-12 at 3.14.15 PM.png", PNG),),
    )
    assert hits(MediaConsent(), msg, district) == []


def test_a_photo_of_a_guardians_child_with_another_child_is_held(roster: Roster, district: Context) -> None:
    msg = message(
        roster,
        LINDQVIST,
        [ANA],
        at(MONDAY, 15),
        subject="Math Night photo",
        body="Here's a photo of Luis and Tobi at Family Math Night.",
        attachments=(("math_night.jpg", JPEG),),
    )
    [hit] = hits(MediaConsent(), msg, district)
    assert "Tobi Okafor" in hit.reason


def test_a_photo_of_someone_else_s_child_to_a_parent_is_held_even_off_the_roster(
    roster: Roster, district: Context
) -> None:
    msg = message(
        roster,
        "kwu@nusd.example.org",
        [ANA],
        at(MONDAY, 15),
        subject="too funny",
        body="LOL look at Marcus passed out during quiet reading",
        attachments=(("quiet_reading.jpg", JPEG),),
    )
    [hit] = hits(MediaConsent(), msg, district)
    assert "Marcus" in hit.reason


def test_a_photo_to_a_guardian_that_does_not_say_who_is_in_it_is_held(
    roster: Roster, district: Context
) -> None:
    msg = message(
        roster, OKAFOR, [MARK], at(MONDAY, 15), body="From today!", attachments=(("IMG_7781.jpg", JPEG),)
    )
    assert hits(MediaConsent(), msg, district)


def test_a_team_video_to_families_is_held(roster: Roster, district: Context) -> None:
    msg = message(
        roster,
        "abrooks@nusd.example.org",
        [PRIYA, RAJ, MARK],
        at(MONDAY, 15),
        body="Families, the homecoming court video is attached!",
        attachments=(("homecoming_court.mp4", MP4),),
    )
    assert hits(MediaConsent(), msg, district)


def test_a_spanish_team_photo_to_a_parent_is_held(roster: Roster, district: Context) -> None:
    msg = message(
        roster,
        LINDQVIST,
        [ANA],
        at(MONDAY, 15),
        body="Le mando la foto del equipo de matemáticas.",
        attachments=(("equipo.jpg", JPEG),),
    )
    assert hits(MediaConsent(), msg, district)


def test_declared_pictured_students_with_consent_pass(roster: Roster) -> None:
    msg = message(
        roster,
        OKAFOR,
        TEAM,
        at(MONDAY, 15),
        body="Team pics!",
        attachments=(("IMG_4401.jpg", JPEG),),
        pictured=("s-kim", "s-nophone"),
    )
    assert hits(MediaConsent(), msg, context(roster, consent={"s-kim", "s-nophone"})) == []


def test_declared_pictured_students_without_consent_are_held_and_named(roster: Roster) -> None:
    msg = message(
        roster,
        OKAFOR,
        TEAM,
        at(MONDAY, 15),
        body="Team pics!",
        attachments=(("IMG_4401.jpg", JPEG),),
        pictured=("s-kim", "s-nophone"),
    )
    [hit] = hits(MediaConsent(), msg, context(roster, consent={"s-kim"}))
    assert "Ava Stone" in hit.reason and "Jordan Kim" not in hit.reason.split("record for")[1]


def test_a_declared_id_that_is_not_a_rostered_student_is_held(roster: Roster) -> None:
    msg = message(
        roster, OKAFOR, TEAM, at(MONDAY, 15), attachments=(("IMG_1.jpg", JPEG),), pictured=("s-nobody",)
    )
    assert hits(MediaConsent(), msg, context(roster, consent={"s-nobody"}))


def test_a_named_student_with_consent_may_be_pictured_to_classmates(roster: Roster) -> None:
    msg = message(
        roster,
        REYES,
        [MEI],
        at(MONDAY, 15),
        body="Here's the video of Sam's presentation.",
        attachments=(("sam_presentation.mp4", MP4),),
    )
    assert hits(MediaConsent(), msg, context(roster, consent={"s-patel"})) == []
    assert hits(MediaConsent(), msg, context(roster))


def test_a_parent_sending_staff_a_photo_is_not_the_district_circulating_it(
    roster: Roster, district: Context
) -> None:
    msg = message(
        roster, PRIYA, [REYES], at(MONDAY, 15), body="Sam at practice!", attachments=(("IMG_9.jpg", JPEG),)
    )
    assert hits(MediaConsent(), msg, district) == []


# --- scope --------------------------------------------------------------------------------------------


def test_staff_writing_to_a_student_of_another_school_is_flagged(roster: Roster, district: Context) -> None:
    msg = message(roster, LINDQVIST, [SAM], at(MONDAY, 15))
    [hit] = hits(Scope(), msg, district)
    assert "Sam Patel" in hit.reason
    assert _decide(roster, district, msg, "scope").action is Action.FLAG


def test_staff_writing_to_students_of_their_own_school_is_in_scope(roster: Roster, district: Context) -> None:
    assert hits(Scope(), message(roster, REYES, [SAM, MEI], at(MONDAY, 15)), district) == []


def test_district_level_staff_may_write_to_any_school(roster: Roster, district: Context) -> None:
    assert hits(Scope(), message(roster, FIELD, [SAM, LUIS], at(MONDAY, 15)), district) == []


def test_one_finding_per_out_of_scope_student(roster: Roster, district: Context) -> None:
    found = hits(Scope(), message(roster, LINDQVIST, [SAM, LUIS, TOBI, MEI], at(MONDAY, 15)), district)
    assert len(found) == 2  # Sam and Mei are at the high school; Luis and Tobi are hers


def test_a_pack_can_name_more_district_orgs(roster: Roster, district: Context) -> None:
    rule = Scope(ScopeOptions(district_orgs=("org-lms",)))
    assert hits(rule, message(roster, LINDQVIST, [SAM], at(MONDAY, 15)), district) == []


def test_scope_ignores_messages_to_guardians(roster: Roster, district: Context) -> None:
    assert hits(Scope(), message(roster, LINDQVIST, [PRIYA], at(MONDAY, 15)), district) == []
