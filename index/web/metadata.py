"""What a page says about itself: JSON-LD, OpenGraph and meta tags, the canonical link, a visible byline.

trafilatura reads most of this too, but it also *guesses*: a site name made from the domain, a
date found in the URL or anywhere in the text, an update's headline taken for a live blog's
title. talksbot's rule is that attribution is never invented, so the fields here come only from
places where a page states them:

- ``published``: JSON-LD ``datePublished`` of the page's article object, then the publication
  meta tags (``article:published_time``, ``itemprop=datePublished``, Dublin Core, ...), then a
  ``<time datetime>`` in the article's byline or header, then (by extract.py) a line at the top of
  the article that is only a date. The calendar date is taken as written (``2025-06-02T23:30-04:00``
  is 2 June, the day the page says), and only a real YYYY-MM-DD; a date in the URL is not used.
- ``source``: JSON-LD ``publisher.name``, ``og:site_name``, ``application-name``; never a host name.
- ``authors``: JSON-LD authors that are people (an organisation is not an author); trafilatura adds
  meta tags and bylines marked up as such (extract.py).
"""

from __future__ import annotations

import datetime as dt
import json
import re
import urllib.parse
from collections.abc import Iterator
from dataclasses import dataclass, field

from lxml.html import HtmlElement

__all__ = ["PageMetadata", "looks_like_host", "parse_date_text", "read_page_metadata"]

ARTICLE_TYPES = frozenset(
    {
        "article",
        "newsarticle",
        "reportagenewsarticle",
        "analysisnewsarticle",
        "opinionnewsarticle",
        "backgroundnewsarticle",
        "reviewnewsarticle",
        "askpublicnewsarticle",
        "blogposting",
        "liveblogposting",
        "report",
        "socialmediaposting",
        "scholarlyarticle",
        "techarticle",
    }
)
# In order of preference: the article's own publication time first, generic dates last.
_PUBLISHED_META = (
    "article:published_time",
    "og:article:published_time",
    "og:published_time",
    "datepublished",
    "pubdate",
    "publishdate",
    "publish-date",
    "publish_date",
    "dc.date",
    "dc.date.issued",
    "dc.date.created",
    "dcterms.created",
    "dcterms.issued",
    "dcterms.date",
    "sailthru.date",
    "parsely-pub-date",
    "article.published",
    "article_date_original",
    "citation_publication_date",
    "originalpublicationdate",
)
_BYLINE_CONTAINER = re.compile(r"byline|dateline|article-?(?:meta|info|header)|post-?(?:meta|info)|published|timestamp")
_ISO_DATE = re.compile(r"\s*(\d{4})-(\d{2})-(\d{2})(?:$|[T\s])")
_MONTHS = {
    name: i + 1
    for i, names in enumerate(
        (
            "january jan",
            "february feb",
            "march mar",
            "april apr",
            "may",
            "june jun",
            "july jul",
            "august aug",
            "september sep sept",
            "october oct",
            "november nov",
            "december dec",
        )
    )
    for name in names.split()
}
_MONTH = r"(?P<month>" + "|".join(sorted(_MONTHS, key=len, reverse=True)) + r")\.?"
_WEEKDAY = r"(?:(?:mon|tues?|wed(?:nes)?|thu(?:rs)?|fri|sat(?:ur)?|sun)(?:day)?\.?,?\s+)?"
_TEXT_DATES = (
    re.compile(rf"{_WEEKDAY}{_MONTH}\s+(?P<day>\d{{1,2}})(?:st|nd|rd|th)?,?\s+(?P<year>\d{{4}})", re.IGNORECASE),
    re.compile(rf"{_WEEKDAY}(?P<day>\d{{1,2}})(?:st|nd|rd|th)?\s+{_MONTH},?\s+(?P<year>\d{{4}})", re.IGNORECASE),
    re.compile(r"(?P<year>\d{4})-(?P<month>\d{2})-(?P<day>\d{2})"),
)
_HOST_LIKE = re.compile(r"(?:[\w-]+\.)+[a-z]{2,}(?::\d+)?|[\d.:\[\]]+", re.IGNORECASE)


