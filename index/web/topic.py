"""Whether a feed item is about what the corpus is about: the text that is compared, and keywords.

The comparison itself is ``Engine.closeness``: the mean cosine between an article's opening and its
three nearest indexed passages. An article is represented by its title and its text; the model reads
the first 256 word pieces, so in practice the title and the opening paragraphs. The threshold the
feed poller uses (FEED_MIN_SIMILARITY, default 0.50) was calibrated on tests/web/topic/ (on- and
off-topic articles written for the purpose; `python tests/web/topic/calibrate.py` prints the figures).
"""

from __future__ import annotations

import re
from collections.abc import Sequence

__all__ = ["DEFAULT_MIN_SIMILARITY", "keyword_hits", "topic_text"]

DEFAULT_MIN_SIMILARITY = 0.50


def topic_text(title: str, text: str) -> str:
    """What is compared with the index: the title, then the article's text."""
    return f"{title}. {' '.join(text.split())}".strip()


def keyword_hits(keywords: Sequence[str], *texts: str) -> list[str]:
    """The keywords that start a word somewhere in the texts, any case ('negotiat' finds 'negotiators')."""
    joined = "\n".join(texts)
    return [k for k in keywords if k and re.search(r"(?<!\w)" + re.escape(k), joined, re.IGNORECASE)]
