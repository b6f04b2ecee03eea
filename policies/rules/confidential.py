"""Confidential student information sent to someone not entitled to it.

A sentence is a disclosure when it gives a student's grades, IEP/504 or special-education status, health,
discipline, attendance or student ID number, and the student it is about is neither the recipient nor the
recipient's own child. Who the sentence is about comes from the names in it, looked up on the roster
(``Roster.students_named``), from "her friend Sofia"-style mentions of a student the roster may not hold,
from given names (``wordlists/first-names.txt``) that no rostered student and no staff member or guardian
has ("Jaxon got a 38": a child the roster does not hold), and, for "Her concussion ..." or "he's been
seeing the counselor", from the sentence before.
A file of records attached for a student or family is a disclosure too, known by its name: a class's
("period4_grades.xlsx") or another child's ("IEP_Tobi_Okafor.pdf").
Sharing between staff is fine, and so is a parent telling anyone about their own child (the duty is the
school's); a social security number is a finding anywhere, to anyone.
Seed 004: never share confidential or privileged information about students (grades, attendance records
or other pupil record information).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import PurePosixPath

from policies.context import Context
from policies.decision import Severity
from policies.lexicon import hits_in, terms
from policies.message import Message, Party
from policies.parties import NamesAdults, Person, Role, Roster
from policies.patterns import Found, Phrases, compile_pattern, distinct, evidence_hit, find, phrase
from policies.rules import Hit
from policies.text import NormalText, fold, normalise, quote

_SSN = re.compile(r"\d\d\d([- ])\d\d\1\d\d\d\d(?![\d-])")  # the left edge is checked in _ssns
_SSN_NAMED = re.compile(
    r"(?:ssn|social security(?: number| no\.?| #)?|seguro social"
    r"|numero de seguro social)\D{0,25}?(\d[\d -]{3,10}\d)"
)

_SSN_WORDS = frozenset({"ssn", "social", "seguro"})
# What may follow a grade: "got a 58, so ...", "scored 74%", "sacó 48 y ...", not "got 6 shots".
_NUMBER_END = (
    r"(?=\s*(?:[.,;:!?)\n]|$|%|percent|points? on|on (?:the|his|her|their|this|that|a|an)\b|in [a-z]+|de \d"
    r"|/\d|and\b|y\b|en (?:el|la)\b))"
)
_INFO = Phrases(
    phrase(
        "grades",
        r"(?:got|gets|scored|scores|earned|received|made|is at|sitting at|averaging|saco|saca|obtuvo|sac[oa])"
        rf" (?:a |an |un |una )?(?:\d{{1,3}}(?:\.\d+)?|[a-f][+-]?){_NUMBER_END}",
        "got gets scored scores earned received sitting averaging saco saca obtuvo",
    ),
    phrase(
        "grades",
        r"(?:failed|flunked|bombed|is failing|are failing) (?:the |his |her |their |a |an |this "
        r"|last )?(?:midterm|final|test|exam|quiz|class|course|semester|unit test|[a-z]+ (?:test|exam|quiz"
        r"|class))|(?:reading|math|grade|writing) level|(?:two|three|four|\d|several|a few) (?:grades?"
        r"|years?) behind|(?:below|above) grade level|gpa|grade point average|promedio (?:de|general)|(?:is"
        r"|are|was|were) (?:currently |now |still )?(?:failing|flunking|ineligible|not eligible"
        r"|on academic probation|below a c)|incomplete in|(?:esta|estan|va) reprobando|reprobo|reprobaron"
        r"|d/f list",
        "level behind failed flunked bombed gpa grade promedio failing flunking ineligible eligible"
        " probation below"
        " incomplete"
        " reprobando reprobo"
        " reprobaron list",
    ),
    phrase(
        "grades",
        r"(?:grades?|scores?|marks|results|calificacion(?:es)?|notas"
        r"|puntajes?)[^.!?\n]{0,40}[a-z]+ ?[:=-]? ?(?:\d{1,3}(?: ?%)?|[a-f][+-]?)(?:,| and| y)",
        "grade grades score scores marks results calificacion calificaciones notas puntaje puntajes",
    ),
    phrase(
        "special-education records",
        r"iep|504(?: plan)?|plan 504|special ed(?:ucation)?|educacion especial|(?:being |been )?(?:evaluated"
        r"|tested|assessed|screened) for|evaluad[oa] (?:para|por)|qualif(?:y|ies) for (?:that |the |special "
        r"|extra )?(?:support|services|accommodations|special ed)|accommodations?",
        "iep 504 special educacion evaluated tested assessed screened evaluado evaluada qualify qualifies"
        " accommodation accommodations",
    ),
    phrase(
        "health information",
        r"(?:seeing|sees|saw|talking to|meeting with|goes to|going to|referred to|visits|ve a|va con"
        r"|va al) (?:the |a |al |la |el )?(?:school )?(?:counselor|counsellor|therapist|psychologist"
        r"|psychiatrist|social worker|psicologo|psicologa|consejero|consejera|terapeuta)",
        "counselor counsellor therapist psychologist psychiatrist worker psicologo psicologa consejero"
        " consejera"
        " terapeuta",
    ),
    phrase(
        "discipline records",
        r"suspended|suspension|expelled|expulsion|detention|(?:office|discipline|disciplinary) referral"
        r"|(?:got|was|were|been|is|get) (?:written up|caught (?:cheating|stealing|vaping|smoking|drinking"
        r"|with)|arrested|sent to the office)|(?:in|started|part in|involved in) (?:the|a) fight|(?:on"
        r"|under) (?:a )?(?:behavior (?:plan|contract)|probation)|suspendid[oa]|expulsad[oa]"
        r"|reporte de conducta|(?:en|la) pelea",
        "suspended suspension expelled expulsion detention referral written caught arrested office fight"
        " behavior"
        " probation suspendido suspendida expulsado expulsada conducta pelea",
    ),
    phrase(
        "attendance records",
        r"(?:missed|has missed|missing|skipped) (?:\d+|two|three|four|five|six|seven|eight|nine|ten|eleven"
        r"|twelve|several|many|a lot of|too many) (?:days|classes|school days|periods)|\d+ (?:absences"
        r"|unexcused|tardies|tardy|excused absences)|(?:has been|was|is) (?:absent|truant|chronically absent)"
        r"|truancy|(?:lleva|tiene|acumula) (?:\d+|[a-z]+) (?:faltas|ausencias|retardos)|ausentismo"
        r"|ha faltado",
        "missed missing skipped absences unexcused tardies tardy absent truant truancy faltas ausencias"
        " retardos"
        " ausentismo faltado",
    ),
    phrase(
        "student ID",
        r"(?:student|estudiante|alumno|alumna|school)(?:'s)? (?:id|number|#|no\.?|numero|matricula)(?: number"
        r"| #| no\.?)? ?[:#]? ?\d{4,}|(?:id|matricula) ?[:#]? ?\d{5,}",
        "id number numero matricula no",
    ),
)
# The name of a file of student records, and of one that is no one's (a blank form, a guide, a histogram).
_RECORDS_FILE = compile_pattern(
    r"grades?|gradebook|calificaciones|scores|puntajes|notas|boletas?|progress|progreso|report cards?"
    r"|reading levels?|niveles (?:de )?lectura|running records|faltas|absences?|attendance|asistencia"
    r"|tardies|medical|meds|medicamentos|allerg(?:y|ies)|alergias?|nurse|iep|504|accommodations"
    r"|acomodaciones|ell|proficiency|eligibility|ineligible|intervention|intervencion|discipline"
    r"|referrals?|incidents?|suspensions?|ssn|student ?ids?|emergency cards|counseling|consejeria"
    r"|evaluation|evaluacion|custody|custodia"
)
_NO_ONES_FILE = compile_pattern(
    r"histogram|distribution|averages?|blank|template|plantilla|formulario|consent|consentimiento"
    r"|permission|permiso|opt ?out|flyer|guide|guia|rubric|calendar|menu|policy|handout|syllabus"
)
# A capitalised word, possibly "O'Brien" or "Ana-Sofía", without a possessive "'s".
_NAME = re.compile(r"(?<![\w@.'’])([A-ZÀ-ÖØ-Þ](?:['’][A-ZÀ-ÖØ-Þ])?[a-zà-öø-ÿ]+(?:-[A-ZÀ-ÖØ-Þa-zà-öø-ÿ]+)*)")
_TITLE = re.compile(
    r"(?:Mr|Mrs|Ms|Miss|Mx|Dr|Coach|Sr|Sra|Srta|Maestr[oa]|Profesor|Profesora|Principal|Director"
    r"|Directora)\.?\s+$",
    re.IGNORECASE,
)
_RELATION = compile_pattern(
    r"(?:friend|classmate|teammate|lab partner|partner|buddy|companer[oa]|amig[oa]|another student"
    r"|other student),?"
)
# "an F in Physics", "(F in Physics)": capital letter grades, read in the original text.
_LETTER_GRADE = re.compile(r"[A-DF][+-]?\s+(?:in|on|en)\s+[A-Z][a-z]+")
_PRONOUN = compile_pattern(r"he|she|his|her|him|they|their|he'?s|she'?s|el|ella|su|sus")


@dataclass(frozen=True, slots=True)
class _Mention:
    start: int  # offsets into the original text
    end: int
    students: tuple[Person, ...]  # empty: a student the roster does not hold ("her friend Sofia")


def _entitled(recipient: Party, student: Person) -> bool:
    person = recipient.person
    if person is None:
        return False
    if person.role is Role.STAFF:
        return True
    if person.role is Role.STUDENT:
        return person.person_id == student.person_id
    return student.person_id in person.student_ids or person.person_id in student.guardian_ids


def _about_someone_else(mention: _Mention, sender: Party, recipients: tuple[Party, ...]) -> bool:
    """True unless some student the name may mean is the recipients' own or the sender's (the benefit of
    the doubt): a parent may tell anyone about their own child, a student about themselves; the duty of
    confidentiality is the school's."""
    if not mention.students:
        return True
    if sender.person is not None and sender.person.role is not Role.STAFF:
        if any(_entitled(sender, s) for s in mention.students):
            return False
    return not any(all(_entitled(r, s) for r in recipients) for s in mention.students)


