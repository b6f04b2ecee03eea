"""Media consent: a photo or video of students goes out only with a media-consent record for each of them.

The seeds forbid circulating images of students without the written permission of their parents. The one
exception that needs no record is a photo of a student sent only to that student's own guardians.

The relay cannot see faces, so it reads what the sender tells it: the media type, camera-style file names
(IMG_4401.jpg, PXL_…, VID_…, screenshots), the words around the attachment ("team pics", "a photo of him",
"foto del equipo"), rostered students named in the text or the file name, and the sourcedIds the sender
declared as pictured (X-Chaperone-Pictured). Diagrams, charts, worksheets and posters of work pass. When
it cannot tell who is pictured it holds: a supervisor looks, rather than a child's photo going out.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import PurePosixPath

from pydantic import BaseModel, ConfigDict

from policies.context import Context
from policies.lexicon import unfolded
from policies.message import Attachment, Message
from policies.parties import Person, Role, Roster
from policies.rules import Hit

_VIDEO_EXTENSIONS = {".mp4", ".mov", ".m4v", ".avi", ".3gp", ".webm", ".mkv", ".wmv"}
_IMAGE_EXTENSIONS = {".jpg", ".jpeg", ".png", ".gif", ".heic", ".heif", ".webp", ".bmp", ".tif", ".tiff"}

# Names phones, cameras and chat apps give the pictures they take (not "image001.png", Outlook's
# name for a signature logo).
_CAMERA_NAME = re.compile(
    r"^(?:img|dsc[nf]?|pxl|vid|mvimg|gopr|dji|photo|pic|foto|whatsapp[ _](?:image|video)|signal|snapchat"
    r"|screen[ _-]?shot|captura(?:[ _]de[ _]pantalla)?)[ _-]*(?:e[ _-]?)?\d|^\d{8}[_-]\d{6}",
    re.IGNORECASE,
)
_INLINE_IMAGE = re.compile(r"image\d{3}", re.IGNORECASE)

# Words are the reviewed list policies/wordlists/media.txt, whose comments say what each tag holds.
_MEDIA_WORDS = unfolded("media", "media")
_GROUP_WORDS = unfolded("media", "group")  # people as a crowd: whoever else is pictured has a family too
_PERSON_WORDS = unfolded("media", "person")
_THING_WORDS = unfolded("media", "thing")  # what a picture of work rather than of people is called
_DETERMINERS = unfolded("media", "determiner")
_CONNECTORS = unfolded("media", "connector")


def _fold(name: str) -> str:
    """Case, accents and punctuation aside, as the directory compares names ("Zoë" meets "zoe")."""
    decomposed = unicodedata.normalize("NFKD", name.casefold())
    return "".join(ch for ch in decomposed if ch.isalnum())


# Capitalised words never read as a student's name ("photos of Halloween", "May's schedule").
_NOT_NAMES = {_fold(word) for word in unfolded("media", "not-name")}
_ATTACHING = re.compile(r"\b(?:attach\w*|here(?:'s| is| are)|below|adjunt\w*|aquí)", re.IGNORECASE)
_STRONG_PHRASES = re.compile(
    r"\b(?:team|group|class|squad|cast|bus|party)[ -]?(?:photo|pic|picture|shot|selfie|video)s?\b"
    r"|\b(?:you (?:all|guys)|everyone|everybody) looks?\b|\ball of you\b"
    r"|\bfotos? (?:del|de los|de las) (?:equipo|niños|niñas|chicos|chicas|estudiantes|alumnos)\b"
    r"|\bfotos? (?:grupal|de grupo)\b",
    re.IGNORECASE,
)
_MEDIA_PHRASE = re.compile(
    r"\b(photos?|pics?|pictures?|videos?|clips?|images?|snapshots?|screenshots?|shots?|fotos?|imagen|imágenes"
    r"|vídeos?)"
    r"\s+(of|from|de|del)\s+",
    re.IGNORECASE,
)
# Taking a picture, said without the noun: "snapped this at the game", "took a few during warm-ups".
_TAKING = re.compile(
    r"\b(?:snapped|took (?:this|these|some|a few)|caught (?:this|these) on|grabbed a few)\b", re.I
)
# A guardian's child, unnamed: "your son", "su hija".
_YOUR_CHILD = re.compile(
    r"\b(?:your (?:son|daughter|child|kid|boy|girl|student)|(?:su|tu) (?:hij[oa]|niñ[oa]))\b", re.IGNORECASE
)
_LOOK_AT = re.compile(r"\b(?:look at|check out|mira a)\s+(?=(?-i:[A-ZÁÉÍÓÚÑ]))", re.IGNORECASE)
_WORD = re.compile(r"[^\W\d_]+(?:['’][^\W\d_]+)*|&")
_SENTENCE = re.compile(r"[^.!?\n]+")


class MediaConsentOptions(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    # The seeds bind employees; a parent sending the teacher a photo of their own child is not the
    # district circulating it.
    staff_senders_only: bool = True


@dataclass
class _Reading:
    """What the words and file names say about one message's pictures."""

    shows_people: bool = False
    crowd: bool = False  # a team, a class, "everyone": more people than anyone named
    stranger: str | None = None  # a capitalised name after "photo of" that the roster does not know
    named: dict[str, Person] = field(default_factory=dict)  # students identified, by sourcedId
    cue: tuple[int, int] | None = None  # where in the text it says so


