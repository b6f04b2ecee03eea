"""How the content rules read a message: one normalised copy of its text, with a way back to the original.

Senders dodge keyword filters with capitals, accents, look-alike letters, invisible characters, leetspeak
(sh!t, a$$, 5h1t) and spaced-out letters (f u c k, s.h.i.t). ``normalise`` undoes all of that once per text
(the result is cached, so the eight rules share one pass), and every span a rule finds in the normalised
copy maps back to the exact characters the sender wrote: a finding's evidence is always a slice of
``Message.text``. Stretched letters ("fuuuck") are left in place for the word lists to read, so they move
no offsets.

Two copies are kept because numbers must survive: ``folded`` only evens out case, Unicode forms, accents and
look-alikes (phone numbers, grades and IDs are matched there), while ``canonical`` also decodes leetspeak and
joins spaced-out letters (words and phrases are matched there).
"""

from __future__ import annotations

import re
import unicodedata
from bisect import bisect_right
from dataclasses import dataclass
from functools import lru_cache

Edit = tuple[int, int, int, int]  # (out_start, out_end, src_start, src_end): out[a:b] replaced src[c:d]


@dataclass(frozen=True, slots=True)
class OffsetMap:
    """Where a derived text came from. Outside its edits the derived text runs in step with its source;
    a position inside an edit maps to the whole stretch of source it replaced."""

    edits: tuple[Edit, ...] = ()
    out_starts: tuple[int, ...] = ()

    @classmethod
    def of(cls, edits: list[Edit]) -> OffsetMap:
        return cls(tuple(edits), tuple(e[0] for e in edits))

    def start(self, pos: int) -> int:
        i = bisect_right(self.out_starts, pos) - 1
        if i < 0:
            return pos
        _, out_end, src_start, src_end = self.edits[i]
        if pos < out_end:
            return src_start
        return pos - out_end + src_end

    def end(self, pos: int) -> int:
        if pos <= 0:
            return pos
        i = bisect_right(self.out_starts, pos - 1) - 1
        if i < 0:
            return pos
        out_start, out_end, _, src_end = self.edits[i]
        if out_start < pos <= out_end:
            return src_end
        return pos - out_end + src_end


@dataclass(frozen=True, slots=True)
class View:
    """One normalised copy of the text and the maps (innermost first) that lead back to the original."""

    text: str
    maps: tuple[OffsetMap, ...] = ()

    def source(self, start: int, end: int) -> tuple[int, int]:
        for offset_map in self.maps:
            start, end = offset_map.start(start), offset_map.end(end)
        return start, max(start, end)  # an empty span next to a deleted character stays empty


# ---------------------------------------------------------------------------------------------------------
# Folding: one character at a time, through a translation table filled lazily as characters are first seen.

_PUNCTUATION = {
    "\u2018": "'",
    "\u2019": "'",
    "\u201a": "'",
    "\u201b": "'",
    "\u2032": "'",
    "\u00b4": "'",
    "\u02bc": "'",
    "\u201c": '"',
    "\u201d": '"',
    "\u201e": '"',
    "\u2033": '"',
    "\u00ab": '"',
    "\u00bb": '"',
    "\u2010": "-",
    "\u2011": "-",
    "\u2012": "-",
    "\u2013": "-",
    "\u2014": "-",
    "\u2015": "-",
    "\u2212": "-",
    "\u2026": ".",  # an ellipsis would otherwise become three characters and push every later offset
}

# Cyrillic and Greek letters that look Latin: the classic way to slip a word past a filter.
_LOOKALIKES = dict(
    zip(
        "аеорсухіјѕԁһԛԝɡαεικνορτυχϲ",
        "aeopcyxijsdhqwgaeikvoptuxc",
        strict=True,
    )
)

_MAX_TABLE = 65_536  # arbitrary text (fuzzing, attacks) must not grow the table without bound


def _fold_char(char: str) -> str:
    if char in _PUNCTUATION:
        return _PUNCTUATION[char]
    category = unicodedata.category(char)
    if category == "Cf" or category[0] == "M":
        return ""  # zero-width joiners, soft hyphens, stray combining marks
    decomposed = unicodedata.normalize("NFKD", char).casefold()
    decomposed = unicodedata.normalize("NFKD", decomposed)
    kept = (c for c in decomposed if unicodedata.category(c)[0] != "M")
    return "".join(_LOOKALIKES.get(c, c) for c in kept)


class _FoldTable(dict[int, str]):
    def __missing__(self, code: int) -> str:
        folded = _fold_char(chr(code))
        if len(self) < _MAX_TABLE:
            self[code] = folded
        return folded


