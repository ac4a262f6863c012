"""The bot's background feed poller: FEEDS every FEED_POLL_MINUTES, off the event loop, then announcements.

The client only schedules it. Each round waits until the service is ready, runs
``Service.poll_feeds(background=True)`` in a worker thread (fetching, extracting, embedding and
reindexing never touch the event loop), logs one line per feed that failed, and hands what was
added to the announcer. ``background`` makes the service skip a feed that is still backing off after
failures (its delay doubles with each one, see index/web/feedstate.py) and skip the whole round at
once when another process (another shard, a cron `talksbot poll`) is polling the same index.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from index import TalksbotError
from index.web import PollBusy

from .announce import Announcer
from .ingest import PollReport
from .service import NotReady, Service

__all__ = ["FeedPoller"]

log = logging.getLogger(__name__)


class FeedPoller:
    """Polls the service's feeds on a timer; one round at a time."""

    def __init__(self, service: Service, *, minutes: float, announcer: Announcer | None = None) -> None:
        self.service = service
        self.interval = max(1.0, minutes * 60.0)
        self.announcer = announcer
        self.rounds = 0  # completed polls, for tests and /about-like reporting
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        """Schedule the polling loop on the running event loop."""
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._run(), name="talksbot-feed-poller")

    async def stop(self) -> None:
        """Cancel the loop (a poll running in its worker thread finishes on its own; nothing is lost)."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _run(self) -> None:
        while True:
            try:
                await self.service.wait_ready()
                break
            except NotReady as err:
                if not self.service.starting:  # starting failed for good: every command says why already
                    log.error("feed polling is off: %s", err)
                    return
        log.info("polling %d feeds every %g minutes", len(self.service.feeds), self.interval / 60)
        while True:
            await self.poll_once()
            await asyncio.sleep(self.interval)

    async def poll_once(self) -> PollReport | None:
        """One round: poll, log what happened, announce what was added. Never raises (but for cancellation)."""
        try:
            report = await asyncio.to_thread(self.service.poll_feeds, background=True)
        except PollBusy:
            log.info("another process is polling the feeds; skipped this round")
            return None
        except TalksbotError as err:
            log.warning("feed poll failed: %s", err)
            return None
        except Exception:
            log.exception("feed poll failed unexpectedly")
            return None
        finally:
            self.rounds += 1
        for feed in report.feeds:
            if feed.error:
                log.log(logging.INFO if feed.backing_off else logging.WARNING, "feed %s: %s", feed.url, feed.error)
        log.info(
            "polled %d feeds: %d added, %d skipped, %d failed",
            len(report.feeds),
            len(report.added),
            len(report.skipped),
            len(report.failed),
        )
        if report.added and self.announcer is not None:
            await self.announcer.announce(report.added)
        return report
