"""Settings: the only place that reads the environment and ``.env``, and checks every value.

Values come from the process environment first, then from ``.env`` (python-dotenv), then
from the defaults below. Every value is checked here, for its type and a sensible range (no
NaN, no infinity, no fraction where a count is meant), and a bad one is refused with a
sentence naming the setting; the CLI turns that into exit status 2. Everything else receives
a ``Settings`` object and can trust it.

Settings only the Discord bot uses (``BOT_ONLY``) are read and checked only for the commands
that run the bot (``load(bot=True)``): a typo in ``ASK_COOLDOWN_RATE`` must not stop
`talksbot index` or `talksbot ask`, which never use it, and `talksbot run` still refuses it.
"""

from __future__ import annotations

import math
import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from dotenv import dotenv_values

from index import DEFAULT_MIN_SCORE, DEFAULT_MODEL, TalksbotError
from index.web import DEFAULT_MIN_SIMILARITY, WebError, check_url

# Answer scores stay below about 1.3 (cosines plus small bonuses): a higher threshold would refuse everything.
MAX_MIN_SCORE = 1.5
# A cooldown window longer than a day is a typo for a shorter one; a shorter one than 0.1 s is no cooldown.
COOLDOWN_SECONDS_RANGE = (0.1, 86_400.0)
COOLDOWN_RATE_RANGE = (1, 1_000)
# Discord's largest bots run a few thousand shards.
SHARD_COUNT_RANGE = (1, 10_000)
# Discord ids (snowflakes) are unsigned 64-bit numbers.
SNOWFLAKE_RANGE = (1, 2**64 - 1)
# Polling feeds more often than every 6 s is abuse of the outlets; less often than weekly is not following them.
FEED_POLL_MINUTES_RANGE = (0.1, 10_080.0)
# A page that takes over 10 minutes is not coming; under a second fails on any slow link.
FETCH_TIMEOUT_RANGE = (1.0, 600.0)

__all__ = ["BOT_ONLY", "Secret", "Settings", "SettingsError"]

