"""Logging for the long-running bot: discord.py's format on stderr, with every secret redacted."""

from __future__ import annotations

import contextlib
import logging
import os
import re
import sys
from collections.abc import Iterator

from .settings import Settings

__all__ = ["RedactingFormatter", "bot_logging", "quiet_extraction_libraries"]

# discord.py's own line format, without its colours.
PLAIN_FORMAT = logging.Formatter("[{asctime}] [{levelname:<8}] {name}: {message}", "%Y-%m-%d %H:%M:%S", style="{")

# Interaction and webhook tokens in URLs discord.py logs at DEBUG: short-lived, but credentials all the same.
_URL_TOKENS = re.compile(r"(/(?:webhooks|interactions)/\d+/)[A-Za-z0-9._-]+")


class RedactingFormatter(logging.Formatter):
    """Wraps a formatter; the bot token and interaction tokens never reach a log line."""

    def __init__(self, inner: logging.Formatter | None, secrets: list[str]) -> None:
        super().__init__()
        self.inner = inner or logging.Formatter()
        self.secrets = [s for s in secrets if s]

    def format(self, record: logging.LogRecord) -> str:
        text = self.inner.format(record)
        for secret in self.secrets:
            text = text.replace(secret, "[redacted]")
        return _URL_TOKENS.sub(r"\1[redacted]", text)


def wants_colour(stream: object) -> bool:
    """Colours only on a terminal, and never with NO_COLOR set (https://no-color.org)."""
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty()) and "NO_COLOR" not in os.environ


# The extraction libraries log their heuristics' doubts ("discarding data", "parsed tree length") at
# WARNING; a page talksbot refuses says why in its own sentence instead.
_CHATTY_LIBRARIES = ("trafilatura", "htmldate", "courlan", "justext", "readability", "charset_normalizer")


def quiet_extraction_libraries() -> None:
    """Keep trafilatura and its helpers' warnings out of the log and the terminal (errors still show)."""
    for name in _CHATTY_LIBRARIES:
        logging.getLogger(name).setLevel(logging.ERROR)


@contextlib.contextmanager
def bot_logging(settings: Settings, level: str | None = None) -> Iterator[None]:
    """discord.py's log format on stderr, one handler (not two), secrets redacted; restored afterwards."""
    import discord

    root = logging.getLogger()
    saved_handlers, saved_level = list(root.handlers), root.level
    for handler in saved_handlers:  # the CLI's plain handler would print every line twice
        root.removeHandler(handler)
    # discord.py colours whenever it thinks it runs in Docker, even into a pipe or a log file: decide here.
    stream_handler = logging.StreamHandler(sys.stderr)
    discord.utils.setup_logging(
        handler=stream_handler,
        formatter=discord.utils.MISSING if wants_colour(sys.stderr) else PLAIN_FORMAT,
        level=getattr(logging, level or settings.log_level),
        root=True,
    )
    if (level or settings.log_level) != "DEBUG":
        quiet_extraction_libraries()
    ours = list(root.handlers)
    for handler in ours:
        handler.setFormatter(RedactingFormatter(handler.formatter, [settings.discord_token.get()]))
    try:
        yield
    finally:
        # Another program (or a test) calling run_bot gets its logging back as it was.
        for handler in ours:
            root.removeHandler(handler)
        for handler in saved_handlers:
            root.addHandler(handler)
        root.setLevel(saved_level)
