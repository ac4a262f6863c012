"""The lexical side at any size: FTS5's own bm25 top k, read from a derived postings file in bounded time.

FTS5 ranks ``MATCH 'a OR b ...' ORDER BY bm25`` by scoring every passage that shares a word with
the question, and first counts every passage holding each word: 38 ms at 100,000 passages and
linear beyond. The record keeps its FTS5 table (the tokenizer, and the fallback); each generation
also gets ``lexicon.bin``, derived from it: for every term, the passages that contain it with
the term's frequency there, sorted by passage id; every passage's length in tokens; the row
count and the total length. ``Lexicon.top`` returns what FTS5 would, score for score:

* the same statistics (FTS5's own tokens, row count, total length) and the same formula,
  operation for operation: idf = ln((N - n + 0.5) / (n + 0.5)), 1e-6 when not positive, and
  idf * f(k1 + 1) / (f + k1 (1 - b + b |D| / avgdl)) summed in the question's word order,
  k1 = 1.2, b = 0.75 (sqlite's fts5_aux.c);
* but it reads the postings of common words only for the few passages that can still make the
  top k (MaxScore): a term's contribution is at most its idf times the largest frequency part any
  passage gives it (stored per term), so once k passages are known to score theta, a passage
  holding only words whose bounds sum to less than theta cannot enter the top k.

The file is a small JSON header followed by flat arrays, memory-mapped read-only: opening it
reads nothing but the header, and a question touches only its own terms' postings.
"""

from __future__ import annotations

import bisect
import json
import logging
import math
import mmap
import re
import sqlite3
import threading
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np

from ..errors import IndexCorrupt
from .files import sha256

__all__ = ["LEXICON_NAME", "MIN_PASSAGES", "FtsTokenizer", "Lexicon", "build_lexicon", "next_lexicon", "phrases_of"]

log = logging.getLogger(__name__)

LEXICON_NAME = "lexicon.bin"
TOKENIZE = "porter unicode61 remove_diacritics 2"  # the record's FTS5 table's, exactly
K1, B = 1.2, 0.75
_MAGIC = b"TBLEX001"
# Below this many passages FTS5 answers in a fraction of a millisecond (0.1 ms over the 56 shipped
# ones): the snapshot asks it directly (same results; the lexicon is still written, so it is there when
# the corpus grows). Above, FTS5 grows with the corpus: 2.1-2.6 ms at 5,000 where the lexicon takes 0.9.
MIN_PASSAGES = 1_000
_ALIGN = 64
# Terms held by at most this share of passages (or this many) are scored in full first.
_RARE_SHARE, _RARE_MIN = 0.01, 2_000
# Bounds are compared with sums taken in another order: a margin far above rounding, far below any score gap.
_EPSILON = 1e-9
# theta comes from the exact scores of this many of the best partial sums: the closer it is to the k-th
# best score, the fewer common words' postings have to be read (a thousand lookups cost about 0.2 ms).
_THETA_SAMPLE = 1024
_QUOTED = re.compile(r'"([^"]*)"')
_MATCH_SHAPE = re.compile(r'"[^"]*"(?: OR "[^"]*")*')


def phrases_of(match: str) -> list[str] | None:
    """The quoted words of a ``"a" OR "b"`` MATCH expression (what search sends), or None for anything else."""
    if not _MATCH_SHAPE.fullmatch(match):
        return None
    return _QUOTED.findall(match)


