"""The content rules, read as policy: what each one holds back, what it lets through, and how it reports.

Every rule is exercised with plain, obfuscated and Spanish positives, and with the hard negatives a naive
keyword filter trips on ("shoot me an email", "secret santa", "Red Ribbon Week", "tiro libre"). The roster is
a small stand-in for the sample district's fixture people (shared/corpus/README.md), so these tests need
neither the gateway nor the OneRoster import.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable
from dataclasses import replace
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from policies.context import Context, DistrictFacts
from policies.decision import Severity
from policies.message import Attachment, Message, Party
from policies.parties import Person, Role
from policies.rules import Hit, Rule
from policies.rules.confidential import ConfidentialRule
from policies.rules.harassment import HarassmentRule
from policies.rules.personal_channel import PersonalChannelRule
from policies.rules.profanity import ProfanityRule
from policies.rules.secrecy import SecrecyRule
from policies.rules.sexual import SexualRule
from policies.rules.substances import SubstancesRule
from policies.rules.threat import ThreatRule
from policies.text import normalise


def _person(pid: str, role: Role, name: str, email: str | None, **more: tuple[str, ...]) -> Person:
    given, family = name.split()
    return Person(pid, role, role.value, given, family, email=email, **more)  # type: ignore[arg-type]


PEOPLE = {
    p.person_id: p
    for p in (
        _person("t-reyes", Role.STAFF, "Dana Reyes", "dreyes@nusd.example.org"),
        _person("t-okafor", Role.STAFF, "Chris Okafor", "cokafor@nusd.example.org"),
        _person("t-lindqvist", Role.STAFF, "Mara Lindqvist", "mlindqvist@nusd.example.org"),
        _person(
            "s-patel",
            Role.STUDENT,
            "Sam Patel",
            "spatel@students.nusd.example.org",
            guardian_ids=("g-patel",),
        ),
        _person(
            "s-kim", Role.STUDENT, "Jordan Kim", "jkim@students.nusd.example.org", guardian_ids=("g-kim",)
        ),
        _person("s-ito", Role.STUDENT, "Mei Ito", "mito@students.nusd.example.org"),
        _person(
            "s-garcia",
            Role.STUDENT,
            "Luis Garcia",
            "lgarcia@students.nusd.example.org",
            guardian_ids=("g-garcia",),
        ),
        _person("s-elena", Role.STUDENT, "Elena Garcia", None, guardian_ids=("g-garcia",)),
        _person("s-okafor", Role.STUDENT, "Tobi Okafor", "tokafor@students.nusd.example.org"),
        _person(
            "s-stone",
            Role.STUDENT,
            "Ava Stone",
            "astone@students.nusd.example.org",
            guardian_ids=("g-stone",),
        ),
        _person("g-patel", Role.GUARDIAN, "Priya Patel", "priya.patel@example.net", student_ids=("s-patel",)),
        _person("g-kim", Role.GUARDIAN, "Helen Kim", "helen.kim@example.org", student_ids=("s-kim",)),
        _person(
            "g-garcia",
            Role.GUARDIAN,
            "Ana Garcia",
            "ana.garcia@example.org",
            student_ids=("s-garcia", "s-elena"),
        ),
        _person("g-stone", Role.GUARDIAN, "Mark Stone", "mark.stone@example.com", student_ids=("s-stone",)),
    )
}


def _key(name: str) -> str:
    decomposed = unicodedata.normalize("NFKD", name.casefold())
    return "".join(c for c in decomposed if not unicodedata.combining(c)).strip()


class FixtureRoster:
    """The Roster protocol over the fixture people; names are found as the gateway's directory finds them."""

    def person(self, person_id: str) -> Person | None:
        return PEOPLE.get(person_id)

    def by_email(self, address: str) -> Person | None:
        return next((p for p in PEOPLE.values() if p.email == address.lower()), None)

    def by_phone(self, number: str) -> tuple[Person, ...]:
        return ()

    def students(self) -> Iterable[Person]:
        return [p for p in PEOPLE.values() if p.role is Role.STUDENT]

    def guardians_of(self, student: Person) -> tuple[Person, ...]:
        return tuple(PEOPLE[g] for g in student.guardian_ids)

    def supervisors_of(self, staff: Person) -> tuple[Person, ...]:
        return ()

    def students_named(self, name: str) -> tuple[Person, ...]:
        return tuple(p for p in self._named(name) if p.role is Role.STUDENT)

    def adults_named(self, name: str) -> tuple[Person, ...]:
        return tuple(p for p in self._named(name) if p.role is not Role.STUDENT)

    def _named(self, name: str) -> list[Person]:
        key = _key(name)
        return [p for p in PEOPLE.values() if key in map(_key, (p.given_name, p.family_name, p.display_name))]


