"""Reading an RSS (0.9x, 1.0, 2.0) or Atom feed with feedparser, within limits.

Hostile feeds are expected:
- a feed that declares XML entities is refused before parsing: no news feed needs them, and they
  are how "billion laughs" bombs and external-entity reads work (expat and feedparser resist
  both, but refusing is simpler than trusting every layer);
- malformed XML is read as far as feedparser's lenient parser can; a document that is not a feed
  at all (an HTML page, garbage) is refused with a sentence;
- only the first ``MAX_FEED_ITEMS`` entries are considered (feeds list newest first); a
  10,000-item archive feed is parsed but not walked to the end;
- links are made absolute against the feed's address (and ``xml:base``); an item whose link is
  missing or is not http(s) (``javascript:``, ``data:``, ``file:``) keeps an empty link and is
  reported, never fetched. A guid stands in for a missing link only when it is an http(s) address.

feedparser is always handed bytes in a file object: given a string it would fetch a URL or open a
local file by that name.
"""

from __future__ import annotations

import html
import io
import re
import urllib.parse
from dataclasses import dataclass

import lxml.etree
import lxml.html

from .errors import FeedUnreadable

__all__ = ["MAX_FEED_ITEMS", "Feed", "FeedItem", "parse_feed"]

MAX_FEED_ITEMS = 200
_ENTITY_DECLARATIONS = (b"<!ENTITY", "<!ENTITY".encode("utf-16-le"), "<!ENTITY".encode("utf-16-be"))


@dataclass(frozen=True, slots=True)
class FeedItem:
    """One entry of a feed."""

    guid: str  # the entry's id/guid as written ('' when it has none)
    link: str  # absolute http(s) link to the article, or '' when it has none usable
    title: str
    summary: str  # plain text


@dataclass(frozen=True, slots=True)
class Feed:
    """A parsed feed: its title and its first entries."""

    url: str
    title: str
    items: tuple[FeedItem, ...]
    total: int  # entries in the document (items holds at most MAX_FEED_ITEMS of them)


def parse_feed(data: bytes, *, url: str, content_type: str | None = None) -> Feed:
    """Parse a feed's bytes; FeedUnreadable when it is not a usable RSS or Atom feed."""
    upper = data.upper()
    if any(marker in upper for marker in _ENTITY_DECLARATIONS):
        raise FeedUnreadable(
            f"The feed {url} declares XML entities, which news feeds never need (it could be an entity bomb); "
            "it was not read."
        )
    import feedparser  # here, not at the top: only polling pays for importing it

    # No content-location: relative links are resolved here, so a guid that is not a URL (RSS calls
    # it a permalink unless told otherwise) is not turned into a made-up link under the feed's address.
    headers = {"content-type": content_type} if content_type else {}
    try:
        parsed = feedparser.parse(io.BytesIO(data), response_headers=headers, sanitize_html=True)
    except (RecursionError, ValueError) as err:  # feedparser's loose parser on pathological input
        raise FeedUnreadable(f"The feed {url} cannot be read ({type(err).__name__}).") from None
    if not parsed.get("version"):
        problem = parsed.get("bozo_exception")
        why = f" ({_one_line(problem)})" if problem else ""
        raise FeedUnreadable(f"{url} is not an RSS or Atom feed{why}.")
    entries = parsed.get("entries") or []
    items = tuple(_item(entry, url) for entry in entries[:MAX_FEED_ITEMS])
    title = _plain(parsed.get("feed", {}).get("title", ""))
    return Feed(url=url, title=title, items=items, total=len(entries))


def _item(entry: dict, feed_url: str) -> FeedItem:
    link = entry.get("link") or ""
    if not link:
        link = next((x.get("href", "") for x in entry.get("links", []) if x.get("rel", "alternate") == "alternate"), "")
    if entry.get("guidislink") and urllib.parse.urlsplit(link).scheme not in ("http", "https"):
        link = ""  # the "link" is a guid such as "item-42", not an address
    return FeedItem(
        guid=_plain(entry.get("id", ""))[:500],
        link=_absolute_http(link, feed_url),
        title=_plain(entry.get("title", ""))[:500],
        summary=_plain(entry.get("summary", ""))[:2000],
    )


def _absolute_http(link: str, base: str) -> str:
    link = link.strip()
    if not link:
        return ""
    try:
        absolute = urllib.parse.urljoin(base, link)
        parts = urllib.parse.urlsplit(absolute)
    except ValueError:
        return ""
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return ""
    return absolute


def _plain(value: object) -> str:
    """Text from a feed field that may hold HTML (summaries do)."""
    text = value if isinstance(value, str) else ""
    if "<" not in text:
        text = html.unescape(text)  # feedparser hands plain-text fields over HTML-escaped
    else:
        try:
            text = lxml.html.fromstring(f"<div>{text}</div>").text_content()
        except (lxml.etree.ParserError, ValueError):
            text = re.sub(r"<[^>]*>", " ", text)
    return " ".join(text.split())


def _one_line(err: object) -> str:
    return " ".join(str(err).split())[:120]
