"""Who said it first and best: aligned paraphrases across articles, copies of one story, the original.

News is full of copies: wire stories republished, rewritten, syndicated. The bot quotes the
best-attributed version of a fact and credits the copies, so it must tell three things apart:

- **Aligned sentences.** Two sentences say the same thing when their vectors are close and they
  share words (names, numbers, rare terms): ``cosine + WORD_WEIGHT * dice(words)``. Two
  sentences naming different numbers, rounds ("second" / "third") or months are never aligned:
  "No date was set for a third round" is not "No date has been set for a fourth round".
- **Copies of one story.** Two articles are copies of one another when at least half the
  passages of one have an aligned sentence in the other. Whole articles are compared because a
  single sentence cannot tell a rewrite of the same report from another report of a similar event
  (every round of talks "ended without a ceasefire", Turkey's foreign minister opened each one).
  On the evaluation corpora copies have 64-100 % of their passages aligned, other article pairs
  at most 30 % (docs/quality.md).
- **The original.** Of the copies, the best-attributed: one point each for a named outlet, an
  author, a date and a link; between equals the earlier article is the original.

The cut (0.85) and the word weight (0.5) were set on sentence pairs whose answer is known: the
three rewrites in tests/eval/rewrites/ and the seed rewrite against their originals (docs/quality.md).
Between two articles already known to be copies of one story, a looser cut (``STORY_CUT``, 0.6)
finds the original's sentence for a freer paraphrase ("the talks yielded an agreement on a
prisoner exchange" / "ended with agreement for a prisoner exchange", 0.67): on those pairs every
sentence with a counterpart aligned at 0.62 or more with its best match, every sentence without one
(a commentator's quip, "The Kremlin was unenthusiastic") at 0.42 or less.
"""

from __future__ import annotations

import datetime as dt
import math
import re
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable, Iterable
from dataclasses import dataclass
from typing import Generic, TypeVar

import numpy as np

from .models import DocumentInfo
from .questions import STOPWORDS, months_in, ordinals_in
from .store.contract import PassageIndex, StoredPassage

__all__ = [
    "ALIGNMENT_CUT",
    "STORY_CUT",
    "STORY_SHARE",
    "WORD_WEIGHT",
    "Provenance",
    "attribution_rank",
    "fact_words",
    "is_attributed",
]

ALIGNMENT_CUT = 0.85
STORY_CUT = 0.6
WORD_WEIGHT = 0.5
STORY_SHARE = 0.5
_UNKNOWN_SOURCES = frozenset({"", "unknown"})

_WORD = re.compile(r"\w+")
_NUMBER = re.compile(r"\d[\d,.]*\d|\d")
# A stem long enough to keep "negotiators" and "negotiations" together, short enough for
# "demanded"/"demand"; crude, but language-agnostic and free.
_STEM = 5


def is_attributed(info: DocumentInfo) -> bool:
    """True when the article names its outlet: the least a reader needs to weigh a quote."""
    return info.source.strip().casefold() not in _UNKNOWN_SOURCES


def attribution_rank(info: DocumentInfo) -> tuple[int, int]:
    """Higher is better: one point each for outlet, author, date and link, then the earlier date."""
    points = is_attributed(info) + bool(info.author) + bool(info.published) + bool(info.url)
    return points, -(info.published or dt.date.max).toordinal()


def fact_words(text: str) -> frozenset[str]:
    """The words that carry a sentence's facts: no stopwords, stems of five letters, numbers whole."""
    return _fact_words(_WORD.findall(text.casefold()), _numbers(text))


def _numbers(text: str) -> frozenset[str]:
    return frozenset(n.replace(",", "") for n in _NUMBER.findall(text))


def _fact_words(words: Iterable[str], numbers: frozenset[str]) -> frozenset[str]:
    stems = {w[:_STEM] for w in set(words) - STOPWORDS if len(w) > 1 and not w.isdigit()}
    return frozenset(stems | numbers)


