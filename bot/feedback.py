"""The 👍/👎 votes on answers, in a small SQLite database outside the index generations (``FEEDBACK_DB``).

What is kept, and for how long:

- every answer the bot gives in Discord (``answers``): its id (what its buttons carry), whether it
  answered ``/ask`` or "Find sources", when, the question, and the answer as the CLI's JSON spells it
  (quote, highlight, attribution, alternatives). Its buttons work for ``VOTE_WINDOW_DAYS`` days, across
  restarts; an answer nobody voted on is forgotten after that. An answer with votes is kept: it is
  what ``talksbot feedback export`` turns into evaluation questions.
- one vote per member per answer (``votes``), +1 or -1; voting again replaces the vote.

Member ids are never stored. A vote is keyed by HMAC-SHA256 over (answer id, member id) with a
random 32-byte key kept in a separate file beside the database (``<FEEDBACK_DB>.key``, mode 0600).
So the database alone says neither who voted nor which votes came from the same member, and
hashing candidate ids (Discord ids are public) does not help without the key file. The key never
leaves the host; ``talksbot feedback`` and its export contain no voter at all. If the key file is
lost, a new one is made: the votes stay, but a member who voted before could vote once more.

Several bot processes may share one database on one host (docs/scaling.md): the journal is WAL, a
writer waits up to ``busy_seconds`` for another, and every write is one short ``BEGIN IMMEDIATE``
transaction. Not on a network filesystem: SQLite's locking does not hold there.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import hmac
import json
import logging
import os
import secrets
import sqlite3
import threading
from collections.abc import Iterator
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

from index import Answer, DocumentInfo, Hit, TalksbotError

__all__ = [
    "KINDS",
    "VOTE_WINDOW_DAYS",
    "FeedbackError",
    "FeedbackStore",
    "StoredAnswer",
    "VoteResult",
    "VoteWindowClosed",
    "VotedAnswer",
    "answer_from_json",
]

log = logging.getLogger(__name__)

VOTE_WINDOW_DAYS = 30
KINDS = ("ask", "find-sources")
_SCHEMA_VERSION = "1"
_KEY_CHECK = b"talksbot feedback key check"
_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS answers (
    id TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    asked_at TEXT NOT NULL,
    question TEXT NOT NULL,
    answer TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS answers_asked_at ON answers (asked_at);
CREATE TABLE IF NOT EXISTS votes (
    answer_id TEXT NOT NULL REFERENCES answers (id) ON DELETE CASCADE,
    voter TEXT NOT NULL,
    vote INTEGER NOT NULL CHECK (vote IN (-1, 1)),
    voted_at TEXT NOT NULL,
    PRIMARY KEY (answer_id, voter)
);
"""


class FeedbackError(TalksbotError):
    """The feedback database cannot be opened, read or written."""


class VoteWindowClosed(TalksbotError):
    """The answer is older than the vote window, or no longer on record."""


@dataclass(frozen=True, slots=True)
class VoteResult:
    """A member's vote as recorded, what it replaced, and the answer's tally."""

    vote: int  # +1 or -1
    previous: int | None  # the member's earlier vote on this answer, if any
    up: int
    down: int


@dataclass(frozen=True, slots=True)
class StoredAnswer:
    """An answer on record: what its buttons need after a restart."""

    id: str
    kind: str
    asked_at: dt.datetime
    answer: Answer


@dataclass(frozen=True, slots=True)
class VotedAnswer:
    """An answer with at least one vote, for `talksbot feedback` and its export."""

    id: str
    kind: str
    asked_at: dt.datetime
    question: str
    answer: dict[str, Any]  # the answer in the CLI's JSON shape
    up: int
    down: int
    last_vote_at: dt.datetime

    @property
    def hit(self) -> dict[str, Any] | None:
        """The quoted passage as JSON, or None when the answer was 'nothing relevant'."""
        return self.answer.get("answer")

    def to_json(self) -> dict[str, Any]:
        """One entry of `talksbot feedback --json`."""
        hit = self.hit
        return {
            "id": self.id,
            "kind": self.kind,
            "question": self.question,
            "quote": hit["quote"] if hit else None,
            "document": hit["document"] if hit else None,
            "up": self.up,
            "down": self.down,
            "asked_at": _iso(self.asked_at),
            "last_vote_at": _iso(self.last_vote_at),
            "answer": self.answer,
        }


