"""The shipped content model: a linear classifier per category over TF-IDF n-grams (``features``), loaded
once, scoring a message in tens of microseconds.

The score of a category is a probability, ``sigmoid(w · x + b)``, where ``x_f = tf_f · idf_f / n`` and
``n = sqrt(Σ_g tf_g · idf_g² + d)`` (``d``, the damping, keeps a text of two words from being all signal).
That normalisation is chosen because it adds up word by word: each word's and each pair's share of ``w · x``
and of ``n²`` is one row of a table, computed when the model loads (a word's character n-grams, for a model
that has them, summed on first sight), so a message costs a few dictionary lookups and one sum. A
long message is also scored in windows of 40 words overlapping by half, and the highest score counts, so
one bad sentence in a long e-mail is not diluted by the rest.

Each category has two thresholds, chosen on held-out writers: ``flag`` (recall first) and ``hold`` (few
false positives). ``explain`` names the words that raised a score most.

The file is a NumPy ``.npz`` (no pickle): vocabulary, IDF, weights, intercepts, thresholds and the training
metadata. Its SHA-256 is the model's digest, recorded in every decision it takes part in.
"""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import dataclass
from functools import cache
from importlib import resources
from itertools import islice, repeat
from operator import add, mul
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from policies.learned.features import tokens, word_features

PACKAGED = "content-model.npz"
WINDOW = 40  # words: about two sentences
_WORD_CACHE_LIMIT = 100_000  # words remembered with their share of the score; forgotten when full
Vector = npt.NDArray[np.float32]
Matrix = npt.NDArray[np.float64]
Shares = npt.NDArray[np.float32]


@dataclass(frozen=True, slots=True)
class Scores:
    """One message's probabilities per category, and where each came from (its best window)."""

    categories: tuple[str, ...]
    values: tuple[float, ...]
    windows: tuple[tuple[int, int], ...]  # (first word, end) of the best window per category
    words: tuple[str, ...]
    rows: tuple[int, ...] = ()  # each word's row of the model's word table (``explain`` reads them)
    pairs: tuple[int, ...] = ()  # each pair of neighbouring words' row of the model's shares (or no pair's)

    def of(self, category: str) -> float:
        return self.values[self.categories.index(category)]


