"""The indexer: compare the documents folder with the index, then split and embed what changed.

Planning is by content hash: a file whose bytes did not change is never embedded again. A file
that was indexed before and cannot be read now keeps its last good version (``kept_previous``)
rather than disappearing from answers because of a bad save.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from pathlib import Path

from ..documents import ScanResult
from ..embedder import Embedder, PassageInput
from ..models import Document, SyncReport
from ..passages import MAX_PASSAGES_PER_ARTICLE, split_article
from . import record
from .manifest import BuildConfig
from .record import EmbeddedDocument

__all__ = ["ProgressFactory", "embed_documents", "plan_changes"]

# Called with the number of passages to embed; returns a callback taking how many were just embedded.
ProgressFactory = Callable[[int], Callable[[int], None]]


def plan_changes(scan: ScanResult, base: Path | None, report: SyncReport) -> list[Document]:
    """Compare the folder with the base generation by content hash; fill the report, return what to embed."""
    known = record.content_hashes(base / record.SQLITE_NAME) if base is not None else {}
    to_embed: list[Document] = []
    seen: set[str] = set()
    for doc in scan.documents:
        seen.add(doc.id)
        if doc.id not in known:
            report.added.append(doc.id)
            to_embed.append(doc)
        elif known[doc.id] != doc.content_hash:
            report.updated.append(doc.id)
            to_embed.append(doc)
        else:
            report.unchanged.append(doc.id)
    skipped_paths = {s.path for s in scan.skipped}
    for path in sorted(set(known) - seen):
        # A file that is still there but unreadable now keeps its last good version answerable.
        if path in skipped_paths:
            report.kept_previous.append(path)
        else:
            report.removed.append(path)
    return to_embed


def embed_documents(
    documents: Sequence[Document],
    embedder: Embedder,
    config: BuildConfig,
    progress: ProgressFactory | None,
    notes: list[str] | None = None,
) -> list[EmbeddedDocument]:
    """Split and embed the new or changed documents; ``notes`` hears of an article whose passages were merged."""
    split = []
    for doc in documents:
        parts = split_article(
            doc.body, max_tokens=config.max_tokens, count_tokens=embedder.count_tokens, title=doc.info.title
        )
        passages = parts.passages
        if parts.merged and notes is not None:
            notes.append(
                f"{doc.id}: {parts.before_merging:,} paragraphs are more than the {MAX_PASSAGES_PER_ARTICLE:,} "
                f"passages an article may have, so short ones were merged into {len(passages):,} passages"
            )
        if config.passage_context != "lead-in":  # the lead-in is recorded only when it was embedded
            passages = [dataclasses.replace(p, context="") for p in passages]
        split.append((doc, passages))
    inputs = [
        PassageInput(text=p.text, context=_context(doc, p.context, config.passage_context), sentences=p.sentences)
        for doc, passages in split
        for p in passages
    ]
    tick = progress(len(inputs)) if progress and inputs else None
    vectors = embedder.embed_passages(inputs, progress=tick) if inputs else []
    out = []
    cursor = 0
    for doc, passages in split:
        out.append(EmbeddedDocument(doc, passages, vectors[cursor : cursor + len(passages)]))
        cursor += len(passages)
    return out


def _context(doc: Document, lead_in: str, mode: str) -> str:
    """What the model reads before a passage: nothing, the article's title, or a list's lead-in."""
    if mode == "title":
        return doc.info.title
    if mode == "lead-in":
        return lead_in
    return ""
