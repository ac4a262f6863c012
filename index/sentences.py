"""Sentence boundaries in news prose, as spans, without rewriting a character."""

from __future__ import annotations

import re

__all__ = ["split_sentences"]

# Words that end with a period without ending a sentence ("Mr. Peskov", "Gen. Gerasimov").
_ABBREVIATIONS = frozenset(
    """mr mrs ms dr prof sen rep gen col lt sgt capt maj adm gov pres st jr sr inc ltd co corp
    vs etc no nos approx dept est fig vol jan feb mar apr jun jul aug sep sept oct nov dec
    mt ft rev hon amb""".split()
)
# Sentence-final punctuation, any closing quotes or brackets, then the whitespace after them.
_BOUNDARY = re.compile(r"""[.!?…]+["”’'»)\]]*(?=\s)""")
_NEXT_STARTS_SENTENCE = re.compile(r"""\s+["“‘'«(\[]*[\d\w]""")


def split_sentences(text: str, start: int = 0, end: int | None = None) -> list[tuple[int, int]]:
    """Return the sentences of ``text[start:end]`` as (start, end) spans, whitespace trimmed."""
    end = len(text) if end is None else end
    spans: list[tuple[int, int]] = []
    cursor = start
    for match in _BOUNDARY.finditer(text, start, end):
        cut = match.end()
        if not _is_sentence_end(text, match.start(), cut, end):
            continue
        _append_trimmed(spans, text, cursor, cut)
        cursor = cut
    _append_trimmed(spans, text, cursor, end)
    return spans


def _is_sentence_end(text: str, punct_start: int, cut: int, end: int) -> bool:
    """Decide whether punctuation at ``punct_start`` really ends a sentence."""
    following = _NEXT_STARTS_SENTENCE.match(text, cut, end)
    if not following:
        return False
    first = following.group()[-1]
    if first.islower():
        return False  # "e.g. the talks", "U.S. de facto": a lowercase word continues the sentence
    if text[punct_start] != ".":
        return True
    word_start = punct_start
    while word_start > 0 and not text[word_start - 1].isspace() and text[word_start - 1] not in "(\"“‘'":
        word_start -= 1
    word = text[word_start:punct_start]
    bare = word.rstrip(".").lower()
    if bare in _ABBREVIATIONS:
        return False
    # Initials and dotted acronyms: "J. Smith", "U.S. President", "U.N. envoy".
    return not re.fullmatch(r"(?:[A-Za-z]\.)*[A-Za-z]", word)


def _append_trimmed(spans: list[tuple[int, int]], text: str, a: int, b: int) -> None:
    """Append text[a:b] without its surrounding whitespace, if anything is left."""
    while a < b and text[a].isspace():
        a += 1
    while b > a and text[b - 1].isspace():
        b -= 1
    if a < b:
        spans.append((a, b))
