"""Reading feeds (RSS 0.9x/1.0/2.0, Atom, relative links, hostile documents) and the feeds' memory beside the index."""

from __future__ import annotations

import threading
import time

import pytest
from web_server import atom, rss

from index.web import FeedState, FeedUnreadable, PollBusy, guid_key, link_key, parse_feed, url_key
from index.web.feeds import MAX_FEED_ITEMS

FEED = "http://news.example/feeds/world.xml"


def test_rss_2_items_have_guid_absolute_link_title_and_plain_summary():
    """RSS 2.0: every item's guid, link (relative ones made absolute), title and summary without HTML."""
    xml = rss(
        [
            {
                "title": "A &amp; B",
                "link": "/news/a.html",
                "guid": "g-1",
                "description": "<p>Some <b>bold</b> text</p>",
            },
            {"title": "Second", "link": "https://other.example/b", "guid": "g-2"},
        ]
    )
    feed = parse_feed(xml.encode(), url=FEED)
    assert feed.total == 2 and feed.title == "Test feed"
    first, second = feed.items
    assert (first.guid, first.link, first.title) == ("g-1", "http://news.example/news/a.html", "A & B")
    assert first.summary == "Some bold text"
    assert second.link == "https://other.example/b"


def test_atom_entries_resolve_links_against_xml_base():
    """Atom with xml:base and relative hrefs: links are absolute against the base."""
    xml = atom(
        [{"title": "Atom one", "link": "articles/one.html", "id": "urn:1", "summary": "first"}],
        base="http://cdn.example/section/",
    )
    (item,) = parse_feed(xml.encode(), url=FEED).items
    assert item.link == "http://cdn.example/section/articles/one.html" and item.guid == "urn:1"


def test_rss_1_rdf_is_read():
    """RSS 1.0 (RDF) feeds are read too."""
    xml = """<?xml version="1.0"?>
<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" xmlns="http://purl.org/rss/1.0/">
<channel rdf:about="http://news.example/"><title>RDF feed</title><link>http://news.example/</link>
<description>d</description></channel>
<item rdf:about="http://news.example/rdf-1"><title>RDF item</title><link>http://news.example/rdf-1</link></item>
</rdf:RDF>"""
    (item,) = parse_feed(xml.encode(), url=FEED).items
    assert item.link == "http://news.example/rdf-1" and item.title == "RDF item"


@pytest.mark.parametrize(
    "link",
    ["javascript:alert(1)", "data:text/html,hi", "file:///etc/passwd", "mailto:desk@news.example", ""],
)
def test_an_item_whose_link_is_not_http_keeps_an_empty_link(link):
    """Only http(s) links are ever fetched: others become '' and the poll reports the item."""
    (item,) = parse_feed(rss([{"title": "odd", "link": link, "guid": "x"}]).encode(), url=FEED).items
    assert item.link == ""


BILLION_LAUGHS = """<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
<!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">]>
<rss version="2.0"><channel><title>&lol4;</title><item><title>&lol4;</title><link>http://x.example/</link></item>
</channel></rss>"""
XXE = """<?xml version="1.0"?><!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]>
<rss version="2.0"><channel><title>&x;</title><item><title>&x;</title></item></channel></rss>"""


@pytest.mark.parametrize(("xml", "encoding"), [(BILLION_LAUGHS, "utf-8"), (XXE, "utf-8"), (BILLION_LAUGHS, "utf-16")])
def test_a_feed_declaring_entities_is_refused_before_parsing(xml, encoding):
    """Entity bombs and external entities (in any encoding) are refused with a sentence, never expanded."""
    with pytest.raises(FeedUnreadable, match="declares XML entities"):
        parse_feed(xml.encode(encoding), url=FEED)


@pytest.mark.parametrize(
    ("data", "why"),
    [
        (b"<html><body><p>Not a feed</p></body></html>", "not an RSS or Atom feed"),
        (b"\x00\x01\x02 garbage", "not an RSS or Atom feed"),
        (b"", "not an RSS or Atom feed"),
    ],
)
def test_something_that_is_not_a_feed_is_refused(data, why):
    """An HTML page, binary garbage or nothing: FeedUnreadable with the reason."""
    with pytest.raises(FeedUnreadable, match=why):
        parse_feed(data, url=FEED)


