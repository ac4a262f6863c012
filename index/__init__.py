"""talksbot's retrieval engine: documents in, quoted and attributed answers out.

This package knows nothing of Discord (a test holds it to that). What the faces in bot/ may use
is re-exported here, and only here (tests/test_architecture.py holds bot/ to ``from index import``):

- ``Engine``: answer a question, reindex, the live index's stats and sources (``engine``), over an
  ``Embedder`` (the bundled model by default: ``SentenceTransformerEmbedder``);
- the frozen dataclasses that cross the boundary (``models``) and the errors (``errors``);
- checking a question before anything loads (``clean_question``), reading an article's bytes
  (``parse_article``), making an article's link safe to show and naming its site (``safe_url``,
  ``link_site``), removing unfinished index folders when the process gets SIGTERM
  (``staging_removed_on_sigterm``), a second-stage model by name (``load_reranker``), and the
  evaluation harness behind `talksbot eval` (``evaluation``).

Everything else (documents, passages, embedder, store, search) is the engine's own business.
"""

from .documents import ARTICLE_SUFFIXES, parse_article
from .embedder import DEFAULT_MODEL, Embedder, SentenceTransformerEmbedder
from .engine import Engine, ProgressFactory
from .errors import (
    DocumentError,
    EmbedderError,
    IndexBusy,
    IndexCorrupt,
    IndexIncompatible,
    IndexMissing,
    IndexStoreError,
    IndexWriteError,
    InvalidQuestion,
    RerankerError,
    TalksbotError,
)
from .models import (
    CONFIDENCE_HIGH,
    CONFIDENCE_LOW,
    Answer,
    Confidence,
    Document,
    DocumentInfo,
    Hit,
    IndexStats,
    Passage,
    SkippedFile,
    SyncReport,
)
from .questions import MAX_QUESTION_CHARS, clean_question
from .reranker import Reranker, load_reranker
from .search import DEFAULT_CONFIDENT_SCORE, DEFAULT_MIN_SCORE, SearchConfig
from .store import staging_removed_on_sigterm
from .urls import MAX_URL_CHARS, link_site, safe_url

__all__ = [
    "ARTICLE_SUFFIXES",
    "CONFIDENCE_HIGH",
    "CONFIDENCE_LOW",
    "DEFAULT_CONFIDENT_SCORE",
    "DEFAULT_MIN_SCORE",
    "DEFAULT_MODEL",
    "MAX_QUESTION_CHARS",
    "MAX_URL_CHARS",
    "Answer",
    "Confidence",
    "Document",
    "DocumentError",
    "DocumentInfo",
    "Embedder",
    "EmbedderError",
    "Engine",
    "Hit",
    "IndexBusy",
    "IndexCorrupt",
    "IndexIncompatible",
    "IndexMissing",
    "IndexStats",
    "IndexStoreError",
    "IndexWriteError",
    "InvalidQuestion",
    "Passage",
    "ProgressFactory",
    "Reranker",
    "RerankerError",
    "SearchConfig",
    "SentenceTransformerEmbedder",
    "SkippedFile",
    "SyncReport",
    "TalksbotError",
    "clean_question",
    "link_site",
    "load_reranker",
    "parse_article",
    "safe_url",
    "staging_removed_on_sigterm",
]
