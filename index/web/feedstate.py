"""The feeds' memory, kept beside the index: items already handled, each feed's health, and the poll lock.

Layout, inside ``INDEX_DIR`` next to the generations (never inside one, so a reindex or a rebuild
never forgets what was seen)::

    feeds/state.sqlite3   items(key, feed, outcome, detail, at) and feeds(url, etag, last_modified,
                          failures, retry_at, last_error)
    feeds/poll.lock       held (flock) by the one process polling
    feeds/save.lock       held (flock) while any process checks, writes and indexes new articles

Several processes may serve one index (sharded bots, a cron `talksbot poll`). A poll holds
``poll.lock`` from its first fetch to its last record, so two polls never run at once: the second
waits (the terminal) or skips its turn (a bot's background poller), then finds every item the first
one handled already recorded. No item is fetched, added or announced twice. The lock is an
``flock``: the system releases it when its holder exits or dies, so a killed poll never wedges the
next one.

An item is known by its guid (scoped to its feed: many feeds number their items 1, 2, 3) and by its
link and canonical address in ``url_key`` form, so the same article reached through another feed
is recognised too. A feed that fails is tried again after a delay that doubles with each failure
(capped at a day), which a background poller respects.
"""

from __future__ import annotations

import contextlib
import functools
import sqlite3
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from ..errors import TalksbotError
from ..filelock import holding, open_lock_file
from .identity import url_key

__all__ = ["FeedState", "FeedStatus", "PollBusy", "guid_key", "link_key"]

STATE_NAME = "state.sqlite3"
LOCK_NAME = "poll.lock"
SAVE_LOCK_NAME = "save.lock"
MAX_BACKOFF_SECONDS = 24 * 3600.0
_SCHEMA = """
CREATE TABLE IF NOT EXISTS items (
    key TEXT PRIMARY KEY, feed TEXT NOT NULL, outcome TEXT NOT NULL, detail TEXT NOT NULL, at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS feeds (
    url TEXT PRIMARY KEY, etag TEXT, last_modified TEXT, failures INTEGER NOT NULL DEFAULT 0,
    retry_at REAL NOT NULL DEFAULT 0, last_error TEXT
);
"""


class PollBusy(TalksbotError):
    """Another process is polling the feeds right now."""


@dataclass(frozen=True, slots=True)
class FeedStatus:
    """What is remembered about one feed."""

    etag: str | None = None
    last_modified: str | None = None
    failures: int = 0
    retry_at: float = 0.0  # time.time() before which a background poll leaves the feed alone
    last_error: str | None = None


def guid_key(feed: str, guid: str) -> str:
    """The key of an item's guid (scoped to its feed)."""
    return f"guid:{url_key(feed) or feed}\x1f{guid}"


def link_key(url: str) -> str:
    """The key of an item's link or canonical address ('' when it is not an http(s) link)."""
    key = url_key(url)
    return f"url:{key}" if key else ""


class FeedState:
    """The seen-items record and feed health in ``directory`` (created on first use)."""

    def __init__(self, directory: Path | str, *, clock: Callable[[], float] = time.time) -> None:
        self.directory = Path(directory)
        self._clock = clock

    @contextlib.contextmanager
    def polling(self, *, wait: bool, on_wait: Callable[[], None] | None = None) -> Iterator[None]:
        """Hold the poll lock for a whole poll; PollBusy at once when ``wait`` is False and another holds it."""
        with self._flock(LOCK_NAME, wait=wait, on_wait=on_wait):
            yield

    @contextlib.contextmanager
    def saving(self) -> Iterator[None]:
        """Hold the lock under which any process checks the documents folder, writes new articles and reindexes.

        Short (no fetching happens under it), so /add-article in one process and a poll in another cannot both
        decide an article is new and save it twice.
        """
        with self._flock(SAVE_LOCK_NAME, wait=True):
            yield

    @contextlib.contextmanager
    def _flock(self, name: str, *, wait: bool, on_wait: Callable[[], None] | None = None) -> Iterator[None]:
        self.directory.mkdir(parents=True, exist_ok=True)
        busy = functools.partial(PollBusy, "Another process is polling the feeds right now.")
        with holding(open_lock_file(self.directory / name), wait=wait, on_wait=on_wait, busy=busy):
            yield

    @contextlib.contextmanager
    def _db(self) -> Iterator[sqlite3.Connection]:
        self.directory.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(self.directory / STATE_NAME, timeout=30.0)
        try:
            conn.executescript(_SCHEMA)  # cheap when the tables exist, and a deleted record is simply started afresh
            with conn:
                yield conn
        finally:
            conn.close()

    def seen(self, keys: Iterable[str]) -> set[str]:
        """Which of these item keys are recorded."""
        wanted = [k for k in dict.fromkeys(keys) if k]
        found: set[str] = set()
        with self._db() as conn:
            for start in range(0, len(wanted), 500):
                chunk = wanted[start : start + 500]
                marks = ",".join("?" * len(chunk))
                found.update(r[0] for r in conn.execute(f"SELECT key FROM items WHERE key IN ({marks})", chunk))
        return found

    def remember(self, keys: Iterable[str], *, feed: str, outcome: str, detail: str = "") -> None:
        """Record an item (under all its keys) as handled: added, duplicate, off-topic or failed for good."""
        now = self._clock()
        rows = [(k, feed, outcome, detail[:500], now) for k in dict.fromkeys(keys) if k]
        with self._db() as conn:
            conn.executemany("INSERT OR REPLACE INTO items(key, feed, outcome, detail, at) VALUES (?,?,?,?,?)", rows)

    def status(self, feed: str) -> FeedStatus:
        """What is remembered about a feed (defaults when nothing is)."""
        with self._db() as conn:
            row = conn.execute(
                "SELECT etag, last_modified, failures, retry_at, last_error FROM feeds WHERE url = ?", (feed,)
            ).fetchone()
        return FeedStatus(*row) if row else FeedStatus()

    def feed_ok(self, feed: str, *, etag: str | None, last_modified: str | None) -> None:
        """A feed was read: remember its validators for the next conditional request, forget its failures."""
        if self.status(feed) == FeedStatus(etag, last_modified):
            return  # nothing to record: a poll that finds nothing new writes nothing
        with self._db() as conn:
            conn.execute(
                "INSERT OR REPLACE INTO feeds(url, etag, last_modified, failures, retry_at, last_error) "
                "VALUES (?, ?, ?, 0, 0, NULL)",
                (feed, etag, last_modified),
            )

    def feed_failed(self, feed: str, error: str, *, base_delay: float) -> FeedStatus:
        """A feed failed: count it and set when to try again (``base_delay`` doubled per failure, at most a day)."""
        previous = self.status(feed)
        failures = previous.failures + 1
        delay = min(MAX_BACKOFF_SECONDS, base_delay * 2 ** (failures - 1))
        status = FeedStatus(previous.etag, previous.last_modified, failures, self._clock() + delay, error[:500])
        with self._db() as conn:
            conn.execute(
                "INSERT OR REPLACE INTO feeds(url, etag, last_modified, failures, retry_at, last_error) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                (feed, status.etag, status.last_modified, status.failures, status.retry_at, status.last_error),
            )
        return status

    def now(self) -> float:
        """The clock this record uses (wall time; tests pass another)."""
        return self._clock()
