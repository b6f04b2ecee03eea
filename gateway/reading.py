"""Reading a received e-mail or text message into the ``Message`` the policy rules see.

The reader must answer for any bytes a client can send, so it never raises and its cost is bounded by the
size of the input, not by its shape:

- The MIME parser is the stdlib's, with a bounded Compat32 policy rather than ``email.policy.default``:
  the default policy's header parser is quadratic (a 96 KB Content-Type of comments took 95 s on Python
  3.11.7) and the parser itself calls it for every part, so no later limit could help.
- The parser's cost grows with lines times multipart nesting (300 levels around 1 M lines took 25 s), so
  it reads only the prefix of the message that fits a fixed budget; a message cut there reports its last
  part's size as unknown.
- html.parser is quadratic on unclosed constructs (30 000 ``<a `` took 31 s), so markup is defused first:
  every ``<`` that does not close within a short window becomes text.
- Text is capped at ``TEXT_LIMIT`` characters for the body and again for the quoted history.

Header fields are decoded here (RFC 2047 words, raw 8-bit UTF-8) and charsets are looked up with care:
a label can name a codec that is not a text encoding, or one that is quadratic (punycode).
"""

from __future__ import annotations

import binascii
import codecs
import contextlib
import functools
import mimetypes
import re
from dataclasses import dataclass, field
from datetime import datetime
from email import errors
from email.message import Message as MimePart
from email.parser import BytesParser
from email.policy import Compat32
from enum import Enum
from html import unescape
from html.parser import HTMLParser

from policies.message import Attachment, Message, Party

TEXT_LIMIT = 1_000_000  # characters of body, and separately of quoted history, the rules get
SUBJECT_LIMIT = 1_000
URGENT_LIMIT = 200
FILENAME_LIMIT = 255
MAX_DEPTH = 32  # MIME nesting we walk; deeper parts are ignored
MAX_PARTS = 500  # MIME parts we walk; later parts are ignored
MAX_PICTURED = 100

# The parser's work, in units of about 0.1 µs (measured): a line costs 3 plus one per boundary it is
# tested against, a header field about 40 more, a part about 400 more. A legitimate 25 MB message
# (330 000 base64 lines, a dozen multiparts) needs about 5 M; the budget is about a second.
_PARSE_BUDGET = 10_000_000
_LINE_COST = 3
_HEADER_COST = 40
_PART_COST = 400
_MAX_NESTINGS = 100  # multipart and message/* declarations the parser may see
_MAX_DECOYS = 10_000  # "boundary" words we look at to find the declarations among them
_BUDGET_CHUNK = 1 << 14
_HEADER_CHARS = 4_096  # of one header field, as the parser and we see it
_MAX_PARAMS = 64  # of one Content-* field: Message.get_param is quadratic in them
_READ_LIMIT = 2 * TEXT_LIMIT  # characters of all text parts we read; markup counts twice (it costs so)
_TAG_WINDOW = 4_096  # a tag, comment or marked section must close within this many characters
_HREF_LIMIT = 2_048
# Quadratic pure-Python codecs, and escape codecs (no mailer's charset) that warn on every bad escape.
_CODEC_DENIED = frozenset({"idna", "punycode", "unicode-escape", "raw-unicode-escape"})
_CODEC_GUESSED = frozenset({"ascii", "iso8859-1"})  # labels that usually mean UTF-8 or windows-1252


# --- MIME parsing within a budget -----------------------------------------------------------------


class _BoundedHeaders(Compat32):
    """Compat32 that shows the parser and us at most ``_HEADER_CHARS`` of a field, raw (8-bit kept as
    surrogates, decoded in ``_header_text``) and with at most ``_MAX_PARAMS`` parameters."""

    def header_fetch_parse(self, name: str, value: str) -> str:
        value = value[:_HEADER_CHARS]
        if name.lower().startswith("content-") and value.count(";") > _MAX_PARAMS:
            cut = -1
            for _ in range(_MAX_PARAMS + 1):
                cut = value.index(";", cut + 1)
            value = value[:cut]
        return value


_POLICY = _BoundedHeaders()
_BOUNDARY_PARAM = re.compile(rb"[ \t]*\*?[0-9]*\*?[ \t]*=")


