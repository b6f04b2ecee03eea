"""Personal channels written around the patterns: a number spelled out in words, an address written
"name at gmail dot com", a handle given with "add me" and no platform's name (or only its ghost 👻).

Helpers of ``channel.personal_content`` (no rule of their own): each reads the folded text and says where
it found what, in folded offsets (``NormalText.folded.source`` maps them back). Leetspeak and spaced
letters ("sn4pch4t", "s n a p c h a t") are already undone by ``policies.text`` before any pattern reads.
"""

from __future__ import annotations

import re

from policies.patterns import Found

# Digits as people spell them, in English and Spanish, and the digit each one is.
_DIGIT_OF = {
    **{word: str(i) for i, word in enumerate("zero one two three four five six seven eight nine".split())},
    **{word: str(i) for i, word in enumerate("cero uno dos tres cuatro cinco seis siete ocho nueve".split())},
    "oh": "0", "o": "0", "una": "1",
}  # fmt: skip
_DIGIT_WORDS = "|".join(_DIGIT_OF)
# Seven or more digits, at least three of them spelled out, with spaces, commas, dots or dashes between.
_SPELLED_NUMBER = re.compile(
    rf"(?<![a-z0-9])(?:(?:{_DIGIT_WORDS}|\d)(?:[\s,.\-]{{1,3}}|(?=\d))){{6,}}(?:{_DIGIT_WORDS}|\d)(?![a-z0-9])"
)
_SPELLED_WORD = re.compile(rf"(?<![a-z0-9])(?:{_DIGIT_WORDS})(?![a-z0-9])")
_DIGIT_TOKEN = re.compile(rf"{_SPELLED_WORD.pattern}|\d")
# Each pattern here begins by looking behind, so the regex engine tries it at every character; a text with
# none of its words anywhere (most texts) is answered by a plain search for them (``..._ANYWHERE``), which
# skips ahead to the characters they can begin with. Every match of a pattern contains one of its words.
_CUES = (
    r"text|call|cell|phone|number|num|#|whatsapp|signal|reach|llam\w*|numero|cel|celular|escrib\w*|manda\w*"
)
_NUMBER_CUE = re.compile(rf"(?<![a-z0-9])(?:{_CUES})(?![a-z0-9])")
_CUE_ANYWHERE = re.compile(_CUES)
_PERSONAL_MAIL = "gmail|yahoo|hotmail|outlook|icloud|aol|protonmail|proton|live|msn|ymail|me"
# Seen before the address regex runs: a mail service's name, or a dot spelled out.
_MAIL_WORD = re.compile("gmail|yahoo|hotmail|outlook|icloud|aol|protonmail|proton|ymail|msn|dot|punto")
_SPELLED_ADDRESS = re.compile(
    rf"(?<![a-z0-9])[a-z0-9][a-z0-9._-]{{1,40}}\s*(?:\(?\s*(?:at|arroba)\s*\)?|\[at\]|@)\s*"
    rf"(?:{_PERSONAL_MAIL})\s*(?:\(?\s*(?:dot|punto)\s*\)?|\[dot\]|\.)\s*(?:com|net|org)(?![a-z0-9])"
)
_INVITATIONS = (
    "add me|follow me|find me|dm me|hit me up|look me up|friend me|agregame|agregueme|sigueme|sigame|buscame"
    "|busqueme"
)
_INVITING = re.compile(rf"(?<![a-z0-9])(?:{_INVITATIONS})(?![a-z0-9])|👻")
_INVITING_ANYWHERE = re.compile(f"{_INVITATIONS}|👻")
# A handle: letters with digits, dots or underscores (coach.o_22, msreyes_bio), not a word, time or address.
_HANDLE_SHAPE = re.compile(
    r"(?<![\w@./])@?([a-z][a-z0-9]*[._][a-z0-9._]*[a-z0-9]|[a-z]+\d{2,}[a-z0-9]*)(?![\w@]|\.\w)"
)
_SENTENCE_WINDOW = 120  # characters around an invitation where the handle may stand
_WEB_ENDINGS = ("com", "org", "net", "edu", "gov")
# Private messaging apps whose names are everyday words ("signal", "line"): only as a place to talk.
_PRIVATE_APPS = "signal|telegram|line|session|wickr|threema|kik|viber|groupme"
_APP_INVITE = re.compile(
    r"(?<![a-z0-9])(?:message|text|msg|dm|hit|reach|find|add|call|write|chat with|talk to|escribeme|escribame"
    rf"|mandame|mandeme|hablame|hableme) me (?:on|in|via|through|by|en|por) (?:{_PRIVATE_APPS})(?![a-z0-9])"
)
_PRIVATE_APP_ANYWHERE = re.compile(_PRIVATE_APPS)


def spelled_numbers(folded: str, official_numbers: frozenset[str] = frozenset()) -> list[Found]:
    """Phone numbers spelled out ("three one two, five five five, oh one four four") beside a word that
    says it is a number to use; counting drills and scores have no such word. The district's own numbers
    (``official_numbers``, digits with or without the country code) spelled out are not personal."""
    if not _CUE_ANYWHERE.search(folded):
        return []
    found = []
    for match in _SPELLED_NUMBER.finditer(folded):
        if len(_SPELLED_WORD.findall(match.group())) < 3:
            continue  # written in digits: the number patterns read those
        digits = "".join(_DIGIT_OF.get(t, t) for t in _DIGIT_TOKEN.findall(match.group()))
        if len(digits) >= 7 and any(number.endswith(digits[-10:]) for number in official_numbers):
            continue
        nearby = folded[max(0, match.start() - 60) : match.end() + 30]
        if _NUMBER_CUE.search(nearby):
            found.append(Found("a phone number spelled out in words", match.start(), match.end()))
    return found


def spelled_addresses(folded: str) -> list[Found]:
    """A personal address written so that no address pattern sees it: "dana.reyes at gmail dot com"."""
    if not _MAIL_WORD.search(folded):
        return []  # a mail service is named, or a dot spelled out, somewhere at least
    return [
        Found("a personal e-mail address written out", m.start(), m.end())
        for m in _SPELLED_ADDRESS.finditer(folded)
    ]


def app_invitations(folded: str) -> list[Found]:
    """ "Message me on Signal": a private app named by a word the platform list treats as everyday."""
    if not _PRIVATE_APP_ANYWHERE.search(folded):
        return []
    return [
        Found("an invitation to a private messaging app", m.start(), m.end())
        for m in _APP_INVITE.finditer(folded)
    ]


def bare_handles(folded: str, official_accounts: frozenset[str]) -> list[Found]:
    """A handle offered with "add me", "find me", "follow me" (or Snapchat's ghost) but no platform named."""
    if not _INVITING_ANYWHERE.search(folded):
        return []
    found = []
    for invite in _INVITING.finditer(folded):
        start = max(0, invite.start() - _SENTENCE_WINDOW // 2)
        window = folded[start : invite.end() + _SENTENCE_WINDOW]
        for handle in _HANDLE_SHAPE.finditer(window):
            name = handle.group(1)
            if name in official_accounts or name.rsplit(".", 1)[-1] in _WEB_ENDINGS:
                continue
            found.append(Found("a personal handle offered", start + handle.start(), start + handle.end()))
            break
    return found