DISTRICT = DistrictFacts(
    staff_domains=("nusd.example.org",),
    official_numbers=("+12025550100", "+12025550102", "+12025550103"),
    official_accounts=("@NorthfieldHS", "@NHSAthletics", "facebook.com/LakeviewMiddleNUSD"),
    official_services=("Canvas", "NUSD Connect"),
    relay_numbers=("+12025550105",),
)
CONTEXT = Context(roster=FixtureRoster(), timezone=ZoneInfo("America/Chicago"), district=DISTRICT)

TEACHER, COACH = "dreyes@nusd.example.org", "cokafor@nusd.example.org"
MATH_TEACHER = "mlindqvist@nusd.example.org"
SAM, JORDAN, MEI = (
    "spatel@students.nusd.example.org",
    "jkim@students.nusd.example.org",
    "mito@students.nusd.example.org",
)
LUIS, TOBI, AVA = (
    "lgarcia@students.nusd.example.org",
    "tokafor@students.nusd.example.org",
    "astone@students.nusd.example.org",
)
SAMS_MOM, LUIS_MOM, AVAS_DAD = "priya.patel@example.net", "ana.garcia@example.org", "mark.stone@example.com"


def _party(address: str) -> Party:
    return Party(address, CONTEXT.roster.by_email(address))


def message(body: str, sender: str = TEACHER, to: Iterable[str] = (SAM,), subject: str = "") -> Message:
    return Message(
        message_id="m-1",
        channel="email",
        sender=_party(sender),
        recipients=tuple(_party(a) for a in to),
        sent_at=datetime(2026, 10, 14, 15, 0, tzinfo=UTC),
        subject=subject,
        body=body,
    )


def hits(rule: Rule, body: str, sender: str = TEACHER, to: Iterable[str] = (SAM,)) -> list[Hit]:
    return list(rule.check(message(body, sender, to), CONTEXT))


def evidence(rule: Rule, body: str, sender: str = TEACHER, to: Iterable[str] = (SAM,)) -> list[str]:
    msg = message(body, sender, to)
    return [msg.text[h.start : h.end] for h in rule.check(msg, CONTEXT)]


PROFANITY, HARASSMENT, THREAT = ProfanityRule(None), HarassmentRule(None), ThreatRule(None)
SEXUAL, SUBSTANCES, SECRECY = SexualRule(None), SubstancesRule(None), SecrecyRule(None)
CONFIDENTIAL, PERSONAL = ConfidentialRule(None), PersonalChannelRule(None)


# --- shared reading of the text ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("written", "read_as"),
    [
        ("F u c k", "fuck"),
        ("s.h.i.t", "shit"),
        ("sh!t", "shit"),
        ("a$$hole", "asshole"),
        ("5h1t", "shit"),
        ("Ｆｕｃｋ", "fuck"),
        ("f\u200buck", "fuck"),
        ("ѕhit", "shit"),  # a Cyrillic s
        ("Niño", "nino"),
    ],
)
def test_disguised_words_are_read_as_the_word_and_point_back_at_what_was_written(
    written: str, read_as: str
) -> None:
    text = normalise(f"well {written} then")
    start = text.canonical.text.index(read_as)
    begin, end = text.source(start, start + len(read_as))
    assert text.original[begin:end] == written


def test_numbers_with_units_are_not_leetspeak() -> None:
    assert normalise("Room A55 at 4th period, 10am").canonical.text == "room a55 at 4th period, 10am"


# --- profanity -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "body",
    [
        "What the fuck happened with the bus?",
        "That ref was f***ing blind.",
        "this is such bullsh!t",
        "what the f u c k",
        "the practice was a total shitshow",
        "¿Qué chingados pasa con el autobús?",
        "fuuuuck, I forgot my cleats",
    ],
)
def test_strong_profanity_is_found_however_it_is_written(body: str) -> None:
    found = hits(PROFANITY, body, sender=SAMS_MOM, to=(TEACHER,))
    assert found and all(h.severity is not Severity.LOW for h in found)


@pytest.mark.parametrize(
    ("body", "word"),
    [
        ("The damn copier jammed again.", "damn"),
        ("This lab report is kicking my ass.", "ass"),
        ("The grading portal is a piece of crap.", "crap"),
        ("El maldito portal se cayó otra vez.", "maldito"),
    ],
)
def test_a_mild_word_aimed_at_no_one_is_low_severity(body: str, word: str) -> None:
    found = hits(PROFANITY, body, sender=TEACHER, to=(SAMS_MOM,))
    assert [h.severity for h in found] == [Severity.LOW]
    assert found[0].reason == f"profanity: '{word}'"


@pytest.mark.parametrize(
    "body",
    ["Tobi, don't be a dumbass.", "Get your ass out to North Field.", "Su hijo jugó como un pendejo."],
)
def test_profanity_aimed_at_a_person_is_not_low(body: str) -> None:
    found = hits(PROFANITY, body, to=(TOBI,))
    assert found and all(h.severity is not Severity.LOW for h in found)
    assert all("aimed at a person" in h.reason for h in found)