class MediaConsent:
    id = "media_consent"
    category = "media_consent"
    description = "A photo or video of students without a media-consent record for each of them."
    Options = MediaConsentOptions

    def __init__(self, options: MediaConsentOptions | None = None) -> None:
        self.options = options if options is not None else MediaConsentOptions()

    def check(self, message: Message, context: Context) -> Iterable[Hit]:
        media = [a for a in message.attachments if _is_media(a)]
        declared = bool(message.pictured) and bool(message.attachments)
        if not (media or declared):
            return ()
        if self.options.staff_senders_only and not message.sender_is_staff:
            return ()
        if declared:
            # The sender said who is pictured: that list, not our reading of the words, is the record.
            pictured = [(pid, context.roster.person(pid)) for pid in message.pictured]
            reading = _Reading(
                shows_people=True,
                named={pid: p for pid, p in pictured if p is not None and p.role is Role.STUDENT},
                stranger=next((pid for pid, p in pictured if p is None or p.role is not Role.STUDENT), None),
            )
        else:
            reading = _read(message, media, _Names(context.roster, message))
            if not reading.shows_people:
                return ()
        return _judge(message, context, media or list(message.attachments), reading)


def _judge(message: Message, context: Context, media: list[Attachment], reading: _Reading) -> list[Hit]:
    students = list(reading.named.values())
    identified = bool(students) and not reading.crowd and reading.stranger is None
    if identified and _only_their_guardians(message, students):
        return []
    lacking = [s for s in students if s.person_id not in context.media_consent]
    if identified and not lacking:
        return []
    if identified:
        who, missing = _names(students), f"no media-consent record for {_names(lacking)}"
    else:
        who = "students who cannot all be identified"
        if reading.stranger is not None:
            who = f"{reading.stranger}, who is not a rostered student"
        elif students:
            who = f"{_names(students)} and others"
        missing = "no media-consent record can be checked"
    to = (
        "students"
        if message.student_recipients
        else "someone other than the pictured student's own guardians"
    )
    files = ", ".join(a.filename or "(unnamed)" for a in media)
    start, end = reading.cue if reading.cue else (None, None)
    return [Hit(reason=f"{files} appears to show {who} and goes to {to}; {missing}.", start=start, end=end)]


