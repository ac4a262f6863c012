"""Splitting an article's body into passages: spans of the body that can be quoted as they are.

A passage is a paragraph. Paragraphs are separated by blank lines; inside a block, each line
is its own paragraph unless the lines are hard-wrapped prose (most lines stop mid-sentence).
Bylines, credit lines, headings and rules are metadata, not answers, and are left out. A
list marker or a wire dateline ("ISTANBUL (Reuters) -") is outside the span, not cut out of
it. A paragraph longer than the model reads is split at sentence boundaries. A list item is
embedded with the sentence that introduces the list as context (not part of its quote).

An article is at most ``MAX_PASSAGES_PER_ARTICLE`` passages as split above; past that (200,000
one-line paragraphs would cost minutes of embedding and gigabytes), runs of short passages are
merged into spans up to the model's length, and if that is still too many, neighbours of any
length are. A merged passage is still one verbatim span of the body (with whatever lay between
its parts), so normal articles split exactly as before and nothing is ever dropped.

Nothing is rewritten: every passage is ``body[start:end]`` and every sentence a span inside it.
Change ``SPLITTER_VERSION`` whenever the output for the same body can change: the index
records it and rebuilds when it differs.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from .models import Passage
from .sentences import split_sentences

__all__ = [
    "DEFAULT_MAX_TOKENS",
    "MAX_PASSAGES_PER_ARTICLE",
    "SPLITTER_VERSION",
    "Split",
    "approximate_token_count",
    "split_article",
    "split_passages",
]

# 3: articles over MAX_PASSAGES_PER_ARTICLE passages have their short passages merged.
SPLITTER_VERSION = 3
# all-MiniLM-L6-v2 reads 256 word pieces including [CLS] and [SEP]; 200 leaves room for the
# article title that is embedded with each passage as context.
DEFAULT_MAX_TOKENS = 200
MIN_PASSAGE_WORDS = 3
# A long news article is a few hundred passages; a 1 MiB upload of ordinary prose about 1,700.
MAX_PASSAGES_PER_ARTICLE = 2_000
# When an article has too many passages, those under this many word pieces are merged first.
SHORT_PASSAGE_TOKENS = DEFAULT_MAX_TOKENS // 4
# Sentence spans kept per merged passage (adjacent ones are joined): each costs a stored vector.
MAX_MERGED_SENTENCES = 8

TokenCounter = Callable[[str], int]

_LIST_MARKER = re.compile(r"[ \t]*(?:[*\-+•]|\d{1,3}[.)])[ \t]+")
_HEADING = re.compile(r"[ \t]*#{1,6}(?:[ \t]|$)")
_RULE = re.compile(r"[ \t]*(?:-{3,}|\*{3,}|_{3,}|={3,})[ \t]*$")
_BYLINE = re.compile(
    r"[ \t]*(?:\*\*|_)?By[ \t]+[A-Z][\w.'’-]*(?:[ \t,]+(?:and[ \t]+)?[A-Z][\w.'’-]*){0,6}(?:\*\*|_)?[ \t]*$"
)
_CREDIT = re.compile(
    r"[ \t]*[(\[]?[ \t]*(?:Additional[ \t]+)?(?:reporting|writing|editing|edited|compiled|produced|"
    r"translated|research)[ \t]+by\b",
    re.IGNORECASE,
)
_PHOTO_CREDIT = re.compile(r"[ \t]*(?:Photo|Image|Picture|Video)(?:[ \t]+credit)?[ \t]*:", re.IGNORECASE)
_COPYRIGHT = re.compile(r"[ \t]*(?:©|Copyright\b|All rights reserved)", re.IGNORECASE)
# "ISTANBUL (Reuters) -", "KYIV, May 16 (AP) —": where and who, not what.
_DATELINE = re.compile(r"[A-Z][A-Z .'’-]{1,40}(?:,[^()\n]{1,30})?[ \t]+\([A-Za-z .&'-]{2,30}\)[ \t]*[-–—]+[ \t]*")
_TERMINAL = tuple(".!?…:;\"”’')]")


@dataclass(frozen=True, slots=True)
class _Line:
    start: int
    end: int  # excludes the line break


def approximate_token_count(text: str) -> int:
    """A model-free stand-in for a tokenizer: about 1.3 word pieces per word, rounded up."""
    words = len(text.split())
    return (words * 13 + 9) // 10


@dataclass(frozen=True, slots=True)
class Split:
    """An article's passages, and how many there were before short ones were merged (if they were)."""

    passages: list[Passage]
    before_merging: int

    @property
    def merged(self) -> bool:
        """True when the article had too many passages and some were merged."""
        return self.before_merging != len(self.passages)


def split_passages(
    body: str,
    *,
    max_tokens: int = DEFAULT_MAX_TOKENS,
    count_tokens: TokenCounter = approximate_token_count,
    title: str = "",
    max_passages: int = MAX_PASSAGES_PER_ARTICLE,
) -> list[Passage]:
    """Split a body into quotable passages, each within ``max_tokens`` word pieces.

    When the body opens with a headline line equal to ``title``, that line is a heading, not
    an answer, and is left out.
    """
    return split_article(
        body, max_tokens=max_tokens, count_tokens=count_tokens, title=title, max_passages=max_passages
    ).passages