@pytest.mark.parametrize(
    "body",
    [
        "Please assess the class's progress on the passage.",
        "Bring your Dick's Sporting Goods receipt for the cleats.",
        "Hell Week for the football team starts Monday.",
        "Scunthorpe is in England; Cockburn is a surname.",
        "We studied the Hundred Years' War and Tolkien's Shire.",
        "cc: Ms. Harlow, Ass't Principal",
    ],
)
def test_words_that_only_contain_or_resemble_profanity_are_clean(body: str) -> None:
    assert hits(PROFANITY, body) == []


# --- harassment ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "body",
    [
        "To be blunt, Luis is lazy, and I doubt he is capable of grade-level math.",
        "You are an incompetent teacher and frankly a joke.",
        "Ava, you played like a scared little girl out there.",
        "Elena is the most annoying kid in the room. Nobody wants to sit with her.",
        "Lay off the junk food, big guy.",
        "Families like yours need to learn how things work in this country.",
        "Aren't you people supposed to be naturally good at science?",
        "Si en su casa aprendieran inglés como la gente normal no habría problemas.",
        "Eres un inútil, Tobi.",
        "Mei, your accent makes your presentations hard to follow.",
    ],
)
def test_demeaning_a_person_is_harassment(body: str) -> None:
    assert hits(HARASSMENT, body)


@pytest.mark.parametrize(
    "body",
    [
        "There is no such thing as a stupid question in Room 202.",
        "The portal is useless today, sorry!",
        "You're not lazy at all; you just need more sleep.",
        "Our Gay-Straight Alliance and the Muslim Student Association meet Thursday.",
        "Black History Month assembly is Friday; disabled parking is by the gym.",
        "Enjoy a lazy Sunday before the test.",
    ],
)
def test_words_about_things_and_identity_words_are_not_harassment(body: str) -> None:
    assert hits(HARASSMENT, body) == []


def test_a_slur_is_always_harassment_and_high() -> None:
    assert [h.severity for h in hits(HARASSMENT, "Stop acting like a f@ggot.")] == [Severity.HIGH]


# --- threats -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "sender", "to"),
    [
        ("Miss one more practice and I swear I'll break your legs.", COACH, (SAM,)),
        (
            "If I catch you cheating again, you'll regret it. Remember, I know where you live.",
            TEACHER,
            (SAM,),
        ),
        (
            "If Jordan doesn't start on Saturday, you'd better watch your back.",
            "helen.kim@example.org",
            (COACH,),
        ),
        (
            "Fix Sam's grade or I'll come down to that school myself and it won't be pretty.",
            SAMS_MOM,
            (TEACHER,),
        ),
        ("I'm bringing a knife to school tomorrow.", SAM, (TEACHER,)),
        (
            "Si lo vuelve a castigar, la voy a esperar a la salida y le va a ir muy mal.",
            LUIS_MOM,
            (MATH_TEACHER,),
        ),
        ("No le conviene que alguien llame a inmigración.", "tnguyen@nusd.example.org", (LUIS_MOM,)),
        ("ill k1ll u if u tell", SAM, (TEACHER,)),
        ("Si vuelve a tocar a mi hija, lo mato.", LUIS_MOM, (MATH_TEACHER,)),
        ("u better give me an A or ur gonna get hurt", SAM, (TEACHER,)),
    ],
)
def test_threats_in_either_direction_are_high(body: str, sender: str, to: tuple[str, ...]) -> None:
    found = hits(THREAT, body, sender, to)
    assert found and all(h.severity is Severity.HIGH for h in found)


@pytest.mark.parametrize(
    "body",
    [
        "Shoot me an email if the file doesn't open.",
        "Thursday's conditioning is going to be a killer.",
        "I'm dying to see your projects!",
        "Schools are closed because of the bomb cyclone.",
        "You had 6 shots on goal. Attack down the wings and crush their high line.",
        "Break a leg at the play tonight!",
        "If you don't study, you'll regret it at finals.",
        "Wear your mouth guards or you'll get hurt out there.",
        "Apoptosis is how the body kills damaged cells.",
        "Si llega temprano puede matar el tiempo en la biblioteca. Cobró un tiro libre perfecto.",
        "Para el Día de Muertos traigan la foto de un familiar que murió.",
        "Elena llegó feliz: el chiste del pingüino la mató de risa.",
        "Jordan me mató con el video del ensayo; la voy a matar a preguntas cuando llegue.",
        "si te olvidás el pasaporte en casa otra vez te mato jaja 😂",
        "Luis anda desesperado, dice que esta unidad de porcentajes lo va a matar.",
    ],
)
def test_idioms_and_lessons_are_not_threats(body: str) -> None:
    assert hits(THREAT, body) == []