class _Names:
    """Rostered students a word names, read in this message's light: "Luis" in a note to Ana Garcia is
    her Luis, whatever other Luis the district has; the sender's and adult recipients' own names are
    nobody pictured ("Dear Maya" to a mother called Maya)."""

    def __init__(self, roster: Roster, message: Message) -> None:
        self.roster = roster
        self.message = message
        self.related = _related_students(message, roster)
        adults = [
            message.sender.person,
            *(p.person for p in message.recipients if p.role is not Role.STUDENT),
        ]
        self.adult_names = {
            _fold(part)
            for person in adults
            if person is not None
            for part in (person.given_name, person.family_name)
        }

    def recipients_children(self) -> list[Person]:
        """The children every recipient is a guardian of (empty if any recipient is not a guardian)."""
        guardians = [p.person for p in self.message.recipients]
        if not guardians or any(g is None or g.role is not Role.GUARDIAN for g in guardians):
            return []
        shared = set.intersection(*(set(g.student_ids) for g in guardians if g is not None))
        return [s for sid in sorted(shared) if (s := self.roster.person(sid)) is not None]

    def by_given_name(self, word: str) -> list[Person]:
        token = _fold(_strip_possessive(word))
        if not token or token in self.adult_names or token in _NOT_NAMES:
            return []
        return [s for s in self.roster.students_named(token) if _fold(s.given_name) == token]

    def by_full_name(self, given: str, family: str) -> list[Person]:
        full = f"{given} {_strip_possessive(family)}"
        return [s for s in self.roster.students_named(full) if _fold(s.display_name) == _fold(full)]

    def add(self, reading: _Reading, candidates: list[Person]) -> None:
        """One student: named. Several with that name: one of them if related, else we cannot say who."""
        close = [s for s in candidates if s.person_id in self.related]
        chosen = close or candidates
        if len(chosen) == 1:
            reading.named[chosen[0].person_id] = chosen[0]
        elif chosen:
            reading.crowd = True


def _read(message: Message, media: Sequence[Attachment], names: _Names) -> _Reading:
    reading = _Reading()
    text = message.text
    strong, thing, weak = False, False, False
    if (found := _STRONG_PHRASES.search(text)) is not None:
        strong = reading.crowd = True
        reading.cue = found.span()
    for phrase in _MEDIA_PHRASE.finditer(text):
        weak = True
        kind = _object_of(text, phrase, names, reading)
        strong |= kind == "person"
        thing |= kind == "thing"
        if kind == "person" and reading.cue is None:
            reading.cue = phrase.span()
    for look in _LOOK_AT.finditer(text):
        word = _next_word(text, look.end())
        if word is not None and _fold(word[0]) not in _NOT_NAMES:
            strong = True
            reading.cue = reading.cue or (look.start(), word[2])
            _name(word[0], names, reading, unknown_ok=True)
    weak |= _TAKING.search(text) is not None
    if (child := _YOUR_CHILD.search(text)) is not None:
        strong = True
        reading.cue = reading.cue or child.span()
        # Any of their children will do: a guardian's own child needs no consent record to be shown to them.
        for student in names.recipients_children():
            reading.named[student.person_id] = student
    for sentence in _SENTENCE.finditer(text):
        words = {w.lower() for w in _WORD.findall(sentence.group())}
        weak |= bool(words & _MEDIA_WORDS)
        if (
            _ATTACHING.search(sentence.group())
            or words & _MEDIA_WORDS
            or _YOUR_CHILD.search(sentence.group())
        ):
            # Said of the attachment: "the diagram is attached", "your son with his lab group".
            thing |= bool(words & _THING_WORDS)
            reading.crowd |= bool(words & _GROUP_WORDS)
    _names_in_text(text, names, reading)

    shows = []
    for attachment in media:
        tokens = _file_tokens(attachment.filename)
        named = [people for token in sorted(tokens) if (people := names.by_given_name(token))]
        for candidates in named:
            names.add(reading, candidates)
        reading.crowd |= bool(tokens & _GROUP_WORDS)
        file_strong = bool(tokens & (_GROUP_WORDS | _PERSON_WORDS))
        file_thing = bool(tokens & _THING_WORDS)
        file_weak = (
            _is_video(attachment)
            or bool(_CAMERA_NAME.match(attachment.filename))
            or bool(named)
            or bool(tokens & _MEDIA_WORDS)
        )
        # A camera's picture shows what a camera points at: a file name saying "chart" does not make it
        # one; only the sender's words can ("a photo of the whiteboard").
        camera = attachment.camera and not thing
        shows.append(strong or file_strong or camera or (not (thing or file_thing) and (weak or file_weak)))
    reading.shows_people = any(shows)
    return reading