_TABLE = _FoldTable()


_NON_ASCII = re.compile(r"[^\x00-\x7f]")


def fold(text: str) -> View:
    """Case, Unicode compatibility forms (fullwidth, math letters), accents, look-alikes, invisible marks."""
    if text.isascii():
        return View(text.lower())
    table = _TABLE
    irregular = {c for c in set(text) if ord(c) > 0x7F and len(table[ord(c)]) != 1}
    if not irregular:
        # Every character stays one character: fold the few non-ASCII ones, lower-case the rest.
        return View(_NON_ASCII.sub(lambda m: table[ord(m.group())], text).lower())
    pieces: list[str] = []
    edits: list[Edit] = []
    out = 0
    for i, char in enumerate(text):
        piece = table[ord(char)]
        if char in irregular:
            edits.append((out, out + len(piece), i, i + 1))
        pieces.append(piece)
        out += len(piece)
    return View("".join(pieces), (OffsetMap.of(edits),))


# ---------------------------------------------------------------------------------------------------------
# Canonical form: spaced-out letters joined, leetspeak decoded. (Stretched letters, "fuuuck", are left in
# place: the word lists read them, so no offset moves for them.)

_SPACERS = " .-_*·•~/"
# Three or more single characters with one and the same separator between them: "f u c k", "s.h.i.t".
_SPACED = re.compile(
    r"(?<![a-z0-9@$!'])[a-z0-9@$!](?P<sep>[ .\-_*·•~/]{1,2})[a-z0-9@$!](?![a-z0-9@$!'])"
    r"(?:(?P=sep)[a-z0-9@$!](?![a-z0-9@$!'])){1,}"
)
# Cheap tests first: a lone character between separators, twice ("x y z" or "f.u.c"), or at the start.
_SPACED_HINT = re.compile(r"[ .\-_*·•~/][a-z0-9@$!][ .\-_*·•~/]{1,2}[a-z0-9@$!][ .\-_*·•~/]")
_SPACED_START = re.compile(r"[a-z0-9@$!][ .\-_*·•~/]{1,2}[a-z0-9@$!][ .\-_*·•~/]")
_LEET_RUN = re.compile(r"[0-9@$!|]+")
_TOKEN_CHARS = frozenset("abcdefghijklmnopqrstuvwxyz0123456789@$!|")
_DIGIT_BEFORE_LETTER = re.compile(r"[0-9][a-z]")
# "4th", "10am", "3pm", "5k", "2nd": numbers with a unit are not leetspeak.
_NUMBER_WITH_UNIT = re.compile(
    r"[0-9]+(?:st|nd|rd|th|am|pm|s|k|m|x|d|g|h|kg|lb|lbs|mph|cm|mm|km|ft|in|min|mins|hr|hrs|gb|mb|yo|er|ers)"
)
_LEET = str.maketrans("0134578@$!|", "oieastbasil")
_LEET_ALTERNATE = str.maketrans("0134578@$!|", "oleastbasli")  # 1 and | are also "l"


def _join_spaced(text: str) -> tuple[str, list[Edit]]:
    if not (_SPACED_HINT.search(text) or _SPACED_START.match(text)) or not _SPACED.search(text):
        return text, []
    pieces: list[str] = []
    edits: list[Edit] = []
    last = 0
    out = 0
    for match in _SPACED.finditer(text):
        run = match.group()
        joined = "".join(c for c in run if c not in _SPACERS)
        if sum(c.isalpha() for c in joined) < 2:
            continue
        pieces.append(text[last : match.start()])
        out += match.start() - last
        edits.append((out, out + len(joined), match.start(), match.end()))
        pieces.append(joined)
        out += len(joined)
        last = match.end()
    pieces.append(text[last:])
    return "".join(pieces), edits


def _decode_leet(text: str) -> tuple[str, dict[tuple[int, int], str]]:
    """Same length in, same length out, so no offsets move. Returns the alternates for 1/| read as 'l'."""
    alternates: dict[tuple[int, int], str] = {}
    chars: list[str] | None = None
    done = 0
    size = len(text)
    for run in _LEET_RUN.finditer(text):
        start, end = run.start(), run.end()
        if start < done:
            continue
        touches_letter = (start > 0 and text[start - 1].isalpha()) or (end < size and text[end].isalpha())
        if not touches_letter:
            continue  # a number on its own: a time, a score, a phone number
        while start > 0 and text[start - 1] in _TOKEN_CHARS:
            start -= 1
        while end < size and text[end] in _TOKEN_CHARS:
            end += 1
        done = end
        token = text[start:end]
        if _NUMBER_WITH_UNIT.fullmatch(token):
            continue
        has_symbol = any(c in "@$!|" for c in token)
        if not has_symbol and not _DIGIT_BEFORE_LETTER.search(token):
            continue  # "a55", "b12": a room or a seat, not a word
        if token.endswith("!"):
            token = token.rstrip("!")  # "hell!" is emphasis, "sh!t" is a word
        if chars is None:
            chars = list(text)
        chars[start : start + len(token)] = token.translate(_LEET)
        if "1" in token or "|" in token:
            alternates[(start, start + len(token))] = token.translate(_LEET_ALTERNATE)
    return ("".join(chars) if chars is not None else text), alternates


