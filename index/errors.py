"""Named errors of the retrieval engine, written out once.

Every error a user can cause or meet derives from ``TalksbotError`` and carries a
message that is a complete sentence saying what happened and what to do. Callers
(the CLI, the Discord bot) show ``str(error)`` and never a traceback.

    TalksbotError
    ├── DocumentError          a file cannot be read as an article (skipped, with the reason)
    ├── InvalidQuestion        a question is empty, too long or has no words
    ├── EmbedderError          the embedding model cannot be loaded
    ├── RerankerError          the second-stage model (RERANK_MODEL) cannot be loaded
    └── IndexStoreError        anything about the built index
        ├── IndexMissing       no index has been built yet in INDEX_DIR
        ├── IndexIncompatible  built by another model / splitter / schema: rebuild needed
        ├── IndexCorrupt       a file of the index is damaged
        ├── IndexBusy          another process is writing the index right now
        └── IndexWriteError    the index folder cannot be written (permissions, disk full)
"""

from __future__ import annotations

from pathlib import Path

__all__ = [
    "DocumentError",
    "EmbedderError",
    "IndexBusy",
    "IndexCorrupt",
    "IndexIncompatible",
    "IndexMissing",
    "IndexStoreError",
    "IndexWriteError",
    "InvalidQuestion",
    "RerankerError",
    "TalksbotError",
]


class TalksbotError(Exception):
    """Base of every error talksbot reports to a user as a sentence."""


class DocumentError(TalksbotError):
    """A file in the documents folder cannot be read as an article."""

    def __init__(self, path: Path | str, reason: str) -> None:
        super().__init__(f"{path}: {reason}")
        self.path = Path(path)
        self.reason = reason


class InvalidQuestion(TalksbotError):
    """A question that cannot be searched (empty, too long, no words)."""


class EmbedderError(TalksbotError):
    """The embedding model cannot be loaded or run."""


class RerankerError(TalksbotError):
    """The second-stage model (RERANK_MODEL) cannot be loaded or run."""


class IndexStoreError(TalksbotError):
    """Something is wrong with the built index."""


class IndexMissing(IndexStoreError):
    """No index has been built yet."""


class IndexIncompatible(IndexStoreError):
    """The index was built with another model, splitter or schema."""


class IndexCorrupt(IndexStoreError):
    """A file of the index is damaged or inconsistent."""


class IndexBusy(IndexStoreError):
    """Another process is writing the index."""


class IndexWriteError(IndexStoreError):
    """The index folder cannot be written."""