def _object_of(text: str, phrase: re.Match[str], names: _Names, reading: _Reading) -> str:
    """What "photo of …" is of: "person", "thing" or "" (photos *from* lab day say nothing)."""
    strangers_count = phrase.group(2).lower() == "of"  # "fotos de Halloween" is no one's name
    position, kind = phrase.end(), ""
    for _ in range(8):
        word = _next_word(text, position)
        if word is None:
            break
        original, position = word[0], word[2]
        token = original.lower()
        if token in _DETERMINERS or (token in _CONNECTORS and kind == "person"):
            continue
        if token in _GROUP_WORDS:
            reading.crowd = True
            return "person"
        if token in _PERSON_WORDS:
            return "person"
        if token in _THING_WORDS:
            return "thing"
        if original[0].isupper() and _fold(original) not in _NOT_NAMES:
            if _name(original, names, reading, unknown_ok=strangers_count):
                kind = "person"
                continue
        break
    return kind


def _name(word: str, names: _Names, reading: _Reading, unknown_ok: bool) -> bool:
    candidates = names.by_given_name(word)
    if candidates:
        names.add(reading, candidates)
        return True
    if unknown_ok:
        reading.stranger = reading.stranger or _strip_possessive(word)
        return True
    return False


def _names_in_text(text: str, names: _Names, reading: _Reading) -> None:
    """Capitalised words that are a rostered student's given name, or given and family name together."""
    words = [m for m in _WORD.finditer(text) if m.group()[0].isupper()]
    index = 0
    while index < len(words):
        word = words[index]
        following = words[index + 1] if index + 1 < len(words) else None
        if following is not None and text[word.end() : following.start()].isspace():
            full = names.by_full_name(word.group(), following.group())
            if full:
                names.add(reading, full)
                index += 2
                continue
        if candidates := names.by_given_name(word.group()):
            names.add(reading, candidates)
        index += 1


def _related_students(message: Message, roster: Roster) -> dict[str, Person]:
    """Students a name most likely means: the recipients themselves and the recipients' children."""
    related: dict[str, Person] = {s.person_id: s for s in message.student_recipients}
    for party in message.recipients:
        if party.person is not None and party.role is Role.GUARDIAN:
            for student_id in party.person.student_ids:
                student = roster.person(student_id)
                if student is not None:
                    related[student_id] = student
    return related


def _only_their_guardians(message: Message, students: list[Person]) -> bool:
    """Every recipient is a guardian of every pictured student (one child, or siblings, to their family)."""
    if not message.recipients:
        return False
    for party in message.recipients:
        guardian = party.person
        if guardian is None or guardian.role is not Role.GUARDIAN:
            return False
        for student in students:
            if (
                guardian.person_id not in student.guardian_ids
                and student.person_id not in guardian.student_ids
            ):
                return False
    return True


def _is_media(attachment: Attachment) -> bool:
    suffix = PurePosixPath(attachment.filename.lower()).suffix
    return attachment.is_media or suffix in _IMAGE_EXTENSIONS or suffix in _VIDEO_EXTENSIONS


def _is_video(attachment: Attachment) -> bool:
    suffix = PurePosixPath(attachment.filename.lower()).suffix
    return attachment.content_type.startswith("video/") or suffix in _VIDEO_EXTENSIONS


def _file_tokens(filename: str) -> set[str]:
    stem = PurePosixPath(filename.replace("\\", "/")).stem
    if _INLINE_IMAGE.fullmatch(stem):
        return {"signature"}  # Outlook's name for a logo in the sender's signature
    return {t.lower() for t in re.findall(r"[^\W\d_]+", stem)}


def _next_word(text: str, position: int) -> tuple[str, int, int] | None:
    """The word right after ``position``, if only spaces and light punctuation stand between."""
    found = _WORD.search(text, position)
    if found is None or text[position : found.start()].strip().strip(",'\"“”") != "":
        return None
    return found.group(), found.start(), found.end()


def _strip_possessive(word: str) -> str:
    return re.sub(r"['’]s$", "", word)


def _names(students: list[Person]) -> str:
    return ", ".join(s.display_name for s in students)
