"""The web use cases of the service, model-free: concurrent adds, files never read for Discord, retries, backoff."""

from __future__ import annotations

import contextlib
import threading

import pytest
from web_server import LocalSite, rss

from bot.runner import build_service
from bot.settings import Settings
from index.engine import Engine
from index.web import FeedState, PollBusy


@pytest.fixture(scope="module")
def site():
    """The local test site on 127.0.0.1."""
    with LocalSite() as running:
        yield running


def service_over(docs, index, embedder, **settings):
    """A service as the runner builds it (fetcher, feed state beside the index), with a model-free embedder."""
    chosen = Settings(documents_dir=docs, index_dir=index, allow_private_urls=True, fetch_timeout_seconds=5)
    chosen = chosen.replace(**settings)
    return build_service(chosen, engine=Engine(docs, index, embedder=embedder))


def test_two_services_adding_the_same_link_at_once_save_it_once(seed_docs, tmp_path, fake_embedder, site, monkeypatch):
    """Two writers (as two processes would) read the same page together; one saves it, the other says
    'already there': the check and the write happen under one cross-process lock."""
    import bot.ingest

    # Each writer waits (a little) for the other before looking at the folder: without the lock both
    # would look, see nothing, and save the article twice; with it, the second looks after the first saved.
    meet = threading.Barrier(2)
    real_known = bot.ingest.known_articles

    def known_after_meeting(folder):
        with contextlib.suppress(threading.BrokenBarrierError):
            meet.wait(timeout=1.5)
        return real_known(folder)

    monkeypatch.setattr(bot.ingest, "known_articles", known_after_meeting)
    services = [service_over(seed_docs, tmp_path / "index", fake_embedder) for _ in range(2)]
    reports = [None, None]

    def add(i: int) -> None:
        reports[i] = services[i].add_sources([site.url("/news/opengraph-only.html")])

    threads = [threading.Thread(target=add, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert sorted((len(r.added), len(r.unchanged)) for r in reports) == [(0, 1), (1, 0)]
    assert len([p for p in seed_docs.iterdir() if "kyiv-ledger" in p.name]) == 1


def test_a_service_asked_for_links_only_never_reads_a_local_file(seed_docs, tmp_path, fake_embedder):
    """allow_files=False (Discord): a path, even of an existing article, is refused and nothing is read or added."""
    service = service_over(seed_docs, tmp_path / "index", fake_embedder)
    secret = tmp_path / "secret.md"
    secret.write_text("---\ntitle: Private notes\n---\nThese notes must never be indexed from a chat message.\n")
    report = service.add_sources([str(secret), "/etc/passwd"], allow_files=False)
    assert report.added == [] and [r for _s, r in report.failed] == [
        f"{str(secret)!r} is not a link; give an http:// or https:// address.",
        "'/etc/passwd' is not a link; give an http:// or https:// address.",
    ]


def test_a_transient_item_failure_is_retried_and_a_permanent_one_is_not(seed_docs, tmp_path, fake_embedder, site):
    """An item answering 503 is fetched again next poll; one answering 404 is remembered and left alone."""
    service = service_over(seed_docs, tmp_path / "index", fake_embedder, feed_min_similarity=0.0)
    service.start(warm_up=False)
    feed = site.feed(
        "/feeds/flaky.xml",
        rss(
            [
                {"title": "busy", "link": site.url("/hostile/503"), "guid": "f1"},
                {"title": "gone", "link": site.url("/hostile/404"), "guid": "f2"},
            ]
        ),
    )
    busy, gone = site.hits("/hostile/503"), site.hits("/hostile/404")
    for _ in range(2):
        report = service.poll_feeds([feed])
        assert len(report.failed) in (1, 2)
    assert site.hits("/hostile/503") == busy + 2 and site.hits("/hostile/404") == gone + 1


def test_a_background_poll_backs_off_a_failing_feed_and_a_terminal_poll_does_not(
    seed_docs, tmp_path, fake_embedder, site
):
    """After a failure, the bot's background poll leaves the feed alone for a while; `talksbot poll` tries it."""
    service = service_over(seed_docs, tmp_path / "index", fake_embedder, feed_poll_minutes=10)
    service.start(warm_up=False)
    broken = site.url("/feeds/absent.xml")
    first = service.poll_feeds([broken], background=True)
    assert first.failed and "404" in first.failed[0][1]
    hits = site.hits("/feeds/absent.xml")
    later = service.poll_feeds([broken], background=True)
    assert later.feeds[0].backing_off and later.failed == [] and site.hits("/feeds/absent.xml") == hits
    service.poll_feeds([broken])  # the terminal: asked for explicitly, so tried
    assert site.hits("/feeds/absent.xml") == hits + 1


def test_a_background_poll_skips_its_turn_while_another_process_polls(seed_docs, tmp_path, fake_embedder, site):
    """The poll lock held elsewhere: a background poll raises PollBusy at once instead of waiting."""
    service = service_over(seed_docs, tmp_path / "index", fake_embedder)
    feed = site.feed("/feeds/empty.xml", rss([]))
    with FeedState(tmp_path / "index" / "feeds").polling(wait=False), pytest.raises(PollBusy):
        service.poll_feeds([feed], background=True)  # the lock is held as another process would hold it
