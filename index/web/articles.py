"""An extracted article as a file of the documents folder, and what that folder already holds.

``article_markdown`` writes the front matter the documents loader reads (``title``, ``source``,
``author``, ``published``, ``url``), leaving out every field the page did not state, then one
paragraph per line. ``article_file_name`` makes a readable, safe name from the date, the outlet and
the title ("2025-05-16-marmara-herald-russia-and-ukraine-agree-1-000-for-1-000.md").
``KnownArticles`` is what dedupe checks against: the address (``url`` front matter, in its
``url_key`` form) and the text (``text_key``) of every article already in the folder.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from ..documents import scan_documents
from .extract import ExtractedArticle
from .identity import text_key, url_key

__all__ = ["KnownArticles", "article_file_name", "article_markdown", "known_articles"]

MAX_NAME_CHARS = 90


@dataclass(slots=True)
class KnownArticles:
    """The addresses and texts of the articles in a documents folder, each with its file's path."""

    by_url: dict[str, str] = field(default_factory=dict)
    by_text: dict[str, str] = field(default_factory=dict)
    names: set[str] = field(default_factory=set)  # file names in use, lower-case

    def match(self, urls: Iterable[str], text: str | None = None) -> tuple[str, str] | None:
        """(path, 'the same link' / 'the same text') of an article already there, or None."""
        for url in urls:
            key = url_key(url) if url else ""
            if key and key in self.by_url:
                return self.by_url[key], "the same link"
        if text is not None:
            found = self.by_text.get(text_key(text))
            if found is not None:
                return found, "the same text"
        return None

    def add(self, path: str, urls: Iterable[str], text: str) -> None:
        """Remember an article written during this run (so a batch cannot add the same one twice)."""
        for url in urls:
            key = url_key(url) if url else ""
            if key:
                self.by_url.setdefault(key, path)
        self.by_text.setdefault(text_key(text), path)
        self.names.add(Path(path).name.lower())


def known_articles(documents_dir: Path) -> KnownArticles:
    """Scan the documents folder for the links and texts already there."""
    known = KnownArticles()
    if not documents_dir.is_dir():
        return known
    scan = scan_documents(documents_dir)
    for doc in scan.documents:
        known.add(doc.info.id, [doc.info.url], doc.body)
    for skipped in scan.skipped:  # a broken file still holds its name
        known.names.add(Path(skipped.path).name.lower())
    for path in documents_dir.iterdir():
        known.names.add(path.name.lower())
    return known


def article_markdown(article: ExtractedArticle, *, origin: str, added: dt.date) -> str:
    """The article as a Markdown file: front matter with the stated fields only, then one paragraph per line."""
    fields = {
        "title": article.title,
        "source": article.source,
        "author": article.author,
        "published": article.published.isoformat() if article.published else "",
        "url": article.url,
    }
    front = yaml.safe_dump(
        {k: v for k, v in fields.items() if v}, allow_unicode=True, sort_keys=False, width=10_000
    ).strip()
    origin_line = " ".join(origin.split())[:300]
    note = (
        f"# Added by talksbot on {added.isoformat()} from {origin_line}.\n"
        "# Fields the page does not state are left out."
    )
    if article.paywalled:
        note += "\n# The page is behind a paywall: only the part it shows for free is here."
    body = "\n".join(article.paragraphs)
    return f"---\n{note}\n{front}\n---\n{body}\n"


def article_file_name(article: ExtractedArticle, taken: set[str]) -> str:
    """A readable file name that no file in the folder has yet (``taken`` holds lower-case names)."""
    date = article.published.isoformat() if article.published else "undated"
    words = _slug(f"{article.source} {article.title}")
    if not words:
        words = "article-" + hashlib.sha256((article.url or article.title).encode("utf-8")).hexdigest()[:10]
    stem = f"{date}-{words}"[:MAX_NAME_CHARS].rstrip("-")
    name, n = f"{stem}.md", 2
    while name.lower() in taken:
        name, n = f"{stem}-{n}.md", n + 1
    return name


def _slug(text: str) -> str:
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    return re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")