_WORD = re.compile(r"[a-z0-9]+")
_SENTENCE_BREAK = re.compile(r"[.!?][\"')\]]*\s+|\n[ \t]*\n\s*|\n(?=[ \t]*[^a-z\s])")
_ABBREVIATION = re.compile(r"(?:^|\W)(?:mr|mrs|ms|dr|st|sr|sra|srta|prof|vs|e\.g|i\.e|a\.m|p\.m)\.$")


@dataclass(frozen=True, slots=True)
class NormalText:
    """A message text read once for every content rule."""

    original: str
    folded: View
    canonical: View
    words: frozenset[str]  # every canonical word: the cheap test of whether a pattern can match at all
    alternates: tuple[tuple[int, int, str], ...]  # canonical spans with a second leetspeak reading

    @property
    def sentences(self) -> tuple[tuple[int, int], ...]:
        """Sentence spans of the canonical text (computed on first use: not every rule needs them)."""
        return _sentences(self.canonical.text)

    def source(self, start: int, end: int) -> tuple[int, int]:
        """Canonical offsets to offsets into the original text."""
        return self.canonical.source(start, end)

    def sentence_around_source(self, position: int) -> tuple[int, int]:
        """The original-text span of the sentence holding original offset ``position``."""
        spans = _source_sentences(self)
        i = bisect_right(spans, (position, len(self.original) + 1)) - 1
        if i >= 0 and spans[i][0] <= position < spans[i][1]:
            return spans[i]
        return 0, len(self.original)

    def sentence_at(self, pos: int) -> tuple[int, int]:
        """The canonical span of the sentence holding canonical offset ``pos``."""
        sentences = self.sentences
        if not sentences:
            return (0, len(self.canonical.text))
        i = max(bisect_right(sentences, (pos, len(self.canonical.text) + 1)) - 1, 0)
        return sentences[i]


_last_source_sentences: list[tuple[NormalText, tuple[tuple[int, int], ...]]] = []


def _source_sentences(text: NormalText) -> tuple[tuple[int, int], ...]:
    """Sentence spans in the original text, kept for the text last asked about (the rules of one
    message ask many times in a row; a NormalText is not hashed, only compared by identity)."""
    cached = _last_source_sentences[:1]
    if cached and cached[0][0] is text:
        return cached[0][1]
    spans = tuple(text.source(start, end) for start, end in text.sentences)
    _last_source_sentences[:] = [(text, spans)]
    return spans


@lru_cache(maxsize=256)
def _sentences(text: str) -> tuple[tuple[int, int], ...]:
    spans: list[tuple[int, int]] = []
    start = 0
    for match in _SENTENCE_BREAK.finditer(text):
        end = match.start() + 1 if text[match.start()] in ".!?" else match.start()
        if text[match.start()] == "." and _ABBREVIATION.search(text[max(start, end - 7) : end]):
            continue  # "Ms. Reyes" does not end a sentence
        if text[start:end].strip():
            spans.append((start, end))
        start = match.end()
    if text[start:].strip():
        spans.append((start, len(text)))
    return tuple(spans)


@lru_cache(maxsize=256)
def normalise(text: str) -> NormalText:
    """The one reading of ``text`` every content rule shares (cached by the text itself)."""
    folded = fold(text)
    joined, join_edits = _join_spaced(folded.text)
    canonical, alternates = _decode_leet(joined)
    maps = ((OffsetMap.of(join_edits),) if join_edits else ()) + folded.maps
    return NormalText(
        original=text,
        folded=folded,
        canonical=View(canonical, maps),
        words=frozenset(_WORD.findall(canonical)),
        alternates=tuple((s, e, alt) for (s, e), alt in alternates.items()),
    )


def quote(text: str, limit: int = 80) -> str:
    """Evidence as a reason quotes it: whitespace collapsed, long spans cut with an ellipsis."""
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1].rstrip() + "…"
