"""The use cases, in one place: every face (CLI, Discord commands, the file watcher) calls these.

``Service`` owns the engine, knows when it is ready to answer, and is the single writer of the
index in this process: a reindex, an added article and an automatic reindex after a file
change queue behind one lock here (other processes are kept out by the index folder's own lock).

Its methods block; the Discord side runs them in worker threads (``asyncio.to_thread``) and
waits for readiness with ``await service.wait_ready()``, which holds no thread while it waits.
Nothing here knows Discord: the policy of who may change the index is ``bot/permissions.py``.
"""

from __future__ import annotations

import asyncio
import collections
import concurrent.futures
import contextlib
import datetime as dt
import logging
import secrets
import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from index import (
    Answer,
    DocumentInfo,
    Engine,
    IndexBusy,
    IndexStats,
    ProgressFactory,
    SyncReport,
    TalksbotError,
)
from index.web import FeedState, Fetcher, check_url

from .attribution import attribute
from .feedback import FeedbackError, FeedbackStore, StoredAnswer, VotedAnswer, VoteResult
from .feedback_export import ExportReport, write_eval_questions
from .ingest import AddReport, FeedPolicy, Ingest, PollReport
from .uploads import UploadRejected, check_size, prepare_upload, safe_article_name, undo_write, write_atomically

__all__ = ["ENGINE_WAIT_SECONDS", "AddReport", "AddedArticle", "Coverage", "NotReady", "PollReport", "Service"]

log = logging.getLogger(__name__)

# How long a command waits for the engine to finish loading before saying so (an interaction
# token lives 15 minutes; the model loads in seconds).
ENGINE_WAIT_SECONDS = 600.0


class NotReady(TalksbotError):
    """The engine could not be started, or is still starting (the message says which)."""


@dataclass(frozen=True, slots=True)
class AddedArticle:
    """An article saved into the documents folder and indexed."""

    name: str  # its file name in the documents folder
    title: str
    replaced: bool  # an article of the same name was there and has been replaced
    passages: int  # passages indexed for it
    report: SyncReport
    info: DocumentInfo | None = None  # its attribution, as read from the file
    replaced_title: str = ""  # the title of the article it replaced ("" if none, or not a readable article)
    renamed: bool = False  # saved under a safe name that differs from the uploaded one


@dataclass(frozen=True, slots=True)
class Coverage:
    """What the bot answers from, as a reader would ask it: how many articles, from when, by whom."""

    articles: int
    first: dt.date | None  # the earliest publication date stated by an article (None: none is dated)
    last: dt.date | None
    undated: int  # articles stating no date
    # (outlet, articles), most articles first. The outlet as every face shows it (bot/attribution.py):
    # "Reuters" only when the articles' links lead to reuters.com, else "Reuters (unverified)" and the
    # like, and "Unattributed source" for articles naming none: a list of outlets vouches for nothing more.
    outlets: tuple[tuple[str, int], ...]
    updated: dt.datetime  # when the live index was built