@dataclass(frozen=True, slots=True)
class _Sentence:
    words: frozenset[str]
    numbers: frozenset[str]
    ordinals: frozenset[int]
    months: frozenset[int]

    @classmethod
    def read(cls, text: str) -> _Sentence:
        lowered = text.casefold()
        words = set(_WORD.findall(lowered))  # split once, read three ways
        numbers = _numbers(text)
        return cls(
            words=_fact_words(words, numbers),
            numbers=numbers,
            ordinals=ordinals_in(words),
            months=months_in(lowered, words),
        )

    @property
    def specific(self) -> bool:
        """Names a number, a round or a month: only then can another sentence contradict it."""
        return bool(self.numbers or self.ordinals or self.months)

    def contradicts(self, other: _Sentence) -> bool:
        """Both name numbers (or rounds, or months) and none is shared: different facts."""
        return any(
            a and b and not (a & b)
            for a, b in ((self.numbers, other.numbers), (self.ordinals, other.ordinals), (self.months, other.months))
        )


def _dice(a: frozenset[str], b: frozenset[str]) -> float:
    return 2 * len(a & b) / (len(a) + len(b)) if a and b else 0.0


def _dice_bound(a: frozenset[str], held: frozenset[str]) -> float:
    """The largest ``_dice(a, b)`` of any ``b`` within ``held``: 2h / (|a| + h), h = |a & held|.

    Written as ``_dice`` writes it, so a sentence holding exactly those words gets the same bits.
    """
    shared = len(a & held)
    return 2 * shared / (len(a) + shared) if shared else 0.0


class _LazySentences:
    """One passage's sentences, each read when first needed: most alignments look at one or two.

    Holds the passage's text and spans, not the passage: its vectors would make the cache ten times larger.
    """

    __slots__ = ("_read", "_spans", "_text", "_words")

    def __init__(self, passage: StoredPassage) -> None:
        self._text = passage.text
        self._spans = passage.sentences or ((0, len(passage.text)),)
        self._read: list[_Sentence | None] = [None] * len(self._spans)
        self._words: frozenset[str] | None = None

    def __len__(self) -> int:
        return len(self._read)

    def words(self) -> frozenset[str]:
        """Every sentence's fact words together (reads every sentence, once)."""
        if self._words is None:
            self._words = frozenset().union(*(self[i].words for i in range(len(self))))
        return self._words

    def __getitem__(self, index: int) -> _Sentence:
        sentence = self._read[index]
        if sentence is None:  # two threads may both read it: the same value, no lock needed
            start, end = self._spans[index]
            sentence = self._read[index] = _Sentence.read(self._text[start:end])
        return sentence


def _bits(values: frozenset[int]) -> int:
    """A set of small numbers (rounds 1-10, months 1-12) as the bits of one integer."""
    return sum(1 << v for v in values)


@dataclass(frozen=True, slots=True)
class _Sparse:
    """Which items (words, numbers) each sentence holds: item ids by row, and how many per row."""

    rows: np.ndarray
    ids: np.ndarray
    counts: np.ndarray

    @classmethod
    def of(cls, sets: list[frozenset[str]], vocabulary: dict[str, int]) -> _Sparse:
        """Rows for these sets, each item given its id in ``vocabulary`` (added when new)."""
        ids = [vocabulary.setdefault(item, len(vocabulary)) for items in sets for item in items]
        counts = np.array([len(items) for items in sets], dtype=np.int64)
        return cls(np.repeat(np.arange(len(sets)), counts), np.array(ids, dtype=np.int64), counts)

    def shared(self, other: _Sparse) -> np.ndarray:
        """How many items each row here shares with each row there (exact: small integer counts)."""
        columns, inverse = np.unique(np.concatenate([self.ids, other.ids]), return_inverse=True)
        mine = np.zeros((len(self.counts), len(columns)), dtype=np.float32)
        mine[self.rows, inverse[: len(self.ids)]] = 1.0
        theirs = np.zeros((len(other.counts), len(columns)), dtype=np.float32)
        theirs[other.rows, inverse[len(self.ids) :]] = 1.0
        return (mine @ theirs.T).astype(np.int64)