def _nestings(raw: bytes) -> tuple[list[int], int]:
    """Where multiparts (a boundary parameter) and message/* parts may be declared, in order, and how far
    that is known: the parser may not read past the ``_MAX_NESTINGS``-th, nor past ``_MAX_DECOYS``
    "boundary" words (finding the declarations among more would itself cost too much)."""
    lowered = raw.lower()
    nestings: list[int] = []
    known = len(raw)
    for needle in (b"boundary", b"message/"):
        found = looked = 0
        at = lowered.find(needle)
        while at >= 0 and found <= _MAX_NESTINGS:
            looked += 1
            if looked > _MAX_DECOYS:
                known = min(known, at)
                break
            if needle == b"message/" or _BOUNDARY_PARAM.match(lowered, at + len(needle)):
                nestings.append(at)
                found += 1
            at = lowered.find(needle, at + 1)
    nestings.sort()
    if len(nestings) > _MAX_NESTINGS:
        known = min(known, nestings[_MAX_NESTINGS])
    return [at for at in nestings if at < known], known


def _line_start(raw: bytes, at: int) -> int:
    return max(raw.rfind(b"\n", 0, at), raw.rfind(b"\r", 0, at)) + 1


def _parseable_prefix(raw: bytes) -> int:
    """How many bytes of ``raw`` the MIME parser may read within ``_PARSE_BUDGET``: a line boundary.
    The parser tests every line against the boundary of every enclosing multipart, and the declarations
    seen so far bound how many those are."""
    nestings, known = _nestings(raw)
    limit = len(raw) if known == len(raw) else _line_start(raw, known)
    cost = seen = 0
    for start in range(0, limit, _BUDGET_CHUNK):
        end = min(start + _BUDGET_CHUNK, limit)
        lines = raw.count(b"\n", start, end) + raw.count(b"\r", start, end) - raw.count(b"\r\n", start, end)
        fields = min(raw.count(b":", start, end), lines)  # a header field is a line with a colon
        parts = min(raw.count(b"\n--", start, end) + raw.count(b"\r--", start, end), lines)
        while seen < len(nestings) and nestings[seen] < end:
            seen += 1
        cost += lines * (_LINE_COST + seen) + fields * _HEADER_COST + parts * _PART_COST
        if cost > _PARSE_BUDGET:
            return _line_start(raw, start)
    return limit


# --- decoding bytes and header fields -------------------------------------------------------------

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]+")
_SURROGATE = re.compile(r"[\ud800-\udfff]")
_NEWLINE = re.compile(r"\r\n?")
_WHITESPACE = re.compile(r"\s+")


def _clean(text: str) -> str:
    """Newlines as LF, no C0 controls (NUL splits words and PostgreSQL refuses it), no lone surrogates."""
    text = _CONTROL.sub("", _NEWLINE.sub("\n", text))
    return _SURROGATE.sub("\ufffd", text)


def _one_line(text: str, limit: int) -> str:
    return _WHITESPACE.sub(" ", _clean(text)).strip()[:limit].rstrip()


@functools.lru_cache(maxsize=256)
def _codec(label: str | None) -> str | None:
    """The text codec a charset label names, or None: unlabelled, unknown, not text, or denied."""
    if not label:
        return None
    try:
        name = codecs.lookup(label.strip().strip("\"'")).name
        b"a".decode(name)  # LookupError for bytes-to-bytes codecs such as base64 (not for empty input)
    except Exception:  # any label a sender can write: LookupError, ValueError, UnicodeError, ...
        return None
    return None if name in _CODEC_DENIED else name


def _decode(data: bytes, label: str | None, *, complete: bool = True) -> str:
    """Best-effort text: the declared codec if it decodes cleanly; unlabelled, US-ASCII and Latin-1
    labels as UTF-8, else windows-1252 (what browsers do); otherwise the declared codec with
    replacement. ``complete=False`` tolerates a character cut at the end."""
    codec = _codec(label)
    tries = ["utf-8", "cp1252"] if codec is None or codec in _CODEC_GUESSED else [codec, codec]
    for attempt, name in enumerate(tries):
        errors_ = "replace" if attempt == len(tries) - 1 else "strict"
        # UnicodeError, or a codec's own complaint: some assert on their arguments
        with contextlib.suppress(Exception):
            return codecs.getincrementaldecoder(name)(errors_).decode(data, final=complete)
    return data.decode("utf-8", "replace")


def _raw_bytes(value: str) -> bytes:
    """A header value as the bytes it came from: the parser keeps 8-bit bytes as surrogate escapes."""
    try:
        return value.encode("latin-1", "surrogateescape")
    except UnicodeError:  # not from the parser: already text
        return value.encode("utf-8", "replace")