@pytest.mark.parametrize(
    "body",
    [
        "Te voy a matar si le cuentas a alguien.",
        "Si hablas con el director, te mato. Ya sabes.",
        "Después de clase te voy a matar, ya verás.",
    ],
)
def test_a_spanish_threat_without_a_joke_is_still_one(body: str) -> None:
    assert hits(THREAT, body, sender=COACH, to=(LUIS,))


# --- sexual content --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "to"),
    [
        ("You looked really good in that dress at homecoming.", (AVA,)),
        ("Mei, you were the hottest person in the lab today 🔥", (MEI,)),
        ("You've really filled out since last year 😉", (SAM,)),
        ("Those new leggings are a real distraction at practice.", (AVA,)),
        ("Heard you finally lost your v-card, tell me everything", (SAM,)),
        ("You're s3xy, you know that?", (SAM,)),
        ("Sra. Patel, qué guapa se ve usted hoy.", (SAMS_MOM,)),
    ],
)
def test_sexual_comments_on_a_person_are_high(body: str, to: tuple[str, ...]) -> None:
    found = hits(SEXUAL, body, to=to)
    assert found and all(h.severity is Severity.HIGH for h in found)


@pytest.mark.parametrize(
    "body",
    [
        "you're so fine",
        "ur fine af",
        "you're fine 😍",
        "Send me nudes",
        "Send me nudes, it's safe, I delete them",
    ],
)
def test_looks_and_nudes_still_count_outside_a_lesson(body: str) -> None:
    assert hits(SEXUAL, body, to=(AVA,))


def test_a_parent_propositioning_a_coach_counts_too() -> None:
    assert hits(SEXUAL, "Coach, you looked seriously sexy tonight.", sender=SAMS_MOM, to=(COACH,))


@pytest.mark.parametrize(
    "body",
    [
        "The sex ed permission slip for the human sexuality unit is attached.",
        "Chapter 14: the human reproductive system; learn testes, ovary and placenta.",
        "Volunteers for the breast cancer awareness walk, sign up in Room 102!",
        "Bird ID: the blue-footed booby and the tufted titmouse. Gay-Lussac's law is next.",
        "It's going to be hot tomorrow, bring water.",
        "Some stars are visible to the naked eye.",
        "Cute pic of your dog on the club page!",
        "For the ball scene, everyone needs nude tights and character shoes.",
        "The yearbook spread uses nude-tone backdrop paper behind the clay busts.",
        "Parent night on online safety: sexting, group chats and how to talk with your kids.",
        "El consejero dará una charla sobre el sexting y las fotos íntimas.",
        "Study the blue sheet and you're fine.",
        "Mei, you're fine. The camp only needs a tetanus shot in the last ten years.",
    ],
)
def test_health_class_and_innocent_words_are_not_sexual(body: str) -> None:
    assert hits(SEXUAL, body) == []


# --- substances ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "to"),
    [
        ("Big win. You're 18, go grab a few beers tonight, you earned it.", (JORDAN,)),
        ("Want a hit off my vape after practice?", (SAM,)),
        ("Honestly, a little weed tonight might calm your nerves lol", (SAM,)),
        ("I know some of you vape in the locker room. I honestly don't care, just don't get caught.", (SAM,)),
        ("Just grab them at the self-checkout, nobody actually checks the bag lol", (SAM,)),
        ("Dígale que se fume un poquito de mota antes de dormir, a mí me funcionaba 😂", (SAMS_MOM,)),
        ("Go get w4sted tonight!!", (JORDAN,)),
        ("lets get blazed before the assembly lol nobody will notice", (SAM,)),
        ("No bag checks at the dance, so bring the vodka lol", (JORDAN,)),
        # slang with no plain word for the substance
        ("hat trick friday and ill hook u up w a geek bar 😂", (SAM,)),
        ("bonfire sat, we got zaza, come thru lol", (SAM,)),
        ("parce el sábado hay guaro en la casa, si quieres te recojo jaja", (SAM,)),
    ],
)
def test_encouraging_drink_drugs_or_theft_is_a_finding(body: str, to: tuple[str, ...]) -> None:
    assert hits(SUBSTANCES, body, sender=COACH, to=to)


