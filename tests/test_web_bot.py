"""The real bot against the fake Discord: /add-article url: (what was extracted, refusals) and announcements."""

from __future__ import annotations

import pytest
from discord_helpers import embed_text
from discord_markdown import visible_text
from web_discord import ADMIN, channel_messages, start, wait_for_messages
from web_server import LocalSite

JSONLD = "/news/prisoner-exchange-jsonld.html"


@pytest.fixture(scope="module")
def site():
    """The local test site on 127.0.0.1."""
    with LocalSite() as running:
        yield running


@pytest.fixture(scope="module")
def announcing(tmp_path_factory, embedder, site):
    """A bot that may post in its announcement channel."""
    harness, news = start(tmp_path_factory.mktemp("announce"), embedder, site)
    yield harness, news
    harness.close()


def test_add_article_by_url_shows_what_was_extracted_and_announces_it(announcing, site):
    """/add-article url: replies privately with title, outlet, author and date, and posts the article in #news."""
    h, news = announcing
    t0 = h.now()
    rec = h.slash("add-article", {"url": site.url(JSONLD)}, member=h.member(name="editor", permissions=ADMIN))
    final = h.wait_final(rec, timeout=90)
    assert final["ephemeral"]
    embed = final["embeds"][0]
    assert embed["title"] == "Russia and Ukraine agree 1,000-for-1,000 prisoner exchange in Istanbul"
    fields = {f["name"]: f["value"] for f in embed["fields"]}
    assert (fields["Outlet"], fields["Author"], fields["Published"]) == ("Marmara Herald", "Ayşe Demir", "2025-05-16")
    assert "passages indexed" in fields["File"]
    (posted,) = wait_for_messages(h, news, 1)
    announced = posted["embeds"][0]
    assert announced["title"] == embed["title"]
    assert announced["url"] == "https://www.marmaraherald.example/world/2025/05/16/prisoner-exchange-istanbul"
    assert visible_text(announced["description"]).startswith("Ayşe Demir · Marmara Herald, 16 May 2025\n")
    h.assert_clean(since=t0)  # allowed_mentions {"parse": []} on every message, no Discord error
    answer = h.wait_final(
        h.slash("ask", {"question": "How many prisoners did each side agree to exchange?"}), timeout=30
    )
    cited = answer["embeds"][0]  # the outlet verified by its own site: no "(unverified)", the title linked
    assert cited["author"]["name"] == "Ayşe Demir · Marmara Herald, 16 May 2025"
    assert (cited["title"], cited["url"]) == (embed["title"], announced["url"])


def test_the_same_link_again_is_already_there_and_not_announced_twice(announcing, site):
    """A second /add-article url: for the same article (another spelling): 'Already there', no new announcement."""
    h, news = announcing
    before = len(channel_messages(h, news))
    rec = h.slash("add-article", {"url": site.url(JSONLD + "?utm_source=x")}, member=h.member(permissions=ADMIN))
    final = h.wait_final(rec, timeout=60)
    assert final["ephemeral"] and "Already there" in embed_text(final) and "the same link" in embed_text(final)
    assert len(channel_messages(h, news)) == before


@pytest.mark.parametrize(
    ("options", "expected"),
    [
        ({}, "Give either url:"),
        ({"url": "file:///etc/passwd"}, "Only http:// and https:// links"),
        ({"url": "http://169.254.169.254/latest/meta-data/"}, "link-local address"),
        ({"url": "http://user:secret@news.example/"}, "user name or password"),
        ({"url": "/news/index.html"}, "does not look like an article"),
        ({"url": "/hostile/gzip-bomb"}, "larger than 5 MiB"),
        ({"url": "/etc/passwd"}, "not a web link"),
    ],
    ids=["nothing", "file-scheme", "metadata-address", "credentials", "not-an-article", "gzip-bomb", "local-path"],
)
def test_a_bad_link_is_refused_privately_with_its_reason(announcing, site, options, expected):
    """Every refused link: a private sentence, nothing added, nothing announced, no apology for a bug."""
    h, news = announcing
    if options.get("url", "").startswith("/") and options["url"] != "/etc/passwd":
        options = {"url": site.url(options["url"])}
    before = len(channel_messages(h, news))
    t0 = h.now()
    final = h.wait_final(h.slash("add-article", options, member=h.member(permissions=ADMIN)), timeout=60)
    text = embed_text(final)
    assert final["ephemeral"] and expected in text and "Sorry" not in text, text
    assert len(channel_messages(h, news)) == before
    h.assert_clean(since=t0)


def test_a_file_upload_is_announced_too(announcing):
    """/add-article file: keeps working as before, and the new article is posted in #news."""
    h, news = announcing
    before = len(channel_messages(h, news))
    data = (
        b"---\ntitle: Delegations to meet again after the summer\nsource: Test Wire\npublished: 2025-07-30\n---\n"
        b"Both delegations said they would meet again in Istanbul after the summer break, officials said.\n"
    )
    att = h.host_attachment("summer.md", data)
    final = h.wait_final(h.slash("add-article", {"file": att}, member=h.member(permissions=ADMIN)), timeout=60)
    assert "Added" in embed_text(final)
    posted = wait_for_messages(h, news, before + 1)[-1]["embeds"][0]
    assert posted["title"] == "Delegations to meet again after the summer"
    assert visible_text(posted["description"]) == "Test Wire (unverified), 30 July 2025" and "url" not in posted