_ENCODED_WORD = re.compile(r"=\?([^?\s]{1,64})\?([bBqQ])\?([^?\s]*)\?=")
_Q_ESCAPE = re.compile(rb"=([0-9A-Fa-f]{2})")


def _decode_word(kind: str, payload: str) -> bytes:
    if kind in "bB":
        data = payload.encode("ascii", "replace")
        data += b"=" * (-len(data) % 4)
        try:
            return binascii.a2b_base64(data)
        except binascii.Error:
            return payload.encode("ascii", "replace")
    data = payload.replace("_", " ").encode("ascii", "replace")
    return _Q_ESCAPE.sub(lambda m: bytes([int(m.group(1), 16)]), data)


def _header_text(value: str) -> str:
    """Decode a raw header value: 8-bit bytes as UTF-8 (or windows-1252), then RFC 2047 encoded words.
    Adjacent words are joined before decoding because mailers split multi-byte characters across them."""
    text = _decode(_raw_bytes(value), None)
    pieces: list[str] = []
    pending = b""
    pending_label = ""
    end = 0
    for match in _ENCODED_WORD.finditer(text):
        between = text[end : match.start()]
        label = match.group(1).split("*", 1)[0]  # RFC 2231 language suffix
        adjacent = end > 0 and not between.strip()  # whitespace between encoded words is not text
        if pending and not (adjacent and label.lower() == pending_label.lower()):
            pieces.append(_decode(pending, pending_label))
            pending = b""
        if not adjacent:
            pieces.append(between)
        pending += _decode_word(match.group(2), match.group(3))
        pending_label = label
        end = match.end()
    if pending:
        pieces.append(_decode(pending, pending_label))
    pieces.append(text[end:])
    return "".join(pieces)


# --- markup to text -------------------------------------------------------------------------------

_COMMENT_END = re.compile(r"--!?\s*>")
_UNCLOSED_LT = re.compile(rf"<(?![^<>]{{0,{_TAG_WINDOW}}}>)")
_MARKED_SECTION = re.compile(rf"<!\[(?!(?:if|else|endif)\b[^<>]{{0,{_TAG_WINDOW}}}\]\s*>)", re.IGNORECASE)


def _defuse(markup: str) -> str:
    """Markup html.parser reads in linear time: comments removed (an unclosed one becomes text), every
    ``<`` that does not reach a ``>`` within ``_TAG_WINDOW`` escaped, and marked sections other than
    Outlook's ``<![if …]>`` escaped (html.parser asserts on unknown ones)."""
    pieces: list[str] = []
    at = 0
    while (start := markup.find("<!--", at)) >= 0:
        close = _COMMENT_END.search(markup, start + 4)
        if close is None:
            break
        pieces.append(markup[at:start])
        pieces.append(" ")
        at = close.end()
    pieces.append(markup[at:].replace("<!--", "&lt;!--"))
    markup = _MARKED_SECTION.sub("&lt;![", "".join(pieces))
    return _UNCLOSED_LT.sub("&lt;", markup)


_BLOCKS = frozenset(
    "address article aside blockquote center dd div dl dt fieldset figcaption figure footer form h1 h2 h3 "
    "h4 h5 h6 header hr li main nav ol p pre section table tr ul".split()
)
_PARAGRAPHS = frozenset("blockquote h1 h2 h3 h4 h5 h6 ol p pre table ul".split())
_QUOTE_CLASSES = ("gmail_quote", "yahoo_quoted")
_HIDDEN_SCHEMES = ("#", "javascript:", "vbscript:", "data:", "cid:", "about:")
_URL_DECORATION = re.compile(r"^(?:[a-z][a-z0-9+.-]*:(?://)?)?(?:www\.)?", re.IGNORECASE)


def _link_shown(href: str, anchor_text: str) -> bool:
    """Whether the anchor's own text already shows where it points."""
    core = _URL_DECORATION.sub("", href).rstrip("/").lower()
    return not core or core in anchor_text.lower()


