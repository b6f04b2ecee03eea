"""Phrase patterns for the content rules, and the evidence they turn into.

A phrase is a regular expression over the canonical text (lower case, no accents, leetspeak decoded) with
a few trigger words: it runs only when one of them occurs in the message, so a clean message costs the
rules a handful of set look-ups instead of a hundred regular-expression scans. Patterns are written as
plain lower-case text; a space stands for any run of white space (" ?" for an optional one), and
``%NAME%`` expands to one of the
shared word classes below ("%YOU_WILL%" is "you'll", "you will", "you're gonna", "ur going to" ...).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from policies.decision import Severity
from policies.rules import Hit
from policies.text import NormalText, quote

# Word classes: the ways people write the same few words in a hurry.
CLASSES = {
    "YOU": r"(?:you|u|ya|yourself|y'?all|you guys)",
    "YOUR": r"(?:your|ur|yer)",
    "YOURE": r"(?:you'?re|you are|youre|ur|u r|u are|you r)",
    "YOU_WILL": (
        r"(?:you'?ll|youll|you will|u'?ll|u will|you'?re (?:going to|gonna)|you are (?:going to|gonna)"
        r"|ur (?:going to|gonna)|u (?:going to|gonna)|you (?:going to|gonna))"
    ),
    "I_WILL": (
        r"(?:i'?ll|i will|i'?m (?:going to|gonna|about to)|i am (?:going to|gonna|about to)|imma|i'?ma"
        r"|i'?d|i would|i could|i can|i shall|we'?ll|we will|we'?re (?:going to|gonna))"
    ),
    "PARENTS": (
        r"(?:parents?|mom|moms|mum|mommy|mother|dad|dads|daddy|father|folks|family|guardians?|stepmom|stepdad"
        r"|grandma|grandpa|grandmother|grandfather|grandparents|aunt|uncle|mama|papa)"
    ),
    "OVERSIGHT": (
        r"(?:principal|admins?|administration|administrators?|the office|front office|counsel+ors?"
        r"|teachers?|coach|coaches|the school|school|the district|district|supervisors?|police|cops)"
    ),
    "PADRES": r"(?:papas|padres|mama|mami|papa|papi|madre|padre|familia|jefa|jefe|abuel[ao]s?|tios?|tias?)",
    "PERSON": r"(?:you|u|him|her|them|ya|y'?all|yall|yourself|everyone|everybody)",
}
_CLASS = re.compile(r"%([A-Z_]+)%")


def expand(pattern: str) -> str:
    """A readable pattern to a regular expression: word classes expanded, spaces made flexible."""
    expanded = _CLASS.sub(lambda m: CLASSES[m.group(1)], pattern)
    return expanded.replace(" ?", r"\s*").replace(" ", r"\s+")


def compile_pattern(pattern: str) -> re.Pattern[str]:
    return re.compile(r"(?<![a-z0-9])(?:" + expand(pattern) + r")(?![a-z0-9])")


@dataclass(frozen=True, slots=True)
class Phrase:
    label: str  # what the reviewer reads: "threat of physical harm"
    regex: re.Pattern[str]
    triggers: frozenset[str]  # at least one of these words must be in the text for the regex to run
    also: frozenset[str] = frozenset()  # and, when given, one of these too

    def may_match(self, words: frozenset[str]) -> bool:
        return not self.triggers.isdisjoint(words) and (not self.also or not self.also.isdisjoint(words))


def phrase(label: str, pattern: str, triggers: str, also: str = "") -> Phrase:
    """A phrase that can only match where one of ``triggers`` (and one of ``also``) occurs as a word."""
    return Phrase(label, compile_pattern(pattern), frozenset(triggers.split()), frozenset(also.split()))


class Phrases(tuple[Phrase, ...]):
    """A group of phrases with the union of their triggers: a clean message skips the group in one test."""

    triggers: frozenset[str]

    def __new__(cls, *phrases: Phrase) -> Phrases:
        group = super().__new__(cls, phrases)
        group.triggers = frozenset().union(*(p.triggers for p in phrases))
        return group


@dataclass(frozen=True, slots=True)
class Found:
    """A phrase or word found in the canonical text."""

    label: str
    start: int
    end: int


def find(phrases: Iterable[Phrase], text: NormalText) -> list[Found]:
    """Every match of the phrases whose trigger words occur in the text, as canonical spans."""
    canonical = text.canonical.text
    words = text.words
    found: list[Found] = []
    if isinstance(phrases, Phrases) and phrases.triggers.isdisjoint(words):
        return found
    for item in phrases:
        if not item.may_match(words):
            continue
        found.extend(Found(item.label, m.start(), m.end()) for m in item.regex.finditer(canonical))
    return found


def search(regex: re.Pattern[str], text: str, start: int = 0, end: int | None = None) -> bool:
    return regex.search(text, start, len(text) if end is None else end) is not None


def distinct(found: Sequence[Found]) -> list[Found]:
    """Overlapping finds reduced to the longest one at each place, in text order."""
    kept: list[Found] = []
    for item in sorted(found, key=lambda f: (f.start, -f.end)):
        if kept and item.start < kept[-1].end:
            continue
        kept.append(item)
    return kept


def hit(category: str, label: str, text: NormalText, found: Found, severity: Severity) -> Hit:
    """A rule hit for a canonical span: its evidence is exactly what the sender wrote."""
    start, end = text.source(found.start, found.end)
    return evidence_hit(category, label, text.original, start, end, severity)


def evidence_hit(category: str, label: str, original: str, start: int, end: int, severity: Severity) -> Hit:
    """A hit for ``original[start:end]`` whose reason quotes it: "threat: 'I know where you live'"."""
    reason = f"{category}: '{quote(original[start:end])}'" + (f" ({label})" if label else "")
    return Hit(reason=reason, severity=severity, start=start, end=end)
