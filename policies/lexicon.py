"""The reviewed word lists in ``policies/wordlists/``: loaded once from package data, matched word by word.

A list is a text file with one entry a line, ``term | tag tag``, ``#`` starting a comment. A term is
written as a person would (accents and capitals are folded on loading) and may use ``*`` at either end for
"any letters": ``fuck*`` also finds "fucking", ``*shit`` finds "bullshit", ``*fuck*`` finds
"motherfucker"; a term with spaces is a phrase ("piece of crap"). Each list's provenance and review note
is in ``wordlists/README.md``. ``unfolded`` reads a list's entries with their accents, for a rule that
compares words as written.

Matching works on the canonical text of ``policies.text``: whole words only ("assess" never contains
"ass"), and masked words ("f***ing", "sh*t", "b*tch") match the list's words their letters fit. The
scanned lists are searched together, once per message text, and the result is cached.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from functools import cache, lru_cache
from importlib import resources

from policies.text import NormalText, fold, normalise

# Lists matched against message words. The others (e-mail domains, name stop-words) are plain sets.
SCANNED = ("profanity", "insults", "slurs", "sexual", "substances", "platforms", "health")

_WORD = re.compile(r"[a-z0-9]+")  # as policies.text splits words
_MASKED = re.compile(r"[a-z*]*[a-z][a-z*]*")
_STRETCHED = re.compile(r"([a-z])\1\1+")
_MAX_CACHE = 100_000


@dataclass(frozen=True, slots=True)
class Term:
    text: str  # folded spelling; "*" at an end means "any letters there"
    listname: str
    tags: frozenset[str]


@dataclass(frozen=True, slots=True)
class WordHit:
    """A list term found in a text; ``start``/``end`` are canonical offsets (``NormalText.source`` maps)."""

    term: Term
    start: int
    end: int


def _entries(listname: str) -> Iterator[tuple[str, frozenset[str]]]:
    source = resources.files("policies").joinpath("wordlists", f"{listname}.txt")
    for raw in source.read_text(encoding="utf-8").splitlines():
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        term, _, tags = line.partition("|")
        yield term.strip(), frozenset(tags.split())


@cache
def wordlists_digest() -> str:
    """sha256 over every word list (name and bytes, in name order): what the rules matched against."""
    folder = resources.files("policies").joinpath("wordlists")
    digest = hashlib.sha256()
    for entry in sorted((e for e in folder.iterdir() if e.name.endswith(".txt")), key=lambda e: e.name):
        digest.update(entry.name.encode() + b"\0" + entry.read_bytes() + b"\0")
    return "sha256:" + digest.hexdigest()


@cache
def terms(listname: str) -> frozenset[str]:
    """A list as a plain set of folded entries (tags dropped)."""
    return frozenset(fold(term).text for term, _ in _entries(listname))


@cache
def tagged(listname: str) -> tuple[Term, ...]:
    return tuple(Term(fold(term).text, listname, tags) for term, tags in _entries(listname))


@cache
def unfolded(listname: str, tag: str) -> frozenset[str]:
    """The entries tagged ``tag``, lower-cased but not folded, for a rule that compares words with their
    accents ("él" is a pronoun, "el" an article)."""
    return frozenset(term.lower() for term, tags in _entries(listname) if tag in tags)


def _unstretched(word: str) -> tuple[str, str]:
    """'fuuuuck' -> ('fuck', 'fuuck'); 'helllll' -> ('hel', 'hell'): runs of three read as one or as two."""
    return _STRETCHED.sub(r"\1", word), _STRETCHED.sub(r"\1\1", word)


class Lexicon:
    """Several lists, indexed for one pass over a text's words."""

    def __init__(self, entries: Iterable[Term]) -> None:
        self._exact: dict[str, list[Term]] = {}
        self._prefix: dict[str, list[tuple[str, Term]]] = {}  # keyed by the stem's first three letters
        self._suffix: dict[str, list[tuple[str, Term]]] = {}  # keyed by the stem's last three letters
        self._inside: list[tuple[str, Term]] = []
        self._phrases: dict[
            str, list[tuple[re.Pattern[str], Term]]
        ] = {}  # keyed by the phrase's longest word
        self._maskable: list[tuple[str, bool, Term]] = []  # (word or stem, is_stem, term)
        self._cache: dict[str, tuple[Term, ...]] = {}
        self._misses: set[str] = set()  # words known to match nothing: skipped in one set operation
        for term in entries:
            self._add(term)
        self._phrase_keys = frozenset(self._phrases)
        stems = sorted({stem for stem, _ in self._inside}, key=len, reverse=True)
        self._inside_hint = re.compile("|".join(map(re.escape, stems))) if stems else None

    def _add(self, term: Term) -> None:
        text = term.text
        if " " in text or "-" in text or "'" in text:
            # "piece of crap" matches across spaces or hyphens; "f'ing" and "f-ing" need their apostrophe and
            # hyphen ("F in Physics" is a grade).
            pieces = re.split(r"([\s\-']+)", text)
            words = pieces[::2]
            tail = r"[a-z]*" if words[-1].endswith("*") else ""
            pattern = "".join(
                re.escape(piece.strip("*"))
                if i % 2 == 0
                else ("'" if "'" in piece else "-" if "-" in piece else r"[\s\-]+")
                for i, piece in enumerate(pieces)
            )
            regex = re.compile(r"(?<![a-z])" + pattern + tail + r"(?![a-z])")
            key = max((w for w in words if not w.endswith("*")), key=len, default=words[0].strip("*"))
            self._phrases.setdefault(key, []).append((regex, term))
            return
        starts, ends = text.startswith("*"), text.endswith("*")
        stem = text.strip("*")
        if starts and ends:
            self._inside.append((stem, term))
        elif ends:
            self._prefix.setdefault(stem[:3], []).append((stem, term))
        elif starts:
            self._suffix.setdefault(stem[-3:], []).append((stem, term))
        else:
            self._exact.setdefault(stem, []).append(term)
        if term.listname in ("profanity", "slurs") and not starts:
            self._maskable.append((stem, ends, term))

    def lookup(self, word: str) -> tuple[Term, ...]:
        """Every term one whole (canonical) word matches."""
        cached = self._cache.get(word)
        if cached is not None:
            return cached
        found = self._terms(word)
        if not found and _STRETCHED.search(word):
            for reading in _unstretched(word):
                found = found or self._terms(reading)
        result = tuple(dict.fromkeys(found))
        if len(self._cache) < _MAX_CACHE:
            self._cache[word] = result
            if not result:
                self._misses.add(word)
        return result

    def _terms(self, word: str) -> list[Term]:
        found: list[Term] = list(self._exact.get(word, ()))
        for stem, term in self._prefix.get(word[:3], ()):
            if word.startswith(stem):
                found.append(term)
        for stem, term in self._suffix.get(word[-3:], ()):
            if word.endswith(stem):
                found.append(term)
        if self._inside_hint is not None and self._inside_hint.search(word):
            found.extend(term for stem, term in self._inside if stem in word)
        return found

    def _masked(self, token: str) -> tuple[Term, ...]:
        """'f***ing' is 'fucking', 'a**hole' is 'asshole': stars stand for the letters they hide."""
        for word, is_stem, term in self._maskable:
            if len(token) < len(word) or (not is_stem and len(token) != len(word)):
                continue
            head, rest = token[: len(word)], token[len(word) :]
            if "*" in rest or not all(h in ("*", w) for h, w in zip(head, word, strict=True)):
                continue
            if head.count("*") < len(head):
                return (term,)
        return ()

    def scan(self, text: NormalText) -> tuple[WordHit, ...]:
        canonical = text.canonical.text
        matched = {}
        for word in text.words.difference(self._misses):
            found = self.lookup(word)
            if found:
                matched[word] = found
        hits: list[WordHit] = []
        if matched:
            for m in _WORD.finditer(canonical):
                for term in matched.get(m.group(), ()):
                    hits.append(WordHit(term, m.start(), m.end()))
        for key in text.words.intersection(self._phrase_keys):
            for regex, term in self._phrases[key]:
                hits.extend(WordHit(term, m.start(), m.end()) for m in regex.finditer(canonical))
        if "*" in canonical:
            hits.extend(self._scan_masked(canonical))
        for start, end, alternate in text.alternates:
            if not self.lookup(canonical[start:end]):
                hits.extend(WordHit(term, start, end) for term in self.lookup(alternate))
        hits.sort(key=lambda h: (h.start, -h.end))
        return tuple(hits)

    def _scan_masked(self, canonical: str) -> Iterator[WordHit]:
        for m in _MASKED.finditer(canonical):
            token = m.group()
            if "*" not in token or token.startswith("*") or len(token) < 3:
                continue  # "*really*" is emphasis, not a mask
            start = m.start()
            if token.count("*") == 1 and token.endswith("*"):
                continue  # "word*" is a footnote
            for term in self._masked(token):
                yield WordHit(term, start, start + len(token))


@lru_cache(maxsize=1)
def lexicon() -> Lexicon:
    """All scanned lists in one index."""
    return Lexicon(term for name in SCANNED for term in tagged(name))


@lru_cache(maxsize=256)
def word_hits(text: str) -> tuple[WordHit, ...]:
    """Every list term in ``text`` (cached by the text, so each rule filters the same scan)."""
    return lexicon().scan(normalise(text))


def hits_in(text: str, listname: str) -> list[WordHit]:
    return [hit for hit in word_hits(text) if hit.term.listname == listname]