class _MarkupText(HTMLParser):
    """HTML as the recipient reads it: no script or style, blocks on their own lines, links as
    "text (url)". Quoted history (blockquote, Gmail's and Yahoo's quote divs) is written with ">" in
    front, as a mail client would quote it, so one splitter handles plain and HTML."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.lines: list[list[str]] = [[]]
        self.depths: list[int] = [0]  # quote depth of each line
        self.size = 0
        self.blockquotes = 0
        self.divs: list[bool] = []  # open divs; True for a quote div
        self.quote_divs = 0
        self.anchors: list[tuple[str, list[str]]] = []  # href shown at </a>, the anchor's text so far
        self.hidden: str | None = None  # the element whose text is not shown, until it ends
        self.pre = 0
        self.gap = False  # a paragraph ended: a blank line before the next text
        self.written = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("script", "style", "title"):
            self.hidden = self.hidden or tag
        elif tag == "body" and self.hidden == "title":
            self.hidden = None  # an unclosed title must not hide the message
        if tag == "br":
            self.new_line()
            return
        if tag == "a":
            self.close_anchors()
            href = _WHITESPACE.sub("", dict(attrs).get("href") or "")[:_HREF_LIMIT]
            shown = "" if href.lower().startswith(_HIDDEN_SCHEMES) else href
            self.anchors.append((shown, []))
        elif tag in ("td", "th"):
            self.write(" ")
        if tag in _BLOCKS:
            self.block(tag)
        if tag == "div":
            classes = (dict(attrs).get("class") or "").split()
            quote = any(c.startswith(_QUOTE_CLASSES) for c in classes)
            self.divs.append(quote)
            self.quote_divs += quote
        elif tag == "blockquote":
            self.blockquotes += 1
        elif tag == "pre":
            self.pre += 1

    def handle_endtag(self, tag: str) -> None:
        if tag == self.hidden or (tag == "head" and self.hidden == "title"):
            self.hidden = None
        if tag == "a":
            self.close_anchors()
        if tag in _BLOCKS:
            self.block(tag)
        if tag == "div" and self.divs:
            self.quote_divs -= self.divs.pop()
        elif tag == "blockquote" and self.blockquotes:
            self.blockquotes -= 1
        elif tag == "pre" and self.pre:
            self.pre -= 1

    def handle_data(self, data: str) -> None:
        if self.hidden:
            return
        if self.pre:
            first, *rest = data.split("\n")
            self.write(first, keep_space=True)
            for line in rest:
                self.new_line()
                self.write(line, keep_space=True)
        else:
            self.write(_WHITESPACE.sub(" ", data))

    def write(self, text: str, *, keep_space: bool = False) -> None:
        line = self.lines[-1]
        if not keep_space and (not line or line[-1].endswith(" ")):
            text = text.lstrip(" ")
        if not text or self.size > TEXT_LIMIT:
            return
        if not line:
            self.depths[-1] = self.quote_depth
            if self.gap and self.written:
                self.lines.insert(-1, [])
                self.depths.insert(-1, self.quote_depth)
        self.gap = False
        self.written = True
        line.append(text)
        self.size += len(text)
        if self.anchors:
            self.anchors[-1][1].append(text)

    def new_line(self) -> None:
        if len(self.lines) > 1 and not self.lines[-1] and not self.lines[-2]:
            return  # runs of <br> would cost memory and are one blank line in the end
        self.lines.append([])
        self.depths.append(self.quote_depth)

    def block(self, tag: str) -> None:
        if self.lines[-1]:
            self.new_line()
        self.gap = self.gap or tag in _PARAGRAPHS

    @property
    def quote_depth(self) -> int:
        return self.blockquotes + self.quote_divs

    def close_anchors(self) -> None:
        while self.anchors:
            href, text = self.anchors.pop()
            if href and not _link_shown(href, "".join(text)):
                self.write(f" ({href})")

    def text(self) -> str:
        self.close_anchors()
        rendered = []
        for pieces, depth in zip(self.lines, self.depths, strict=True):
            line = "".join(pieces).rstrip()
            rendered.append(f"{'>' * min(depth, 9)} {line}" if depth and line else line)  # depth is unbounded
        return "\n".join(rendered)


_TAG = re.compile(r"<[^<>]*>")


def _markup_text(markup: str) -> str:
    markup = _defuse(markup)
    reader = _MarkupText()
    try:
        reader.feed(markup)
        reader.close()
        return reader.text()
    except Exception:  # html.parser asserts on some malformed declarations: strip tags instead
        return unescape(_TAG.sub(" ", markup))


# --- new text and quoted history ------------------------------------------------------------------


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


# --- walking the MIME tree ------------------------------------------------------------------------


class _Into(Enum):
    BODY = "body"  # the sender's text (its quoted history split off)
    QUOTED = "quoted"  # an attached message: context, not the sender's words
    NOWHERE = "nowhere"  # an alternative we do not read


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

    def add_text(self, text: str, into: _Into) -> None:
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
        if allowance <= 0 or budget.room <= 0:
            return
        data = _payload(part)
        if data is None:
            return
        limit = 4 * allowance  # the most bytes a character takes in UTF-8
        label = _param(part, "charset", "content-type")
        text = _clean(_decode(data[:limit], label, complete=len(data) <= limit))[:allowance]
        self.unread -= weight * len(text)
        self.add_text(_clean(_markup_text(text)) if markup else text, into)


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
    declared = str(part.get("content-type", "")).split(";", 1)[0].strip().lower()
    kind, slash, subtype = declared.partition("/")
    if kind and slash and subtype and "/" not in subtype and declared != "application/octet-stream":
        return declared
    guessed = _builtin_types().guess_type(filename, strict=False)[0] if filename else None
    return guessed.lower() if guessed else part.get_content_type()


def _is_text(part: MimePart) -> bool:
    """A part the sender wrote as text. A multipart that could not be split (no boundary) is read as
    text too: a client may well show it, and the rules must see what the recipient sees."""
    ctype = part.get_content_type()
    return (
        (ctype in ("text/plain", "text/html") or ctype.startswith("multipart/"))
        and part.get_content_disposition() != "attachment"
        and not _filename(part)
    )


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


def _shown_alternative(children: list[MimePart]) -> int | None:
    """The alternative we read: the plain text, else the HTML, else the last (most faithful) multipart."""
    for wanted in ("text/plain", "text/html"):
        for index, child in enumerate(children):
            if child.get_content_type() == wanted and _is_text(child):
                return index
    multiparts = [index for index, child in enumerate(children) if child.is_multipart()]
    return multiparts[-1] if multiparts else None


def _children(part: MimePart) -> list[MimePart]:
    payload = part.get_payload()
    return [child for child in payload if isinstance(child, MimePart)] if isinstance(payload, list) else []


def _routes(part: MimePart, children: list[MimePart], into: _Into, reading: _Reading) -> list[_Into]:
    """Where each child's text goes. An attached message is itself an attachment, and context."""
    ctype = part.get_content_type()
    if ctype.startswith("message/"):
        filename = _filename(part)
        reading.attachments.append(Attachment(filename, _content_type(part, filename), None))
        return [_Into.NOWHERE if into is _Into.NOWHERE else _Into.QUOTED] * len(children)
    if ctype == "multipart/alternative":
        shown = _shown_alternative(children)
        return [into if index == shown else _Into.NOWHERE for index in range(len(children))]
    return [into] * len(children)


