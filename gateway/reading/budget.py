"""How much of a message the stdlib MIME parser may read, and the header policy it reads with. The
parser's cost grows with lines times multipart nesting (300 levels around 1 M lines took 25 s), so its cost
is estimated from the raw bytes first and it reads only the prefix that fits a fixed budget; a message cut
there reports its last part's size as unknown. It parses with a bounded Compat32 policy rather than
``email.policy.default``: the default policy's header parser is quadratic (a 96 KB Content-Type of comments
took 95 s on Python 3.11.7) and the parser itself calls it for every part, so no later limit could help.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from email.policy import Compat32

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
_SCAN_CHUNK = 1 << 16  # bytes lowered at a time to look for a word in any case


def _occurrences(raw: bytes, word: bytes) -> Iterator[int]:
    """Where ``word`` (lower case) occurs in ``raw``, in any case, in order. Found in lowered chunks with
    ``bytes.find``, six times faster than a case-insensitive regex (which tries every position), and
    without a lowered copy of a large message."""
    overlap = len(word) - 1
    for start in range(0, len(raw), _SCAN_CHUNK):
        chunk = raw[start : start + _SCAN_CHUNK + overlap].lower()
        at = chunk.find(word)
        while at != -1 and at < _SCAN_CHUNK:  # one in the overlap is the next chunk's
            yield start + at
            at = chunk.find(word, at + 1)


def _nestings(raw: bytes) -> tuple[list[int], int]:
    """Where multiparts (a boundary parameter) and message/* parts may be declared, in order, and how far
    that is known: the parser may not read past the ``_MAX_NESTINGS``-th, nor past ``_MAX_DECOYS``
    "boundary" words (finding the declarations among more would itself cost too much)."""
    nestings: list[int] = []
    known = len(raw)
    for word in (b"boundary", b"message/"):
        found = looked = 0
        for at in _occurrences(raw, word):
            looked += 1
            if looked > _MAX_DECOYS:
                known = min(known, at)
                break
            if word == b"message/" or _BOUNDARY_PARAM.match(raw, at + len(word)):
                nestings.append(at)
                found += 1
                if found > _MAX_NESTINGS:
                    break
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