def split_article(
    body: str,
    *,
    max_tokens: int = DEFAULT_MAX_TOKENS,
    count_tokens: TokenCounter = approximate_token_count,
    title: str = "",
    max_passages: int = MAX_PASSAGES_PER_ARTICLE,
) -> Split:
    """``split_passages``, saying whether short passages had to be merged to stay near ``max_passages``."""
    passages = _split(body, max_tokens=max_tokens, count_tokens=count_tokens, title=title)
    if len(passages) <= max_passages:
        return Split(passages, len(passages))
    tokens = [count_tokens(p.text) for p in passages]
    merged = _merge(body, passages, tokens, max_tokens, count_tokens, short=SHORT_PASSAGE_TOKENS)
    if len(merged) > max_passages:
        merged = _merge(body, passages, tokens, max_tokens, count_tokens, short=max_tokens + 1)
    return Split(merged, len(passages))


def _merge(
    body: str, passages: list[Passage], tokens: list[int], max_tokens: int, count: TokenCounter, *, short: int
) -> list[Passage]:
    """Join runs of neighbouring passages under ``short`` tokens into spans within ``max_tokens``."""
    out: list[Passage] = []
    group: list[Passage] = []
    group_tokens = 0
    for passage, size in zip(passages, tokens, strict=True):
        if size >= short:
            if group:
                out.append(_joined(body, group))
                group = []
            out.append(passage)
            continue
        if group:
            between = body[group[-1].end : passage.start]  # lines left out of passages: they join the quote
            extra = count(between) if between.strip() else 0
            if group_tokens + extra + size <= max_tokens:
                group.append(passage)
                group_tokens += extra + size
                continue
            out.append(_joined(body, group))
        group, group_tokens = [passage], size
    if group:
        out.append(_joined(body, group))
    return out


