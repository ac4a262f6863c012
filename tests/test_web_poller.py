"""The real bot against the fake Discord when it may not announce, and its background feed poller."""

from __future__ import annotations

import logging

import discord
import pytest
from discord_helpers import embed_text
from fakediscord import PERM_SEND_MESSAGES
from web_discord import ADMIN, channel_messages, start, wait_for_messages
from web_server import LocalSite, rss, wait_until

from index.web import FeedState

JSONLD = "/news/prisoner-exchange-jsonld.html"


@pytest.fixture(scope="module")
def site():
    """The local test site on 127.0.0.1."""
    with LocalSite() as running:
        yield running


def test_no_permission_to_post_is_one_log_line_naming_it(tmp_path, embedder, site, caplog):
    """#news denies Send Messages: articles are still added, nothing is posted, and one log line says why."""
    h, news = start(tmp_path, embedder, site, denied=PERM_SEND_MESSAGES)
    try:
        caplog.set_level(logging.ERROR, logger="bot.announce")
        for path in ("/news/opengraph-only.html", "/news/liveblog.html"):
            final = h.wait_final(
                h.slash("add-article", {"url": site.url(path)}, member=h.member(permissions=ADMIN)), 90
            )
            assert "Added an article" in embed_text(final)
        assert channel_messages(h, news) == []
        lines = [r.getMessage() for r in caplog.records if r.name == "bot.announce"]
        assert lines == [
            f"cannot announce new articles in #news ({news}): the bot lacks the Send Messages permission there."
        ]
        # The fake answers as Discord would if the bot posted anyway (its cache can be stale): 403 50013.
        with pytest.raises(discord.Forbidden) as refused:
            h.call(h.client.get_channel(news).send("x"))
        assert refused.value.code == 50013
        h.assert_clean(allow_logged_errors=True, allow_events=[50013])
    finally:
        h.close()


def test_the_background_poller_adds_and_announces_new_items_once_and_backs_off_a_failing_feed(tmp_path, embedder, site):
    """FEEDS polled every few seconds in the background: on-topic items added and announced once (never
    again in later rounds), off-topic ones not, a broken feed retried less and less often; /ask still answers."""
    site.route(
        "/pings/everyone.html",
        lambda h: (
            200,
            {"Content-Type": "text/html"},
            site.static("/topic/on/12-kremlin-on-summit.html")[2]
            .replace(b"<h1>", b"<h1>@everyone ")
            .replace(b'"headline": "', b'"headline": "@everyone '),
        ),
    )
    feed = site.feed(
        "/feeds/bot.xml",
        rss(
            [
                {"title": "a", "link": site.url("/topic/on/03-prisoner-swap-completed.html"), "guid": "bot-1"},
                {"title": "b", "link": site.url("/pings/everyone.html"), "guid": "bot-2"},
                {"title": "c", "link": site.url("/topic/off/13-weather-heatwave.html"), "guid": "bot-3"},
            ]
        ),
    )
    broken = site.url("/feeds/does-not-exist.xml")
    h, news = start(tmp_path, embedder, site, feeds=(feed, broken), feed_poll_minutes=0.02)
    try:
        posted = wait_for_messages(h, news, 2, timeout=120)
        titles = sorted(m["embeds"][0]["title"] for m in posted)
        assert titles[0] == "@\u200beveryone Kremlin rules out quick Putin-Zelensky meeting after negotiations"
        assert titles[1] == "Russia and Ukraine complete largest prisoner swap of the war"
        poller = h.client.poller
        assert wait_until(lambda: poller.rounds >= 6, timeout=120)
        assert len(channel_messages(h, news)) == 2  # later rounds found nothing new
        status = FeedState(tmp_path / "index" / "feeds").status(broken)
        assert 1 <= status.failures < poller.rounds  # not retried every round
        answer = h.wait_final(h.slash("ask", {"question": "When did the prisoner exchange finish?"}), timeout=30)
        assert answer["embeds"] and not answer["ephemeral"]
        h.assert_clean(allow_logged_errors=False)
    finally:
        h.close()
