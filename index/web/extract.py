"""An article from a web page: its paragraphs as the page shows them, and what the page says about it.

The main text comes from trafilatura (``bare_extraction``: boilerplate such as navigation, ads,
cookie banners, share bars, captions, related links, newsletter boxes, comments and footers is
left out), read from its XML tree so that each paragraph becomes one line, entities decoded,
headings marked ``## `` (the passage splitter treats them as structure, not answers) and list
items ``- ``. Attribution comes from metadata.py, which keeps only what the page states, with
trafilatura's author (meta tags, a byline marked up as one) when the page's JSON-LD names no person.

When the page has no metadata at all, a byline and a date that open the article as lines of their
own ("By Olena Kovalenko and Mark Ellis", "June 3, 2025") are read as its author and date and are
not kept as paragraphs. A page with too little prose (a section front, a login page) is refused
with NotAnArticle; so is a news feed given where a page was expected.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

import lxml.etree
import lxml.html

from .errors import NotAnArticle
from .metadata import PageMetadata, looks_like_host, parse_date_text, read_page_metadata

__all__ = ["MIN_ARTICLE_WORDS", "ExtractedArticle", "extract_article", "looks_like_feed"]

# Fewer words of prose than this is a teaser list or a login page, not an article (a short wire
# brief has about 80; the paywall teaser in tests/web/site has 75).
MIN_ARTICLE_WORDS = 50
MIN_PROSE_PARAGRAPH_WORDS = 12
MAX_TITLE_CHARS = 300
_FEED_ROOT = re.compile(
    rb"\A(?:\xef\xbb\xbf)?\s*(?:<\?xml[^>]*>\s*)?(?:<!--.*?-->\s*)*<(?:rss|feed|rdf:RDF)[\s>]", re.S
)
_XML_DECLARATION = re.compile(r"\A\ufeff?\s*<\?xml[^>]*\?>")
_BYLINE = re.compile(r"(?:by|written by|words by)\s+(?P<names>[^|·—]+?)\s*(?:[|·—]\s*(?P<rest>.*))?", re.IGNORECASE)
_PERSON = re.compile(r"[A-ZÀ-ÖØ-ÞĀ-ſА-ЯІЇЄҐ][\w'’.-]+(?:\s+[A-ZÀ-ÖØ-ÞĀ-ſА-ЯІЇЄҐ][\w'’.-]+){1,3}")
_NAME_SEPARATORS = re.compile(r"\s*(?:,|\band\b|&)\s*")
_TRAFILATURA_OPTIONS = {
    "with_metadata": True,
    "include_comments": False,
    "include_images": False,
    "include_links": False,
    "include_formatting": False,
    "include_tables": True,
    "favor_precision": True,
    # Dates come from metadata.py (page-stated only); this keeps htmldate's text search cheap.
    "date_extraction_params": {"extensive_search": False, "original_date": True},
}


@dataclass(frozen=True, slots=True)
class ExtractedArticle:
    """An article read from a page: its paragraphs and the attribution the page states ('' when it does not)."""

    title: str
    source: str
    author: str
    published: dt.date | None
    url: str  # the canonical address when the page states one, else where it was fetched from
    canonical: str  # the canonical address as stated, or ''
    paragraphs: tuple[str, ...]
    paywalled: bool = False

    @property
    def words(self) -> int:
        """How many words of text were kept."""
        return sum(len(p.split()) for p in self.paragraphs)


def looks_like_feed(data: bytes) -> bool:
    """True when bytes are an RSS or Atom document rather than a page."""
    return _FEED_ROOT.match(data[:2048]) is not None


def extract_article(html: str, *, url: str | None = None) -> ExtractedArticle:
    """Extract the article of an HTML page; NotAnArticle when the page has none."""
    if looks_like_feed(html[:2048].encode("utf-8", "replace")):
        raise NotAnArticle("This link is a news feed, not an article; follow it with `talksbot poll` or FEEDS.")
    # An XHTML page opens with an XML declaration naming its encoding; the text is decoded already, and lxml
    # refuses a decoded string that still declares one.
    html = _XML_DECLARATION.sub("", html, count=1)
    try:
        tree = lxml.html.document_fromstring(html)
    except (lxml.etree.ParserError, ValueError):
        raise NotAnArticle("The page could not be read as HTML.") from None
    page = read_page_metadata(tree, url)
    import trafilatura  # here, not at the top: `talksbot ask` never pays for importing it

    try:
        doc = trafilatura.bare_extraction(html, url=url, **_TRAFILATURA_OPTIONS)
    except RecursionError:
        raise NotAnArticle("The page is nested too deeply to be read.") from None
    lines = _body_lines(doc.body) if doc is not None and doc.body is not None else []
    title = _title(page, doc)
    lines = _drop_title(lines, title)
    authors = page.authors or _split_authors(getattr(doc, "author", None))
    published = page.published
    lines, stated_authors, stated_date = _leading_byline(lines)
    authors = authors or stated_authors
    published = published or stated_date
    _check_prose(lines)
    if not title:
        raise NotAnArticle("The page has no title.")
    source = page.source or _trafilatura_source(doc)
    fetched = url or ""
    return ExtractedArticle(
        title=title[:MAX_TITLE_CHARS],
        source=source,
        author=", ".join(authors),
        published=published,
        url=page.canonical or fetched,
        canonical=page.canonical,
        paragraphs=tuple(lines),
        paywalled=page.paywalled,
    )


def _title(page: PageMetadata, doc: object) -> str:
    for candidate in (page.headline, getattr(doc, "title", None), page.og_title):
        if candidate and candidate.strip():
            return " ".join(candidate.split())
    return ""


def _trafilatura_source(doc: object) -> str:
    """trafilatura's site name, unless it is the host name it falls back to (a guess, not a statement)."""
    name = " ".join((getattr(doc, "sitename", None) or "").split())
    return "" if looks_like_host(name) else name


