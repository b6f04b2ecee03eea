"""Splitting what the sender wrote from the quoted history, so the rules hold the sender to their own
words and read the history only as context. History is ">" lines, and everything from an attribution
("On … wrote:"), an Outlook header block or a forward marker onward, in English, Spanish, French,
Portuguese and German; each pattern is searched about once per text, so a message full of markers stays
linear.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from enum import Enum


class _Marker(Enum):
    ATTRIBUTION = "attribution"  # "On … wrote:": quotes the ">" lines after it, if any, else the rest
    HISTORY = "history"  # an Outlook header block or a forward: the rest is not the sender's words


_ATTRIBUTION = re.compile(
    r"^[ \t]*(?:On|El|Le|Em|Am)[ \t][^\n]{0,400}?(?:\n[^\n]{0,400}?){0,2}?"
    r"(?:wrote|escribió|escribio|a écrit|escreveu|schrieb)\b[^\n]{0,200}?:[ \t]*$",
    re.MULTILINE,
)
_ORIGINAL = re.compile(
    r"^[ \t]*-{2,}[ \t]*(?:Original Message|Mensaje original|Message d'origine|Mensagem original"
    r"|Forwarded message|Mensaje reenviado|Message transféré|Mensagem encaminhada)[ \t]*-{2,}[^\n]*$"
    r"|^[ \t]*(?:Begin forwarded message|Inicio del mensaje reenviado):[ \t]*$",
    re.MULTILINE | re.IGNORECASE,
)
_OUTLOOK_BLOCK = re.compile(
    r"^(?:[ \t]*_{8,}[ \t]*\n(?:[ \t]*\n)*)?[ \t]*\*?(?:From|De|Von)\*?:[^\n]{1,300}?"
    r"(?:\n[^\n]{0,300}?){0,2}?\b(?:Sent|Enviado|Envoyé|Gesendet)\*?:",
    re.MULTILINE,
)


# Words each pattern cannot match without. Checking for them first is much cheaper than the search
# (a multi-line "^" is tried at every position), and most messages have no history at all.
_ATTRIBUTION_WORDS = ("wrote", "escrib", "a écrit", "escreveu", "schrieb")
_ORIGINAL_WORDS = tuple(
    phrase.casefold()
    for phrase in (
        "Original Message",
        "Mensaje original",
        "Message d'origine",
        "Mensagem original",
        "Forwarded message",
        "Mensaje reenviado",
        "Message transféré",
        "Mensagem encaminhada",
        "Begin forwarded message",
        "Inicio del mensaje reenviado",
    )
)
_OUTLOOK_WORDS = ("Sent", "Enviado", "Envoy", "Gesendet")


def _may_hold(pattern: re.Pattern[str], text: str) -> bool:
    if pattern is _ATTRIBUTION:
        return any(word in text for word in _ATTRIBUTION_WORDS)
    if pattern is _ORIGINAL:
        folded = text.casefold()
        return any(phrase in folded for phrase in _ORIGINAL_WORDS)
    return any(word in text for word in _OUTLOOK_WORDS)


_PATTERNS = (
    (_ATTRIBUTION, _Marker.ATTRIBUTION),
    (_ORIGINAL, _Marker.HISTORY),
    (_OUTLOOK_BLOCK, _Marker.HISTORY),
)


@dataclass
class _Markers:
    """The next history marker at or after a position. Each pattern's next match is remembered, so a
    text with many markers is still searched about once per pattern."""

    text: str
    found: dict[re.Pattern[str], re.Match[str] | None] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for pattern, _ in _PATTERNS:
            if not _may_hold(pattern, self.text):
                self.found[pattern] = None

    def next(self, pos: int) -> tuple[int, int, _Marker] | None:
        best: tuple[int, int, _Marker] | None = None
        for pattern, kind in _PATTERNS:
            match = self.next_match(pattern, pos)
            if match is not None and (best is None or match.start() < best[0]):
                best = (match.start(), match.end(), kind)
        return best

    def next_match(self, pattern: re.Pattern[str], pos: int) -> re.Match[str] | None:
        if pattern in self.found:
            match = self.found[pattern]
            if match is None or match.start() >= pos:
                return match
        match = pattern.search(self.text, pos)
        while match is not None and not _plausible(match):
            match = pattern.search(self.text, match.start() + 1)
        self.found[pattern] = match
        return match


def _plausible(match: re.Match[str]) -> bool:
    """An attribution names a date (a digit) and, when wrapped over lines, an address: "On Monday the
    class wrote:" is the sender's own sentence, and so is a short line before a real attribution."""
    if match.re is not _ATTRIBUTION:
        return True
    span = match.group()
    *wrapped, _ = span.split("\n")  # a client wraps a long line: what comes before a break is long
    return any(c.isdigit() for c in span) and (not wrapped or ("@" in span and min(map(len, wrapped)) >= 30))


def _split_quoted_lines(segment: str, body: list[str], quoted: list[str]) -> None:
    if ">" not in segment:
        body.append(segment)
        return
    for line in segment.split("\n"):
        (quoted if line.lstrip(" \t").startswith(">") else body).append(line)


def _quote_follows(text: str, pos: int) -> bool:
    rest = text[pos : pos + 1000].lstrip()
    return rest.startswith(">")


_BLANK_LINES = re.compile(r"\n[ \t]*(?:\n[ \t]*)+\n")


def _tidy(text: str) -> str:
    return _BLANK_LINES.sub("\n\n", text).strip()


def split_history(text: str) -> tuple[str, str]:
    """(what the sender wrote, the quoted history): ">" lines, and from an attribution ("On … wrote:",
    "El … escribió:"), an Outlook "-----Original Message-----" or "From: … Sent: …" block, or a forward
    marker onward. An attribution followed by ">" lines quotes only those, so an answer written below
    the quote (bottom-posting) stays the sender's. Signatures stay in the body."""
    body: list[str] = []
    quoted: list[str] = []
    markers = _Markers(text)
    pos = 0
    while (marker := markers.next(pos)) is not None:
        start, end, kind = marker
        _split_quoted_lines(text[pos:start], body, quoted)
        if kind is _Marker.ATTRIBUTION and _quote_follows(text, end):
            quoted.append(text[start:end])
            pos = end
            continue
        quoted.append(text[start:])
        pos = len(text)
        break
    _split_quoted_lines(text[pos:], body, quoted)
    return _tidy("\n".join(body)), _tidy("\n".join(quoted))
