"""Watching the documents folder: reindex by itself when articles are added, changed or removed.

watchdog reports file events from its own thread; they are handed to the event loop, which
waits until writes have settled (no event for ``settle_seconds``) and then reindexes in a worker
thread through the service, which keeps it from overlapping any other write. Events during a
reindex lead to one more reindex after it.
"""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

from watchdog.events import FileSystemEvent, FileSystemEventHandler
from watchdog.observers import Observer

from index import ARTICLE_SUFFIXES, TalksbotError

from .service import Service

__all__ = ["DocumentWatcher"]

log = logging.getLogger(__name__)


class _Handler(FileSystemEventHandler):
    def __init__(self, watcher: DocumentWatcher) -> None:
        self.watcher = watcher

    def on_any_event(self, event: FileSystemEvent) -> None:
        if event.event_type in ("opened", "closed_no_write"):
            return
        paths = [event.src_path, getattr(event, "dest_path", "")]
        if any(str(p).lower().endswith(ARTICLE_SUFFIXES) and not Path(str(p)).name.startswith(".") for p in paths if p):
            self.watcher.notify()


class DocumentWatcher:
    """Debounced automatic reindexing for a running bot."""

    def __init__(self, service: Service, *, settle_seconds: float = 2.0) -> None:
        self.service = service
        self.settle_seconds = settle_seconds
        self.loop = asyncio.get_running_loop()
        self.observer = Observer()
        self.reindexes = 0
        self._timer: asyncio.TimerHandle | None = None
        self._pending = False
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        """Begin watching DOCUMENTS_DIR (recursively)."""
        folder = self.service.documents_dir
        folder.mkdir(parents=True, exist_ok=True)
        self.observer.schedule(_Handler(self), str(folder), recursive=True)
        self.observer.daemon = True
        self.observer.start()
        log.info("watching %s for new, changed and removed articles", folder)

    def stop(self) -> None:
        """Stop watching; a reindex in progress finishes on its own."""
        if self._timer is not None:
            self._timer.cancel()
        self.observer.stop()
        self.observer.join(timeout=5)

    def notify(self) -> None:
        """Called from watchdog's thread: (re)start the settle timer on the event loop."""
        self.loop.call_soon_threadsafe(self._arm)

    def _arm(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
        self._timer = self.loop.call_later(self.settle_seconds, self._fire)

    def _fire(self) -> None:
        self._timer = None
        if self._task is not None and not self._task.done():
            self._pending = True  # run once more when the current reindex ends
            return
        self._task = self.loop.create_task(self._reindex(), name="talksbot-watch-reindex")

    async def _reindex(self) -> None:
        while True:
            self._pending = False
            try:
                await self.service.wait_ready()
                report = await asyncio.to_thread(self.service.reindex)
                self.reindexes += 1
                log.info(
                    "documents changed: %d added, %d updated, %d removed (%.1f s)",
                    len(report.added),
                    len(report.updated),
                    len(report.removed),
                    report.seconds,
                )
                for skipped in report.skipped:
                    log.warning("skipped %s: %s", skipped.path, skipped.reason)
            except TalksbotError as err:
                log.error("automatic reindex failed: %s", err)
            except Exception:
                log.exception("automatic reindex failed")
            if not self._pending:
                return
