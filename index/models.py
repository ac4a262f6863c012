"""Plain, frozen dataclasses that cross the boundary between the engine and its faces."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Literal

__all__ = [
    "CONFIDENCE_HIGH",
    "CONFIDENCE_LOW",
    "Answer",
    "Confidence",
    "Document",
    "DocumentInfo",
    "Hit",
    "IndexStats",
    "Passage",
    "SkippedFile",
    "SyncReport",
]

# How sure the bot is of an answer: "high" at or above CONFIDENT_SCORE, "low" (a likely answer,
# shown as such) from MIN_SCORE up to it. Below MIN_SCORE there is no answer at all.
Confidence = Literal["high", "low"]
CONFIDENCE_HIGH: Confidence = "high"
CONFIDENCE_LOW: Confidence = "low"


@dataclass(frozen=True, slots=True)
class DocumentInfo:
    """Who said it and where: the attribution of one article. Unknown values stay empty."""

    id: str
    title: str
    source: str
    author: str = ""
    published: dt.date | None = None
    url: str = ""

    def to_json(self) -> dict[str, str | None]:
        """The attribution as the CLI's JSON contract spells it."""
        return {
            "id": self.id,
            "title": self.title,
            "source": self.source,
            "author": self.author,
            "published": self.published.isoformat() if self.published else None,
            "url": self.url,
        }


@dataclass(frozen=True, slots=True)
class Document:
    """An article as loaded from the documents folder: attribution plus the body as stored."""

    info: DocumentInfo
    body: str
    content_hash: str
    # Where the body starts in the file (after front matter), so body offsets map back to the file.
    body_offset: int = 0

    @property
    def id(self) -> str:
        """The document's id: its path relative to the documents folder."""
        return self.info.id


@dataclass(frozen=True, slots=True)
class Passage:
    """A span of a document's body: the quote is exactly ``body[start:end]``.

    ``sentences`` are ``(start, end)`` spans relative to the passage's own start.
    """

    start: int
    end: int
    text: str
    sentences: tuple[tuple[int, int], ...] = field(default=())
    # Text read with the passage when embedding but never quoted (a list's lead-in sentence).
    context: str = ""


@dataclass(frozen=True, slots=True)
class Hit:
    """One quoted passage, where it comes from and how relevant it is."""

    document: DocumentInfo
    quote: str
    start: int
    end: int
    score: float
    # The best sentence, as (start, end) within ``quote``: a span, applied only when rendering.
    highlight: tuple[int, int]
    # Other articles carrying the same fact; when they are copies of one story, the quoted one is the
    # best attributed (index/provenance.py).
    also_reported_by: tuple[DocumentInfo, ...] = ()
    confidence: Confidence = CONFIDENCE_HIGH

    def to_json(self) -> dict[str, object]:
        """The hit as the CLI's JSON contract spells it."""
        return {
            "quote": self.quote,
            "highlight": list(self.highlight),
            "score": round(self.score, 4),
            "confidence": self.confidence,
            "document": self.document.to_json(),
            "also_reported_by": [d.to_json() for d in self.also_reported_by],
        }


@dataclass(frozen=True, slots=True)
class Answer:
    """The answer to one question: the best hit (or None: nothing relevant) and alternatives."""

    question: str
    hit: Hit | None
    alternatives: tuple[Hit, ...] = ()
    # The relevance compared with the cut-offs: the best candidate's score (None: no candidate at all).
    # It can differ from ``hit.score`` when the same sentence is quoted from a better-attributed copy.
    relevance: float | None = None

    @property
    def confidence(self) -> Confidence | None:
        """ "high" or "low" for an answer, None for nothing relevant."""
        return self.hit.confidence if self.hit else None

    def to_json(self) -> dict[str, object]:
        """The answer as the CLI's JSON contract spells it."""
        return {
            "question": self.question,
            "answer": self.hit.to_json() if self.hit else None,
            "alternatives": [h.to_json() for h in self.alternatives],
        }


@dataclass(frozen=True, slots=True)
class SkippedFile:
    """A file that was not loaded, and why."""

    path: str
    reason: str

    def __str__(self) -> str:
        return f"{self.path}: {self.reason}"


@dataclass(slots=True)
class SyncReport:
    """What a reindex did, for people (CLI, Discord) and scripts (--json)."""

    added: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    skipped: list[SkippedFile] = field(default_factory=list)
    # Files that are broken now but were indexed before: their previous version stays answerable.
    kept_previous: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    passages_added: int = 0
    passages_removed: int = 0
    documents: int = 0
    passages: int = 0
    seconds: float = 0.0
    rebuilt_because: str | None = None
    repaired: str | None = None
    generation: str | None = None
    published: bool = False

    @property
    def has_changes(self) -> bool:
        """True when documents were added, updated or removed (a new generation is due)."""
        return bool(self.added or self.updated or self.removed)

    def to_json(self) -> dict[str, object]:
        """The report as a JSON-ready dict."""
        return {
            "added": self.added,
            "updated": self.updated,
            "removed": self.removed,
            "unchanged": len(self.unchanged),
            "skipped": [{"file": s.path, "reason": s.reason} for s in self.skipped],
            "kept_previous": self.kept_previous,
            "notes": self.notes,
            "passages_added": self.passages_added,
            "passages_removed": self.passages_removed,
            "documents": self.documents,
            "passages": self.passages,
            "seconds": round(self.seconds, 3),
            "rebuilt_because": self.rebuilt_because,
            "repaired": self.repaired,
            "generation": self.generation,
            "published": self.published,
        }


@dataclass(frozen=True, slots=True)
class IndexStats:
    """What the live index holds, for /about and `talksbot index`."""

    documents: int
    passages: int
    generation: str
    built_at: dt.datetime
    model: str
    # The second-stage model re-scoring answers (RERANK_MODEL), or "" when there is none.
    reranker: str = ""