@pytest.mark.parametrize(
    "body",
    [
        "Next week is Red Ribbon Week, our drug awareness week; a nurse will talk about vaping and alcohol.",
        "We'll use ice-cold ethanol to pull the DNA out of solution.",
        "Free flu shot clinic on Saturday in the gym.",
        "Science Club potluck next Friday!",
        "Del 26 al 30 de octubre celebraremos la Semana del Listón Rojo contra las drogas.",
        "Bring two water bottles and drink plenty before practice.",
        "root beer floats 🍺 for perfect attendance fri",
        "Tell Jordan ice bath tonight, she got hammered on that tackle in the 2nd half.",
        "The anti-vape assembly is Friday; the fake lung display is gross.",
        "Parent night: fake pills that look exactly like Xanax or Adderall, and how to use naloxone.",
        "Health class Thursday: what is in a geek bar, and why zaza is not the weed of the 90s.",
        "El taller para padres explica qué es el tusi y los riesgos del guaro en los jóvenes.",
        "Red Ribbon assembly at 1:30. Bring your 3rd period, the county speaker on vaping starts at 1:35.",
        "Si quiere hablar con su hijo sobre el vapeo, la consejera tiene folletos en español.",
    ],
)
def test_prevention_and_lessons_are_not_encouragement(body: str) -> None:
    assert hits(SUBSTANCES, body, to=(SAM,)) == []


def test_drinks_between_adults_are_not_this_rules_business() -> None:
    assert hits(SUBSTANCES, "Drinks sometime? My treat.", sender=MATH_TEACHER, to=(LUIS_MOM,)) == []


# --- secrecy ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "to"),
    [
        ("Let's keep the extra help sessions between us. Your parents don't need to know.", (SAM,)),
        ("Snap me later, and delete this email after you read it.", (AVA,)),
        ("Did you delete our messages from last week like I asked?", (SAM,)),
        (
            "I can drive you home after practice, just the two of us. No need to mention it to your dad.",
            (AVA,),
        ),
        ("Happy birthday! I got you a little present. Come get it when the room is empty.", (MEI,)),
        ("You can always come to me instead of your parents. I get you better than they do.", (SAM,)),
        ("You're my favorite student. Don't tell the others I said that.", (LUIS,)),
        ("Study session at my house Sunday! RSVP here.", (SAM, MEI)),
        ("Me gustaría llevarla por un helado, solo ella y yo. Por favor borre este mensaje.", (LUIS_MOM,)),
        ("Que quede entre tú y yo, no le digas nada a tu mamá.", (LUIS,)),
        ("u up? cant sleep. just us, dont mention it to ur parents", (SAM,)),
        ("Borra todos nuestros mensajes cuando los leas, ¿sí?", (TOBI,)),
        ("Here's $20 for you, Tobi. Let's keep this to ourselves.", (TOBI,)),
    ],
)
def test_grooming_signals_are_high(body: str, to: tuple[str, ...]) -> None:
    found = hits(SECRECY, body, to=to)
    assert found and all(h.severity is Severity.HIGH for h in found)


@pytest.mark.parametrize(
    "body",
    [
        "We're doing a $10 secret santa. Keep your person a secret until the gift exchange!",
        "Keep your group's organism a secret from the other groups until Friday's reveal.",
        "Ms. Lee's card is a surprise, so please don't tell Ms. Lee!",
        "Please delete the practice schedule I sent Monday; the new one is attached.",
        "Need a ride to the tournament? The district activity bus leaves at 6:45.",
        "Raffle winners get one of five $20 gift cards donated by the PTA.",
        "Es un secreto, así que no le comenten nada a ella: es una fiesta sorpresa.",
        "Our secret weapon on Saturday: set pieces.",
        "We're surprising Coach with a banner on Friday. Keep it a secret from him!",
    ],
)
def test_class_surprises_and_logistics_are_not_secrecy(body: str) -> None:
    assert hits(SECRECY, body, to=(SAM, MEI)) == []


@pytest.mark.parametrize(
    "body",
    [
        "Jordan don't text your social to anyone, not even me!! The portal doesn't need it. Delete that text",
        "Please don't email Social Security numbers; I've deleted your message. Just bring the paper form.",
        "Por favor no mande el número de seguro social por correo. Ya borré su mensaje.",
        "That link is phishing, not the district. Delete the email and don't click anything.",
    ],
)
def test_deleting_the_message_that_carried_a_number_is_not_secrecy(body: str) -> None:
    assert hits(SECRECY, body, to=(SAM,)) == []


@pytest.mark.parametrize(
    "body",
    [
        "Send me your SSN for the form, then delete our texts.",
        "Delete this message after you read it. Your password is the same as before.",
    ],
)
def test_deleting_the_conversation_is_secrecy_beside_a_number_too(body: str) -> None:
    assert hits(SECRECY, body, to=(SAM,))


def test_just_us_between_two_adults_is_not_a_grooming_signal() -> None:
    assert hits(SECRECY, "Drinks sometime? Just us.", sender=MATH_TEACHER, to=(LUIS_MOM,)) == []