def _mentions(original: str, start: int, end: int, roster: Roster) -> list[_Mention]:
    """The students named in ``original[start:end]``: "Mei Ito", "Tobi", "her friend Sofia"."""
    stop = terms("name-stopwords")
    found: list[_Mention] = []
    matches = list(_NAME.finditer(original, start, end))
    skip_next = False
    for i, match in enumerate(matches):
        if skip_next:
            skip_next = False
            continue
        word = match.group(1)
        folded = fold(word).text
        if folded in stop or _TITLE.search(original, max(0, match.start() - 14), match.start()):
            continue  # "Thursday", "Hello"; "Ms. Reyes" is staff, not a student
        following = matches[i + 1] if i + 1 < len(matches) else None
        if following is not None and original[match.end(1) : following.start()] == " ":
            full = roster.students_named(f"{word} {following.group(1)}")
            if full:
                found.append(_Mention(match.start(), following.end(1), full))
                skip_next = True
                continue
        students = roster.students_named(word)
        if students:
            found.append(_Mention(match.start(), match.end(1), students))
        elif _RELATION.search(
            fold(original[max(0, match.start() - 20) : match.start()]).text + " "
        ) or _a_child_off_the_roster(word, folded, roster):
            found.append(_Mention(match.start(), match.end(1), ()))
    return found