@dataclass(slots=True)
class PageMetadata:
    """Attribution a page states about itself; empty where it states nothing."""

    kind: str = ""  # the JSON-LD type of its article object ("NewsArticle"), if any
    headline: str = ""
    authors: list[str] = field(default_factory=list)
    source: str = ""
    published: dt.date | None = None
    canonical: str = ""
    paywalled: bool = False
    og_title: str = ""


def read_page_metadata(tree: HtmlElement, base_url: str | None) -> PageMetadata:
    """Read JSON-LD, meta tags, the canonical link and a byline <time> from a parsed page."""
    meta = PageMetadata()
    objects = list(_jsonld_objects(tree))
    article = next((o for o in objects if any(t.lower() in ARTICLE_TYPES for t in _types(o))), None)
    tags = _meta_tags(tree)
    if article is not None:
        # Yoast and others give the author and publisher as {"@id": ...} references into the @graph.
        by_id = {o["@id"]: o for o in objects if isinstance(o.get("@id"), str)}
        meta.kind = _types(article)[0] if _types(article) else ""
        meta.headline = _text(article.get("headline") or article.get("name"))
        meta.authors = _people(_resolve(article.get("author"), by_id))
        meta.source = _name(_resolve(article.get("publisher"), by_id))
        stated = _text(article.get("datePublished"))
        meta.published = _iso_date(stated) or parse_date_text(stated)
        meta.paywalled = _is_false(article.get("isAccessibleForFree"))
    meta.source = meta.source or tags.get("og:site_name", "") or tags.get("application-name", "")
    if looks_like_host(meta.source):
        meta.source = ""
    meta.og_title = tags.get("og:title", "")
    if meta.published is None:
        meta.published = next((d for key in _PUBLISHED_META if (d := _iso_date(tags.get(key, ""))) is not None), None)
    if meta.published is None:
        meta.published = _itemprop_date(tree) or _byline_time(tree)
    meta.canonical = _canonical(tree, base_url, tags)
    return meta


def looks_like_host(text: str) -> bool:
    """True for 'www.example.com', 'example.com:8080' or '127.0.0.1': a host name, not an outlet's name."""
    return bool(text) and _HOST_LIKE.fullmatch(text.strip()) is not None


def parse_date_text(text: str, *, whole: bool = True) -> dt.date | None:
    """A date written out in English or ISO form ('June 3, 2025', '3 June 2025', '2025-06-03'), or None.

    With ``whole`` the text must be nothing but the date (and a weekday, a time, 'Published:' or
    'Updated' words around it are not accepted: an update time is not the publication date).
    """
    cleaned = " ".join(text.split())
    for pattern in _TEXT_DATES:
        match = pattern.fullmatch(cleaned) if whole else pattern.search(cleaned)
        if match:
            month = match.group("month")
            number = int(month) if month.isdigit() else _MONTHS[month.lower()]
            try:
                return dt.date(int(match.group("year")), number, int(match.group("day")))
            except ValueError:
                return None
    return None


# ----- JSON-LD


def _jsonld_objects(tree: HtmlElement) -> Iterator[dict]:
    """Every object in the page's JSON-LD blocks, @graph members and nested lists flattened."""
    for script in tree.xpath('//script[@type="application/ld+json"]'):
        try:
            data = json.loads(script.text or "", strict=False)
        except (ValueError, RecursionError):
            continue
        stack = [data]
        while stack:
            item = stack.pop(0)
            if isinstance(item, list):
                stack.extend(item)
            elif isinstance(item, dict):
                yield item
                graph = item.get("@graph")
                if isinstance(graph, list):
                    stack.extend(graph)


def _types(obj: dict) -> list[str]:
    kind = obj.get("@type")
    kinds = kind if isinstance(kind, list) else [kind]
    return [k for k in kinds if isinstance(k, str)]