@dataclass(frozen=True, slots=True)
class _Facts:
    """The sentences of some passages as arrays, one row per sentence: ``_Sentence`` for many at once."""

    words: _Sparse
    numbers: _Sparse
    ordinals: np.ndarray  # bit n set: names the n-th round
    months: np.ndarray  # bit n set: names month n

    def contradicted_by(self, other: _Facts) -> np.ndarray:
        """``_Sentence.contradicts`` for every pair of rows: both name numbers (rounds, months), none shared."""
        numbers = (self.numbers.counts[:, None] > 0) & (other.numbers.counts[None, :] > 0)
        numbers &= self.numbers.shared(other.numbers) == 0
        return numbers | _disjoint(self.ordinals, other.ordinals) | _disjoint(self.months, other.months)


def _passages(rows: np.ndarray, sentences: np.ndarray) -> int:
    """How many passages the chosen sentence rows (``_sentence_rows``'s (passage, sentence)) fall in."""
    return len(set(rows[sentences, 0].tolist()))


def _disjoint(mine: np.ndarray, theirs: np.ndarray) -> np.ndarray:
    """Pairs of bit sets that are both non-empty and share no bit."""
    return (mine[:, None] != 0) & (theirs[None, :] != 0) & ((mine[:, None] & theirs[None, :]) == 0)


K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class _Bounded(Generic[K, V]):
    """A small thread-safe LRU cache: answers come from many threads over one snapshot."""

    def __init__(self, size: int) -> None:
        self._size = size
        self._items: OrderedDict[K, V] = OrderedDict()
        self._lock = threading.Lock()

    def peek(self, key: K) -> V | None:
        """The cached value, or None; computes nothing."""
        with self._lock:
            return self._items.get(key)

    def get(self, key: K, make: Callable[[], V]) -> V:
        with self._lock:
            if key in self._items:
                self._items.move_to_end(key)
                return self._items[key]
        value = make()  # outside the lock: two threads may both compute it, never wait on each other
        with self._lock:
            self._items[key] = value
            if len(self._items) > self._size:
                self._items.popitem(last=False)
        return value