class FtsTokenizer:
    """FTS5's tokenizer, as the record's table applies it: an in-memory FTS5 table asked for its tokens."""

    def __init__(self) -> None:
        self._conn = sqlite3.connect(":memory:", check_same_thread=False)
        self._create()
        self._lock = threading.Lock()
        self._cache: dict[str, tuple[str, ...]] = {}

    def _create(self) -> None:
        self._conn.execute(f"CREATE VIRTUAL TABLE t USING fts5(text, tokenize = '{TOKENIZE}')")
        self._conn.execute("CREATE VIRTUAL TABLE v USING fts5vocab(t, 'instance')")

    def _empty(self) -> None:
        """Drop the rows: dropping the tables is far cheaper than FTS5's DELETE, which tokenizes every row again."""
        self._conn.execute("DROP TABLE v")
        self._conn.execute("DROP TABLE t")
        self._create()

    def tokens(self, words: Sequence[str]) -> list[tuple[str, ...]]:
        """Each word's tokens (usually one; none for a separator, several for "a_b"), cached."""
        missing = [w for w in dict.fromkeys(words) if w not in self._cache]
        if missing:
            with self._lock:
                got: dict[int, list[tuple[int, str]]] = {i: [] for i in range(len(missing))}
                self._conn.executemany("INSERT INTO t (rowid, text) VALUES (?, ?)", enumerate(missing))
                for term, doc, offset in self._conn.execute("SELECT term, doc, offset FROM v"):
                    got[doc].append((offset, term))
                self._conn.execute("DELETE FROM t")
            if len(self._cache) > 50_000:
                self._cache.clear()
            for i, word in enumerate(missing):
                self._cache[word] = tuple(term for _, term in sorted(got[i]))
        return [self._cache[w] for w in words]

    def postings(self, rows: Iterable[tuple[int, str]]) -> tuple[list[str], np.ndarray, np.ndarray, np.ndarray]:
        """(terms, term index, passage id, frequency) of every term of every row, grouped by term in row order."""
        terms: dict[str, int] = {}
        codes, ids = [], []
        with self._lock:
            for chunk in _chunks(rows, 20_000):
                self._conn.executemany("INSERT INTO t (rowid, text) VALUES (?, ?)", chunk)
                # One row per term with its passages as text: a row per occurrence would cost a Python
                # tuple each (4 s per 20,000 passages instead of 1).
                found = self._conn.execute("SELECT term, group_concat(doc, ' ') FROM v GROUP BY term").fetchall()
                self._empty()
                if not found:
                    continue
                words, docs = zip(*found, strict=True)
                per_term = np.fromiter((d.count(" ") + 1 for d in docs), np.int64, len(docs))
                term_codes = np.fromiter((terms.setdefault(w, len(terms)) for w in words), np.int64, len(words))
                codes.append(np.repeat(term_codes, per_term))
                ids.append(np.fromstring(" ".join(docs), dtype=np.int64, sep=" "))
        if not codes:
            empty = np.zeros(0, dtype=np.int64)
            return [], empty, empty, empty
        code, pid = np.concatenate(codes), np.concatenate(ids)
        # Chunks come in passage order; sort each term's occurrences by passage (stable, so chunk order holds),
        # then count repeats: one posting per (term, passage) with its frequency.
        order = np.lexsort((pid, code))
        code, pid = code[order], pid[order]
        first = np.ones(len(code), dtype=bool)
        first[1:] = (code[1:] != code[:-1]) | (pid[1:] != pid[:-1])
        starts = np.flatnonzero(first)
        freq = np.diff(np.append(starts, len(code)))
        return list(terms), code[starts], pid[starts], freq

    def close(self) -> None:
        """Release the in-memory database."""
        self._conn.close()


def _chunks(rows: Iterable[tuple[int, str]], size: int) -> Iterable[list[tuple[int, str]]]:
    chunk: list[tuple[int, str]] = []
    for row in rows:
        chunk.append(row)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


