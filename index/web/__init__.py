"""Articles from the web: fetching links safely, extracting articles, reading feeds, remembering them.

Part of the engine (it knows nothing of Discord); the faces in bot/ import it as ``index.web``
(a public engine module, see tests/test_architecture.py) and use only what is listed here:

- ``Fetcher`` (fetch.py): GET a link under the address rule (addresses.py) and the limits;
  ``check_url`` checks a link's form before anything is sent;
- ``read_link`` / ``read_file`` (sources.py): a link or a local file read into a ``Candidate``
  article (extract.py with trafilatura, metadata.py, articles.py), nothing written yet;
- ``KnownArticles`` (articles.py): the links and texts already in the documents folder;
- ``parse_feed`` (feeds.py with feedparser) and ``FeedState`` (feedstate.py: items already seen,
  feed health, the cross-process poll lock);
- ``topic_text`` / ``keyword_hits`` (topic.py): what the on-topic judgement compares;
- the errors (errors.py), all ``TalksbotError``\\ s with a sentence.
"""

from .addresses import check_url
from .articles import KnownArticles, known_articles
from .errors import FeedUnreadable, FetchFailed, NotAnArticle, UrlRefused, WebError
from .feeds import MAX_FEED_ITEMS, Feed, FeedItem, parse_feed
from .feedstate import FeedState, FeedStatus, PollBusy, guid_key, link_key
from .fetch import Fetched, Fetcher, FetchLimits
from .identity import url_key
from .sources import LOCAL_SUFFIXES, Candidate, SourceUnreadable, facts, read_file, read_link
from .topic import DEFAULT_MIN_SIMILARITY, keyword_hits, topic_text

__all__ = [
    "DEFAULT_MIN_SIMILARITY",
    "LOCAL_SUFFIXES",
    "MAX_FEED_ITEMS",
    "Candidate",
    "Feed",
    "FeedItem",
    "FeedState",
    "FeedStatus",
    "FeedUnreadable",
    "FetchFailed",
    "FetchLimits",
    "Fetched",
    "Fetcher",
    "KnownArticles",
    "NotAnArticle",
    "PollBusy",
    "SourceUnreadable",
    "UrlRefused",
    "WebError",
    "check_url",
    "facts",
    "guid_key",
    "keyword_hits",
    "known_articles",
    "link_key",
    "parse_feed",
    "read_file",
    "read_link",
    "topic_text",
    "url_key",
]
