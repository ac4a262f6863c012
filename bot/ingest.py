"""Articles from links, local files and feeds: the use cases behind `talksbot add`, `talksbot poll`,
/add-article url: and the bot's background feed poller (``Service.add_sources`` and ``Service.poll_feeds``
call ``Ingest``).

Each works in two phases. *Reading* (no lock held): fetch and extract every source (index.web), so
a slow server never blocks another writer. *Committing* (under a short cross-process lock beside the
index, so that two processes adding the same article at once cannot both save it, then the service's
single-writer lock): check each article against what the documents folder holds now (the same link,
its canonical address, or the same text adds nothing), write the new files atomically, then run
**one** incremental reindex for the whole batch. If the reindex fails, every file written is put back
as it was: nothing already indexed is lost, and the folder is as before.

A poll holds the feeds' poll lock (index.web.FeedState) from start to end, so two processes never
poll at once, and records every item it has handled (added, already there, off topic, failed for
good) beside the index: an item is never fetched twice, across restarts and processes, and so never
added or announced twice. An item that failed for a reason that may pass (a time-out, a 503) is
tried again at the next poll.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

from index import SyncReport, TalksbotError
from index.web import (
    DEFAULT_MIN_SIMILARITY,
    Candidate,
    FeedItem,
    FeedState,
    Fetcher,
    KnownArticles,
    WebError,
    facts,
    guid_key,
    keyword_hits,
    known_articles,
    link_key,
    parse_feed,
    read_file,
    read_link,
    topic_text,
)

from .uploads import UploadRejected, safe_article_name, undo_write, write_atomically

__all__ = ["AddReport", "FeedPolicy", "Ingest", "PollReport", "SavedArticle"]

log = logging.getLogger(__name__)

FEED_MAX_BYTES = 4 * 1024 * 1024
_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*:")


@dataclass(frozen=True, slots=True)
class FeedPolicy:
    """How feeds are polled: what counts as on topic, how much per poll, how long to wait after a failure."""

    keywords: tuple[str, ...] = ()
    min_similarity: float = DEFAULT_MIN_SIMILARITY
    max_new_per_feed: int = 25
    retry_base_seconds: float = 30 * 60.0


@dataclass(frozen=True, slots=True)
class SavedArticle:
    """An article written into the documents folder and indexed."""

    origin: str  # the link or file it came from
    path: str  # its file in the documents folder
    title: str
    source: str
    author: str
    published: dt.date | None
    url: str
    replaced: bool = False
    paywalled: bool = False
    passages: int = 0

    def to_json(self) -> dict[str, object]:
        """The shape of `add --json`'s "added" entries."""
        return {
            "path": self.path,
            "title": self.title,
            "source": self.source,
            "author": self.author,
            "published": self.published.isoformat() if self.published else None,
            "url": self.url,
        }


@dataclass(slots=True)
class AddReport:
    """What `add` did with each source, and the reindex that followed."""

    added: list[SavedArticle] = field(default_factory=list)
    unchanged: list[tuple[str, str, str]] = field(default_factory=list)  # (source, path, why)
    failed: list[tuple[str, str]] = field(default_factory=list)  # (source, reason)
    index: SyncReport | None = None

    def to_json(self) -> dict[str, object]:
        """`talksbot add --json`."""
        return {
            "added": [a.to_json() for a in self.added],
            "unchanged": [{"source": s, "path": p} for s, p, _why in self.unchanged],
            "failed": [{"source": s, "reason": r} for s, r in self.failed],
            "index": self.index.to_json() if self.index is not None else None,
        }


@dataclass(slots=True)
class FeedOutcome:
    """One feed's line of a poll report."""

    url: str
    items: int = 0
    added: int = 0
    skipped: int = 0
    failed: int = 0
    seen: int = 0  # items handled by an earlier poll
    deferred: int = 0  # new items left for the next poll (over max_new_per_feed)
    error: str | None = None
    backing_off: bool = False  # skipped this time: it failed recently (background polls only)

    def to_json(self) -> dict[str, object]:
        """One entry of `poll --json`'s "feeds"."""
        out: dict[str, object] = {
            "url": self.url,
            "items": self.items,
            "added": self.added,
            "skipped": self.skipped,
            "failed": self.failed,
            "seen": self.seen,
            "deferred": self.deferred,
        }
        if self.error:
            out["error"] = self.error
        return out


