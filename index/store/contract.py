"""What search needs from a store: the read side's contract, in one place.

``Searcher`` (index/search.py) and ``Engine`` talk to a published index only through
``PassageIndex``. Today one implementation exists, ``Snapshot``: a generation folder holding a
SQLite record and a FAISS index (index/store/snapshot.py). A Postgres + pgvector backend would
implement this same protocol over one database (``dense_search`` as an ``ORDER BY embedding <#>
query`` on a pgvector column, ``lexical_search`` as ``ts_rank`` over a ``tsvector`` column, ``fetch``
as a ``SELECT ... WHERE id = ANY(...)``, ``document_passage_ids`` as a ``SELECT id`` by document)
and would replace ``snapshot.py``, ``record.py``, ``vectors.py`` and ``generations.py``; the
indexer's plan-and-embed step (index/store/indexer.py) and everything above the contract (search,
engine, the bot) would stay as they are.

Rules an implementation keeps:
- A view never changes underneath a reader: answers started on it finish on it, even while a newer
  generation is published (SQLite generations are immutable; a database would use a snapshot or a
  generation column).
- Vectors are unit length and scores are inner products, i.e. cosines.
- Passage ids are stable within a view; ``fetch`` of an id from ``dense_search`` or
  ``lexical_search`` of the same view always succeeds.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from ..models import DocumentInfo

__all__ = ["PassageIndex", "StoredPassage"]


@dataclass(frozen=True, slots=True)
class StoredPassage:
    """A passage as read back from the index, with its vectors."""

    id: int
    document: DocumentInfo
    start: int
    end: int
    text: str
    sentences: tuple[tuple[int, int], ...]
    embedding: np.ndarray
    sentence_embeddings: np.ndarray
    # Embedded with the sentence that introduces its list (see passages.split_passages).
    has_lead_in: bool = False


class PassageIndex(Protocol):
    """One published, read-only view of the index: what answering a question reads."""

    @property
    def generation(self) -> str:
        """A name for this view that changes whenever its contents do ("gen-000007")."""
        ...

    @property
    def documents(self) -> Mapping[int, DocumentInfo]:
        """Every indexed article, by the store's own document key."""
        ...

    @property
    def passage_counts(self) -> Mapping[int, int]:
        """Passages per article, by the same key as ``documents``."""
        ...

    @property
    def passage_total(self) -> int:
        """Passages in this view."""
        ...

    @property
    def built_at(self) -> dt.datetime:
        """When this view was published (UTC)."""
        ...

    @property
    def model(self) -> str:
        """The embedding model that built the vectors (its name, without the fingerprint)."""
        ...

    def dense_search(self, query: np.ndarray, k: int) -> list[tuple[int, float]]:
        """The k passages nearest to a unit query vector, as (passage id, cosine), best first."""
        ...

    def lexical_search(self, match: str, k: int) -> list[tuple[int, float]]:
        """The k best full-text matches of an already-sanitised query, as (passage id, score > 0), best first."""
        ...

    def hybrid_search(
        self, encode: Callable[[], np.ndarray], k_dense: int, match: str, k_lexical: int
    ) -> tuple[np.ndarray, list[tuple[int, float]], list[tuple[int, float]]]:
        """The question's vector (``encode()``), its ``dense_search`` and the ``lexical_search`` of ``match``.

        The lexical search needs no vector: an implementation may run it while the question is encoded.
        """
        ...

    def fetch(self, passage_ids: Iterable[int]) -> dict[int, StoredPassage]:
        """Passages (text, spans, vectors, attribution) by id."""
        ...

    def document_passage_ids(self, doc_path: str) -> list[int]:
        """Ids of one article's passages, in order; empty when it is not in this view."""
        ...

    def close(self) -> None:
        """Release what the view holds open."""
        ...
