"""Named errors of fetching and reading the web, written out once.

Each carries one sentence a user can read (``str(error)``); none ever includes a traceback.

    TalksbotError                  (index/errors.py)
    └── WebError                   anything about a link or a feed
        ├── UrlRefused             the link may not be fetched: its scheme, its form, or an address
        │                          on the host's own network (loopback, private, link-local, ...)
        ├── FetchFailed            the server could not be reached or answered with something
        │                          unusable (status, time limit, size cap, content type, encoding);
        │                          ``transient`` says whether trying again later may work
        ├── NotAnArticle           the page was fetched but holds no article text
        └── FeedUnreadable         the feed is not RSS or Atom, is malformed beyond use, or
                                   declares XML entities (how "billion laughs" bombs work)
"""

from __future__ import annotations

from ..errors import TalksbotError

__all__ = ["FeedUnreadable", "FetchFailed", "NotAnArticle", "UrlRefused", "WebError"]


class WebError(TalksbotError):
    """A link or a feed could not be used; the message says why in one sentence."""

    #: True when the same request may work later (a time-out, a 503): pollers try again next time.
    transient: bool = False


class UrlRefused(WebError):
    """The link is refused before anything is sent: scheme, form, or an address on a private network."""


class FetchFailed(WebError):
    """The server could not be reached, or its answer cannot be used."""

    def __init__(self, message: str, *, transient: bool = False) -> None:
        super().__init__(message)
        self.transient = transient


class NotAnArticle(WebError):
    """The page holds no article text (a section front, a login page, a feed)."""


class FeedUnreadable(WebError):
    """The feed cannot be read as RSS or Atom."""