@pytest.mark.parametrize(
    ("body", "sender"),
    [
        ("Jordan has the dentist at 1. I'll pick her up at the attendance window at 12:45.", SAMS_MOM),
        ("Mañana Luis sale a las 10:30 por su vacuna. Yo paso por él a la oficina.", LUIS_MOM),
        ("Luis: no te puedo llevar en mi carro, son reglas de la escuela. El camión sale a las 4.", TEACHER),
        ("No, no puedes venir a mi casa. Los maestros no invitan estudiantes a la casa.", TEACHER),
        ("I'm not going to keep things from your mom, Sam. Let's talk with the counselor together.", TEACHER),
        ("If a student discloses abuse, don't promise to keep it secret; call the hotline.", TEACHER),
    ],
)
def test_a_parents_pickup_and_an_offer_turned_down_are_not_grooming(body: str, sender: str) -> None:
    assert hits(SECRECY, body, sender=sender, to=(TEACHER,) if sender != TEACHER else (SAM,)) == []


def test_the_same_offer_made_is_a_grooming_signal() -> None:
    assert hits(SECRECY, "Luis, te puedo llevar en mi carro después de la práctica.", to=(LUIS,))
    assert hits(SECRECY, "I'll pick you up after practice, just the two of us.", sender=COACH, to=(AVA,))


@pytest.mark.parametrize(
    "body",
    [
        "I lied to my mom about where the headphones came from, don't worry",
        "my dad thinks I'm at practice till 7 so we have time",
        "Ya borré todo como me dijiste, nadie se va a enterar",
        "deleted everything like u said. see u at lunch",
        "Le mentí a mi mamá, cree que estaba en la biblioteca.",
    ],
)
def test_a_student_covering_for_a_staff_member_is_a_grooming_signal(body: str) -> None:
    assert hits(SECRECY, body, sender=SAM, to=(COACH,))


@pytest.mark.parametrize(
    "body",
    [
        "I deleted my old draft and uploaded the new one to Canvas.",
        "My mom thinks I'm ready for Honors Chemistry. Can we talk about it at conferences?",
        "I told my mom about the field trip and she signed the form.",
        "Sorry I lied about finishing the reading. I'll have it done by Friday.",
    ],
)
def test_a_student_writing_about_home_and_files_is_not_secrecy(body: str) -> None:
    assert hits(SECRECY, body, sender=SAM, to=(COACH,)) == []


def test_a_cover_story_is_the_students_side_not_a_teachers_report_of_it() -> None:
    report = "Sam told me he lied to his mom about the grade; I've asked the counselor to call her."
    assert hits(SECRECY, report, sender=TEACHER, to=(SAMS_MOM,)) == []
    assert hits(SECRECY, "No one will ever find out, I promise.", sender=COACH, to=(AVA,))


# --- confidential student information ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "to"),
    [
        ("Sam did well (88). Mei Ito, on the other hand, got a 58.", (SAMS_MOM,)),
        ("Tobi has an IEP for reading, which is why he's in the small group.", (LUIS_MOM,)),
        ("Ava will be out two weeks. Her concussion turned out to be worse than we thought.", (SAM, JORDAN)),
        ("Luis, Tobi has missed nine days this quarter. Could you bring him the notes?", (LUIS,)),
        ("Jordan Kim was suspended for three days for her part in the fight.", (AVAS_DAD,)),
        ("Luis: student ID 200004, Tobi: student ID 200006.", (LUIS, TOBI)),
        ("Elena's friend Sofia is being evaluated for ADHD.", (LUIS_MOM,)),
        ("Su compañera, Mei Ito, lleva 11 faltas este semestre.", (SAMS_MOM,)),
        # children the roster does not hold, known by their given names
        ("You'll sit with Jaxon for the retake. He got a 38, so he's redoing the whole test.", (TOBI,)),
        ("Mason has an IEP for speech, so he works with me in the mornings.", (LUIS_MOM,)),
        ("Yareli lleva 12 faltas este mes y ya la reportamos.", (LUIS_MOM,)),
    ],
)
def test_another_students_records_are_confidential(body: str, to: tuple[str, ...]) -> None:
    assert hits(CONFIDENTIAL, body, to=to)


@pytest.mark.parametrize(
    ("body", "to"),
    [
        ("As part of Sam's 504 plan, he took the test with extended time.", (SAMS_MOM,)),
        ("Your Unit 2 test score is 84%. Nice work!", (SAM,)),
        ("Luis has 2 excused absences and 1 tardy this quarter.", (LUIS_MOM,)),
        (
            "Jordan took a hard hit; the trainer did a concussion screen and she is cleared.",
            ("helen.kim@example.org",),
        ),
        ("Elena left her inhaler in the nurse's office.", (LUIS_MOM,)),
    ],
)
def test_a_students_own_information_to_the_student_or_their_guardian_is_fine(
    body: str, to: tuple[str, ...]
) -> None:
    assert hits(CONFIDENTIAL, body, to=to) == []


