"""Articles from the web: adding one by link, polling a feed with nothing new, and the bot's heartbeat while it polls.

Everything is served by the tests' local site on 127.0.0.1 (tests/web_server.py), with the real model.

1. **Add one article by link** (``Service.add_sources([url])``, as `talksbot add` and /add-article url:
   run it) into a folder of --articles synthetic articles plus the seed ones. Each sample adds one of
   the 16 on-topic calibration articles (rendered as a news page), then the file is removed and the
   index brought back untimed. Floor, timed on the same article, interleaved: fetching the page
   (``Fetcher.fetch``), extracting it (``extract_article``) and embedding its passages as the indexer
   does (``embed_documents``). What the add does beyond the floor: checking the folder for the same
   link or text, writing the file, and the incremental reindex (scan, SQLite copy, FAISS, publish).
2. **Poll a 100-item feed with nothing new** (``Service.poll_feeds``): every item was handled by an
   earlier poll. Floor: fetching and parsing the same feed (``Fetcher.fetch`` + ``parse_feed``).
3. **Heartbeat gap while the bot polls**: the real bot on the fake Discord (Discord's own heartbeat
   interval is 41 s; the harness beats every 0.25 s so a blocked loop shows), FEEDS holding 8 new
   on-topic articles, FEED_POLL_MINUTES short. The longest gap between heartbeats and the largest
   event-loop lag during the poll round (fetch, extract, embed, reindex, announce), against the same
   measures over an idle stretch of the same length in the same run (the floor).

Run: .venv/bin/python bench/web_ingest.py [--quick] [--articles N] [--repeats N]
"""

from __future__ import annotations

import argparse
import datetime as dt
import shutil
import time
import warnings

import common as c

TARGET_ADD_RATIO = 2.0
TARGET_POLL_RATIO = 1.5
TARGET_GAP_S = 0.5


