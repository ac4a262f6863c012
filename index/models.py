"""Plain, frozen dataclasses that cross the boundary between the engine and its faces."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

__all__ = ["Answer", "Document", "DocumentInfo", "Hit", "Passage"]


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
    also_reported_by: tuple[DocumentInfo, ...] = ()

    def to_json(self) -> dict[str, object]:
        """The hit as the CLI's JSON contract spells it."""
        return {
            "quote": self.quote,
            "highlight": list(self.highlight),
            "score": round(self.score, 4),
            "document": self.document.to_json(),
            "also_reported_by": [d.to_json() for d in self.also_reported_by],
        }


@dataclass(frozen=True, slots=True)
class Answer:
    """The answer to one question: the best hit (or None: nothing relevant) and alternatives."""

    question: str
    hit: Hit | None
    alternatives: tuple[Hit, ...] = ()
    # When nothing is relevant enough: the articles that came closest, to offer instead.
    closest: tuple[DocumentInfo, ...] = ()
    # The relevance compared with the threshold: the best candidate's score (None: no candidate at all).
    # It can exceed ``hit.score`` when a near-duplicate from a newer article is quoted instead.
    relevance: float | None = None

    def to_json(self) -> dict[str, object]:
        """The answer as the CLI's JSON contract spells it."""
        return {
            "question": self.question,
            "answer": self.hit.to_json() if self.hit else None,
            "alternatives": [h.to_json() for h in self.alternatives],
        }