@pytest.mark.parametrize(
    "body",
    [
        "Dana is meeting with the counselor about the trip budget.",  # a given name the roster has for staff
        "Biology grades were posted; Canvas shows a 78 for the unit.",  # capitalised words, no given names
    ],
)
def test_a_name_no_child_could_have_is_no_disclosure(body: str) -> None:
    assert hits(CONFIDENTIAL, body, to=(LUIS_MOM,)) == []


def test_a_parent_may_tell_anyone_about_their_own_child() -> None:
    body = "Jordan started Lexapro in January for her anxiety and it's helping. How's Sam holding up?"
    assert hits(CONFIDENTIAL, body, sender="helen.kim@example.org", to=(SAMS_MOM,)) == []
    # the same sentence from a teacher, or from a parent about another family's child, is a disclosure
    assert hits(CONFIDENTIAL, body, sender=TEACHER, to=(SAMS_MOM,))
    assert hits(CONFIDENTIAL, body, sender=LUIS_MOM, to=(SAMS_MOM,))


def attached(filename: str, to: Iterable[str], sender: str = TEACHER) -> list[Hit]:
    msg = replace(
        message("Please see the attached file.", sender, to),
        attachments=(Attachment(filename, "application/octet-stream"),),
    )
    return list(CONFIDENTIAL.check(msg, CONTEXT))


@pytest.mark.parametrize(
    ("filename", "to"),
    [
        ("period4_grades.xlsx", (SAM,)),
        ("lista_faltas_7mo_grado_oct.xlsx", (LUIS_MOM,)),
        ("varsity_medical_roster.xlsx", (SAMS_MOM,)),
        ("math7_p2_acomodaciones_IEP_504.xlsx", (LUIS,)),
        ("IEP_borrador_Tobi_Okafor.pdf", (LUIS_MOM,)),  # another family's child, named
    ],
)
def test_student_records_attached_for_a_student_or_family_are_confidential(
    filename: str, to: tuple[str, ...]
) -> None:
    (found,) = attached(filename, to)
    assert found.evidence == filename and found.start is None


@pytest.mark.parametrize(
    ("filename", "to"),
    [
        ("IEP_Luis_Garcia_2026.pdf", (LUIS_MOM,)),  # her own child's
        ("Physics12_S1_grade_histogram.pdf", (SAMS_MOM,)),  # a class as a whole
        ("salud7_formulario_es.pdf", (LUIS_MOM,)),  # a blank form
        ("ch7_cell_cycle_study_guide.pdf", (SAM,)),
        ("period4_grades.xlsx", (MATH_TEACHER,)),  # staff to staff
    ],
)
def test_a_familys_own_records_blank_forms_and_staff_copies_are_not(
    filename: str, to: tuple[str, ...]
) -> None:
    assert attached(filename, to) == []


def test_staff_may_share_a_students_records_with_staff() -> None:
    body = "For Tuesday's IEP review for Luis Garcia: the read-aloud accommodation is working."
    assert hits(CONFIDENTIAL, body, sender=MATH_TEACHER, to=(TEACHER,)) == []


def test_a_social_security_number_is_confidential_even_to_the_students_own_parent() -> None:
    found = evidence(CONFIDENTIAL, "For the camp form I have Sam's SSN as 987-65-4320.", to=(SAMS_MOM,))
    assert found == ["987-65-4320"]


# --- personal channels -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ("Text me on my personal cell instead, 773-555-0142.", "773-555-0142"),
        (
            "My personal email is alan.brooks71@gmail.com; use that one from now on.",
            "alan.brooks71@gmail.com",
        ),
        ("Follow me on Instagram, @dana.reyes.bio!", "@dana.reyes.bio"),
        ("Join the team Discord: discord.gg/nhs-soccer", "discord.gg/nhs-soccer"),
        ("Puede escribirme a mi WhatsApp personal, +1 (312) 555-0186.", "+1 (312) 555-0186"),
    ],
)
def test_a_personal_number_address_or_handle_is_the_evidence(body: str, expected: str) -> None:
    assert expected in evidence(PERSONAL, body)


@pytest.mark.parametrize(
    "body",
    [
        "Add me on Snapchat: coach_okafor10",
        "Just friend me on Facebook.",
        "If you get stuck tonight, just text my cell.",
        "DM me on insta",
        "RSVP to this email, not the school one.",
        "Mejor mándeme mensaje a mi celular.",
    ],
)
def test_invitations_to_personal_channels_are_findings(body: str) -> None:
    assert hits(PERSONAL, body)


@pytest.mark.parametrize(
    "body",
    [
        "Please don't text my cell for schedule questions; the front office has the latest.",
        "No doy mi WhatsApp a los alumnos, pero me puedes escribir aquí o por Canvas.",
        "Por favor no me escriban a mi celular, usen la app del distrito.",
        "Never DM me on insta, use school email.",
    ],
)
def test_an_invitation_turned_down_is_not_one(body: str) -> None:
    assert hits(PERSONAL, body) == []