class Lexicon:
    """One generation's postings, memory-mapped: FTS5's bm25 top k for a question's words."""

    def __init__(self, path: Path) -> None:
        with path.open("rb") as fh:
            self._map = mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ)
        # A search reads a few terms' postings here and there: no read-ahead around them.
        self._map.madvise(mmap.MADV_RANDOM)
        # A plain array over the mapping: np.memmap's own slicing costs microseconds per call.
        raw = np.frombuffer(self._map, dtype=np.uint8)
        if bytes(raw[:8]) != _MAGIC:
            raise ValueError("not a talksbot lexicon")
        size = int(np.frombuffer(bytes(raw[8:16]), dtype="<u8")[0])
        header = json.loads(bytes(raw[16 : 16 + size]))
        self.rows = int(header["rows"])
        self.avgdl = float(header["tokens"]) / self.rows if self.rows else 0.0
        arrays = {}
        for name, (offset, dtype, length) in header["arrays"].items():
            arrays[name] = raw[offset : offset + length * np.dtype(dtype).itemsize].view(dtype)
        start = header["arrays"]["ids"][0] // mmap.PAGESIZE * mmap.PAGESIZE
        end = header["arrays"]["max_part"][0]  # the ids and frequencies lie between
        self._postings_pages = (start, max(0, end - start))
        self._blob = arrays["term_bytes"]
        self._term_at = arrays["term_offsets"]
        self._starts = arrays["posting_offsets"]
        self._ids = arrays["ids"]
        self._freqs = arrays["freqs"]
        self._max_part = arrays["max_part"]
        self._lengths = arrays["lengths"]
        self._terms = _TermList(self._blob, self._term_at)
        # k1(1 - b + b|D|/avgdl) of every passage, once: the same operations as fts5_aux.c, so the same bits.
        self._norm = K1 * (1 - B + B * self._lengths.astype(np.float64) / (self.avgdl or 1.0))

    @classmethod
    def open(cls, path: Path, entry: dict) -> Lexicon:
        """Open the file the manifest describes (IndexCorrupt when it is missing or damaged)."""
        try:
            if path.stat().st_size != entry["bytes"] or sha256(path) != entry["sha256"]:
                raise IndexCorrupt(f"The lexicon {path} is damaged (its checksum does not match the manifest).")
            return cls(path)
        except OSError:
            raise IndexCorrupt(f"The lexicon {path} is missing.") from None
        except (ValueError, KeyError, TypeError) as err:
            raise IndexCorrupt(f"The lexicon {path} cannot be read ({err}).") from None

    @property
    def terms(self) -> int:
        """Distinct terms."""
        return len(self._terms)

    def _find(self, term: str) -> tuple[int, int, int] | None:
        """The term's index and its slice of the postings, or None."""
        key = term.encode("utf-8")
        i = bisect.bisect_left(self._terms, key)
        if i < len(self._terms) and self._terms[i] == key:
            return i, int(self._starts[i]), int(self._starts[i + 1])
        return None

    def top(self, phrases: Sequence[str], k: int) -> list[tuple[int, float]]:
        """FTS5's ``ORDER BY bm25 LIMIT k`` for single-token phrases in question order, as (passage id, score > 0)."""
        try:
            return self._top(phrases, k)
        finally:
            # The postings read are page cache, not this process's: handed back, the resident memory
            # stays the index's own instead of growing with every word ever asked (300 MB at 1M).
            self._map.madvise(mmap.MADV_DONTNEED, *self._postings_pages)

    def _top(self, phrases: Sequence[str], k: int) -> list[tuple[int, float]]:
        if k <= 0 or not self.rows:
            return []
        parts = []  # (position, idf, bound, start, end) of each phrase found, end - start passages holding it
        for position, term in enumerate(phrases):
            where = self._find(term)
            if where is None:
                continue  # FTS5 still counts it (the idf of no rows) but it adds 0 to every score
            index, start, end = where
            idf = math.log((self.rows - (end - start) + 0.5) / ((end - start) + 0.5))
            if idf <= 0.0:
                idf = 1e-6
            parts.append((position, idf, idf * float(self._max_part[index]), start, end))
        if not parts:
            return []
        rest = sorted(parts, key=lambda p: p[4] - p[3])  # rarest first
        rare_limit = max(_RARE_MIN, int(self.rows * _RARE_SHARE))
        scored = [p for p in rest if p[4] - p[3] <= rare_limit] or rest[:1]
        rest = rest[len(scored) :]
        ids, partial = self._accumulate(scored)
        while rest:
            if len(ids) >= k:
                theta = self._theta(parts, ids, partial, k)
                if sum(p[2] for p in rest) < theta - _EPSILON:
                    return self._best(parts, self._prune(ids, partial, rest, theta), k)
            # Not bounded yet: the next rarest term's passages join the candidates.
            ids, partial = self._accumulate([rest.pop(0)], ids, partial)
        return self._best(parts, ids, k)

    def _prune(self, ids: np.ndarray, partial: np.ndarray, rest: list, theta: float) -> tuple[np.ndarray, np.ndarray]:
        """Candidates that can still reach theta, adding the rest's terms one by one (largest bound first).

        A passage outside ``ids`` holds only the rest's terms: it scores at most their bounds' sum,
        below theta. One inside scores at most its partial sum plus the bounds of the terms not yet
        added; each added term replaces its bound by the passage's actual contribution.
        """
        remaining = sum(p[2] for p in rest)
        keep = partial + remaining >= theta - _EPSILON
        ids, partial = ids[keep], partial[keep]
        for part in sorted(rest, key=lambda p: -p[2]):
            partial = partial + self._contributions(part[1], self._lookup(part, ids), ids)
            remaining -= part[2]
            keep = partial + remaining >= theta - _EPSILON
            ids, partial = ids[keep], partial[keep]
        return ids

    def _contributions(self, idf: float, freqs: np.ndarray, ids: np.ndarray) -> np.ndarray:
        """idf * f(k1+1) / (f + k1(1 - b + b|D|/avgdl)), written as fts5_aux.c writes it (same rounding)."""
        f = freqs.astype(np.float64)
        return idf * ((f * (K1 + 1.0)) / (f + self._norm[ids]))

    def _lookup(self, part: tuple, ids: np.ndarray) -> np.ndarray:
        """The phrase's frequency in each of these (sorted) passages, 0 where it is absent."""
        _, _, _, start, end = part
        postings = self._ids[start:end]
        # In the postings' own type: searchsorted would otherwise convert the whole list (up to a
        # million ids) to the needles' int64 on every call; ids come from the postings, so they fit.
        at = np.searchsorted(postings, ids.astype(postings.dtype, copy=False))
        inside = at < len(postings)
        present = np.zeros(len(ids), dtype=bool)
        present[inside] = postings[at[inside]] == ids[inside]
        freqs = np.zeros(len(ids), dtype=np.int64)
        freqs[present] = self._freqs[start:end][at[present]]
        return freqs

    def _accumulate(
        self, parts: list, ids: np.ndarray | None = None, partial: np.ndarray | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """Passages holding any of these phrases (or already in ``ids``), with their partial sums."""
        found = [np.asarray(self._ids[p[3] : p[4]], dtype=np.int64) for p in parts]
        sums = [self._contributions(p[1], self._freqs[p[3] : p[4]], i) for p, i in zip(parts, found, strict=True)]
        if ids is not None and partial is not None:
            found.insert(0, ids)
            sums.insert(0, partial)
        if len(found) == 1:
            return found[0], sums[0]  # one term's postings: already sorted, one per passage
        every, values = np.concatenate(found), np.concatenate(sums)
        order = np.argsort(every, kind="stable")  # sorted runs: timsort merges them in linear time
        every, values = every[order], values[order]
        first = np.empty(len(every), dtype=bool)
        first[0] = True
        np.not_equal(every[1:], every[:-1], out=first[1:])
        starts = np.flatnonzero(first)
        return every[starts], np.add.reduceat(values, starts)

    def _exact(self, parts: list, ids: np.ndarray) -> np.ndarray:
        """Full scores of these passages, phrase by phrase in question order (FTS5's own sum)."""
        score = np.zeros(len(ids), dtype=np.float64)
        for part in sorted(parts):
            score += self._contributions(part[1], self._lookup(part, ids), ids)  # 0.0 where absent: no change
        return score

    def _theta(self, parts: list, ids: np.ndarray, partial: np.ndarray, k: int) -> float:
        """A score the k-th best passage reaches for sure: the k-th best full score among the best partials."""
        take = min(len(ids), max(4 * k, _THETA_SAMPLE))
        best = np.argpartition(-partial, take - 1)[:take]
        full = self._exact(parts, np.sort(ids[best]))  # sorted: searchsorted walks the postings once
        return float(np.sort(full)[-k])

    def _best(self, parts: list, ids: np.ndarray, k: int) -> list[tuple[int, float]]:
        """The k best of these passages by full score, best first (ties by id)."""
        if not len(ids):
            return []
        full = self._exact(parts, ids)
        order = np.lexsort((ids, -full))[:k]
        return [(int(ids[i]), float(full[i])) for i in order]


class _TermList(Sequence[bytes]):
    """The sorted terms as a sequence of bytes, read from the mapped blob (for bisect)."""

    def __init__(self, blob: np.ndarray, offsets: np.ndarray) -> None:
        self._blob = blob
        self._offsets = offsets

    def __len__(self) -> int:
        return len(self._offsets) - 1

    def __getitem__(self, i):  # type: ignore[no-untyped-def, override]
        return bytes(self._blob[self._offsets[i] : self._offsets[i + 1]])


def build_lexicon(
    path: Path,
    *,
    rows: int,
    base: Lexicon | None,
    removed_ids: Sequence[int],
    added: Iterable[tuple[int, str]],
    tokenizer: FtsTokenizer,
) -> dict:
    """Write the next generation's lexicon: ``base`` without ``removed_ids``, plus ``added`` (id, text); its entry.

    ``rows`` is the passage count of the new generation (FTS5's row count).
    """
    new_terms, new_code, new_ids, new_freqs = tokenizer.postings(added)
    if base is not None:
        base_terms = [bytes(t).decode("utf-8") for t in base._terms]
        counts = np.diff(np.asarray(base._starts, dtype=np.int64))
        base_code = np.repeat(np.arange(len(base_terms), dtype=np.int64), counts)
        base_ids = np.asarray(base._ids, dtype=np.int64)
        base_freqs = np.asarray(base._freqs, dtype=np.int64)
        if len(removed_ids):
            keep = ~np.isin(base_ids, np.asarray(removed_ids, dtype=np.int64))
            base_code, base_ids, base_freqs = base_code[keep], base_ids[keep], base_freqs[keep]
    else:
        base_terms, base_code = [], np.zeros(0, dtype=np.int64)
        base_ids = base_freqs = np.zeros(0, dtype=np.int64)
    vocabulary = sorted(set(base_terms).union(new_terms))  # code point order = UTF-8 byte order
    position = {t: i for i, t in enumerate(vocabulary)}
    remap_base = np.fromiter((position[t] for t in base_terms), np.int64, len(base_terms))
    remap_new = np.fromiter((position[t] for t in new_terms), np.int64, len(new_terms))
    code = np.concatenate([remap_base[base_code] if len(base_code) else base_code, remap_new[new_code]])
    ids = np.concatenate([base_ids, new_ids])
    freqs = np.concatenate([base_freqs, new_freqs])
    order = np.argsort(code, kind="stable")  # base ids before added ones, which are newer (larger)
    code, ids, freqs = code[order], ids[order], freqs[order]
    counts = np.bincount(code, minlength=len(vocabulary))
    used = counts > 0  # a term whose passages were all removed disappears
    vocabulary = [t for t, u in zip(vocabulary, used, strict=True) if u]
    starts = np.concatenate([[0], np.cumsum(counts[used])]).astype(np.int64)

    lengths = np.bincount(ids, weights=freqs, minlength=1).astype(np.int64)  # exact: integers far below 2**53
    tokens = int(lengths.sum())
    avgdl = tokens / rows if rows else 1.0
    f = freqs.astype(np.float64)
    part = (f * (K1 + 1.0)) / (f + K1 * (1 - B + B * lengths[ids].astype(np.float64) / avgdl))
    max_part = np.maximum.reduceat(part, starts[:-1]) if len(part) else np.zeros(0)

    encoded = [t.encode("utf-8") for t in vocabulary]
    term_offsets = np.concatenate([[0], np.cumsum([len(t) for t in encoded], dtype=np.int64)]).astype(np.int64)
    id_type = np.uint32 if not len(ids) or ids.max() < 2**32 else np.int64
    arrays = {
        "term_bytes": np.frombuffer(b"".join(encoded), dtype=np.uint8),
        "term_offsets": term_offsets,
        "posting_offsets": starts,
        "ids": ids.astype(id_type),
        "freqs": freqs.astype(np.uint16),
        "max_part": max_part.astype(np.float64),
        "lengths": lengths.astype(np.uint16 if lengths.max(initial=0) < 2**16 else np.uint32),
    }
    _write(path, {"rows": rows, "tokens": tokens}, arrays)
    return {
        "bytes": path.stat().st_size,
        "sha256": sha256(path),
        "terms": len(vocabulary),
        "postings": len(ids),
    }


def _write(path: Path, scalars: dict, arrays: dict[str, np.ndarray]) -> None:
    """Magic, header length, JSON header (scalars and where each array lies), then the aligned arrays."""
    layout: dict[str, list] = {}
    offset = 0
    for name, array in arrays.items():
        layout[name] = [offset, array.dtype.str, len(array)]
        offset += -(-array.nbytes // _ALIGN) * _ALIGN
    # The header's own size shifts the arrays: fix it with room to spare, then place them after it.
    header_size = -(-(len(json.dumps({**scalars, "arrays": layout})) + 256) // _ALIGN) * _ALIGN
    start = 16 + header_size
    for entry in layout.values():
        entry[0] += start
    header = json.dumps({**scalars, "arrays": layout}).encode()
    with path.open("wb") as fh:
        fh.write(_MAGIC + np.array([header_size], dtype="<u8").tobytes() + header.ljust(header_size, b" "))
        for array in arrays.values():
            data = np.ascontiguousarray(array).tobytes()
            fh.write(data + b"\0" * (-len(data) % _ALIGN))


def next_lexicon(
    conn: sqlite3.Connection,
    base: tuple[Path, dict] | None,
    removed_ids: Sequence[int],
    added: Sequence[tuple[int, str]],
    rows: int,
    staging: Path,
) -> dict:
    """Write the next generation's lexicon into ``staging``: the base's, updated; else rebuilt from the record.

    ``base`` is the base generation's folder and manifest when its lexicon is intact.
    """
    old = None
    if base is not None and "lexicon" in base[1]:
        try:
            old = Lexicon.open(base[0] / LEXICON_NAME, base[1]["lexicon"])
        except IndexCorrupt as err:
            log.warning("%s Rebuilding it from the record.", err)
    tokenizer = FtsTokenizer()
    try:
        if old is None:  # every passage of the record, the ones just added included
            rows_in = conn.execute("SELECT id, text FROM passages ORDER BY id")
            return build_lexicon(
                staging / LEXICON_NAME, rows=rows, base=None, removed_ids=(), added=rows_in, tokenizer=tokenizer
            )
        return build_lexicon(
            staging / LEXICON_NAME, rows=rows, base=old, removed_ids=removed_ids, added=added, tokenizer=tokenizer
        )
    finally:
        tokenizer.close()
