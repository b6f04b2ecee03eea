"""Walking the parsed MIME tree in document order: every part a mail client may show is read — each
alternative of a multipart/alternative, every text/* part (an attached one is listed as an attachment
too), an attached message as quoted history — and every other part becomes an attachment with its
filename, type and size. The walk is bounded in depth, in parts and in characters read; whatever a bound
leaves unread is named in ``unread`` (the message is then held, never delivered unread), and an
unreadable part never hides the others: it is recorded as an attachment of unknown size.
"""

from __future__ import annotations

import functools
import mimetypes
import re
from dataclasses import dataclass, field
from email import errors
from email.message import Message as MimePart
from enum import Enum

from gateway.reading.charsets import _clean, _decode, _header_text, _one_line, _raw_bytes
from gateway.reading.html_text import _markup_text, without_comments
from gateway.reading.limits import FILENAME_LIMIT, MAX_DEPTH, MAX_PARTS, TEXT_LIMIT
from gateway.reading.quoting import _tidy, split_history
from gateway.reading.sniffing import attachment_of, inline_pictures
from policies.message import Attachment

_READ_LIMIT = 2 * TEXT_LIMIT  # characters of all text parts we read; markup counts twice (it costs so)


class _Into(Enum):
    BODY = "body"  # the sender's text (its quoted history split off)
    QUOTED = "quoted"  # an attached message: context, not the sender's words


@dataclass
class _TextBudget:
    pieces: list[str] = field(default_factory=list)
    size: int = 0

    @property
    def room(self) -> int:
        return max(TEXT_LIMIT - self.size, 0)

    def add(self, text: str) -> None:
        text = text[: self.room]
        if text:
            self.pieces.append(text)
            self.size += len(text) + 2

    def text(self) -> str:
        return _tidy("\n\n".join(self.pieces))[:TEXT_LIMIT]


@dataclass
class _Reading:
    subject: str = ""
    body: _TextBudget = field(default_factory=_TextBudget)
    quoted: _TextBudget = field(default_factory=_TextBudget)
    attachments: list[Attachment] = field(default_factory=list)
    urgent: str | None = None
    pictured: tuple[str, ...] = ()
    unread: int = _READ_LIMIT  # characters text parts may still feed the splitter and HTML parser
    skipped: set[str] = field(default_factory=set)  # what a bound left unread, said for the reviewer
    read_before: set[int] = field(default_factory=set)

    def add_text(self, text: str, into: _Into) -> None:
        # Alternatives usually say the same thing twice (plain and HTML): the same words are read once.
        same = hash(" ".join(text.split()))
        if same in self.read_before:
            return
        self.read_before.add(same)
        if into is _Into.BODY:
            new, history = split_history(text)
            self.body.add(new)
            self.quoted.add(history)
        elif into is _Into.QUOTED:
            self.quoted.add(_tidy(text))

    def add_part(self, part: MimePart, into: _Into) -> None:
        """Read a text part within what is left of the body or quoted budget and of ``_READ_LIMIT``."""
        budget = self.body if into is _Into.BODY else self.quoted
        markup = part.get_content_type() == "text/html"
        weight = 2 if markup else 1  # html.parser costs about twice what the splitter does per character
        allowance = self.unread // weight if markup else min(self.unread, budget.room)
        data = _payload(part)
        if data is None:
            return
        if allowance <= 0 or budget.room <= 0:
            if data.strip():
                self.skipped.add("text beyond the reading budget")
            return
        # Room for filler: comments and runs of blank space are dropped before the budget applies, so a
        # megabyte of either cannot push the text out of reach. 4 bytes a character at most in UTF-8.
        limit = 4 * (allowance + _FILLER_ALLOWANCE)
        label = _param(part, "charset", "content-type")
        decoded = _clean(_decode(data[:limit], label, complete=len(data) <= limit))
        if markup:
            decoded = without_comments(decoded)
            self.attachments.extend(inline_pictures(decoded))
        decoded = _BLANK_RUN.sub(_one_blank, decoded)
        if len(data) > limit or len(decoded) > allowance:
            self.skipped.add("text beyond the reading budget")
        text = decoded[:allowance]
        self.unread -= weight * len(text)
        self.add_text(_clean(_markup_text(text)) if markup else text, into)


_FILLER_ALLOWANCE = 4 * TEXT_LIMIT  # characters of filler a part may carry besides its text
# What is squeezed: blank lines with the spaces around them, and runs of three or more spaces or tabs
# ("[ \t]*\n[ \t\n]*\n[ \t\n]*|[ \t]{3,}", as tests/test_reading.py says it). Written to begin with a
# character class, so that the regex engine skips to the next space or newline instead of trying the
# pattern at every character (a 2 KB part: 50 µs -> 6 µs); the character it begins with says which run.
_BLANK_RUN = re.compile(
    r"[ \t\n](?:(?<=\n)[ \t\n]*\n[ \t\n]*"  # a newline, then a blank line
    r"|(?<=[ \t])(?:[ \t]*\n[ \t\n]*\n[ \t\n]*"  # spaces, then a blank line
    r"|[ \t]{2,}))"  # three spaces or tabs, or more
)


