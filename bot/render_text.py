"""Rendering answers and reports for the terminal and as JSON lines."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from index import CONFIDENCE_LOW, Answer, DocumentInfo, Hit, SyncReport

from .attribution import attribute

if TYPE_CHECKING:
    from collections.abc import Sequence
    from pathlib import Path

    from .feedback import VotedAnswer
    from .ingest import AddReport, PollReport, SavedArticle

__all__ = [
    "CONFIDENCE_LABELS",
    "LIKELY_ANSWER_NOTE",
    "MORE_FROM_THE_SOURCES",
    "also_reported_by",
    "attribution",
    "printable",
    "render_add_report",
    "render_answer_json",
    "render_answer_text",
    "render_error_json",
    "render_feedback_text",
    "render_poll_report",
    "render_sync_report",
]

_BOLD, _DIM, _YELLOW, _RESET = "\x1b[1m", "\x1b[2m", "\x1b[33m", "\x1b[0m"
# The words every face uses for an answer's confidence band (terminal, Discord); the score itself is
# for scripts (--json) and maintainers (`talksbot -v ask`): "relevance 0.68" tells a reader nothing.
CONFIDENCE_LABELS = {"high": "Confident answer", "low": "Likely answer"}
# What the More sources button shows in Discord, and the terminal's heading for the same passages.
MORE_FROM_THE_SOURCES = "More from the sources"
LIKELY_ANSWER_NOTE = "Likely answer: the closest passage found, which may not answer the question exactly."


def attribution(info: DocumentInfo) -> str:
    """'Tom Balmforth · Reuters, 17 May 2025': the citation, the outlet as its link confirms it (bot/attribution.py)."""
    return attribute(info).citation()


def also_reported_by(copies: Sequence[DocumentInfo]) -> str:
    """'Also reported by: “Title” — Unattributed source, no date': the articles credited beside the quoted one."""
    return "Also reported by: " + "; ".join(f"“{d.title}” — {attribution(d)}" for d in copies)


def _quote_with_highlight(hit: Hit, color: bool) -> str:
    """The verbatim quote; with colour, the best sentence in bold."""
    a, b = hit.highlight
    if color and (a, b) != (0, len(hit.quote)):
        return f"{hit.quote[:a]}{_BOLD}{hit.quote[a:b]}{_RESET}{hit.quote[b:]}"
    return hit.quote


def printable(text: str) -> str:
    """Text safe to echo on a terminal: control and format characters (escape codes) become spaces."""
    return " ".join("".join(c if c.isprintable() else " " for c in text).split())


def render_answer_text(
    answer: Answer, *, color: bool = False, documents: int | None = None, scores: bool = False
) -> str:
    """A readable terminal answer: quote, best sentence, citation, confidence, other sources.

    ``scores`` (``talksbot -v ask``) adds the relevance figures, for maintainers tuning the cut-offs.
    """
    if answer.hit is None:
        scope = f"the {documents} indexed articles" if documents is not None else "the indexed articles"
        return f"Nothing relevant in {scope} for: {printable(answer.question)}"
    hit = answer.hit
    lines = []
    if hit.confidence == CONFIDENCE_LOW:
        lines += [f"{_YELLOW}{LIKELY_ANSWER_NOTE}{_RESET}" if color else LIKELY_ANSWER_NOTE, ""]
    lines += [f"“{_quote_with_highlight(hit, color)}”", ""]
    a, b = hit.highlight
    if not color and (a, b) != (0, len(hit.quote)):
        lines += [f"Best sentence: {hit.quote[a:b]}", ""]
    source = attribute(hit.document)
    lines.append(f"— {source.citation()}")
    lines.append(f"  {source.title}")
    if source.url:
        lines.append(f"  {source.url}")
    # The band in a word, once: a likely answer already says so above the quote.
    if scores or hit.confidence != CONFIDENCE_LOW:
        confidence = _confidence(hit, scores)
        lines.append(f"{_DIM}{confidence}{_RESET}" if color else confidence)
    if hit.also_reported_by:
        lines.append(also_reported_by(hit.also_reported_by))
    if answer.alternatives:
        # The terminal has no "More sources" button: the other passages follow in full, each article named once.
        lines += ["", f"{MORE_FROM_THE_SOURCES}:"]
        groups: dict[str, list[Hit]] = {}
        for alt in answer.alternatives:
            groups.setdefault(alt.document.id, []).append(alt)
        for alts in groups.values():
            lines += ["", f"  {alts[0].document.title}", f"  — {attribution(alts[0].document)}"]
            for alt in alts:
                lines += ["", f"  “{alt.quote}”"]
                if scores:
                    lines.append(f"    {_confidence(alt, scores)}")
    return "\n".join(lines)


def _confidence(hit: Hit, scores: bool) -> str:
    """'Likely answer', with the relevance figure when asked for (verbose)."""
    label = CONFIDENCE_LABELS[hit.confidence]
    return f"{label} (relevance {hit.score:.2f})" if scores else label


# Valid inside JSON strings, but line breaks to str.splitlines() and some JSON Lines readers.
_LINE_BREAKS = {"\u2028": "\\u2028", "\u2029": "\\u2029", "\x85": "\\u0085"}


def _json_line(obj: object) -> str:
    """One JSON object on exactly one line, whatever characters the text holds."""
    line = json.dumps(obj, ensure_ascii=False)
    for raw, escaped in _LINE_BREAKS.items():
        line = line.replace(raw, escaped)
    return line


def render_answer_json(answer: Answer) -> str:
    """One JSON line in the CLI contract's shape."""
    return _json_line(answer.to_json())


