"""talksbot's retrieval engine: documents in, quoted and attributed answers out.

This package knows nothing of Discord (a test holds it to that). What the faces in bot/ may use
is re-exported here, and only here (tests/test_architecture.py holds bot/ to ``from index import``):

- ``Engine``: answer a question, reindex, the live index's stats and sources (``engine``), over an
  ``Embedder`` (the bundled model by default: ``SentenceTransformerEmbedder``);
- the frozen dataclasses that cross the boundary (``models``) and the errors (``errors``);
- checking a question before anything loads (``clean_question``), reading an article's bytes
  (``parse_article``), making an article's link safe to show and naming its site (``safe_url``,
  ``link_site``), removing unfinished index folders when the process gets SIGTERM
  (``staging_removed_on_sigterm``), and the evaluation harness behind `talksbot eval` (``evaluation``).

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
    TalksbotError,
)
from .models import Answer, Document, DocumentInfo, Hit, IndexStats, Passage, SkippedFile, SyncReport
from .questions import MAX_QUESTION_CHARS, clean_question
from .search import SearchConfig
from .store import staging_removed_on_sigterm
from .urls import MAX_URL_CHARS, link_site, safe_url

__all__ = [
    "ARTICLE_SUFFIXES",
    "DEFAULT_MODEL",
    "MAX_QUESTION_CHARS",
    "MAX_URL_CHARS",
    "Answer",
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
    "SearchConfig",
    "SentenceTransformerEmbedder",
    "SkippedFile",
    "SyncReport",
    "TalksbotError",
    "clean_question",
    "link_site",
    "parse_article",
    "safe_url",
    "staging_removed_on_sigterm",
]