def _one_blank(run: re.Match[str]) -> str:
    return "\n\n" if "\n" in run.group() else " "


def _param(part: MimePart, name: str, header: str) -> str | None:
    value = part.get_param(name, None, header)
    if value is None:
        return None
    if isinstance(value, tuple):  # RFC 2231: (charset, language, percent-decoded value)
        label, _, text = value
        return _decode(_raw_bytes(str(text)), label)
    return _header_text(str(value))


def _filename(part: MimePart) -> str:
    name = _param(part, "filename", "content-disposition") or _param(part, "name", "content-type") or ""
    return _one_line(name, FILENAME_LIMIT)


@functools.cache
def _builtin_types() -> mimetypes.MimeTypes:
    return mimetypes.MimeTypes()  # Python's own table, not the host's, so a reading is reproducible


def _content_type(part: MimePart, filename: str) -> str:
    """The declared type, lower-cased; a missing, malformed or generic one is guessed from the filename,
    because a client opens "photo.jpg" sent as application/octet-stream as a photo."""
    declared = _clean(str(part.get("content-type", ""))).split(";", 1)[0].strip().lower()
    kind, slash, subtype = declared.partition("/")
    if kind and slash and subtype and "/" not in subtype and declared != "application/octet-stream":
        return declared
    guessed = _builtin_types().guess_type(filename, strict=False)[0] if filename else None
    return guessed.lower() if guessed else _clean(part.get_content_type())


def _is_text(part: MimePart) -> bool:
    """A part a client may show as text: any text/* (markdown, enriched, csv...), and a multipart that
    could not be split (no boundary). The rules must see what the recipient sees."""
    ctype = part.get_content_type()
    return ctype.startswith(("text/", "multipart/"))


def _is_attached(part: MimePart) -> bool:
    return part.get_content_disposition() == "attachment" or bool(_filename(part))


def _payload(part: MimePart) -> bytes | None:
    """The decoded payload, or None when it cannot be decoded."""
    data = part.get_payload(decode=True)
    if not isinstance(data, bytes):
        return None
    kinds = {type(defect) for defect in part.defects}
    if errors.InvalidBase64LengthDefect in kinds or (
        errors.InvalidBase64CharactersDefect in kinds and not data
    ):
        return None  # nothing but garbage; stray characters in good base64 still give a size
    return data


def _children(part: MimePart) -> list[MimePart]:
    payload = part.get_payload()
    return [child for child in payload if isinstance(child, MimePart)] if isinstance(payload, list) else []


def _routes(part: MimePart, children: list[MimePart], into: _Into, reading: _Reading) -> list[_Into]:
    """Where each child's text goes. An attached message is itself an attachment, and context."""
    ctype = part.get_content_type()
    if ctype.startswith("message/"):
        filename = _filename(part)
        reading.attachments.append(Attachment(filename, _content_type(part, filename), None))
        return [_Into.QUOTED] * len(children)
    # Every alternative is read: which one a client shows is the client's choice, and a harmless plain
    # part beside a threatening HTML one must not pass.
    return [into] * len(children)


def _read_leaf(part: MimePart, into: _Into, reading: _Reading) -> bool:
    """Read a part's text and/or record it as an attachment; whether it was an attachment."""
    if _is_text(part):
        reading.add_part(part, into)
        if not _is_attached(part):
            return False
    data = _payload(part)
    filename = _filename(part)
    reading.attachments.extend(attachment_of(filename, _content_type(part, filename), data))
    return True


def _walk(root: MimePart, reading: _Reading, *, truncated: bool) -> None:
    """Read every part in document order. The parser was cut inside the last part if ``truncated``."""
    stack: list[tuple[MimePart, int, _Into]] = [(root, 0, _Into.BODY)]
    last_leaf_attached = False
    walked = 0
    while stack and walked < MAX_PARTS:
        part, depth, into = stack.pop()
        walked += 1
        try:
            if not part.is_multipart():
                last_leaf_attached = _read_leaf(part, into, reading)
            elif depth >= MAX_DEPTH:
                reading.skipped.add(f"MIME parts nested deeper than {MAX_DEPTH}")
            else:
                children = _children(part)
                routes = _routes(part, children, into, reading)
                stack.extend(
                    (child, depth + 1, route)
                    for child, route in zip(children[::-1], routes[::-1], strict=True)
                )
        except Exception:  # one unreadable part must not hide the others; say something was there
            reading.attachments.append(Attachment("", "application/octet-stream", None))
    if stack:
        reading.skipped.add(f"more than {MAX_PARTS} MIME parts")
    if truncated:
        reading.skipped.add("a message too large or too complex to read whole")
    if truncated and not stack and last_leaf_attached:
        cut = reading.attachments[-1]
        reading.attachments[-1] = Attachment(cut.filename, cut.content_type, None)