class Service:
    """answer, find sources, reindex, add articles, record answers and votes; readiness and the writer lock."""

    def __init__(
        self,
        engine: Engine,
        *,
        fetcher: Fetcher | None = None,
        feed_state: FeedState | None = None,
        feed_policy: FeedPolicy | None = None,
        feeds: Sequence[str] = (),
        feedback: FeedbackStore | None = None,
    ) -> None:
        self.engine = engine
        self.feedback = feedback
        # Answers whose record could not be written (the feedback database failing): their buttons still
        # work in this process. Bounded: the oldest are forgotten first.
        self._unrecorded: collections.OrderedDict[str, StoredAnswer] = collections.OrderedDict()
        self._started: concurrent.futures.Future[None] = concurrent.futures.Future()
        self._write_lock = threading.Lock()
        self.feeds = tuple(feeds)
        self._feed_state = feed_state
        # Links, local files and feeds (bot/ingest.py), committed under this service's writer lock.
        self._ingest = (
            Ingest(
                engine.documents_dir,
                fetcher=fetcher or Fetcher(),
                feed_state=feed_state,
                policy=feed_policy or FeedPolicy(),
                writing=self._writing,
                reindex=self.engine.reindex,
                closeness=self.engine.closeness,
                passages_of=self.engine.document_passage_count,
            )
            if feed_state is not None
            else None
        )

    @property
    def documents_dir(self) -> Path:
        """The folder articles are read from and added to."""
        return self.engine.documents_dir

    # ----- readiness

    def start(
        self,
        *,
        warm_up: bool = True,
        on_build: Callable[[str], None] | None = None,
        progress: ProgressFactory | None = None,
    ) -> SyncReport | None:
        """Open (or build, or repair) the index and, with ``warm_up``, load the model; then the service is ready.

        Returns the report of a build when one was needed. A failure is kept: ``check_ready`` and
        ``wait_ready`` raise NotReady with its sentence from then on, and it is re-raised here.
        """
        try:
            with self._writing():
                report = self.engine.ensure_index(progress=progress, on_build=on_build)
            if warm_up:
                self.engine.warm_up()
                self.engine.stats()  # opens the index now rather than at the first question
        except BaseException as err:
            if not self._started.done():
                self._started.set_exception(err)
            raise
        if not self._started.done():
            self._started.set_result(None)
        return report

    @property
    def ready(self) -> bool:
        """True once ``start`` has succeeded."""
        return self._started.done() and self._started.exception() is None

    @property
    def starting(self) -> bool:
        """True until ``start`` has finished, one way or the other."""
        return not self._started.done()

    def check_ready(self) -> None:
        """Raise NotReady at once if starting failed (commands call this before deferring)."""
        if self._started.done() and self._started.exception() is not None:
            raise NotReady(f"I can't answer right now: {self._problem()}")

    async def wait_ready(self, timeout: float = ENGINE_WAIT_SECONDS) -> None:
        """Wait (without holding a thread) until started; NotReady if starting failed or takes too long."""
        try:
            await asyncio.wait_for(asyncio.shield(asyncio.wrap_future(self._started)), timeout=timeout)
        except TimeoutError:
            raise NotReady("I'm still loading my articles; please try again in a minute.") from None
        except BaseException:
            if not self._started.done():
                raise  # cancelled while waiting
        self.check_ready()

    def _problem(self) -> str:
        err = self._started.exception()
        if isinstance(err, TalksbotError):
            return str(err)
        return "my index failed to load (see the bot's log)."

    # ----- answering

    def answer(self, question: str, *, since: dt.date | None = None, alternatives: int | None = None) -> Answer:
        """The most relevant passage for a question, quoted, with alternatives (or nothing relevant)."""
        return self.engine.answer(question, since=since, alternatives=alternatives)

    def find_sources(self, claim: str) -> Answer:
        """The passage that speaks to a claim someone made in chat (plain text, see bot/claims.py)."""
        return self.engine.answer(claim)

    def stats(self) -> IndexStats:
        """What the live index holds."""
        return self.engine.stats()

    def sources(self) -> list[tuple[DocumentInfo, int]]:
        """Every indexed article with its passage count, newest first."""
        return self.engine.sources()

    def coverage(self) -> Coverage:
        """The dates and outlets the indexed articles cover (for /about and the off-topic reply)."""
        infos = [info for info, _ in self.engine.sources()]
        dates = sorted(info.published for info in infos if info.published)
        outlets = collections.Counter(attribute(info).outlet_label for info in infos)
        return Coverage(
            articles=len(infos),
            first=dates[0] if dates else None,
            last=dates[-1] if dates else None,
            undated=len(infos) - len(dates),
            outlets=tuple(sorted(outlets.items(), key=lambda kv: (-kv[1], kv[0].casefold()))),
            updated=self.engine.stats().built_at,
        )

    # ----- changing the index (one writer at a time)

    @property
    def reindex_running(self) -> bool:
        """True while this process is writing the index (a reindex, an added article)."""
        return self._write_lock.locked()

    @contextlib.contextmanager
    def _writing(self, *, wait: bool = True) -> Iterator[None]:
        """Hold this process's writer lock; IndexBusy at once when ``wait`` is False and it is taken."""
        if not self._write_lock.acquire(blocking=wait):
            raise IndexBusy("A reindex is already running; try again when it has finished.")
        try:
            yield
        finally:
            self._write_lock.release()

    def reindex(
        self,
        *,
        rebuild: bool = False,
        wait: bool = True,
        on_wait: Callable[[], None] | None = None,
        progress: ProgressFactory | None = None,
    ) -> SyncReport:
        """Bring the index up to date with the documents folder; answers switch to it when it is published.

        With ``wait=False`` a reindex already running (here or in another process) raises IndexBusy
        instead of queueing; ``on_wait`` is called once when this one has to wait for another process.
        """
        with self._writing(wait=wait):
            return self.engine.reindex(rebuild=rebuild, wait=wait, on_wait=on_wait, progress=progress)

    @staticmethod
    def check_upload(filename: str, size: int) -> None:
        """Refuse a bad file name, suffix or size before anything is downloaded (UploadRejected)."""
        safe_article_name(filename)
        check_size(size)

    def add_article(self, filename: str, data: bytes, *, overwrite: bool = False) -> AddedArticle:
        """Validate an article, save it into the documents folder and index it; nothing is kept if that fails.

        UploadRejected says why an article was refused; the folder is then exactly as it was.
        """
        with self._writing():
            prepared = prepare_upload(self.documents_dir, filename, data, overwrite=overwrite)
            previous = write_atomically(prepared.path, prepared.data)
            try:
                report = self.engine.reindex()
            except TalksbotError as err:
                undo_write(prepared.path, previous)
                raise UploadRejected(f"{prepared.name} was not added: {err}") from None
            except BaseException:
                undo_write(prepared.path, previous)
                raise
            passages = self.engine.document_passage_count(prepared.name)
        return AddedArticle(
            name=prepared.name,
            title=prepared.document.info.title,
            replaced=prepared.replaces,
            passages=passages,
            report=report,
            info=prepared.document.info,
            replaced_title=prepared.replaced_title,
            renamed=prepared.renamed,
        )

    # ----- articles from links, local files and feeds (bot/ingest.py)

    @staticmethod
    def check_link(url: str) -> None:
        """Refuse a link whose form is wrong (scheme, host, credentials) before anything is fetched (UrlRefused)."""
        check_url(url)

    def add_sources(self, sources: Sequence[str], *, overwrite: bool = False, allow_files: bool = True) -> AddReport:
        """Add links and (with ``allow_files``) local .md/.txt/.html files; one reindex for the batch."""
        return self._web().add_sources(sources, overwrite=overwrite, allow_files=allow_files)

    def poll_feeds(
        self,
        feeds: Sequence[str] | None = None,
        *,
        background: bool = False,
        on_wait: Callable[[], None] | None = None,
    ) -> PollReport:
        """Poll the given feeds (default: FEEDS) and add their new on-topic items; one reindex per poll.

        ``background`` (the bot's poller): skip feeds still backing off after failures, and raise
        PollBusy at once instead of waiting when another process is polling.
        """
        chosen = list(feeds) if feeds else list(self.feeds)
        if not chosen:
            raise NotReady("No feeds to poll: give feed links or set FEEDS.")
        return self._web().poll_feeds(chosen, background=background, on_wait=on_wait)

    def _web(self) -> Ingest:
        if self._ingest is None:
            raise NotReady("Adding articles from the web is not set up in this process.")
        return self._ingest

    # ----- answers on record and their votes (bot/feedback.py)

    def record_answer(self, answer: Answer, *, kind: str) -> str:
        """Keep an answer the bot is sending, so its buttons work later; returns the id they carry.

        When the feedback database fails, the answer is kept in this process only (its buttons work
        until a restart, its votes cannot be counted) and the log says why: an answer is never lost
        to a vote database.
        """
        if self.feedback is not None:
            try:
                return self.feedback.record_answer(answer, kind=kind)
            except FeedbackError as err:
                log.warning("answer not recorded (its vote buttons will not count): %s", err)
        answer_id = "m" + secrets.token_urlsafe(9)
        self._unrecorded[answer_id] = StoredAnswer(answer_id, kind, dt.datetime.now(dt.UTC), answer)
        while len(self._unrecorded) > 1_000:
            self._unrecorded.popitem(last=False)
        return answer_id

    def stored_answer(self, answer_id: str) -> StoredAnswer:
        """The answer behind a button; VoteWindowClosed when it is too old or no longer on record."""
        kept = self._unrecorded.get(answer_id)
        if kept is not None:
            return kept
        return self._feedback().stored_answer(answer_id)

    def vote(self, answer_id: str, member_id: int, up: bool) -> VoteResult:
        """Record a member's 👍 (``up``) or 👎 on an answer, replacing their earlier vote on it."""
        if answer_id in self._unrecorded:
            raise FeedbackError("I couldn't record your vote: my feedback database is unavailable right now.")
        return self._feedback().vote(answer_id, member_id, up)

    def voted_answers(self) -> list[VotedAnswer]:
        """Every answer with votes, most recently voted first (`talksbot feedback`)."""
        return self._feedback().voted_answers()

    def export_feedback(self, out: Path, *, overwrite: bool = False) -> ExportReport:
        """Write the voted answers as evaluation questions (the eval set's format) for a maintainer to review."""
        if out.exists() and not overwrite:
            raise FeedbackError(f"{out} already exists; choose another file or pass --overwrite.")
        if not out.parent.is_dir():
            raise FeedbackError(f"The folder {out.parent} does not exist.")
        try:
            return write_eval_questions(self.voted_answers(), self.documents_dir, out)
        except OSError as err:
            raise FeedbackError(f"Could not write {out}: {err.strerror or err}.") from None

    def _feedback(self) -> FeedbackStore:
        if self.feedback is None:
            raise FeedbackError("Votes are not set up in this process.")
        return self.feedback