class ContentModel:
    def __init__(
        self,
        *,
        vocabulary: list[str],
        weights: Vector,  # (features, categories): the learner's coefficients
        idf: Vector,
        intercept: Vector,
        categories: tuple[str, ...],
        flag: Vector,
        hold: Vector,
        metadata: dict[str, Any],
        damping: float = 0.0,
        digest: str = "",
    ) -> None:
        self.vocabulary = vocabulary
        self.rows = {feature: row for row, feature in enumerate(vocabulary)}
        self.coefficients = weights.astype(np.float32)
        self.idf = idf.astype(np.float32)
        # One row per feature: its weight per category times its IDF, then its IDF squared (the norm).
        # float32: half the memory the cache must hold beside the rules' tables; sums of a few dozen terms
        # lose nothing a threshold could notice.
        # A last row of zeros stands for a pair the model does not know, so every pair of neighbouring
        # words has a row and the lookups need no Python loop to drop the unknown ones.
        weighted = np.hstack(
            [weights.astype(np.float64) * idf[:, None], (idf.astype(np.float64) ** 2)[:, None]]
        )
        # Every word the model knows has a row of the table: its own feature's ("w:"), or, for a word it
        # knows only as half of a pair, a row of zeros of its own. That row is also the word's number in
        # the pair table, so a pair is found by two integers, not by building a string or a tuple.
        # Row ``_unknown`` is zeros: every word the model does not know, and every pair it does not know.
        self._unknown = len(vocabulary)
        self._word_rows: dict[str, int] = {
            feature[2:]: row for row, feature in enumerate(vocabulary) if feature.startswith("w:")
        }
        # A pair's key is its two words' numbers, first * stride + second: the stride bounds every number
        # (a word's own row, or one of at most two extra rows per pair).
        self._stride = 3 * len(vocabulary) + 2
        self._pairs: dict[int, int] = {}
        known = self._unknown + 1
        for row, feature in enumerate(vocabulary):
            if not feature.startswith("b:") or " " not in feature:
                continue
            key = 0
            for word in feature[2:].split(" ", 1):
                number = self._word_rows.get(word)
                if number is None:
                    number = self._word_rows[word] = known
                    known += 1
                key = key * self._stride + number
            self._pairs[key] = row
        # A model with character n-grams sums a word's features once, on first sight, into a row of the
        # table's last part (the word cache), forgotten when full.
        self._char_grams = any(feature.startswith("c:") for feature in vocabulary)
        self._cache_limit = _WORD_CACHE_LIMIT if self._char_grams else 0
        self._cached: dict[str, int] = {}  # word -> its row of the word cache
        self._first_cached = known
        # float32: half the memory the cache must hold beside the rules' tables; sums of a few dozen terms
        # lose nothing a threshold could notice.
        self._table: Shares = np.zeros((known + self._cache_limit, weighted.shape[1]), dtype=np.float32)
        self._table[: len(vocabulary)] = weighted
        self.intercept = intercept.astype(np.float64)
        self._intercepts: list[float] = self.intercept.tolist()
        self.categories = categories
        self.flag = dict(zip(categories, (float(t) for t in flag), strict=True))
        self.hold = dict(zip(categories, (float(t) for t in hold), strict=True))
        self.metadata = metadata
        # Added to the squared norm, so that a text of two or three words, whose few weights the norm would
        # blow up, leans to the intercept unless its words are strong ones ("Lab report" is no profanity).
        self.damping = damping
        self.digest = digest

    # --- loading and saving ------------------------------------------------------------------------

    @classmethod
    def load(cls, path: Path) -> ContentModel:
        content = path.read_bytes()
        with np.load(path, allow_pickle=False) as stored:
            return cls(
                vocabulary=_strings(stored["vocabulary"]),
                weights=stored["weights"],
                idf=stored["idf"],
                intercept=stored["intercept"],
                categories=tuple(_strings(stored["categories"])),
                flag=stored["flag"],
                hold=stored["hold"],
                metadata=json.loads(bytes(stored["metadata"]).decode("utf-8")),
                damping=float(stored["damping"]) if "damping" in stored.files else 0.0,
                digest="sha256:" + hashlib.sha256(content).hexdigest(),
            )

    def save(self, path: Path) -> None:
        """Write the model file. The same model gives the same bytes (npz members carry a fixed date),
        so training is reproducible and the digest names the model."""
        np.savez_compressed(
            path,
            vocabulary=_blob(self.vocabulary),
            weights=self.coefficients,
            idf=self.idf,
            intercept=self.intercept.astype(np.float32),
            categories=_blob(self.categories),
            flag=np.array([self.flag[c] for c in self.categories], dtype=np.float32),
            hold=np.array([self.hold[c] for c in self.categories], dtype=np.float32),
            metadata=np.frombuffer(json.dumps(self.metadata, sort_keys=True).encode(), dtype=np.uint8),
            damping=np.array(self.damping, dtype=np.float64),
        )

    # --- scoring -----------------------------------------------------------------------------------

    def scores(self, canonical: str) -> Scores:
        """Probabilities per category for a text already normalised (``policies.text``)."""
        words = tokens(canonical)
        # The lookups run in C (map over dict.get): a Python loop per word would cost more than the sums.
        numbers = list(map(self._word_rows.get, words, repeat(self._unknown)))
        rows = self._cache_rows(words) if self._char_grams else numbers
        pairs = list(
            map(
                self._pairs.get,
                map(add, map(mul, numbers, repeat(self._stride)), islice(numbers, 1, None)),
                repeat(self._unknown),
            )
        )
        spans = _windows(len(words))
        size = len(self.categories)
        if len(spans) == 1:  # most messages: one sum, no windows (few numpy calls: each costs µs)
            total = self._table.take(rows + pairs, axis=0).sum(axis=0).tolist()
            norm = total[size]
            scale = 1.0 / math.sqrt(norm + self.damping) if norm > 0 else 0.0
            values = tuple(
                1.0 / (1.0 + math.exp(-(share * scale + intercept)))
                for share, intercept in zip(total, self._intercepts, strict=False)  # the norm left out
            )
            return Scores(
                self.categories, values, (spans[0],) * size, tuple(words), tuple(rows), tuple(pairs)
            )
        sums = self._window_sums(rows, pairs, spans)
        norms = np.sqrt(np.maximum(sums[:, size] + self.damping, 1e-12))
        logits = np.where(sums[:, size : size + 1] > 0, sums[:, :size] / norms[:, None], 0.0) + self.intercept
        best = logits.argmax(axis=0)
        values = tuple(1.0 / (1.0 + math.exp(-z)) for z in logits[best, range(size)].tolist())
        windows = tuple(spans[i] for i in best.tolist())
        return Scores(self.categories, values, windows, tuple(words), tuple(rows), tuple(pairs))

    def _window_sums(self, rows: list[int], pairs: list[int], spans: list[tuple[int, int]]) -> Matrix:
        """Each window's sum of shares, from running totals: a pair counts at the position of its second
        word, and a pair straddling a window's first word is taken out again (it belongs before)."""
        words_only = self._table[rows].astype(np.float64)  # running totals of thousands of terms
        shares = words_only.copy()
        if pairs:
            shares[1:] += self._table[pairs]
        totals = np.vstack([np.zeros((1, shares.shape[1])), np.cumsum(shares, axis=0)])
        starts = np.array([s for s, _ in spans])
        ends = np.array([e for _, e in spans])
        sums: Matrix = totals[ends] - totals[starts] - (shares[starts] - words_only[starts])
        return sums

    def explain(self, scores: Scores, category: str, top: int = 5) -> list[str]:
        """The words (or pairs of words) of the best window that raised ``category``'s score most."""
        column = self.categories.index(category)
        start, end = scores.windows[column]
        words, count = scores.words, end - start
        # The window's words, then the pairs inside it (ending at its second word to its last), in one
        # lookup; the unknown row is zeros.
        shares = self._table.take(scores.rows[start:end] + scores.pairs[start : end - 1], axis=0)
        # A term weighs the same wherever it occurs, so one that lowers the score never ranks: skipped
        # before any pair of words is put into a string.
        by_term: dict[str, float] = {}
        for position, share in enumerate(shares[:, column].tolist()):
            if share > 0:
                if position < count:
                    term = words[start + position]
                else:
                    first = start + position - count
                    term = f"{words[first]} {words[first + 1]}"
                by_term[term] = by_term.get(term, 0.0) + share
        ranked = sorted(((value, term) for term, value in by_term.items()), reverse=True)
        return [term for _, term in ranked[:top]]

    def _cache_rows(self, words: list[str]) -> list[int]:
        """Each word's row of the word cache (a model with character n-grams), new words summed first."""
        cached = self._cached
        new = set(words).difference(cached)
        if new:
            if len(cached) + len(new) > self._cache_limit:
                cached.clear()  # hostile input with endless new words: memory stays bounded
                new = set(words)
            base = self._first_cached
            for word in new:
                row = base + len(cached)
                found = [r for f in word_features(word) if (r := self.rows.get(f, -1)) >= 0]
                self._table[row] = self._table[found].sum(axis=0) if found else 0.0
                cached[word] = row
        return list(map(cached.__getitem__, words))


def _windows(count: int) -> list[tuple[int, int]]:
    """The whole text, and for one over twice WINDOW words, windows of WINDOW words overlapping by half."""
    spans = [(0, count)]
    if count > 2 * WINDOW:
        step = WINDOW // 2
        spans.extend((start, min(start + WINDOW, count)) for start in range(0, count - step, step))
    return spans


def _blob(strings: list[str] | tuple[str, ...]) -> npt.NDArray[np.uint8]:
    return np.frombuffer("\n".join(strings).encode("utf-8"), dtype=np.uint8)


def _strings(blob: npt.NDArray[np.uint8]) -> list[str]:
    return bytes(blob).decode("utf-8").split("\n")


def packaged_path() -> Path:
    return Path(str(resources.files("policies.learned").joinpath(PACKAGED)))


@cache
def load_model(path: Path | None = None) -> ContentModel | None:
    """A model file, or (None) the one shipped in the package, loaded once per process; None if this
    build ships none."""
    if path is None:
        path = packaged_path()
        if not path.is_file():
            return None
    return ContentModel.load(path)