def _a_child_off_the_roster(word: str, folded: str, roster: Roster) -> bool:
    """A given name ("Jaxon got a 38") that no rostered student has, and no staff member or guardian the
    roster knows: in a sentence of school records, a child the roster does not hold (a new enrolment, a
    sibling, a friend), whose records are no more the recipient's business than a rostered one's."""
    if folded not in terms("first-names"):
        return False
    return not (isinstance(roster, NamesAdults) and roster.adults_named(word))


class ConfidentialRule:
    id = "content.confidential"
    category = "confidential"
    description = "Another student's grades, IEP/504, health, discipline, attendance or ID; any SSN."

    def __init__(self, options: None = None) -> None:
        del options

    def check(self, message: Message, context: Context) -> Iterable[Hit]:
        text = normalise(message.text)
        original = text.original
        hits = [
            evidence_hit(self.category, "a social security number", original, s, e, Severity.HIGH)
            for s, e in _ssns(text)
        ]
        recipients = tuple(r for r in message.recipients if r.role is not Role.STAFF)
        if not recipients:
            return hits  # staff to staff: sharing with those who need it is their job
        hits.extend(_attached_records(message, recipients, context.roster))
        info = _information(text)
        if not info:
            return hits
        sentences = [text.source(s, e) for s, e in text.sentences]
        named: dict[int, list[_Mention]] = {}

        def mentions(index: int) -> list[_Mention]:
            if index not in named:
                named[index] = _mentions(original, *sentences[index], context.roster)
            return named[index]

        for item in distinct(info):
            index = next((i for i, (s, e) in enumerate(sentences) if s <= item.start < e), None)
            if index is None:
                continue
            about = mentions(index)
            if not about and index > 0 and _PRONOUN.search(fold(original[slice(*sentences[index])]).text):
                about = mentions(index - 1)  # "Her concussion turned out to be worse ..."
            if any(_about_someone_else(m, message.sender, recipients) for m in about):
                label = f"another student's {item.label}"
                hits.append(
                    evidence_hit(self.category, label, original, item.start, item.end, Severity.MEDIUM)
                )
        return hits