def test_malformed_xml_is_read_as_far_as_it_goes():
    """A truncated feed with an unescaped '&': the readable items are still found."""
    xml = (
        b'<?xml version="1.0"?><rss version="2.0"><channel><title>T</title>'
        b"<item><title>A & B</title><link>/rel/1</link><guid>1</guid></item>"
        b"<item><title>no link</title><guid>2</guid></item><item><title>cut"
    )
    items = parse_feed(xml, url=FEED).items
    assert items[0].link == "http://news.example/rel/1" and items[1].link == ""


def test_a_ten_thousand_item_feed_is_parsed_but_only_its_first_items_are_walked():
    """10,000 items: the total is known, at most MAX_FEED_ITEMS are considered (newest first in feeds)."""
    items = [{"title": f"Item {i}", "link": f"http://news.example/{i}", "guid": f"g{i}"} for i in range(10_000)]
    feed = parse_feed(rss(items).encode(), url=FEED)
    assert feed.total == 10_000 and len(feed.items) == MAX_FEED_ITEMS
    assert feed.items[0].guid == "g0"


def test_feedparser_never_reads_a_local_file_named_by_the_body(tmp_path):
    """A body that is a file path is parsed as (non-feed) data, never opened (feedparser would open a str path)."""
    secret = tmp_path / "secret.xml"
    secret.write_text(rss([{"title": "secret", "link": "http://x.example/"}]))
    with pytest.raises(FeedUnreadable):
        parse_feed(str(secret).encode(), url=FEED)


# --------------------------------------------------------------------------- identity


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("https://www.News.example/a/b/", "http://news.example/a/b"),
        ("http://news.example/a?utm_source=x&id=3", "http://news.example/a?id=3"),
        ("http://news.example/a?b=2&a=1", "http://news.example/a?a=1&b=2"),
        ("http://news.example:80/a#comments", "http://news.example/a"),
        ("http://news.example/caf%C3%A9", "http://news.example/café"),
    ],
)
def test_two_spellings_of_one_link_have_the_same_key(a, b):
    """Scheme, www., case, default port, fragment, trailing slash, tracking and order do not matter."""
    assert url_key(a) == url_key(b) != ""


def test_different_pages_have_different_keys():
    """Path, meaningful query and port do matter."""
    keys = {
        url_key(u)
        for u in ("http://n.example/a", "http://n.example/b", "http://n.example/a?id=2", "http://n.example:8080/a")
    }
    assert len(keys) == 4 and url_key("ftp://n.example/a") == ""


# --------------------------------------------------------------------------- the feeds' memory


def test_seen_items_are_remembered_across_instances(tmp_path):
    """What one FeedState records, a new one (a restart, another process) reads."""
    keys = [guid_key(FEED, "g-1"), link_key("http://news.example/a")]
    FeedState(tmp_path).remember(keys, feed=FEED, outcome="added", detail="a.md")
    again = FeedState(tmp_path)
    assert again.seen([*keys, link_key("http://news.example/other")]) == set(keys)
    assert again.seen([link_key("https://www.news.example/a/")]) == {keys[1]}  # another spelling, same page


def test_guids_are_scoped_to_their_feed(tmp_path):
    """Item '1' of one feed is not item '1' of another."""
    state = FeedState(tmp_path)
    state.remember([guid_key(FEED, "1")], feed=FEED, outcome="added")
    assert state.seen([guid_key("http://other.example/rss", "1")]) == set()


def test_a_failing_feed_backs_off_doubling_to_at_most_a_day(tmp_path):
    """Each failure doubles the wait; success forgets the failures and keeps the validators."""
    now = [1000.0]
    state = FeedState(tmp_path, clock=lambda: now[0])
    delays = [state.feed_failed(FEED, "503", base_delay=60).retry_at - now[0] for _ in range(12)]
    assert delays[:4] == [60, 120, 240, 480] and delays[-1] == 24 * 3600
    state.feed_ok(FEED, etag='"v2"', last_modified=None)
    status = state.status(FEED)
    assert status.failures == 0 and status.retry_at == 0 and status.etag == '"v2"'


def test_only_one_poll_at_a_time_and_a_waiting_one_goes_next(tmp_path):
    """The poll lock: a second non-waiting poll gets PollBusy; a waiting one runs when the first ends."""
    first, second = FeedState(tmp_path), FeedState(tmp_path)
    order: list[str] = []
    with first.polling(wait=False):
        with pytest.raises(PollBusy), second.polling(wait=False):
            pass

        def wait_then_record() -> None:
            with second.polling(wait=True):
                order.append("second")

        waiter = threading.Thread(target=wait_then_record)
        waiter.start()
        time.sleep(0.2)
        order.append("first done")
    waiter.join(5)
    assert order == ["first done", "second"]
