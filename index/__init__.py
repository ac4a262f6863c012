"""talksbot's retrieval engine: documents in, quoted and attributed answers out.

This package knows nothing of Discord (a test holds it to that). Its public surface:

- ``scan_documents`` / ``read_article``: load and validate articles (``documents``).
- ``split_passages``: paragraphs as ``(start, end)`` spans of a body (``passages``).
- ``SentenceTransformerEmbedder``: the bundled all-MiniLM-L6-v2, or another model (``embedder``).
- ``IndexStore``: SQLite record + FAISS vectors, incremental and atomic (``store``).
- ``Searcher``: a question to an ``Answer`` (``search``).
- The dataclasses ``Document``, ``DocumentInfo``, ``Passage``, ``Hit``, ``Answer`` and the errors.
"""

from .documents import ScanResult, SkippedFile, read_article, scan_documents
from .embedder import DEFAULT_MODEL, Embedder, PassageInput, SentenceTransformerEmbedder
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
from .models import Answer, Document, DocumentInfo, Hit, Passage
from .passages import SPLITTER_VERSION, split_passages
from .search import MAX_QUESTION_CHARS, SearchConfig, Searcher, clean_question
from .store import BuildConfig, IndexStore, Snapshot, SyncReport

__all__ = [
    "DEFAULT_MODEL",
    "MAX_QUESTION_CHARS",
    "SPLITTER_VERSION",
    "Answer",
    "BuildConfig",
    "Document",
    "DocumentError",
    "DocumentInfo",
    "Embedder",
    "EmbedderError",
    "Hit",
    "IndexBusy",
    "IndexCorrupt",
    "IndexIncompatible",
    "IndexMissing",
    "IndexStore",
    "IndexStoreError",
    "IndexWriteError",
    "InvalidQuestion",
    "Passage",
    "PassageInput",
    "ScanResult",
    "SearchConfig",
    "Searcher",
    "SentenceTransformerEmbedder",
    "SkippedFile",
    "Snapshot",
    "SyncReport",
    "TalksbotError",
    "clean_question",
    "read_article",
    "scan_documents",
    "split_passages",
]