@dataclass(slots=True)
class PollReport:
    """What a poll found in each feed, what it added, skipped and could not read."""

    feeds: list[FeedOutcome] = field(default_factory=list)
    added: list[SavedArticle] = field(default_factory=list)
    skipped: list[tuple[str, str, str]] = field(default_factory=list)  # (url, title, reason)
    failed: list[tuple[str, str]] = field(default_factory=list)  # (url, reason)
    index: SyncReport | None = None

    def to_json(self) -> dict[str, object]:
        """`talksbot poll --json`."""
        return {
            "feeds": [f.to_json() for f in self.feeds],
            "added": [a.to_json() for a in self.added],
            "skipped": [{"url": u, "title": t, "reason": r} for u, t, r in self.skipped],
            "failed": [{"url": u, "reason": r} for u, r in self.failed],
            "index": self.index.to_json() if self.index is not None else None,
        }


@dataclass(slots=True)
class _Pending:
    """A candidate on its way to the folder, with where it came from and the keys it will be remembered by."""

    candidate: Candidate
    feed: str | None = None
    keys: list[str] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class _AlreadyThere:
    path: str
    why: str


@dataclass(slots=True)
class _Commit:
    added: list[tuple[_Pending, SavedArticle]] = field(default_factory=list)
    unchanged: list[tuple[_Pending, str, str]] = field(default_factory=list)  # pending, path, why
    failed: list[tuple[_Pending, str]] = field(default_factory=list)
    index: SyncReport | None = None