def _read_leaf(part: MimePart, into: _Into, reading: _Reading) -> bool:
    """Read a part's text or record it as an attachment; whether it was an attachment."""
    if _is_text(part):
        if into is not _Into.NOWHERE:
            reading.add_part(part, into)
        return False
    data = _payload(part)
    filename = _filename(part)
    reading.attachments.append(
        Attachment(filename, _content_type(part, filename), None if data is None else len(data))
    )
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
            elif depth < MAX_DEPTH:
                children = _children(part)
                routes = _routes(part, children, into, reading)
                stack.extend(
                    (child, depth + 1, route)
                    for child, route in zip(children[::-1], routes[::-1], strict=True)
                )
        except Exception:  # one unreadable part must not hide the others; say something was there
            reading.attachments.append(Attachment("", "application/octet-stream", None))
    if truncated and not stack and last_leaf_attached:
        cut = reading.attachments[-1]
        reading.attachments[-1] = Attachment(cut.filename, cut.content_type, None)


# --- the fields the relay itself defines ----------------------------------------------------------

_SOURCED_ID = re.compile(r"[A-Za-z0-9._-]{1,255}")
_ID_SEPARATORS = re.compile(r"[\s,]+")


def _urgent(value: str | None) -> str | None:
    """The sender's urgent reason; a header or prefix without a reason still means urgent."""
    if value is None:
        return None
    return _one_line(value, URGENT_LIMIT) or "urgent"


def _pictured(values: list[str]) -> tuple[str, ...]:
    ids: dict[str, None] = {}
    for value in values:
        for token in _ID_SEPARATORS.split(_header_text(value)):
            if _SOURCED_ID.fullmatch(token) and len(ids) < MAX_PICTURED:
                ids[token] = None
    return tuple(ids)


