"""A source given to `talksbot add` (a link, or a local .md/.txt/.html file) read into an article to save.

``read_link`` fetches a page (fetch.py), refuses a feed, extracts the article (extract.py) and
renders it as a Markdown file (articles.py). ``read_file`` reads a local file: Markdown or text is
validated by the documents loader and kept byte for byte; HTML is decoded (charset rules of
body.py) and extracted like a fetched page, with no address unless the page states its canonical
one. Neither writes anything: the use case decides what to keep (bot/ingest.py).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

from ..documents import MAX_ARTICLE_BYTES, UNKNOWN_SOURCE, parse_article
from ..errors import DocumentError
from .articles import article_file_name, article_markdown
from .body import decode_text
from .errors import NotAnArticle, WebError
from .extract import ExtractedArticle, extract_article, looks_like_feed
from .fetch import Fetcher

__all__ = ["LOCAL_SUFFIXES", "Candidate", "SourceUnreadable", "facts", "read_file", "read_link"]

LOCAL_SUFFIXES = (".md", ".txt", ".html", ".htm")


class SourceUnreadable(WebError):
    """A local file cannot be added: its kind, its size, or its content (the message says which)."""


@dataclass(frozen=True, slots=True)
class Candidate:
    """An article ready to be saved: the file's content, and what it is known by."""

    origin: str  # the link or the file as given
    title: str
    source: str
    author: str
    published: dt.date | None
    url: str
    urls: tuple[str, ...]  # every address it is known by: as given, after redirects, canonical
    text: str  # the article's text, for recognising the same article saved before
    content: bytes  # the file to write into the documents folder
    local_name: str | None = None  # a local .md/.txt file keeps its own name
    extracted: ExtractedArticle | None = None
    paywalled: bool = False

    def file_name(self, taken: set[str]) -> str:
        """A name for the file (generated from date, outlet and title for extracted articles)."""
        if self.extracted is not None:
            return article_file_name(self.extracted, taken)
        return self.local_name or "article.md"


def read_link(url: str, fetcher: Fetcher, *, today: dt.date | None = None) -> Candidate:
    """Fetch a page and extract its article; WebError (one sentence) when that is not possible."""
    fetched = fetcher.fetch(url, kind="page")
    if looks_like_feed(fetched.body[:2048]):
        raise NotAnArticle(f"{url} is a news feed, not an article; follow it with `talksbot poll` or FEEDS.")
    article = extract_article(fetched.text(), url=fetched.final_url)
    return _from_extracted(article, origin=url, urls=(url, fetched.final_url, article.canonical), today=today)


def read_file(path: Path, *, today: dt.date | None = None) -> Candidate:
    """Read a local article file; SourceUnreadable (or NotAnArticle for HTML) says why it cannot be added."""
    shown = str(path)
    suffix = path.suffix.lower()
    if suffix not in LOCAL_SUFFIXES:
        raise SourceUnreadable(f"{shown} is not a .md, .txt or .html file.")
    try:
        if not path.is_file():
            raise SourceUnreadable(f"{shown} does not exist or is not a file.")
        size = path.stat().st_size
        if size > MAX_ARTICLE_BYTES:
            raise SourceUnreadable(f"{shown} is {size / 1048576:.1f} MiB; an article is at most 5 MiB.")
        data = path.read_bytes()
    except OSError as err:
        raise SourceUnreadable(f"{shown} cannot be read ({err.strerror or err}).") from None
    if suffix in (".html", ".htm"):
        article = extract_article(decode_text(data, None)[0], url=None)
        return _from_extracted(article, origin=shown, urls=(article.canonical,), today=today)
    try:
        document = parse_article(data, doc_id=path.name, path=path.name)
    except DocumentError as err:
        raise SourceUnreadable(f"{shown} is not a usable article: {err.reason}.") from None
    info = document.info
    urls = (info.url,) if info.url else ()
    return Candidate(origin=shown, **facts(info), urls=urls, text=document.body, content=data, local_name=path.name)


def _from_extracted(
    article: ExtractedArticle, *, origin: str, urls: tuple[str, ...], today: dt.date | None
) -> Candidate:
    markdown = article_markdown(article, origin=origin, added=today or dt.date.today())
    return Candidate(
        origin=origin,
        **facts(article),
        urls=tuple(dict.fromkeys(u for u in urls if u)),
        text="\n".join(article.paragraphs),
        content=markdown.encode("utf-8"),
        extracted=article,
        paywalled=article.paywalled,
    )


def facts(article: object) -> dict[str, object]:
    """title, source, author, published and url of an article-like object; an unknown outlet is ''."""
    fields = {k: getattr(article, k) for k in ("title", "source", "author", "published", "url")}
    if fields["source"] == UNKNOWN_SOURCE:  # the documents loader's word for "no source stated"
        fields["source"] = ""
    return fields
