"""One published generation, open for reading: the SQLite + FAISS implementation of ``PassageIndex``.

Lexical search asks FTS5 directly over small corpora; from ``lexicon.MIN_PASSAGES`` passages on it
reads the generation's lexicon, which returns FTS5's own top k without scoring every passage that
shares a common word with the question (index/store/lexicon.py). Either way the results are the same.
"""

from __future__ import annotations

import datetime as dt
import logging
import sqlite3
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import faiss
import numpy as np

from ..errors import IndexCorrupt
from . import lexicon, record, vectors
from .contract import StoredPassage
from .manifest import BuildConfig

__all__ = ["CONCURRENT_FROM", "RECENT_PASSAGES", "Snapshot"]

log = logging.getLogger(__name__)

# Reading a passage back (SQL, JSON spans, float16 sentence vectors) costs about 30 us: questions
# about the same things fetch the same ones again. 2,048 passages of 384 dimensions take ~10 MB.
RECENT_PASSAGES = 2048
# From this many passages the lexical search runs beside encoding the question (``hybrid_search``):
# FTS5 takes about 0.1 ms over the 56 shipped passages, 2 ms over 5,000; a hand-off about 0.1 ms.
CONCURRENT_FROM = 1_000


class Snapshot:
    """One published generation, open for reading: thread-safe, never modified underneath."""

    def __init__(self, directory: Path, manifest: dict, conn: sqlite3.Connection, index: faiss.Index) -> None:
        self.directory = directory
        self.manifest = manifest
        self._conn = conn
        self._index = index
        # One SQLite connection shared by the threads answering questions: reads take turns.
        self._lock = threading.Lock()
        # Passages read lately, least recently used first: a question's candidates overlap the last ones'.
        self._recent: OrderedDict[int, StoredPassage] = OrderedDict()
        self._workers: ThreadPoolExecutor | None = None  # lexical searches beside encoding (from CONCURRENT_FROM)
        self.documents, self.passage_counts = record.read_documents(conn)
        self._lexicon: lexicon.Lexicon | None = None
        self._tokenizer: lexicon.FtsTokenizer | None = None
        if "lexicon" in manifest and index.ntotal >= lexicon.MIN_PASSAGES:
            try:
                self._lexicon = lexicon.Lexicon.open(directory / lexicon.LEXICON_NAME, manifest["lexicon"])
                self._tokenizer = lexicon.FtsTokenizer()
            except IndexCorrupt as err:  # FTS5 gives the same answers, slower; the next reindex rebuilds it
                log.warning("%s Searching FTS5 directly meanwhile.", err)
        # Set when this is a fallback: the live generation was damaged and this one answers meanwhile.
        self.warning: str | None = None

    @property
    def generation(self) -> str:
        """The generation's folder name ("gen-000007")."""
        return self.directory.name

    @property
    def config(self) -> BuildConfig:
        """The build config recorded in the manifest."""
        return BuildConfig(**self.manifest["config"])

    @property
    def model(self) -> str:
        """The embedding model's name, without its fingerprint."""
        return str(self.manifest["config"]["model"]).split("#")[0]

    @property
    def passage_total(self) -> int:
        """Number of passages in this generation."""
        return int(self._index.ntotal)

    @property
    def built_at(self) -> dt.datetime:
        """When this generation was published (UTC)."""
        return dt.datetime.fromisoformat(self.manifest["created_at"])

    def dense_search(self, query: np.ndarray, k: int) -> list[tuple[int, float]]:
        """The k passages nearest to a unit query vector, as (passage id, cosine)."""
        return vectors.search(self._index, query, k)

    def lexical_search(self, match: str, k: int) -> list[tuple[int, float]]:
        """The k best FTS5 matches for an already-sanitised MATCH expression, as (passage id, bm25 > 0)."""
        if not match or k <= 0:
            return []
        words = lexicon.phrases_of(match) if self._lexicon is not None else None
        if words is not None and self._lexicon is not None and self._tokenizer is not None:
            tokens = self._tokenizer.tokens(words)
            if all(len(t) <= 1 for t in tokens):  # "a_b" is a phrase of two tokens: FTS5 matches those
                return self._lexicon.top([t[0] for t in tokens if t], k)
        with self._lock:
            return record.lexical_search(self._conn, match, k)

    def hybrid_search(
        self, encode: Callable[[], np.ndarray], k_dense: int, match: str, k_lexical: int
    ) -> tuple[np.ndarray, list[tuple[int, float]], list[tuple[int, float]]]:
        """The question's vector, its dense search and its lexical search: the lexical one beside the others.

        From ``CONCURRENT_FROM`` passages the lexical search (FTS5, or the lexicon past
        ``lexicon.MIN_PASSAGES``) takes milliseconds and needs no vector, so it runs in a worker while
        this thread encodes the question (ONNX Runtime works without the GIL) and searches FAISS (the
        same); each side then reads its passages into the recent ones (SQLite, too, works without the
        GIL), so the caller's ``fetch`` finds them there. On two cores the lexical side is then off the
        answer's path: encoding and the dense search take longer than it does. Over a smaller corpus
        FTS5 answers in a tenth of a millisecond and a hand-off would cost more than it saves.
        """
        if self.passage_total < CONCURRENT_FROM or not match or k_lexical <= 0:
            query = encode()
            return query, self.dense_search(query, k_dense), self.lexical_search(match, k_lexical)
        with self._lock:
            if self._workers is None:
                self._workers = ThreadPoolExecutor(max_workers=2, thread_name_prefix="lexical")
            workers = self._workers
        lexical = workers.submit(self._lexical_and_read, match, k_lexical)
        query = encode()
        dense = self.dense_search(query, k_dense)
        self.fetch(pid for pid, _ in dense)
        return query, dense, lexical.result()

    def _lexical_and_read(self, match: str, k: int) -> list[tuple[int, float]]:
        """``lexical_search``, then its passages read into the recent ones (the caller reads them next)."""
        found = self.lexical_search(match, k)
        self.fetch(pid for pid, _ in found)
        return found

    def fetch(self, passage_ids: Iterable[int]) -> dict[int, StoredPassage]:
        """Read passages (text, spans, vectors) by id; the recently read ones come from memory."""
        ids = list(dict.fromkeys(passage_ids))
        if not ids:
            return {}
        with self._lock:
            out = {}
            for pid in ids:
                if pid in self._recent:
                    out[pid] = self._recent[pid]
                    self._recent.move_to_end(pid)
            missing = [pid for pid in ids if pid not in out]
            if missing:
                read = record.fetch_passages(self._conn, missing, int(self.manifest["dimension"]), self.documents)
                out.update(read)
                self._recent.update(read)
                while len(self._recent) > RECENT_PASSAGES:
                    self._recent.popitem(last=False)
        return out

    def document_passages(self, doc_path: str) -> list[tuple[int, int, str]]:
        """(start, end, text) of a document's passages, in order (for tests and tools)."""
        with self._lock:
            return record.document_passages(self._conn, doc_path)

    def document_passage_ids(self, doc_path: str) -> list[int]:
        """Ids of a document's passages, in order: ``fetch`` reads them (search compares whole articles)."""
        with self._lock:
            return record.document_passage_ids(self._conn, doc_path)

    def document_body(self, doc_path: str) -> str | None:
        """A document's body as indexed, or None."""
        with self._lock:
            return record.document_body(self._conn, doc_path)

    def close(self) -> None:
        """Release the SQLite connection."""
        with self._lock:
            self._conn.close()
        if self._workers is not None:
            self._workers.shutdown(wait=False)
        if self._tokenizer is not None:
            self._tokenizer.close()