def _iso(when: dt.datetime) -> str:
    return when.astimezone(dt.UTC).isoformat(timespec="seconds")


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class FeedbackStore:
    """Answers on record and their votes; thread-safe, and safe for several processes on one host."""

    def __init__(self, path: Path | str, *, busy_seconds: float = 10.0, window_days: float = VOTE_WINDOW_DAYS) -> None:
        self.path = Path(path)
        self.key_path = self.path.with_name(self.path.name + ".key")
        self.busy_seconds = busy_seconds
        self.window = dt.timedelta(days=window_days)
        self._key: bytes | None = None
        self._ready = False
        self._init_lock = threading.Lock()
        self._pruned_at: dt.datetime | None = None

    # ----- opening

    @contextlib.contextmanager
    def _connect(self, *, write: bool) -> Iterator[sqlite3.Connection]:
        """A short-lived connection (one per call: threads never share one); writes are IMMEDIATE."""
        self._ensure_ready()
        try:
            conn = sqlite3.connect(self.path, timeout=self.busy_seconds, isolation_level=None)
        except sqlite3.Error as err:
            raise FeedbackError(f"The feedback database {self.path} cannot be opened: {err}.") from None
        try:
            conn.execute("PRAGMA foreign_keys = ON")
            # WAL with NORMAL: a commit costs no fsync; a power cut can lose the last votes, never the file.
            conn.execute("PRAGMA synchronous = NORMAL")
            conn.execute("BEGIN IMMEDIATE" if write else "BEGIN")
            try:
                yield conn
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")
        except sqlite3.Error as err:
            raise FeedbackError(f"The feedback database {self.path} cannot be used: {err}.") from None
        finally:
            conn.close()

    def _ensure_ready(self) -> None:
        """Create the folder, the key and the tables on first use (any process may be first)."""
        if self._ready:
            return
        with self._init_lock:
            if self._ready:
                return
            try:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                self._key = self._load_key()
                conn = sqlite3.connect(self.path, timeout=self.busy_seconds, isolation_level=None)
            except (OSError, sqlite3.Error) as err:
                reason = getattr(err, "strerror", None) or err
                raise FeedbackError(f"The feedback database {self.path} cannot be opened: {reason}.") from None
            try:
                # WAL: readers never wait for the writer, and a writer in another process waits its turn.
                conn.execute("PRAGMA journal_mode = WAL")
                conn.executescript(_SCHEMA)  # idempotent: any number of processes may run it
                conn.execute("BEGIN IMMEDIATE")
                check = hmac.new(self._key, _KEY_CHECK, hashlib.sha256).hexdigest()[:16]
                stored = dict(conn.execute("SELECT key, value FROM meta").fetchall())
                if "key_check" in stored and stored["key_check"] != check:
                    log.warning(
                        "%s is not the key the votes in %s were made with: members who voted before "
                        "could vote once more on those answers",
                        self.key_path,
                        self.path,
                    )
                conn.executemany(
                    "INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)",
                    [("schema", _SCHEMA_VERSION), ("key_check", check)],
                )
                conn.execute("COMMIT")
            except sqlite3.DatabaseError as err:
                raise FeedbackError(f"The feedback database {self.path} cannot be used: {err}.") from None
            finally:
                conn.close()
            self._ready = True

    def _load_key(self) -> bytes:
        """The voter-hashing key: read it, or create it once (atomically, mode 0600) if there is none."""
        try:
            key = self.key_path.read_bytes()
        except FileNotFoundError:
            tmp = self.key_path.with_name(f"{self.key_path.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp")
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            try:
                os.write(fd, secrets.token_bytes(32))
                os.fsync(fd)
            finally:
                os.close(fd)
            try:
                os.link(tmp, self.key_path)  # fails if another process made one first: then use theirs
            except FileExistsError:
                pass
            finally:
                tmp.unlink()
            key = self.key_path.read_bytes()
        if len(key) < 16:
            raise FeedbackError(f"The feedback key file {self.key_path} is damaged; move it away to make a new one.")
        return key

    def _voter(self, answer_id: str, member_id: int) -> str:
        """The keyed hash standing for one member on one answer."""
        assert self._key is not None
        return hmac.new(self._key, f"{answer_id}\x1f{member_id}".encode(), hashlib.sha256).hexdigest()

    # ----- answers

    def record_answer(self, answer: Answer, *, kind: str, now: dt.datetime | None = None) -> str:
        """Keep an answer the bot is about to send; returns the id its buttons carry."""
        if kind not in KINDS:
            raise ValueError(f"kind must be one of {KINDS}, not {kind!r}")
        now = now or _now()
        answer_id = secrets.token_urlsafe(9)  # 12 characters, 72 random bits
        with self._connect(write=True) as conn:
            conn.execute(
                "INSERT INTO answers (id, kind, asked_at, question, answer) VALUES (?, ?, ?, ?, ?)",
                (answer_id, kind, _iso(now), answer.question, json.dumps(answer.to_json(), ensure_ascii=False)),
            )
            self._prune(conn, now)
        return answer_id

    def _prune(self, conn: sqlite3.Connection, now: dt.datetime) -> None:
        """Forget answers nobody voted on once their window has passed (at most once an hour per process)."""
        if self._pruned_at is not None and now - self._pruned_at < dt.timedelta(hours=1):
            return
        self._pruned_at = now
        conn.execute(
            "DELETE FROM answers WHERE asked_at < ? AND NOT EXISTS (SELECT 1 FROM votes WHERE answer_id = answers.id)",
            (_iso(now - self.window),),
        )

    def stored_answer(self, answer_id: str, *, now: dt.datetime | None = None) -> StoredAnswer:
        """The answer behind a button; VoteWindowClosed when it is too old or not on record."""
        with self._connect(write=False) as conn:
            row = conn.execute("SELECT kind, asked_at, answer FROM answers WHERE id = ?", (answer_id,)).fetchone()
        if row is None:
            raise VoteWindowClosed("This answer is no longer on record, so its buttons have stopped working.")
        asked_at = dt.datetime.fromisoformat(row[1])
        if (now or _now()) - asked_at > self.window:
            raise VoteWindowClosed(f"Voting on this answer has closed: answers take votes for {self.window.days} days.")
        return StoredAnswer(answer_id, row[0], asked_at, answer_from_json(json.loads(row[2])))

    # ----- votes

    def vote(self, answer_id: str, member_id: int, up: bool, *, now: dt.datetime | None = None) -> VoteResult:
        """Record (or change) one member's vote on an answer; VoteWindowClosed once its window has passed."""
        now = now or _now()
        value = 1 if up else -1
        voter = None
        with self._connect(write=True) as conn:
            row = conn.execute("SELECT asked_at FROM answers WHERE id = ?", (answer_id,)).fetchone()
            if row is None:
                raise VoteWindowClosed("This answer is no longer on record, so I can't count votes on it.")
            if now - dt.datetime.fromisoformat(row[0]) > self.window:
                raise VoteWindowClosed(
                    f"Voting on this answer has closed: answers take votes for {self.window.days} days."
                )
            voter = self._voter(answer_id, member_id)
            before = conn.execute(
                "SELECT vote FROM votes WHERE answer_id = ? AND voter = ?", (answer_id, voter)
            ).fetchone()
            conn.execute(
                "INSERT INTO votes (answer_id, voter, vote, voted_at) VALUES (?, ?, ?, ?) "
                "ON CONFLICT (answer_id, voter) DO UPDATE SET vote = excluded.vote, voted_at = excluded.voted_at",
                (answer_id, voter, value, _iso(now)),
            )
            up_count, down_count = conn.execute(
                "SELECT COALESCE(SUM(vote = 1), 0), COALESCE(SUM(vote = -1), 0) FROM votes WHERE answer_id = ?",
                (answer_id,),
            ).fetchone()
        return VoteResult(value, before[0] if before else None, int(up_count), int(down_count))

    def voted_answers(self) -> list[VotedAnswer]:
        """Every answer with at least one vote, most recently voted first."""
        if not self.path.exists():
            return []  # nothing was ever voted on: do not create a database just to say so
        with self._connect(write=False) as conn:
            rows = conn.execute(
                "SELECT a.id, a.kind, a.asked_at, a.question, a.answer, "
                "SUM(v.vote = 1), SUM(v.vote = -1), MAX(v.voted_at) "
                "FROM answers a JOIN votes v ON v.answer_id = a.id "
                "GROUP BY a.id ORDER BY MAX(v.voted_at) DESC, a.id"
            ).fetchall()
        return [
            VotedAnswer(
                id=r[0],
                kind=r[1],
                asked_at=dt.datetime.fromisoformat(r[2]),
                question=r[3],
                answer=json.loads(r[4]),
                up=int(r[5]),
                down=int(r[6]),
                last_vote_at=dt.datetime.fromisoformat(r[7]),
            )
            for r in rows
        ]


