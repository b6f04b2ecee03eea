"""HTML parts as the text the recipient reads: no script or style, blocks on their own lines, links as
"text (url)", and quoted history written with ">" in front so one splitter handles plain and HTML.
html.parser is quadratic on unclosed constructs (30 000 ``<a `` took 31 s), so markup is defused first:
every ``<`` that does not close within a short window becomes text.
"""

from __future__ import annotations

import re
from html import unescape
from html.parser import HTMLParser

from gateway.reading.charsets import _WHITESPACE
from gateway.reading.limits import TEXT_LIMIT

_TAG_WINDOW = 4_096  # a tag, comment or marked section must close within this many characters
_HREF_LIMIT = 2_048

_COMMENT_END = re.compile(r"--!?\s*>")
_UNCLOSED_LT = re.compile(rf"<(?![^<>]{{0,{_TAG_WINDOW}}}>)")
_MARKED_SECTION = re.compile(rf"<!\[(?!(?:if|else|endif)\b[^<>]{{0,{_TAG_WINDOW}}}\]\s*>)", re.IGNORECASE)


def without_comments(markup: str) -> str:
    """Markup without its comments (an unclosed one becomes text), in linear time. A comment shows as
    nothing: "th<!-- -->reat" reads "threat". The reader strips them before it budgets what it reads, so
    a megabyte of comments cannot push the text out of reach."""
    pieces: list[str] = []
    at = 0
    while (start := markup.find("<!--", at)) >= 0:
        close = _COMMENT_END.search(markup, start + 4)
        if close is None:
            break
        pieces.append(markup[at:start])
        at = close.end()
    pieces.append(markup[at:].replace("<!--", "&lt;!--"))
    return "".join(pieces)


def _defuse(markup: str) -> str:
    """Markup html.parser reads in linear time: comments removed, every ``<`` that does not reach a
    ``>`` within ``_TAG_WINDOW`` escaped, and marked sections other than Outlook's ``<![if …]>`` escaped
    (html.parser asserts on unknown ones)."""
    markup = _MARKED_SECTION.sub("&lt;![", without_comments(markup))
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