# Read only by `talksbot run` and `talksbot sync-commands` (see the module docstring).
BOT_ONLY = frozenset(
    {
        "DISCORD_TOKEN",
        "DISCORD_GUILD_ID",
        "ADMIN_ROLE_IDS",
        "WATCH_DOCUMENTS",
        "ASK_COOLDOWN_SECONDS",
        "ASK_COOLDOWN_RATE",
        "SHARD_COUNT",
        "SHARD_IDS",
        "LOG_LEVEL",
        "FEED_POLL_MINUTES",
        "ANNOUNCE_CHANNEL_ID",
    }
)


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
    "CONFIDENT_SCORE": (
        "",
        "Relevance from which an answer is shown as confident (between MIN_SCORE and it: a likely answer); "
        "empty for 0.85, calibrated for the bundled model.",
    ),
    "RERANK_MODEL": (
        "",
        "Optional second stage: a sentence-transformers CrossEncoder (or bi-encoder) name or folder, available "
        "offline, re-scoring the best passages; empty for none. Calibrate the cut-offs again with it.",
    ),
    "RERANK_WEIGHT": (
        "",
        "How much of the first stage's similarity the second stage replaces, 0 to 1; empty for 1 (a "
        "cross-encoder) or 0.25 (a bi-encoder: an ensemble with the bundled model).",
    ),
    "ADMIN_ROLE_IDS": ("", "Comma-separated role ids allowed to /reindex and /add-article besides Manage Server."),
    "WATCH_DOCUMENTS": ("0", "1 to reindex by itself when files in DOCUMENTS_DIR change (same as run --watch)."),
    "ASK_COOLDOWN_SECONDS": ("10", "Per-user cooldown window for /ask, in seconds (0.1 to 86,400)."),
    "ASK_COOLDOWN_RATE": ("3", "How many /ask a user may send per cooldown window (1 to 1,000)."),
    "SHARD_COUNT": ("", "Number of gateway shards; empty for one, 'auto' for Discord's recommendation."),
    "SHARD_IDS": ("", "Comma-separated shard ids this process runs (with a numeric SHARD_COUNT); empty for all."),
    "TORCH_THREADS": ("", "CPU threads for the model, at most the cores here; empty for all cores."),
    "LOG_LEVEL": ("INFO", "Logging level of the bot (DEBUG, INFO, WARNING, ERROR)."),
    # Articles from the web (bot/ingest.py, index/web/).
    "FEEDS": ("", "RSS or Atom feed links, separated by commas or spaces, polled by `talksbot poll` and the bot."),
    "FEED_POLL_MINUTES": ("30", "How often the running bot polls FEEDS, in minutes (0.1 to 10,080)."),
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
    "FETCH_TIMEOUT_SECONDS": (
        "30",
        "Time limit for fetching one page or feed, redirects included, in seconds (1 to 600).",
    ),
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
    confident_score: float | None = None
    rerank_model: str = ""
    rerank_weight: float | None = None
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
    def load(
        cls, env: Mapping[str, str] | None = None, env_file: Path | str | None = ".env", *, bot: bool = True
    ) -> Settings:
        """Read and check settings from the environment, then ``env_file``; SettingsError names every bad one.

        With ``bot=False`` the bot-only settings (``BOT_ONLY``) are neither read nor checked.
        """
        values: dict[str, str] = {}
        if env_file is not None and Path(env_file).is_file():
            values.update({k: v for k, v in dotenv_values(env_file).items() if v is not None})
        values.update(os.environ if env is None else env)

        def get(name: str) -> str:
            return values.get(name, DOCUMENTED[name][0]).strip()

        chosen: dict[str, object] = {}
        problems: list[str] = []
        for attribute, (name, parse) in _PARSERS.items():
            if not bot and name in BOT_ONLY:
                continue
            try:
                chosen[attribute] = parse(get(name), name)
            except SettingsError as err:
                problems.append(str(err))
        if "min_score" in chosen:
            try:
                chosen["confident_score"] = _confident_score(get("CONFIDENT_SCORE"), chosen["min_score"])  # type: ignore[arg-type]
            except SettingsError as err:
                problems.append(str(err))
        if "shard_count" in chosen:
            try:
                chosen["shard_ids"] = _shard_ids(get("SHARD_IDS"), chosen["shard_count"])  # type: ignore[arg-type]
            except SettingsError as err:
                problems.append(str(err))
        if problems:
            raise SettingsError(" ".join(problems))
        return cls(**chosen)  # type: ignore[arg-type]

    def check_folders(self) -> None:
        """SettingsError when INDEX_DIR cannot hold the index: a file, or a folder the documents scan would read."""
        index, documents = self.index_dir, self.documents_dir
        existing = next((p for p in (index, *index.parents) if p.exists()), None)
        if existing is not None and not existing.is_dir():
            where = "is a file" if existing == index else f"is inside {existing}, which is a file"
            raise SettingsError(
                f"INDEX_DIR {index} {where}, not a folder; set INDEX_DIR (or --index-dir) to a folder "
                "(it is created when missing)."
            )
        resolved, docs = index.resolve(), documents.resolve()
        if resolved == docs or (resolved.is_relative_to(docs) and not _hidden(resolved.relative_to(docs))):
            raise SettingsError(
                f"INDEX_DIR {index} is inside DOCUMENTS_DIR {documents}: the index's own files would be read as "
                "articles. Set INDEX_DIR (or --index-dir) to a folder outside it, such as .talksbot/index."
            )

    def replace(self, **changes: object) -> Settings:
        """A copy with some values changed (command-line options override the environment)."""
        from dataclasses import replace

        return replace(self, **{k: v for k, v in changes.items() if v is not None})


def _hidden(relative: Path) -> bool:
    """True when a path below the documents folder passes through a hidden folder, which the scan skips."""
    return any(part.startswith(".") for part in relative.parts)