def test_a_refusal_of_one_channel_does_not_excuse_the_next_invitation() -> None:
    assert hits(PERSONAL, "Don't text my school phone after 5, text my personal cell instead.")


def test_a_number_beside_an_official_one_is_still_personal() -> None:
    assert hits(PERSONAL, "Please call me at (202) 555-0177 anytime.")


@pytest.mark.parametrize(
    "body",
    [
        "Call the NHS front office at (202) 555-0100 and they'll get a message to me.",
        "Email me at mlindqvist@nusd.example.org or message me in Canvas.",
        "Follow the school's official athletics account, @NHSAthletics, for bus times.",
        "Our official Instagram, @NorthfieldHS, posted homecoming photos.",
        "Shoot me an email and I'll resend it.",
        "The county health department's number is (312) 555-0190 for flu shot questions.",
        "Please call me at (202) 555-0100 anytime.",
        "Llámeme a la oficina de Lakeview, (202) 555-0103.",
    ],
)
def test_the_districts_own_channels_are_not_personal(body: str) -> None:
    assert hits(PERSONAL, body) == []


def test_a_parent_giving_a_teacher_their_own_number_is_ordinary() -> None:
    assert hits(PERSONAL, "You can reach me on my cell, 312-555-0190.", sender=SAMS_MOM, to=(TEACHER,)) == []


# --- how hits report ---------------------------------------------------------------------------------------


def test_offsets_point_into_subject_and_body_as_one_text() -> None:
    msg = message("Text me on my real number, 312-555-0177.", subject="can't sleep")
    (number,) = [h for h in PERSONAL.check(msg, CONTEXT) if "phone number" in h.reason]
    assert (number.start, number.end) == (msg.text.index("312"), msg.text.index("312") + len("312-555-0177"))


def test_quoted_reply_history_is_read_like_the_rest() -> None:
    # Hardening: a made-up "> " line hid what followed from every rule. The sender sent it: it is read.
    msg = Message(
        message_id="m-2",
        channel="email",
        sender=_party(TEACHER),
        recipients=(_party(SAMS_MOM),),
        sent_at=datetime(2026, 10, 14, 15, 0, tzinfo=UTC),
        body="Thanks for letting me know.",
        quoted="> What the fuck happened with the bus?",
    )
    hits = list(PROFANITY.check(msg, CONTEXT))
    assert hits and msg.text[hits[0].start : hits[0].end].lower() == "fuck"


RULE_IDS = [
    (PROFANITY, "content.profanity", "profanity"),
    (HARASSMENT, "content.harassment", "harassment"),
    (THREAT, "content.threat", "threat"),
    (SEXUAL, "content.sexual", "sexual"),
    (SUBSTANCES, "content.substances", "substances"),
    (SECRECY, "content.secrecy", "secrecy"),
    (CONFIDENTIAL, "content.confidential", "confidential"),
    (PERSONAL, "channel.personal_content", "personal_channel"),
]


@pytest.mark.parametrize(("rule", "rule_id", "category"), RULE_IDS)
def test_every_rule_has_the_id_and_category_the_packs_use(rule: Rule, rule_id: str, category: str) -> None:
    assert (rule.id, rule.category) == (rule_id, category)
    assert rule.description


# --- hardening: personal channels written around the patterns ------------------------------------------

WRITTEN_AROUND = {
    "a number spelled out": "new number for summer league: three one two, five five five, oh one four four",
    "a number split over lines": "text me at 312 555\n0144 instead of the school line",
    "an address written out": "Email me at dana.reyes.home at gmail dot com, I check it more",
    "a handle without the platform": "add me, I'm coach.o_22 👻",
    "signal": "message me on Signal, it's easier than the district app",
    "leetspeak": "add me on sn4pch4t: coach.o_22",
    "spaced letters": "my s n a p c h a t is coacho22",
    "un número en palabras": "mi número nuevo: tres uno dos, cinco cinco cinco, cero uno cuatro cuatro",
}


@pytest.mark.parametrize("way", sorted(WRITTEN_AROUND))
def test_personal_channels_written_around_the_patterns_are_found(way: str) -> None:
    assert evidence(PERSONAL, WRITTEN_AROUND[way]), way


@pytest.mark.parametrize(
    "body",
    [
        "Warm-up count: one two three four five six seven eight, then switch sides.",
        "The signal from the timing gate was weak; we will redo the 40 tomorrow.",
        "Add me to the carpool list for Saturday, I can take four kids.",
        "Coach Okafor and I swapped cells: text me at 312 555 0144 about the bus.",
        "Si el bus se retrasa, llame a la oficina: dos cero dos, cinco cinco cinco, cero uno cero tres.",
    ],
)
def test_their_look_alikes_are_not(body: str) -> None:
    to = (COACH,) if "swapped" in body else (SAM,)
    assert evidence(PERSONAL, body, to=to) == []
