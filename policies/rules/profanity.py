"""Profanity: obscene, profane or vulgar words, in English and Spanish, however they are disguised.

The words and how strong each is are in ``wordlists/profanity.txt``. Severity tells the pack what to do:
a mild word not aimed at anyone ("the damn copier", "el maldito portal") is LOW, which the default pack
only flags between adults; strong words ("what the f***") are MEDIUM; profanity aimed at a person ("don't
be a dumbass", "get your ass out here", "jugó como un pendejo") is HIGH, or MEDIUM for a mild word.
Seeds 001 and 002: employees shall not use obscene, profane or vulgar language.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from policies.context import Context
from policies.decision import Severity
from policies.lexicon import WordHit, hits_in
from policies.message import Message
from policies.patterns import Found, distinct, hit
from policies.rules import Hit
from policies.text import NormalText, normalise

# Aimed at the reader: "your ass", "you dumbass", "go to hell", "vete a la ..."
_AIMED_BEFORE = re.compile(
    r"(?:\byour|\bur|\byo|\bu|\byou|\bya|\bgo to|\bat you|\btu|\bte|\bsu|\busted|\bvete a la"
    r"|\bvete al)\s+(?:(?:big|fat|lazy|little|sorry|stupid|dumb|own)\s+)?$"
)
_AIMED_AFTER = re.compile(
    r"^\s*(?:you\b|u\b|ya\b|yourself\b|off\b|up yours|te\b|usted\b|were you\b|are you\b|is wrong with you"
    r"|did you\b|do you\b)"
)
# Names and idioms that only look profane: "Dick's Sporting Goods", "Hell Week", "pussy willow".
_EXCUSED_AFTER = {
    "hell": re.compile(r"^'?s? (?:week|kitchen)\b"),
    "pussy": re.compile(r"^ (?:willow|cat)"),
    "cock": re.compile(r"^-?a-?doodle"),
    "pinche": re.compile(r"^ de cocina"),
}
_PROPER_NOUN_WORDS = frozenset({"dick", "dicks", "cock", "hell"})


def _excused(text: NormalText, word: WordHit) -> bool:
    canonical = text.canonical.text
    token = canonical[word.start : word.end]
    after = canonical[word.end : word.end + 20]
    rule = _EXCUSED_AFTER.get(token)
    if rule is not None and rule.search(after):
        return True
    start, end = text.source(word.start, word.end)
    written = text.original[start:end]
    abbreviation = text.original[end : end + 2].startswith((".", "'t", "’t"))
    if written.lower() == "ass" and written[:1].isupper() and abbreviation:
        return True  # "Ass. Principal", "Ass't Principal": an abbreviation of assistant
    if token in _PROPER_NOUN_WORDS and written[:1].isupper():
        before = text.original[max(0, start - 3) : start]
        return bool(before.strip()) and not re.search(r"[.!?]\s*$|^\s*$", before)  # a name mid-sentence
    return False


def _aimed(text: NormalText, word: WordHit) -> bool:
    if "insult" in word.term.tags:
        return True
    canonical = text.canonical.text
    before = canonical[max(0, word.start - 30) : word.start]
    after = canonical[word.end : word.end + 25]
    return bool(_AIMED_BEFORE.search(before) or _AIMED_AFTER.search(after))


def severity_of(word: WordHit, aimed: bool) -> Severity:
    strong = "strong" in word.term.tags
    if aimed:
        return Severity.HIGH if strong else Severity.MEDIUM
    return Severity.MEDIUM if strong else Severity.LOW


class ProfanityRule:
    id = "content.profanity"
    category = "profanity"
    description = "Obscene, profane or vulgar language, including masked and spaced-out forms."

    def __init__(self, options: None = None) -> None:
        del options

    def check(self, message: Message, context: Context) -> Iterable[Hit]:
        words = hits_in(message.text, "profanity")
        if not words:
            return []
        text = normalise(message.text)
        by_span = {(w.start, w.end): w for w in words}
        hits: list[Hit] = []
        for found in distinct([Found("", w.start, w.end) for w in words]):
            word = by_span[(found.start, found.end)]
            if _excused(text, word):
                continue
            aimed = _aimed(text, word)
            label = "aimed at a person" if aimed else ""
            hits.append(hit(self.category, label, text, found, severity_of(word, aimed)))
        return hits