class Ingest:
    """Adding sources and polling feeds into one documents folder (Service owns one)."""

    def __init__(
        self,
        documents_dir: Path,
        *,
        fetcher: Fetcher,
        feed_state: FeedState,
        policy: FeedPolicy,
        writing: Callable[[], contextlib.AbstractContextManager[None]],
        reindex: Callable[[], SyncReport],
        closeness: Callable[[list[str]], list[float | None]],
        passages_of: Callable[[str], int],
    ) -> None:
        self.documents_dir = documents_dir
        self.fetcher = fetcher
        self.feed_state = feed_state
        self.policy = policy
        self._writing = writing
        self._reindex = reindex
        self._closeness = closeness
        self._passages_of = passages_of

    # ----- add

    def add_sources(self, sources: Sequence[str], *, overwrite: bool = False, allow_files: bool = True) -> AddReport:
        """Read every source, then save the new articles and reindex once (see the module docstring)."""
        report = AddReport()
        known = known_articles(self.documents_dir)
        pending: list[_Pending] = []
        for source in sources:
            try:
                if not overwrite and (match := known.match([source])) is not None:
                    report.unchanged.append((source, match[0], match[1]))
                    continue
                pending.append(_Pending(self._read(source, allow_files=allow_files)))
            except TalksbotError as err:
                report.failed.append((source, str(err)))
            except Exception as err:  # one strange source must never stop the others
                log.exception("unexpected error reading %s", source)
                report.failed.append((source, f"unexpected error ({type(err).__name__}); see the log"))
        commit = self._commit(pending, overwrite=overwrite)
        report.added += [saved for _p, saved in commit.added]
        report.unchanged += [(p.candidate.origin, path, why) for p, path, why in commit.unchanged]
        report.failed += [(p.candidate.origin, reason) for p, reason in commit.failed]
        report.index = commit.index
        return report

    def _read(self, source: str, *, allow_files: bool) -> Candidate:
        """A link is fetched; a local path is read (only when files are allowed: never from Discord)."""
        path = Path(source)
        if _SCHEME.match(source) and not (allow_files and path.exists()):
            return read_link(source, self.fetcher)
        if not allow_files:
            raise UploadRejected(f"{source[:100]!r} is not a link; give an http:// or https:// address.")
        return read_file(path)

    # ----- commit (one writer)

    def _commit(self, pending: list[_Pending], *, overwrite: bool) -> _Commit:
        """Write what is new, reindex once, and put everything back if the reindex fails."""
        result = _Commit()
        if not pending:
            return result
        with self.feed_state.saving(), self._writing():  # other processes, then other threads of this one
            known = known_articles(self.documents_dir)
            writes: list[tuple[Path, bytes | None, _Pending, SavedArticle]] = []
            for item in pending:
                try:
                    outcome = self._place(item, known, overwrite=overwrite)
                except TalksbotError as err:
                    result.failed.append((item, str(err)))
                    continue
                if isinstance(outcome, _AlreadyThere):
                    result.unchanged.append((item, outcome.path, outcome.why))
                    continue
                target, saved = outcome
                previous = write_atomically(target, item.candidate.content)
                writes.append((target, previous, item, saved))
                known.add(saved.path, item.candidate.urls, item.candidate.text)
            if not writes:
                return result
            try:
                result.index = self._reindex()
            except TalksbotError as err:
                for target, previous, item, _saved in reversed(writes):
                    undo_write(target, previous)
                    result.failed.append((item, f"not added: {err}"))
                return result
            except BaseException:
                for target, previous, *_ in reversed(writes):
                    undo_write(target, previous)
                raise
            skipped = {s.path: s.reason for s in result.index.skipped}
            for _target, _previous, item, saved in writes:
                if saved.path in skipped:  # written but unreadable as an article: say so (the file stays visible)
                    result.failed.append((item, f"saved as {saved.path} but not indexed: {skipped[saved.path]}"))
                    continue
                passages = self._passages_of(saved.path)
                result.added.append((item, _with_passages(saved, passages)))
        return result

    def _place(
        self, item: _Pending, known: KnownArticles, *, overwrite: bool
    ) -> tuple[Path, SavedArticle] | _AlreadyThere:
        """Where a candidate goes (path and what was saved), or where it already is."""
        cand = item.candidate
        match = known.match(cand.urls, cand.text)
        replaced = False
        if match is not None:
            path = self.documents_dir / match[0]
            if not overwrite or (path.is_file() and path.read_bytes() == cand.content):
                return _AlreadyThere(*match)
            name, replaced = match[0], True
        elif cand.extracted is not None:
            name = cand.file_name(known.names)
        else:
            name = safe_article_name(cand.local_name or "")
            if name.lower() in known.names:
                if not overwrite:
                    raise UploadRejected(
                        f"An article named {name} already exists; add it with --overwrite to replace it."
                    )
                replaced = True
        target = (self.documents_dir / name).resolve()
        if not target.is_relative_to(self.documents_dir.resolve()):
            raise UploadRejected(f"{name} would leave the documents folder.")
        target.parent.mkdir(parents=True, exist_ok=True)
        saved = SavedArticle(origin=cand.origin, path=name, **facts(cand), replaced=replaced, paywalled=cand.paywalled)
        return target, saved

    # ----- poll

    def poll_feeds(
        self, feeds: Sequence[str], *, background: bool = False, on_wait: Callable[[], None] | None = None
    ) -> PollReport:
        """Poll every feed once, add the new on-topic items, reindex once; PollBusy if another process polls
        and ``background`` is set (the terminal waits for it instead)."""
        report = PollReport()
        with self.feed_state.polling(wait=not background, on_wait=on_wait):
            known = _LazyKnown(self.documents_dir)  # scanned only if some item is new
            pending: list[_Pending] = []
            for url in dict.fromkeys(feeds):
                outcome = FeedOutcome(url)
                report.feeds.append(outcome)
                try:
                    pending += self._poll_one(url, outcome, report, known, background=background)
                except Exception as err:  # one broken feed never stops the others
                    log.exception("unexpected error polling %s", url)
                    outcome.error = f"unexpected error ({type(err).__name__}); see the log"
                    report.failed.append((url, outcome.error))
            pending = self._on_topic(pending, report)
            commit = self._commit(pending, overwrite=False)
            report.index = commit.index
            by_feed = {f.url: f for f in report.feeds}
            for item, saved in commit.added:
                report.added.append(saved)
                by_feed[item.feed or ""].added += 1
                self.feed_state.remember(item.keys, feed=item.feed or "", outcome="added", detail=saved.path)
            for item, path, why in commit.unchanged:
                by_feed[item.feed or ""].skipped += 1
                report.skipped.append((item.candidate.origin, item.candidate.title, f"already there as {path} ({why})"))
                self.feed_state.remember(item.keys, feed=item.feed or "", outcome="duplicate", detail=path)
            for item, reason in commit.failed:  # not remembered: the next poll tries again
                by_feed[item.feed or ""].failed += 1
                report.failed.append((item.candidate.origin, reason))
        return report

    def _poll_one(
        self, url: str, outcome: FeedOutcome, report: PollReport, known: _LazyKnown, *, background: bool
    ) -> list[_Pending]:
        """Read one feed and its new items' pages; the candidates to judge and commit."""
        state = self.feed_state
        status = state.status(url)
        if background and status.retry_at > state.now():
            outcome.backing_off = True
            outcome.error = f"not polled: it failed {status.failures} time(s) in a row, last: {status.last_error}"
            return []
        try:
            fetched = self.fetcher.fetch(
                url, kind="feed", etag=status.etag, last_modified=status.last_modified, max_bytes=FEED_MAX_BYTES
            )
            feed = None
            if fetched.status != 304:
                feed = parse_feed(fetched.body, url=fetched.final_url, content_type=fetched.media_type or None)
        except WebError as err:
            state.feed_failed(url, str(err), base_delay=self.policy.retry_base_seconds)
            outcome.error = str(err)
            report.failed.append((url, str(err)))
            return []
        state.feed_ok(url, etag=fetched.etag, last_modified=fetched.last_modified)
        if feed is None:  # 304 Not Modified: nothing new since the last poll
            return []
        outcome.items = feed.total
        return self._new_items(url, feed.items, outcome, report, known)

    def _new_items(
        self, feed: str, items: Sequence[FeedItem], outcome: FeedOutcome, report: PollReport, known: _LazyKnown
    ) -> list[_Pending]:
        """Fetch the items not seen before (at most max_new_per_feed); remember those that fail for good."""
        state = self.feed_state
        keyed = [(item, _item_keys(feed, item)) for item in items]
        seen = state.seen(k for _item, keys in keyed for k in keys)
        pending: list[_Pending] = []
        for item, keys in keyed:
            if any(k in seen for k in keys):
                outcome.seen += 1
                continue
            seen.update(keys)  # the same item twice in one feed counts once
            if not item.link:
                outcome.skipped += 1
                report.skipped.append(("", item.title, "the item has no http(s) link"))
                state.remember(keys, feed=feed, outcome="no-link")
                continue
            match = known.get().match([item.link])
            if match is not None:
                outcome.skipped += 1
                report.skipped.append((item.link, item.title, f"already there as {match[0]}"))
                state.remember(keys, feed=feed, outcome="duplicate", detail=match[0])
                continue
            if len(pending) + outcome.failed >= self.policy.max_new_per_feed:
                outcome.deferred += 1
                continue
            try:
                candidate = read_link(item.link, self.fetcher)
            except WebError as err:
                outcome.failed += 1
                report.failed.append((item.link, str(err)))
                if not err.transient:
                    state.remember(keys, feed=feed, outcome="failed", detail=str(err))
                continue
            pending.append(_Pending(candidate, feed, [*keys, *(link_key(u) for u in candidate.urls)]))
        return pending

    def _on_topic(self, pending: list[_Pending], report: PollReport) -> list[_Pending]:
        """Keep the candidates about the corpus's subject; skip (and remember) the others with the reason."""
        if not pending:
            return []
        policy = self.policy
        scores = self._closeness([topic_text(p.candidate.title, p.candidate.text) for p in pending])
        by_feed = {f.url: f for f in report.feeds}
        kept: list[_Pending] = []
        for item, score in zip(pending, scores, strict=True):
            cand = item.candidate
            reason = None
            if policy.keywords and not keyword_hits(policy.keywords, cand.title, cand.text):
                reason = "off topic: it mentions none of FEED_KEYWORDS"
            elif score is not None and score < policy.min_similarity:
                reason = f"off topic: similarity to the indexed articles {score:.2f} < {policy.min_similarity:.2f}"
            if reason is None:
                kept.append(item)
                continue
            by_feed[item.feed or ""].skipped += 1
            report.skipped.append((cand.origin, cand.title, reason))
            self.feed_state.remember(item.keys, feed=item.feed or "", outcome="off-topic", detail=reason)
        return kept


class _LazyKnown:
    """The documents folder's links and texts, scanned on first use (a poll that finds nothing new never scans)."""

    def __init__(self, documents_dir: Path) -> None:
        self.documents_dir = documents_dir
        self._known: KnownArticles | None = None

    def get(self) -> KnownArticles:
        if self._known is None:
            self._known = known_articles(self.documents_dir)
        return self._known


def _item_keys(feed: str, item: FeedItem) -> list[str]:
    keys = [guid_key(feed, item.guid) if item.guid else "", link_key(item.link)]
    if not any(keys):  # neither a guid nor a link: known by its title within its feed
        keys.append(guid_key(feed, "title:" + item.title))
    return [k for k in keys if k]


def _with_passages(saved: SavedArticle, passages: int) -> SavedArticle:
    return replace(saved, passages=passages)