def _attached_records(message: Message, recipients: tuple[Party, ...], roster: Roster) -> list[Hit]:
    """Files of school records attached for a student or family: a class's ("period4_grades.xlsx",
    "lista_faltas_7mo.xlsx", "varsity_medical_roster.xlsx") or another child's ("IEP_Tobi_Okafor.pdf"), known
    by their names. A file named after the recipients' own child, or the sender's, is theirs to have; a
    blank form, a guide or a histogram is no one's record."""
    hits: list[Hit] = []
    if not any(r.person is not None for r in recipients):
        return hits  # an address off the roster is blocked by its own rule (channel.unknown_recipient)
    for attachment in message.attachments:
        words = [w for w in re.split(r"[\W_]+", PurePosixPath(attachment.filename).stem) if w]
        folded = fold(" ".join(words)).text
        if not _RECORDS_FILE.search(folded) or _NO_ONES_FILE.search(folded):
            continue
        # Read as a sentence of names: "tobi_okafor" is "Tobi Okafor" (codes such as "P2" stay as they are).
        shown = " ".join(w.capitalize() if w.isalpha() else w for w in words)
        about = _mentions(shown, 0, len(shown), roster)
        if not about or any(_about_someone_else(m, message.sender, recipients) for m in about):
            reason = f"confidential: '{quote(attachment.filename)}' (student records attached)"
            hits.append(Hit(reason=reason, severity=Severity.MEDIUM, evidence=attachment.filename))
    return hits


def _information(text: NormalText) -> list[Found]:
    """Disclosing phrases, as spans of the original text."""
    canonical_spans = find(_INFO, text)
    canonical_spans.extend(
        Found("health information", w.start, w.end) for w in hits_in(text.original, "health")
    )
    found = [Found(f.label, *text.source(f.start, f.end)) for f in canonical_spans]
    original = text.original
    found.extend(
        Found("grades", m.start(), m.end())
        for m in _LETTER_GRADE.finditer(original)
        if m.start() == 0 or not original[m.start() - 1].isalpha()
    )
    return found


def _ssns(text: NormalText) -> list[tuple[int, int]]:
    folded = text.folded.text
    spans = [
        (m.start(), m.end())
        for m in _SSN.finditer(folded)
        if m.start() == 0 or not (folded[m.start() - 1].isdigit() or folded[m.start() - 1] == "-")
    ]
    if not text.words.isdisjoint(_SSN_WORDS):
        spans.extend(
            (m.start(1), m.end(1))
            for m in _SSN_NAMED.finditer(folded)
            if len(re.sub(r"\D", "", m.group(1))) >= 4
        )
    kept = distinct([Found("", s, e) for s, e in spans])
    return [text.folded.source(f.start, f.end) for f in kept]