# ----- the answer back from its JSON (the CLI contract's shape)


def _info_from_json(d: dict[str, Any]) -> DocumentInfo:
    published = d.get("published")
    return DocumentInfo(
        id=str(d.get("id") or ""),
        title=str(d.get("title") or ""),
        source=str(d.get("source") or ""),
        author=str(d.get("author") or ""),
        published=dt.date.fromisoformat(published) if published else None,
        url=str(d.get("url") or ""),
    )


def _hit_from_json(d: dict[str, Any]) -> Hit:
    quote = str(d["quote"])
    values: dict[str, Any] = {
        "document": _info_from_json(d["document"]),
        "quote": quote,
        "start": 0,
        "end": len(quote),
        "score": float(d.get("score") or 0.0),
        "highlight": tuple(d.get("highlight") or (0, len(quote))),
        "also_reported_by": tuple(_info_from_json(x) for x in d.get("also_reported_by") or ()),
    }
    # Fields the engine may add later (a confidence band, ...) come back when the JSON carries them.
    known = {f.name for f in fields(Hit)}
    values.update({k: v for k, v in d.items() if k in known and k not in values})
    return Hit(**values)


def answer_from_json(d: dict[str, Any]) -> Answer:
    """An Answer rebuilt from ``Answer.to_json()`` (quotes, highlights and attribution as they were sent)."""
    hit = d.get("answer")
    values: dict[str, Any] = {
        "question": str(d.get("question") or ""),
        "hit": _hit_from_json(hit) if hit else None,
        "alternatives": tuple(_hit_from_json(h) for h in d.get("alternatives") or ()),
    }
    known = {f.name for f in fields(Answer)}
    values.update({k: v for k, v in d.items() if k in known and k not in values and k != "answer"})
    return Answer(**values)