def _cpu_cores() -> int:
    """The CPU cores this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # pragma: no cover - not Linux
        return os.cpu_count() or 1


def _whole(raw: str, name: str, low: int, high: int, *, expected: str | None = None) -> int:
    """A whole number written as digits (no sign, fraction, exponent, NaN or infinity) within [low, high]."""
    value = int(raw) if raw.isascii() and raw.isdigit() else None
    if value is None or not low <= value <= high:
        expected = expected or f"a whole number from {low:,} to {high:,}"
        raise SettingsError(f"{name} must be {expected}, got {raw!r}.")
    return value


def _snowflake(raw: str, name: str) -> int | None:
    if not raw:
        return None
    return _whole(raw, name, *SNOWFLAKE_RANGE, expected="a whole number: a Discord id, as 'Copy ID' gives it")


def _int_list(raw: str, name: str) -> frozenset[int]:
    out = set()
    for part in raw.replace(";", ",").split(","):
        part = part.strip()
        if part:
            try:
                out.add(_whole(part, name, *SNOWFLAKE_RANGE))
            except SettingsError:
                raise SettingsError(
                    f"{name} must be whole numbers (Discord ids, as 'Copy ID' gives them) separated by commas, "
                    f"got {raw!r}."
                ) from None
    return frozenset(out)


def _bool(raw: str, name: str) -> bool:
    lowered = raw.lower()
    if lowered in ("1", "true", "yes", "on"):
        return True
    if lowered in ("", "0", "false", "no", "off"):
        return False
    raise SettingsError(f"{name} must be 1 or 0 (true/false), got {raw!r}.")


def _seconds(raw: str, name: str) -> float:
    low, high = COOLDOWN_SECONDS_RANGE
    try:
        value = float(raw)
    except ValueError:
        value = math.nan
    if not low <= value <= high:  # also false for NaN; infinity is above any range
        raise SettingsError(f"{name} must be a number of seconds from {low} to {high:,.0f}, got {raw!r}.")
    return value


def _rate(raw: str, name: str) -> int:
    return _whole(raw, name, *COOLDOWN_RATE_RANGE)


def _threads(raw: str, name: str) -> int | None:
    if not raw:
        return None
    cores = _cpu_cores()
    # More threads than cores only slows the model down; a huge number fails deep inside torch.
    return _whole(
        raw, name, 1, cores, expected=f"a whole number from 1 to {cores} (the CPU cores here), or empty for all"
    )


def _number_in(raw: str, name: str, high: float) -> float | None:
    """A number from 0 to ``high``, or None when empty (the default)."""
    if not raw:
        return None
    try:
        value = float(raw)
    except ValueError:
        value = math.nan
    if not 0.0 <= value <= high:  # also false for NaN; infinity is above any range
        raise SettingsError(f"{name} must be a number from 0 to {high:g} (empty for the default), got {raw!r}.")
    return value


def _confident_score(raw: str, min_score: float | None) -> float | None:
    value = _number_in(raw, "CONFIDENT_SCORE", MAX_MIN_SCORE)
    floor = DEFAULT_MIN_SCORE if min_score is None else min_score
    if value is not None and value < floor:
        raise SettingsError(f"CONFIDENT_SCORE ({value}) must not be below MIN_SCORE ({floor}).")
    return value


def _shards(raw: str, name: str) -> int | str | None:
    if not raw:
        return None
    if raw.lower() == "auto":
        return "auto"
    low, high = SHARD_COUNT_RANGE
    return _whole(raw, name, low, high, expected=f"'auto' or a whole number from {low:,} to {high:,}")


def _shard_ids(raw: str, count: int | str | None) -> tuple[int, ...] | None:
    if not raw:
        return None
    if not isinstance(count, int):
        raise SettingsError("SHARD_IDS needs SHARD_COUNT set to the total number of shards.")
    ids = []
    for part in raw.split(","):
        part = part.strip()
        if not (part.isascii() and part.isdigit()):
            raise SettingsError(f"SHARD_IDS must be whole numbers separated by commas, got {raw!r}.")
        ids.append(int(part))
    if any(not 0 <= i < count for i in ids):
        raise SettingsError(f"SHARD_IDS must lie between 0 and SHARD_COUNT-1 ({count - 1}), got {raw!r}.")
    return tuple(sorted(set(ids)))


def _log_level(raw: str, name: str = "LOG_LEVEL") -> str:
    level = (raw or "INFO").upper()
    if level not in ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"):
        raise SettingsError(f"{name} must be DEBUG, INFO, WARNING or ERROR, got {raw!r}.")
    return level


def _feeds(raw: str, name: str) -> tuple[str, ...]:
    """FEEDS: links separated by commas or white space, each a well-formed http(s) link."""
    links = [part for part in re.split(r"[\s,]+", raw) if part]
    for link in links:
        try:
            check_url(link)
        except WebError as err:
            raise SettingsError(f"{name}: {err}") from None
    return tuple(dict.fromkeys(links))


def _similarity(raw: str, name: str) -> float:
    if not raw:
        return DEFAULT_MIN_SIMILARITY
    try:
        value = float(raw)
    except ValueError:
        value = math.nan
    if not 0.0 <= value <= 1.0:
        raise SettingsError(f"{name} must be a number from 0 to 1 (empty for the default), got {raw!r}.")
    return value


def _keywords(raw: str, name: str) -> tuple[str, ...]:
    return tuple(k for k in (w.strip() for w in raw.split(",")) if k)


def _range(low: float, high: float, unit: str) -> Callable[[str, str], float]:
    """A parser of a number of ``unit`` from ``low`` to ``high`` (NaN and infinity are refused)."""

    def parse(raw: str, name: str) -> float:
        try:
            value = float(raw)
        except ValueError:
            value = math.nan
        if not low <= value <= high:
            raise SettingsError(f"{name} must be a number of {unit} from {low:g} to {high:,g}, got {raw!r}.")
        return value

    return parse


def _folder(default: str, kind: str = "folder") -> Callable[[str, str], Path]:
    def parse(raw: str, name: str) -> Path:
        if "\x00" in raw:
            raise SettingsError(f"{name} must be a {kind} path, got {raw[:80]!r}.")
        return Path(raw or default)

    return parse


# Settings attribute -> (variable, parser): every value the environment can set is checked here.
_PARSERS: dict[str, tuple[str, Callable[[str, str], object]]] = {
    "discord_token": ("DISCORD_TOKEN", lambda raw, name: Secret(raw)),
    "guild_id": ("DISCORD_GUILD_ID", _snowflake),
    "documents_dir": ("DOCUMENTS_DIR", _folder(DOCUMENTED["DOCUMENTS_DIR"][0])),
    "index_dir": ("INDEX_DIR", _folder(DOCUMENTED["INDEX_DIR"][0])),
    "embedding_model": ("EMBEDDING_MODEL", lambda raw, name: raw or DEFAULT_MODEL),
    "min_score": ("MIN_SCORE", lambda raw, name: _number_in(raw, name, MAX_MIN_SCORE)),
    "rerank_model": ("RERANK_MODEL", lambda raw, name: raw),
    "rerank_weight": ("RERANK_WEIGHT", lambda raw, name: _number_in(raw, name, 1.0)),
    "admin_role_ids": ("ADMIN_ROLE_IDS", _int_list),
    "watch_documents": ("WATCH_DOCUMENTS", _bool),
    "ask_cooldown_seconds": ("ASK_COOLDOWN_SECONDS", _seconds),
    "ask_cooldown_rate": ("ASK_COOLDOWN_RATE", _rate),
    "shard_count": ("SHARD_COUNT", _shards),
    "torch_threads": ("TORCH_THREADS", _threads),
    "log_level": ("LOG_LEVEL", _log_level),
    "feeds": ("FEEDS", _feeds),
    "feed_poll_minutes": ("FEED_POLL_MINUTES", _range(*FEED_POLL_MINUTES_RANGE, "minutes")),
    "feed_keywords": ("FEED_KEYWORDS", _keywords),
    "feed_min_similarity": ("FEED_MIN_SIMILARITY", _similarity),
    "announce_channel_id": ("ANNOUNCE_CHANNEL_ID", _snowflake),
    "allow_private_urls": ("ALLOW_PRIVATE_URLS", _bool),
    "fetch_timeout_seconds": ("FETCH_TIMEOUT_SECONDS", _range(*FETCH_TIMEOUT_RANGE, "seconds")),
    "feedback_db": ("FEEDBACK_DB", _folder(DOCUMENTED["FEEDBACK_DB"][0], "file")),
}
