"""What the classifier reads: the rules' canonical text (lower-cased, leetspeak decoded, spaced letters
joined: ``policies.text``) cut into words and emoji, with accents dropped so that "qué" and "que" meet.

A message's features are its words ("w:"), pairs of neighbouring words ("b:") and the character
3- to 5-grams of each word ("c:"), which carry misspellings, slang and Spanish inflections to the n-grams
the training corpus had. The same functions serve training and deciding, so the two cannot drift apart.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache
from itertools import pairwise

# Words (letters and digits, with an inner apostrophe) and single pictographs: emoji carry meaning here.
_TOKEN = re.compile(r"[^\W_]+(?:'[^\W_]+)?|[\U0001F000-\U0001FAFF\u2600-\u27BF]")
# The same tokens in a text of ASCII alone (most messages), found twice as fast: no Unicode classes.
_ASCII_TOKEN = re.compile(r"[A-Za-z0-9]+(?:'[A-Za-z0-9]+)?")
_CHAR_SIZES = (3, 4, 5)
MAX_TOKENS = 20_000  # of one message: the classifier reads the first this many words (about 100 KB)


@lru_cache(maxsize=65_536)
def plain_word(word: str) -> str:
    """A word without accents ("qué" -> "que"); ñ becomes n as well, as people type it without."""
    if word.isascii():
        return word
    decomposed = unicodedata.normalize("NFKD", word)
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def tokens(canonical: str) -> list[str]:
    if canonical.isascii():  # most messages: no accents to drop, no emoji
        return _ASCII_TOKEN.findall(canonical)[:MAX_TOKENS]
    found: list[str] = _TOKEN.findall(canonical)[:MAX_TOKENS]
    return [t if t.isascii() else plain_word(t) for t in found]


def word_features(word: str) -> list[str]:
    """The features one word contributes on its own: itself and its character n-grams."""
    features = [f"w:{word}"]
    if len(word) > 2 and word.isalnum():
        marked = f"<{word}>"
        features.extend(f"c:{marked[i : i + n]}" for n in _CHAR_SIZES for i in range(len(marked) - n + 1))
    return features


def pair_features(words: list[str]) -> list[str]:
    return [f"b:{a} {b}" for a, b in pairwise(words)]


def features(canonical: str) -> list[str]:
    """Every feature of a text, as strings (training); ``model`` computes the same as vocabulary rows."""
    words = tokens(canonical)
    found: list[str] = []
    for word in words:
        found.extend(word_features(word))
    found.extend(pair_features(words))
    return found
