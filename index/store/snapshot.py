"""One published generation, open for reading: the SQLite + FAISS implementation of ``PassageIndex``."""

from __future__ import annotations

import datetime as dt
import sqlite3
import threading
from collections.abc import Iterable
from pathlib import Path

import faiss
import numpy as np

from . import record, vectors
from .contract import StoredPassage
from .manifest import BuildConfig

__all__ = ["Snapshot"]


class Snapshot:
    """One published generation, open for reading: thread-safe, never modified underneath."""

    def __init__(self, directory: Path, manifest: dict, conn: sqlite3.Connection, index: faiss.Index) -> None:
        self.directory = directory
        self.manifest = manifest
        self._conn = conn
        self._index = index
        # One SQLite connection shared by the threads answering questions: reads take turns.
        self._lock = threading.Lock()
        self.documents, self.passage_counts = record.read_documents(conn)
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
        with self._lock:
            return record.lexical_search(self._conn, match, k)

    def fetch(self, passage_ids: Iterable[int]) -> dict[int, StoredPassage]:
        """Read passages (text, spans, vectors) by id."""
        ids = list(dict.fromkeys(passage_ids))
        if not ids:
            return {}
        with self._lock:
            return record.fetch_passages(self._conn, ids, int(self.manifest["dimension"]), self.documents)

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