def _joined(body: str, group: list[Passage]) -> Passage:
    """One passage spanning ``group``: the body from its first start to its last end, verbatim."""
    if len(group) == 1:
        return group[0]
    start, end = group[0].start, group[-1].end
    sentences = [(s + p.start - start, e + p.start - start) for p in group for s, e in p.sentences]
    if len(sentences) > MAX_MERGED_SENTENCES:
        size = -(-len(sentences) // MAX_MERGED_SENTENCES)
        sentences = [(chunk[0][0], chunk[-1][1]) for chunk in _chunks(sentences, size)]
    # No lead-in: a span of several paragraphs is its own context, and the model's length is spent on it.
    return Passage(start=start, end=end, text=body[start:end], sentences=tuple(sentences))


def _chunks(items: list[tuple[int, int]], size: int) -> list[list[tuple[int, int]]]:
    return [items[i : i + size] for i in range(0, len(items), size)]


def _split(body: str, *, max_tokens: int, count_tokens: TokenCounter, title: str) -> list[Passage]:
    """The passages of a body as paragraphs give them (before any merging)."""
    passages: list[Passage] = []
    lead_in = ""
    for start, end, is_list_item in _paragraphs(body, skip_title_line=_opens_with_headline(body, title)):
        if not is_list_item:
            # A list item means little without the sentence that introduces the list
            # ("Russia proposed the following terms:"), so that sentence is its context.
            last = split_sentences(body, start, end)
            lead_in = body[last[-1][0] : last[-1][1]] if last else ""
        if len(body[start:end].split()) < MIN_PASSAGE_WORDS:
            continue
        context = lead_in if is_list_item else ""
        budget = max_tokens - (count_tokens(context) if context else 0)
        if budget < max_tokens // 2:  # an over-long lead-in would crowd out the item itself
            context, budget = "", max_tokens
        for a, b in _fit(body, start, end, budget, count_tokens):
            sentences = tuple((s - a, e - a) for s, e in split_sentences(body, a, b))
            passages.append(Passage(start=a, end=b, text=body[a:b], sentences=sentences, context=context))
    return passages


def _opens_with_headline(body: str, title: str) -> bool:
    """True when the first non-empty line is a short headline repeating the title."""
    for line in body.splitlines():
        text = " ".join(line.strip().lstrip("#").split())
        if text:
            return bool(title) and text == title and len(text.split()) <= 25 and not text.endswith((".", "!", "?"))
    return False


def _lines(body: str) -> list[_Line]:
    """The body's lines as spans, line breaks (\\n, \\r\\n) excluded."""
    lines = []
    pos = 0
    for raw in body.splitlines(keepends=True):
        content = raw.rstrip("\r\n")
        lines.append(_Line(pos, pos + len(content)))
        pos += len(raw)
    return lines


def _is_metadata(text: str) -> bool:
    """A heading, rule, byline or credit line: never an answer."""
    return bool(
        _HEADING.match(text)
        or _RULE.match(text)
        or (_BYLINE.match(text) and len(text) < 120)
        or (_CREDIT.match(text) and len(text) < 400)
        or (_PHOTO_CREDIT.match(text) and len(text) < 300)
        or (_COPYRIGHT.match(text) and len(text) < 200)
    )


def _paragraphs(body: str, *, skip_title_line: bool) -> list[tuple[int, int, bool]]:
    """Paragraph spans of the body and whether each is a list item; metadata left out, markers outside."""
    blocks: list[list[_Line]] = [[]]
    for line in _lines(body):
        if not body[line.start : line.end].strip():
            blocks.append([])
        else:
            blocks[-1].append(line)
    if skip_title_line:
        for block in blocks:
            if block:
                block.pop(0)
                break
    spans: list[tuple[int, int, bool]] = []
    for block in blocks:
        for group in _group_block(body, block):
            span = _trim(body, group[0].start, group[-1].end)
            if span:
                spans.append((*span, bool(_LIST_MARKER.match(body, group[0].start, group[-1].end))))
    return spans


def _group_block(body: str, block: list[_Line]) -> list[list[_Line]]:
    """Group a block's lines into paragraphs: one per line, unless the block is hard-wrapped prose."""
    prose = [ln for ln in block if not _is_metadata(body[ln.start : ln.end])]
    widest = max((ln.end - ln.start for ln in prose), default=0)
    # A hard-wrapped line stops mid-sentence near the wrap column; a short one ("Read more") is its own line.
    wrapped = sum(
        1
        for ln in prose[:-1]
        if not body[ln.start : ln.end].rstrip().endswith(_TERMINAL) and (ln.end - ln.start) >= 0.6 * widest
    )
    is_wrapped = len(prose) > 1 and wrapped * 2 > len(prose) - 1
    groups: list[list[_Line]] = []
    for line in block:
        text = body[line.start : line.end]
        if _is_metadata(text):
            groups.append([])  # a metadata line ends the paragraph before it
            continue
        starts_new = not is_wrapped or _LIST_MARKER.match(text) or not groups or not groups[-1]
        if starts_new:
            groups.append([line])
        else:
            groups[-1].append(line)
    return [g for g in groups if g]


def _trim(body: str, start: int, end: int) -> tuple[int, int] | None:
    """Narrow a paragraph span past list markers, datelines and surrounding whitespace."""
    marker = _LIST_MARKER.match(body, start, end)
    if marker:
        start = marker.end()
    dateline = _DATELINE.match(body, start, end)
    if dateline and dateline.end() < end:
        start = dateline.end()
    while start < end and body[start].isspace():
        start += 1
    while end > start and body[end - 1].isspace():
        end -= 1
    return (start, end) if start < end else None


def _fit(body: str, start: int, end: int, max_tokens: int, count: TokenCounter) -> list[tuple[int, int]]:
    """Split a paragraph at sentence boundaries (then at words) so each piece fits the model."""
    if count(body[start:end]) <= max_tokens:
        return [(start, end)]
    pieces: list[tuple[int, int]] = []
    for s, e in split_sentences(body, start, end):
        if count(body[s:e]) <= max_tokens:
            pieces.append((s, e))
        else:
            pieces.extend(_split_words(body, s, e, max_tokens, count))
    # Greedily re-join consecutive sentences while the joined span still fits.
    chunks: list[tuple[int, int]] = []
    for s, e in pieces:
        if chunks and count(body[chunks[-1][0] : e]) <= max_tokens:
            chunks[-1] = (chunks[-1][0], e)
        else:
            chunks.append((s, e))
    return chunks


def _split_words(body: str, start: int, end: int, max_tokens: int, count: TokenCounter) -> list[tuple[int, int]]:
    """Split an over-long sentence between words; a single over-long word is split by characters."""
    chunks: list[tuple[int, int]] = []
    chunk_start: int | None = None
    chunk_tokens = 0
    for word in re.finditer(r"\S+", body[start:end]):
        ws, we = start + word.start(), start + word.end()
        tokens = count(body[ws:we])
        if tokens > max_tokens:
            if chunk_start is not None:
                chunks.append((chunk_start, _rstrip_end(body, chunk_start, ws)))
                chunk_start, chunk_tokens = None, 0
            chunks.extend(_split_chars(body, ws, we, max_tokens, count))
            continue
        if chunk_start is not None and chunk_tokens + tokens > max_tokens:
            chunks.append((chunk_start, _rstrip_end(body, chunk_start, ws)))
            chunk_start, chunk_tokens = None, 0
        if chunk_start is None:
            chunk_start = ws
        chunk_tokens += tokens
    if chunk_start is not None:
        chunks.append((chunk_start, _rstrip_end(body, chunk_start, end)))
    return chunks


def _rstrip_end(body: str, start: int, end: int) -> int:
    """The end of a chunk, trailing whitespace excluded."""
    while end > start and body[end - 1].isspace():
        end -= 1
    return end


def _split_chars(body: str, start: int, end: int, max_tokens: int, count: TokenCounter) -> list[tuple[int, int]]:
    """Split one enormous 'word' into pieces that fit, by halving until each piece fits."""
    if count(body[start:end]) <= max_tokens or end - start <= 1:
        return [(start, end)]
    mid = (start + end) // 2
    return _split_chars(body, start, mid, max_tokens, count) + _split_chars(body, mid, end, max_tokens, count)