def render_error_json(question: str, message: str) -> str:
    """One JSON line for a question that could not be answered."""
    return _json_line({"question": question, "error": message})


def render_sync_report(report: SyncReport) -> str:
    """What a reindex changed, in a few lines."""
    # A skipped file is counted in the first line, so "up to date" never reads as "everything is indexed".
    skipped = f", {len(report.skipped)} skipped" if report.skipped else ""
    head = (
        f"{report.documents} articles, {report.passages} passages: "
        f"{len(report.added)} added, {len(report.updated)} updated, {len(report.removed)} removed, "
        f"{len(report.unchanged)} unchanged{skipped} ({report.seconds:.1f} s)"
    )
    # Nothing published and a file skipped: "up to date" would claim the skipped files too.
    unchanged = "Index unchanged" if report.skipped else "Index is up to date"
    lines = [f"{'Index updated' if report.published else unchanged}: {head}"]
    if report.rebuilt_because:
        lines.append(f"Rebuilt from scratch because {report.rebuilt_because}.")
    if report.repaired:
        lines.append(f"Repaired: {report.repaired}")
    for label, names in (("added", report.added), ("updated", report.updated), ("removed", report.removed)):
        lines += [f"  {label}: {name}" for name in names]
    for skipped in report.skipped:
        kept = " (its previously indexed version stays answerable)" if skipped.path in report.kept_previous else ""
        lines.append(f"  skipped {skipped.path}: {skipped.reason}{kept}")
    lines += [f"  note: {note}" for note in report.notes]
    return "\n".join(lines)


def _saved(article: SavedArticle, documents: Path) -> str:
    """'documents/x.md: "Title" (2025-05-16 · Outlet · Author)'."""
    facts = [article.published.isoformat() if article.published else "undated", article.source or "outlet unknown"]
    if article.author:
        facts.append(article.author)
    note = " (replaced)" if article.replaced else ""
    note += " (paywalled: only the free part)" if article.paywalled else ""
    return f"{documents / article.path}{note}: {printable(article.title)!r} ({' · '.join(printable(f) for f in facts)})"


def render_add_report(report: AddReport, documents: Path, order: Sequence[str] = ()) -> str:
    """`talksbot add`: one line per source, in the order given (added as PATH / already there / failed: reason),
    then what the reindex did."""
    lines = [(a.origin, f"added {printable(a.origin)} as {_saved(a, documents)}") for a in report.added]
    lines += [(s, f"already there: {printable(s)} (as {documents / p}, {why})") for s, p, why in report.unchanged]
    lines += [(s, f"failed: {printable(s)}: {printable(r)}") for s, r in report.failed]
    position = {source: i for i, source in reversed(list(enumerate(order)))}
    lines.sort(key=lambda pair: position.get(pair[0], len(position)))
    text = [line for _source, line in lines]
    if report.index is not None:
        text.append(render_sync_report(report.index))
    return "\n".join(text)


def render_poll_report(report: PollReport, documents: Path) -> str:
    """`talksbot poll`: a line per feed, then what was added, skipped and failed, then the index."""
    lines = []
    for feed in report.feeds:
        line = (
            f"feed {printable(feed.url)}: {feed.items} items, {feed.added} added, {feed.skipped} skipped, "
            f"{feed.failed} failed, {feed.seen} seen before"
        )
        if feed.deferred:
            line += f", {feed.deferred} left for the next poll"
        if feed.error:
            line += f": {printable(feed.error)}"
        lines.append(line)
    lines += [f"  added {printable(a.origin)} as {_saved(a, documents)}" for a in report.added]
    for url, title, reason in report.skipped:
        what = printable(url) or "an item without a link"
        lines.append(f"  skipped {what} ({printable(title)!r}): {printable(reason)}")
    lines += [f"  failed: {printable(u)}: {printable(r)}" for u, r in report.failed if u not in _feed_urls(report)]
    if report.index is not None:
        lines.append(render_sync_report(report.index))
    return "\n".join(lines)


def _feed_urls(report: PollReport) -> set[str]:
    return {f.url for f in report.feeds}


def render_feedback_text(voted: Sequence[VotedAnswer], database: Path) -> str:
    """`talksbot feedback`: each voted answer with its votes, the question and what was quoted."""
    if not voted:
        return f"No votes yet in {database}."
    lines = [f"{len(voted)} answer{'s' if len(voted) != 1 else ''} with votes, most recent first ({database}):"]
    for item in voted:
        where = "/ask" if item.kind == "ask" else "Find sources"
        lines += [
            "",
            f"👍 {item.up}  👎 {item.down}  {where}, {item.asked_at.date().isoformat()}: {printable(item.question)}",
        ]
        hit = item.hit
        if hit is None:
            lines.append("  answered: nothing relevant")
            continue
        quote = printable(hit["quote"])
        quote = quote if len(quote) <= 200 else quote[:199].rstrip() + "…"
        doc = hit["document"]
        lines.append(f"  quoted: “{quote}”")
        lines.append(f"  from: {printable(doc.get('title') or '')} ({doc.get('id')})")
    return "\n".join(lines)