class Provenance:
    """Sentence alignment and copies of one story over one index snapshot; safe to share between threads."""

    def __init__(
        self,
        snapshot: PassageIndex,
        *,
        cut: float = ALIGNMENT_CUT,
        story_cut: float = STORY_CUT,
        word_weight: float = WORD_WEIGHT,
        story_share: float = STORY_SHARE,
    ) -> None:
        self.snapshot = snapshot
        self.cut = cut
        self.story_cut = story_cut
        self.word_weight = word_weight
        self.story_share = story_share
        self._sentences: _Bounded[int, _LazySentences] = _Bounded(20_000)
        self._documents: _Bounded[str, tuple[StoredPassage, ...]] = _Bounded(256)
        self._articles: _Bounded[str, _Facts] = _Bounded(256)  # as many as whole articles kept
        self._stories: _Bounded[tuple[str, str], bool] = _Bounded(20_000)
        # Ids of the words and numbers of the sentences compared so far (a few tens of thousands at 1M).
        self._vocabulary: dict[str, int] = {}
        self._vocabulary_lock = threading.Lock()

    # ----- sentences

    def words(self, passage: StoredPassage) -> frozenset[str]:
        """The fact words of every sentence of the passage together."""
        return self._lazy(passage).words()

    def _lazy(self, passage: StoredPassage) -> _LazySentences:
        return self._sentences.get(passage.id, lambda: _LazySentences(passage))

    def align(
        self, passage: StoredPassage, sentence: int, other: StoredPassage, *, cut: float | None = None
    ) -> tuple[float, int]:
        """How well ``other`` says the given sentence of ``passage``: (best alignment, its sentence index).

        Pairs that cannot reach ``cut`` (default: the alignment cut) are not scored: -inf when none can.
        """
        return self._align(passage, sentence, other, self.cut if cut is None else cut, first=False)

    def reaches(
        self,
        passage: StoredPassage,
        sentence: int,
        other: StoredPassage,
        cut: float,
        *,
        cosines: np.ndarray | None = None,
    ) -> bool:
        """``align(...)[0] >= cut``, stopping at the first sentence of ``other`` that reaches it.

        ``cosines``: ``other``'s sentence vectors times the sentence's, when the caller has them already.
        """
        return self._align(passage, sentence, other, cut, first=True, cosines=cosines)[0] >= cut

    def _align(
        self,
        passage: StoredPassage,
        sentence: int,
        other: StoredPassage,
        cut: float,
        *,
        first: bool,
        cosines: np.ndarray | None = None,
    ) -> tuple[float, int]:
        """``align``; below the cut the value only says "does not reach it" (-inf when nothing was scored)."""
        if cosines is None:
            cosines = other.sentence_embeddings @ passage.sentence_embeddings[sentence]
        theirs = self._lazy(other)
        cosines = cosines[: min(len(cosines), len(theirs))]
        # Words can add at most word_weight: when no cosine can reach the cut, no sentence needs reading.
        top = int(np.argmax(cosines)) if cosines.size else -1
        if top < 0 or float(cosines[top]) + self.word_weight < cut:
            return -np.inf, 0
        mine = self._lazy(passage)[sentence]
        if first and cosines[top] >= cut and not mine.specific:
            return float(cosines[top]), top  # reaches on its vector alone; nothing can contradict it
        # What the words can add at most: no sentence of ``other`` shares more of this one's words than
        # the whole passage does. Usually a few, so most passages end here without a sentence compared.
        words = self.word_weight * _dice_bound(mine.words, theirs.words())
        if float(cosines[top]) + words < cut:
            return -np.inf, 0
        order = np.argsort(-cosines, kind="stable").tolist()
        best, best_index = -np.inf, 0
        # Best cosine first: a sentence whose cosine plus every word it could share cannot reach the
        # cut, or beat the best so far, ends the search (the result is the same).
        for j in order:
            cosine = cosines[j]
            if cosine + self.word_weight < cut or float(cosine) + words < max(cut, best):
                break
            their = theirs[j]
            if mine.contradicts(their):
                continue
            value = float(cosine) + self.word_weight * _dice(mine.words, their.words)
            if value > best or (value == best and j < best_index):
                best, best_index = value, j
                if first and best >= cut:
                    break
        return best, best_index

    def aligned(self, passage: StoredPassage, sentence: int, other: StoredPassage) -> int | None:
        """The sentence of ``other`` that says the given sentence of ``passage``, or None."""
        value, index = self.align(passage, sentence, other)
        return index if value >= self.cut else None

    # ----- whole articles

    def passages_of(self, doc_id: str) -> tuple[StoredPassage, ...]:
        """Every passage of one article, in order (read once per article)."""

        def read() -> tuple[StoredPassage, ...]:
            ids = self.snapshot.document_passage_ids(doc_id)
            fetched = self.snapshot.fetch(ids)
            return tuple(fetched[i] for i in ids if i in fetched)

        return self._documents.get(doc_id, read)

    def same_story(self, doc_a: str, doc_b: str) -> bool:
        """True when one article is a copy of the other: half its passages, and at least two, are aligned."""
        if doc_a == doc_b:
            return True
        key = (doc_a, doc_b) if doc_a < doc_b else (doc_b, doc_a)
        return self._stories.get(key, lambda: self._compare(*key))

    def known_story(self, doc_a: str, doc_b: str) -> bool | None:
        """``same_story`` if it has been worked out already, else None (nothing is compared)."""
        if doc_a == doc_b:
            return True
        return self._stories.peek((doc_a, doc_b) if doc_a < doc_b else (doc_b, doc_a))

    def _needed(self, passages: int) -> int:
        """How many of an article's passages must be aligned for it to be a copy: half, and at least two."""
        return max(min(2, passages), math.ceil(self.story_share * passages))

    def _compare(self, doc_a: str, doc_b: str) -> bool:
        """True when enough passages of one article have a sentence aligned in the other.

        The same test as ``aligned`` for every pair of sentences, as arrays: the cosines of all pairs
        are one matrix product, the words two sentences share another (each sentence's words as a row
        of ones), and the numbers, rounds and months that contradict are compared the same way. Two
        articles of 15 passages are 2,000 sentence pairs, and an answer compares many articles. When
        too few passages have a pair that can reach the cut, no word is read.
        """
        a, b = self.passages_of(doc_a), self.passages_of(doc_b)
        if not a or not b:
            return False
        need_a, need_b = self._needed(len(a)), self._needed(len(b))
        rows_a, vectors_a = self._sentence_rows(a)
        rows_b, vectors_b = self._sentence_rows(b)
        cosines = vectors_a @ vectors_b.T
        reach = cosines + self.word_weight >= self.cut
        # Too few passages have a pair that can reach the cut: not a copy, and no word needs reading.
        if _passages(rows_a, reach.any(axis=1)) < need_a and _passages(rows_b, reach.any(axis=0)) < need_b:
            return False
        facts_a, facts_b = self._facts(doc_a, a, rows_a), self._facts(doc_b, b, rows_b)
        # _dice, pair by pair, in the same float64 operations: 2 * shared / (|a| + |b|), 0 for two empty sets.
        total = facts_a.words.counts[:, None] + facts_b.words.counts[None, :]
        shared = facts_a.words.shared(facts_b.words)
        dice = np.divide(2 * shared, total, out=np.zeros(total.shape), where=total > 0)
        aligned = reach & ~facts_a.contradicted_by(facts_b)
        aligned &= cosines.astype(np.float64) + self.word_weight * dice >= self.cut
        return _passages(rows_a, aligned.any(axis=1)) >= need_a or _passages(rows_b, aligned.any(axis=0)) >= need_b

    def _facts(self, doc_id: str, passages: tuple[StoredPassage, ...], rows: np.ndarray) -> _Facts:
        """The words and specifics of an article's sentences ``rows`` lists, as arrays (once per article)."""
        return self._articles.get(doc_id, lambda: self._read_facts(passages, rows))

    def _read_facts(self, passages: tuple[StoredPassage, ...], rows: np.ndarray) -> _Facts:
        lazies = [self._lazy(p) for p in passages]
        sentences = [lazies[p][s] for p, s in rows.tolist()]
        with self._vocabulary_lock:  # one id per word, whichever thread meets it first
            words = _Sparse.of([s.words for s in sentences], self._vocabulary)
            numbers = _Sparse.of([s.numbers for s in sentences], self._vocabulary)
        return _Facts(
            words=words,
            numbers=numbers,
            ordinals=np.array([_bits(s.ordinals) for s in sentences], dtype=np.int64),
            months=np.array([_bits(s.months) for s in sentences], dtype=np.int64),
        )

    def _sentence_rows(self, passages: tuple[StoredPassage, ...]) -> tuple[np.ndarray, np.ndarray]:
        """(passage, sentence) for every sentence vector of the passages, and the vectors stacked."""
        rows: list[tuple[int, int]] = []
        blocks = []
        for index, passage in enumerate(passages):
            # As many rows as the passage has sentences with vectors; their words are read only if needed.
            count = min(len(passage.sentences) or 1, len(passage.sentence_embeddings))
            rows += [(index, s) for s in range(count)]
            blocks.append(passage.sentence_embeddings[:count])
        return np.array(rows, dtype=np.int64).reshape(-1, 2), np.vstack(blocks)