def _read_headers(mime: MimePart, reading: _Reading) -> None:
    subject = mime.get("subject")
    reading.subject = _one_line(_header_text(str(subject)), SUBJECT_LIMIT) if subject is not None else ""
    urgent = mime.get("x-chaperone-urgent")
    reading.urgent = _urgent(None if urgent is None else _header_text(str(urgent)))
    pictured = mime.get_all("x-chaperone-pictured", [])[:MAX_PICTURED]
    reading.pictured = _pictured([str(value) for value in pictured])


def _read_mime(raw: bytes) -> _Reading:
    reading = _Reading()
    cut = _parseable_prefix(raw)
    mime = BytesParser(policy=_POLICY).parsebytes(raw if cut == len(raw) else raw[:cut])
    try:
        _read_headers(mime, reading)
    except Exception:  # a header we cannot read is an empty one; the body still counts
        reading.subject, reading.urgent, reading.pictured = "", None, ()
    _walk(mime, reading, truncated=cut < len(raw))
    return reading


_HEADER_END = re.compile(rb"\r?\n\r?\n")
_UNPARSED_FIELD = re.compile(rb"^(subject|x-chaperone-urgent|x-chaperone-pictured):([^\r\n]*)", re.I | re.M)


def _read_unparsed(raw: bytes) -> _Reading:
    """Best effort when the MIME parser fails: header block up to the first blank line, the rest text."""
    reading = _Reading()
    header_end = _HEADER_END.search(raw, 0, 1 << 18)
    head, rest = (raw[: header_end.start()], raw[header_end.end() :]) if header_end else (b"", raw)
    fields: dict[str, list[str]] = {}
    for match in _UNPARSED_FIELD.finditer(head):
        value = match.group(2)[:_HEADER_CHARS].decode("latin-1")
        fields.setdefault(match.group(1).decode().lower(), []).append(value)
    reading.subject = _one_line(_header_text(fields.get("subject", [""])[0]), SUBJECT_LIMIT)
    urgent = fields.get("x-chaperone-urgent")
    reading.urgent = _urgent(_header_text(urgent[0]) if urgent else None)
    reading.pictured = _pictured(fields.get("x-chaperone-pictured", []))
    limit = 4 * TEXT_LIMIT
    text = _decode(rest[:limit], None, complete=len(rest) <= limit)[:TEXT_LIMIT]
    reading.add_text(_clean(text), _Into.BODY)
    return reading


# --- the public readers ---------------------------------------------------------------------------


def read_email(
    raw: bytes, *, message_id: str, sender: Party, recipients: tuple[Party, ...], received_at: datetime
) -> Message:
    """The message the rules read from a received e-mail. Never raises; ``sent_at`` is ``received_at``
    because a client's Date header is whatever the client says."""
    try:
        reading = _read_mime(raw)
    except Exception:
        try:
            reading = _read_unparsed(raw)
        except Exception:  # nothing readable at all: the rules still see who sent what to whom, and when
            reading = _Reading()
    return Message(
        message_id=message_id,
        channel="email",
        sender=sender,
        recipients=recipients,
        sent_at=received_at,
        subject=reading.subject,
        body=reading.body.text(),
        quoted=reading.quoted.text(),
        attachments=tuple(reading.attachments),
        urgent=reading.urgent,
        pictured=reading.pictured,
    )


_URGENT_PREFIX = re.compile(r"\A\s*URGENTE?[ \t]*:[ \t]*", re.IGNORECASE)


def read_sms(
    text: str, *, message_id: str, sender: Party, recipients: tuple[Party, ...], received_at: datetime
) -> Message:
    """The message the rules read from a text. "URGENT:" or "URGENTE:" in front marks it urgent, with
    the rest of that line as the reason; the prefix itself is not part of what the sender said."""
    body = _clean(text[: 4 * TEXT_LIMIT])
    urgent = None
    prefix = _URGENT_PREFIX.match(body)
    if prefix is not None:
        body = body[prefix.end() :]
        urgent = _urgent(body.split("\n", 1)[0])
    return Message(
        message_id=message_id,
        channel="sms",
        sender=sender,
        recipients=recipients,
        sent_at=received_at,
        body=body.strip()[:TEXT_LIMIT],
        urgent=urgent,
    )