def _resolve(value: object, by_id: dict[str, dict]) -> object:
    """A JSON-LD value with {"@id": ...} references (alone) replaced by the objects they name."""
    if isinstance(value, list):
        return [_resolve(v, by_id) for v in value]
    if isinstance(value, dict) and set(value) == {"@id"} and value["@id"] in by_id:
        return by_id[value["@id"]]
    return value


def _text(value: object) -> str:
    if isinstance(value, list):
        value = next((v for v in value if isinstance(v, str)), "")
    return " ".join(value.split()) if isinstance(value, str) else ""


def _name(value: object) -> str:
    """An organisation's or a person's name from a JSON-LD value (object, list or plain text)."""
    if isinstance(value, list):
        return next((n for v in value if (n := _name(v))), "")
    if isinstance(value, dict):
        return _text(value.get("name"))
    text = _text(value)
    return "" if text.lower().startswith(("http://", "https://")) else text


def _people(value: object) -> list[str]:
    """The names of the authors that are people (an Organization as author is not a person's name)."""
    items = value if isinstance(value, list) else [value]
    names: list[str] = []
    for item in items:
        if isinstance(item, dict) and any(t.lower() not in ("person",) for t in _types(item)):
            continue
        name = _name(item)
        if name and name not in names:
            names.append(name)
    return names


def _is_false(value: object) -> bool:
    return value is False or (isinstance(value, str) and value.strip().lower() == "false")


def _iso_date(text: str) -> dt.date | None:
    """The calendar date at the start of an ISO 8601 timestamp, as written; None if it is not a real date."""
    match = _ISO_DATE.match(text or "")
    if not match:
        return None
    try:
        return dt.date(int(match.group(1)), int(match.group(2)), int(match.group(3)))
    except ValueError:
        return None


# ----- meta tags, canonical link, visible dates


def _meta_tags(tree: HtmlElement) -> dict[str, str]:
    """property/name/itemprop -> content of the page's meta tags (first one wins), keys lower-case."""
    tags: dict[str, str] = {}
    for elem in tree.xpath("//meta[@content]"):
        key = (elem.get("property") or elem.get("name") or elem.get("itemprop") or "").strip().lower()
        value = " ".join((elem.get("content") or "").split())
        if key and value and key not in tags:
            tags[key] = value
    return tags


def _itemprop_date(tree: HtmlElement) -> dt.date | None:
    for elem in tree.xpath('//*[@itemprop="datePublished"] | //time[@pubdate]'):
        value = elem.get("datetime") or elem.get("content") or ""
        found = _iso_date(value)
        if found is not None:
            return found
    return None


def _byline_time(tree: HtmlElement) -> dt.date | None:
    """A <time datetime> in the article's byline or dateline, or in the header of its <article>.

    Not any <time>: a site header showing today's date, or a "related stories" list, is not this
    article's publication date.
    """
    for elem in tree.xpath("//time[@datetime]"):
        ancestors = list(elem.iterancestors())
        near = ancestors[:4]
        in_article = any(a.tag == "article" for a in ancestors)
        for ancestor in near:
            marker = f"{ancestor.get('class', '')} {ancestor.get('id', '')}".lower()
            if _BYLINE_CONTAINER.search(marker) or (ancestor.tag == "header" and in_article):
                return _iso_date(elem.get("datetime", ""))
    return None


def _canonical(tree: HtmlElement, base_url: str | None, tags: dict[str, str]) -> str:
    """The page's canonical address (link rel=canonical, else og:url), absolute http(s), or ''."""
    candidates = [
        link.get("href", "")
        for link in tree.xpath("//link[@href]")
        if "canonical" in (link.get("rel") or "").lower().split()
    ]
    candidates.append(tags.get("og:url", ""))
    for href in candidates:
        href = href.strip()
        if not href:
            continue
        absolute = urllib.parse.urljoin(base_url, href) if base_url else href
        parts = urllib.parse.urlsplit(absolute)
        if parts.scheme in ("http", "https") and parts.hostname:
            return urllib.parse.urlunsplit((parts.scheme, parts.netloc, parts.path, parts.query, ""))
    return ""