def run(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a short smoke run")
    parser.add_argument("--articles", type=int, default=None, help="articles already indexed (default 200, quick 20)")
    parser.add_argument("--repeats", type=int, default=None, help="samples per measure (default 16, quick 3)")
    args = parser.parse_args(argv)
    n = args.articles or (20 if args.quick else 200)
    repeats = args.repeats or (3 if args.quick else 16)
    c.print_header("articles from the web: add by link, poll with nothing new, heartbeat while polling", args.quick)
    report = c.Report("web_ingest", quick=args.quick)

    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", category=DeprecationWarning)
        from discord_helpers import bot_factory, make_settings
        from fakediscord import DiscordHarness
    from web_server import TOPIC, LocalSite, rss, wait_until

    from bot.runner import build_service
    from bot.settings import Settings
    from index.documents import parse_article
    from index.engine import Engine
    from index.store.indexer import embed_documents
    from index.web import Fetcher, FetchLimits, parse_feed
    from index.web.articles import article_markdown
    from index.web.extract import extract_article

    embedder, _ = c.load_model()
    pages = [f"/topic/on/{p.stem}.html" for p in sorted((TOPIC / "on").glob("*.md"))]
    with c.scratch("web") as tmp, LocalSite() as site:
        docs = tmp / "documents"
        c.write_synthetic_articles(docs, n, seed=21, paragraphs=(3, 6))
        for path in (c.ROOT / "documents").glob("*.md"):
            shutil.copy(path, docs / path.name)
        settings = Settings(documents_dir=docs, index_dir=tmp / "index", allow_private_urls=True)
        engine = Engine(docs, tmp / "index", embedder=embedder)
        service = build_service(settings, engine=engine)
        service.start(warm_up=True)
        fetcher = Fetcher(allow_private=True, limits=FetchLimits())

        # ----- 1. add one article by link
        def floor_add(url: str) -> float:
            t0 = time.perf_counter()
            fetched = fetcher.fetch(url)
            article = extract_article(fetched.text(), url=fetched.final_url)
            markdown = article_markdown(article, origin=url, added=dt.date.today())
            embed_documents([parse_article(markdown.encode(), doc_id="x.md")], embedder, engine.config, None)
            return time.perf_counter() - t0

        def add(url: str) -> float:
            t0 = time.perf_counter()
            result = service.add_sources([url])
            seconds = time.perf_counter() - t0
            if len(result.added) != 1:
                report.note(f"expected one article added from {url}, got {result.to_json()}: figures are suspect")
            for saved in result.added:
                (docs / saved.path).unlink()
            engine.reindex()  # back to the same folder, untimed
            return seconds

        floor_add(site.url(pages[0]))  # warm-up: imports, first extraction
        add(site.url(pages[0]))
        samples = [site.url(pages[i % len(pages)]) for i in range(repeats)]
        timing = c.interleaved(samples, {"floor": floor_add, "add": add})  # type: ignore[dict-item]
        add_s, floor_s = timing["add"], timing["floor"]
        print(c.summary("add one article by link", add_s))
        print(c.summary("floor: fetch + extract + embed", floor_s))

        # ----- 2. a poll of a 100-item feed with nothing new
        site.route(
            "/briefs/stub.html", (200, {"Content-Type": "text/html"}, b"<html><body><p>Short.</p></body></html>")
        )
        items = [
            {"title": f"Brief {i}", "link": site.url(f"/briefs/stub.html?i={i}"), "guid": f"b{i}"} for i in range(100)
        ]
        feed = site.feed("/feeds/hundred.xml", rss(items))
        for _ in range(4):  # each item fails for good once (not an article), then is only ever 'seen'
            service.poll_feeds([feed])
        check = service.poll_feeds([feed])
        if check.feeds[0].seen != 100:
            report.note(f"expected 100 items seen before, got {check.feeds[0].to_json()}")

        def floor_poll(_: object) -> float:
            t0 = time.perf_counter()
            fetched = fetcher.fetch(feed, kind="feed")
            parse_feed(fetched.body, url=fetched.final_url, content_type=fetched.media_type)
            return time.perf_counter() - t0

        def poll(_: object) -> float:
            t0 = time.perf_counter()
            service.poll_feeds([feed])
            return time.perf_counter() - t0

        timing = c.interleaved(list(range(repeats * 3)), {"floor": floor_poll, "poll": poll})  # type: ignore[dict-item]
        poll_s, floor_poll_s = timing["poll"], timing["floor"]
        print(c.summary("poll, 100 items, nothing new", poll_s))
        print(c.summary("floor: fetch + parse the feed", floor_poll_s))

        # ----- 3. heartbeat gap while the bot polls
        bot_docs = tmp / "bot-documents"
        shutil.copytree(c.ROOT / "documents", bot_docs)
        per_round = 3 if args.quick else 8
        warm, fresh = pages[:per_round], pages[per_round : 2 * per_round]
        bot_feed = site.feed("/feeds/bot.xml", rss([{"title": p, "link": site.url(p), "guid": p} for p in warm]))
        bot_settings = make_settings(bot_docs, tmp / "bot-index").replace(
            allow_private_urls=True, feeds=(bot_feed,), feed_poll_minutes=60.0
        )
        bot_engine = Engine(bot_docs, tmp / "bot-index", embedder=embedder)
        h = DiscordHarness(bot_factory(bot_settings, bot_engine), heartbeat_interval=0.25)
        h.start()
        try:
            h.call(h.client.service.wait_ready())
            poller = h.client.poller
            if not wait_until(lambda: poller.rounds >= 1, 600):  # the first round runs at start: a warm-up
                report.note("the poller's first round did not finish in 10 minutes: figures are suspect")
            # The timed round: as many new articles again, just published in the same feed.
            site.feed("/feeds/bot.xml", rss([{"title": p, "link": site.url(p), "guid": p} for p in fresh]))
            time.sleep(1.0)
            t0 = h.now()
            result = h.call(poller.poll_once(), timeout=600)
            t1 = h.now()
            time.sleep(0.5)  # the announcements' last requests settle
            idle_from = h.now()
            time.sleep(max(3.0, t1 - t0))  # the floor: the same bot, idle, for as long as the round took
            idle_to = h.now()
            poll_gap, poll_lag = h.max_heartbeat_gap(t0, t1), h.max_loop_lag(t0, t1)
            idle_gap, idle_lag = h.max_heartbeat_gap(idle_from, idle_to), h.max_loop_lag(idle_from, idle_to)
            added = len(result.added) if result is not None else 0
            if added != len(fresh):
                report.note(f"the timed poll round added {added} articles, not {len(fresh)}: figures are suspect")
        finally:
            h.close()
        print(
            f"bot poll round: {added} articles added in {t1 - t0:.1f} s; heartbeat gap {poll_gap * 1e3:.0f} ms "
            f"(idle {idle_gap * 1e3:.0f} ms), loop lag {poll_lag * 1e3:.0f} ms (idle {idle_lag * 1e3:.0f} ms)"
        )

    def against_floor(metric: str, value: float, floor: float, limit: float, note: str) -> None:
        report.add(
            metric,
            value * 1e3,
            "ms",
            floor=floor * 1e3,
            ratio=value / floor,
            target=f"<= {limit:g}x floor",
            met=value / floor <= limit,
            note=note,
        )

    against_floor(
        "add one article by link p50",
        c.p50(add_s),
        c.p50(floor_s),
        TARGET_ADD_RATIO,
        f"folder of {n + 2} articles; floor = fetch + extract + embed of the same article",
    )
    report.add("add one article by link p95", c.p95(add_s) * 1e3, "ms", floor=c.p95(floor_s) * 1e3)
    against_floor(
        "poll a 100-item feed, nothing new p50",
        c.p50(poll_s),
        c.p50(floor_poll_s),
        TARGET_POLL_RATIO,
        "floor = fetch + parse the same feed",
    )
    report.add(
        "max heartbeat gap while the bot polls",
        poll_gap * 1e3,
        "ms",
        floor=idle_gap * 1e3,
        ratio=poll_gap / idle_gap if idle_gap else None,
        target=f"<= {TARGET_GAP_S * 1e3:.0f} ms",
        met=poll_gap <= TARGET_GAP_S,
        note=f"heartbeat every 250 ms; a round adding {added} articles in {t1 - t0:.1f} s; floor = idle, same run",
    )
    report.add("max event-loop lag while the bot polls", poll_lag * 1e3, "ms", floor=idle_lag * 1e3)
    report.emit()


if __name__ == "__main__":
    c.main_guard(run)