def _split_authors(value: str | None) -> list[str]:
    if not value:
        return []
    names = [" ".join(n.split()) for n in re.split(r";|\|", value)]
    return [n for n in names if n and not n.lower().startswith(("http://", "https://"))]


def _text(elem: lxml.etree._Element) -> str:
    """An element's visible text on one line (line breaks inside a paragraph become spaces)."""
    return " ".join("".join(elem.itertext()).split())


def _body_lines(body: lxml.etree._Element) -> list[str]:
    """One line per paragraph, heading (## ), list item (- ) or table row (cells joined by ' | ')."""
    lines: list[str] = []
    for elem in body.iter("p", "head", "item", "row", "quote", "code"):
        if elem.getparent() is not None and elem.getparent().tag in ("quote", "item", "cell") and elem.tag == "p":
            continue  # read as part of its container
        if elem.tag == "row":
            text = " | ".join(c for c in (_text(cell) for cell in elem.iter("cell")) if c)
        else:
            text = _text(elem)
        if not text:
            continue
        if elem.tag == "head":
            text = "## " + text
        elif elem.tag == "item":
            text = "- " + text
        lines.append(text)
    return lines


def _drop_title(lines: list[str], title: str) -> list[str]:
    """The headline repeated as the first line is the title, already in the front matter."""
    key = title.casefold()
    while lines and lines[0].removeprefix("## ").casefold() == key:
        lines = lines[1:]
    return lines


def _leading_byline(lines: list[str]) -> tuple[list[str], list[str], dt.date | None]:
    """A byline and a date opening the article as lines of their own: (rest, authors, date)."""
    authors: list[str] = []
    published: dt.date | None = None
    consumed = 0
    for line in lines[:3]:
        match = _BYLINE.fullmatch(line)
        if match and not authors:
            names = [n for n in _NAME_SEPARATORS.split(match.group("names").strip()) if n]
            if names and all(_PERSON.fullmatch(n) for n in names):
                authors = names
                if match.group("rest"):
                    published = published or parse_date_text(match.group("rest"))
                consumed += 1
                continue
        date = parse_date_text(line)
        if date is not None and published is None:
            published = date
            consumed += 1
            continue
        break
    return lines[consumed:], authors, published


def _check_prose(lines: list[str]) -> None:
    """Refuse a page without enough running text to be an article."""
    prose = [line for line in lines if not line.startswith(("## ", "- ")) and len(line.split()) >= 3]
    words = sum(len(line.split()) for line in prose)
    longest = max((len(line.split()) for line in prose), default=0)
    if words < MIN_ARTICLE_WORDS or longest < MIN_PROSE_PARAGRAPH_WORDS:
        raise NotAnArticle(
            f"The page does not look like an article: it has {words} words of running text "
            f"(an article has at least {MIN_ARTICLE_WORDS})."
        )
