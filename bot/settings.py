"""Settings: the only place that reads the environment and ``.env``.

Values come from the process environment first, then from ``.env`` (python-dotenv), then
from the defaults below. Everything else receives a ``Settings`` object.
"""

from __future__ import annotations

import math
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from dotenv import dotenv_values

from index import DEFAULT_MODEL, TalksbotError
from index.web import DEFAULT_MIN_SIMILARITY, WebError, check_url

# Answer scores stay below about 1.3 (cosines plus small bonuses): a higher threshold would refuse everything.
MAX_MIN_SCORE = 1.5

__all__ = ["Secret", "Settings", "SettingsError"]


class SettingsError(TalksbotError):
    """A setting has a value that cannot be used."""


class Secret:
    """A string that never shows itself in repr, str, logs or tracebacks."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def get(self) -> str:
        """The secret itself: pass it on, never print it."""
        return self._value

    def __repr__(self) -> str:
        return "Secret('**********')"

    __str__ = __repr__

    def __bool__(self) -> bool:
        return bool(self._value)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)


# name: (default, one-line description) — the README's configuration table and .env.example match this.
DOCUMENTED = {
    "DISCORD_TOKEN": ("", "Bot token from the Discord developer portal. Required for `talksbot run` only."),
    "DISCORD_GUILD_ID": ("", "A server (guild) id: slash commands are synced there at start (instant)."),
    "DOCUMENTS_DIR": ("documents", "Folder of articles (.md/.txt, UTF-8, optional YAML front matter)."),
    "INDEX_DIR": (".talksbot/index", "Where the built index lives (git-ignored)."),
    "EMBEDDING_MODEL": (DEFAULT_MODEL, "sentence-transformers model name or local path; the default is bundled."),
    "MIN_SCORE": (
        "",
        "Relevance below which an answer is 'nothing relevant'; empty for 0.50, calibrated for the bundled "
        "model (`talksbot eval --calibrate` suggests one for another).",
    ),
    "ADMIN_ROLE_IDS": ("", "Comma-separated role ids allowed to /reindex and /add-article besides Manage Server."),
    "WATCH_DOCUMENTS": ("0", "1 to reindex by itself when files in DOCUMENTS_DIR change (same as run --watch)."),
    "ASK_COOLDOWN_SECONDS": ("10", "Per-user cooldown window for /ask."),
    "ASK_COOLDOWN_RATE": ("3", "How many /ask a user may send per cooldown window."),
    "SHARD_COUNT": ("", "Number of gateway shards; empty for one, 'auto' for Discord's recommendation."),
    "SHARD_IDS": ("", "Comma-separated shard ids this process runs (with a numeric SHARD_COUNT); empty for all."),
    "TORCH_THREADS": ("", "CPU threads for the model; empty for all cores."),
    "LOG_LEVEL": ("INFO", "Logging level of the bot (DEBUG, INFO, WARNING, ERROR)."),
    # Articles from the web (bot/ingest.py, index/web/).
    "FEEDS": ("", "RSS or Atom feed links, separated by commas or spaces, polled by `talksbot poll` and the bot."),
    "FEED_POLL_MINUTES": ("30", "How often the running bot polls FEEDS, in minutes (fractions allowed)."),
    "FEED_KEYWORDS": ("", "Comma-separated words a feed item must mention (at a word start, any case) to be added."),
    "FEED_MIN_SIMILARITY": (
        "",
        f"How close a feed item must be to the indexed articles to be added; empty for {DEFAULT_MIN_SIMILARITY:.2f} "
        "(calibrated on tests/web/topic/), 0 to add every item.",
    ),
    "ANNOUNCE_CHANNEL_ID": (
        "",
        "A channel id: each article the bot adds is announced there (title, outlet, date, link).",
    ),
    "ALLOW_PRIVATE_URLS": (
        "0",
        "1 to let links reach loopback and private-network addresses (a trusted intranet, tests); not on a public bot.",
    ),
    "FETCH_TIMEOUT_SECONDS": ("30", "Time limit for fetching one page or feed, redirects included."),
    # Votes on answers (bot/feedback.py).
    "FEEDBACK_DB": (
        ".talksbot/feedback.sqlite3",
        "SQLite file of the 👍/👎 votes and the answers they are about, outside the index; "
        "bot processes on one host may share it.",
    ),
}


@dataclass(frozen=True, slots=True)
class Settings:
    """Every knob of talksbot, typed and validated."""

    discord_token: Secret = field(default_factory=lambda: Secret(""))
    guild_id: int | None = None
    documents_dir: Path = Path("documents")
    index_dir: Path = Path(".talksbot/index")
    embedding_model: str = DEFAULT_MODEL
    min_score: float | None = None
    admin_role_ids: frozenset[int] = frozenset()
    watch_documents: bool = False
    ask_cooldown_seconds: float = 10.0
    ask_cooldown_rate: int = 3
    shard_count: int | str | None = None
    shard_ids: tuple[int, ...] | None = None
    torch_threads: int | None = None
    log_level: str = "INFO"
    feeds: tuple[str, ...] = ()
    feed_poll_minutes: float = 30.0
    feed_keywords: tuple[str, ...] = ()
    feed_min_similarity: float = DEFAULT_MIN_SIMILARITY
    announce_channel_id: int | None = None
    allow_private_urls: bool = False
    fetch_timeout_seconds: float = 30.0
    feedback_db: Path = Path(".talksbot/feedback.sqlite3")

    @classmethod
    def load(cls, env: Mapping[str, str] | None = None, env_file: Path | str | None = ".env") -> Settings:
        """Read settings from the environment, then ``env_file``; raise SettingsError on a bad value."""
        values: dict[str, str] = {}
        if env_file is not None and Path(env_file).is_file():
            values.update({k: v for k, v in dotenv_values(env_file).items() if v is not None})
        values.update(os.environ if env is None else env)

        def get(name: str) -> str:
            return values.get(name, DOCUMENTED[name][0]).strip()

        return cls(
            discord_token=Secret(get("DISCORD_TOKEN")),
            guild_id=_optional_int(get("DISCORD_GUILD_ID"), "DISCORD_GUILD_ID"),
            documents_dir=Path(get("DOCUMENTS_DIR") or DOCUMENTED["DOCUMENTS_DIR"][0]),
            index_dir=Path(get("INDEX_DIR") or DOCUMENTED["INDEX_DIR"][0]),
            embedding_model=get("EMBEDDING_MODEL") or DEFAULT_MODEL,
            min_score=_min_score(get("MIN_SCORE")),
            admin_role_ids=frozenset(_int_list(get("ADMIN_ROLE_IDS"), "ADMIN_ROLE_IDS")),
            watch_documents=_bool(get("WATCH_DOCUMENTS"), "WATCH_DOCUMENTS"),
            ask_cooldown_seconds=_positive_float(get("ASK_COOLDOWN_SECONDS"), "ASK_COOLDOWN_SECONDS"),
            ask_cooldown_rate=int(_positive_float(get("ASK_COOLDOWN_RATE"), "ASK_COOLDOWN_RATE")),
            shard_count=(shard_count := _shards(get("SHARD_COUNT"))),
            shard_ids=_shard_ids(get("SHARD_IDS"), shard_count),
            torch_threads=_optional_int(get("TORCH_THREADS"), "TORCH_THREADS"),
            log_level=_log_level(get("LOG_LEVEL")),
            feeds=_feeds(get("FEEDS")),
            feed_poll_minutes=_positive_float(get("FEED_POLL_MINUTES") or "30", "FEED_POLL_MINUTES"),
            feed_keywords=tuple(k for k in (w.strip() for w in get("FEED_KEYWORDS").split(",")) if k),
            feed_min_similarity=_similarity(get("FEED_MIN_SIMILARITY")),
            announce_channel_id=_optional_int(get("ANNOUNCE_CHANNEL_ID"), "ANNOUNCE_CHANNEL_ID"),
            allow_private_urls=_bool(get("ALLOW_PRIVATE_URLS"), "ALLOW_PRIVATE_URLS"),
            fetch_timeout_seconds=_positive_float(get("FETCH_TIMEOUT_SECONDS") or "30", "FETCH_TIMEOUT_SECONDS"),
            feedback_db=Path(get("FEEDBACK_DB") or DOCUMENTED["FEEDBACK_DB"][0]),
        )

    def replace(self, **changes: object) -> Settings:
        """A copy with some values changed (command-line options override the environment)."""
        from dataclasses import replace

        return replace(self, **{k: v for k, v in changes.items() if v is not None})


def _optional_int(raw: str, name: str) -> int | None:
    if not raw:
        return None
    try:
        value = int(raw)
    except ValueError:
        raise SettingsError(f"{name} must be a whole number, got {raw!r}.") from None
    if value <= 0:
        raise SettingsError(f"{name} must be positive, got {raw!r}.")
    return value


def _int_list(raw: str, name: str) -> list[int]:
    out = []
    for part in raw.replace(";", ",").split(","):
        part = part.strip()
        if part:
            value = _optional_int(part, name)
            if value is not None:
                out.append(value)
    return out


def _bool(raw: str, name: str) -> bool:
    lowered = raw.lower()
    if lowered in ("1", "true", "yes", "on"):
        return True
    if lowered in ("", "0", "false", "no", "off"):
        return False
    raise SettingsError(f"{name} must be 1 or 0 (true/false), got {raw!r}.")


def _positive_float(raw: str, name: str) -> float:
    try:
        value = float(raw)
    except ValueError:
        raise SettingsError(f"{name} must be a number, got {raw!r}.") from None
    if value <= 0:
        raise SettingsError(f"{name} must be positive, got {raw!r}.")
    return value


def _min_score(raw: str) -> float | None:
    if not raw:
        return None
    try:
        value = float(raw)
    except ValueError:
        value = math.nan
    if not 0.0 <= value <= MAX_MIN_SCORE:
        raise SettingsError(
            f"MIN_SCORE must be a number from 0 to {MAX_MIN_SCORE} (empty for the default), got {raw!r}."
        )
    return value


def _shards(raw: str) -> int | str | None:
    if not raw:
        return None
    if raw.lower() == "auto":
        return "auto"
    return _optional_int(raw, "SHARD_COUNT")


def _shard_ids(raw: str, count: int | str | None) -> tuple[int, ...] | None:
    if not raw:
        return None
    if not isinstance(count, int):
        raise SettingsError("SHARD_IDS needs SHARD_COUNT set to the total number of shards.")
    ids = []
    for part in raw.split(","):
        try:
            ids.append(int(part))
        except ValueError:
            raise SettingsError(f"SHARD_IDS must be whole numbers separated by commas, got {raw!r}.") from None
    if any(not 0 <= i < count for i in ids):
        raise SettingsError(f"SHARD_IDS must lie between 0 and SHARD_COUNT-1 ({count - 1}), got {raw!r}.")
    return tuple(sorted(set(ids)))


def _log_level(raw: str) -> str:
    level = (raw or "INFO").upper()
    if level not in ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"):
        raise SettingsError(f"LOG_LEVEL must be DEBUG, INFO, WARNING or ERROR, got {raw!r}.")
    return level


def _feeds(raw: str) -> tuple[str, ...]:
    """FEEDS: links separated by commas or white space, each a well-formed http(s) link."""
    links = [part for part in re.split(r"[\s,]+", raw) if part]
    for link in links:
        try:
            check_url(link)
        except WebError as err:
            raise SettingsError(f"FEEDS: {err}") from None
    return tuple(dict.fromkeys(links))


def _similarity(raw: str) -> float:
    if not raw:
        return DEFAULT_MIN_SIMILARITY
    try:
        value = float(raw)
    except ValueError:
        value = math.nan
    if not 0.0 <= value <= 1.0:
        raise SettingsError(f"FEED_MIN_SIMILARITY must be a number from 0 to 1 (empty for the default), got {raw!r}.")
    return value
