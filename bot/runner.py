"""Running the bot from the command line: token checks, logging, clean shutdown, exit codes."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import re
import sys
from collections.abc import Iterator

import discord

from .settings import Settings

__all__ = ["RedactingFormatter", "bot_logging", "run_bot", "sync_commands"]

log = logging.getLogger(__name__)

NO_TOKEN = (
    "talksbot: DISCORD_TOKEN is not set. Put it in .env (see .env.example) or the environment; "
    "the README explains how to create the bot and get its token."
)
BAD_TOKEN = (
    "talksbot: Discord rejected DISCORD_TOKEN. Reset the token in the Discord developer portal "
    "(Applications -> your app -> Bot -> Reset Token) and update .env."
)


def _fail(message: str, code: int) -> int:
    print(message, file=sys.stderr, flush=True)
    return code


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


@contextlib.contextmanager
def bot_logging(settings: Settings, level: str | None = None) -> Iterator[None]:
    """discord.py's log format on stderr, one handler (not two), secrets redacted; restored afterwards."""
    root = logging.getLogger()
    saved_handlers, saved_level = list(root.handlers), root.level
    for handler in saved_handlers:  # the CLI's plain handler would print every line twice
        root.removeHandler(handler)
    discord.utils.setup_logging(level=getattr(logging, level or settings.log_level), root=True)
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


def run_bot(settings: Settings, *, sync_global: bool = False, log_level: str | None = None) -> int:
    """Connect to Discord and serve until interrupted; 2 for a missing or rejected token."""
    if not settings.discord_token:
        return _fail(NO_TOKEN, 2)
    with bot_logging(settings, log_level):
        return _run(settings, sync_global)


def _run(settings: Settings, sync_global: bool) -> int:
    """The event loop of run_bot, with its exits mapped to codes."""
    from .client import create_bot

    async def main() -> None:
        bot = create_bot(settings, sync_global=sync_global)
        async with bot:
            await bot.start(settings.discord_token.get())

    try:
        asyncio.run(main())
    except discord.LoginFailure:
        return _fail(BAD_TOKEN, 2)
    except discord.PrivilegedIntentsRequired:  # pragma: no cover - talksbot asks for none
        return _fail("talksbot: Discord refused the gateway intents.", 2)
    except (discord.GatewayNotFound, discord.ConnectionClosed, OSError) as err:
        return _fail(f"talksbot: could not connect to Discord ({type(err).__name__}); check the network.", 1)
    except KeyboardInterrupt:
        log.info("stopped")
    return 0


def sync_commands(settings: Settings, *, guild_id: int | None) -> int:
    """Publish the slash commands (to one guild, or globally) and exit without connecting the gateway."""
    if not settings.discord_token:
        return _fail(NO_TOKEN, 2)
    with bot_logging(settings, "WARNING"):
        return _sync(settings, guild_id)


def _sync(settings: Settings, guild_id: int | None) -> int:
    """The event loop of sync_commands."""
    from .client import create_bot

    where = f"guild {guild_id}" if guild_id else "globally"

    async def main() -> int:
        target = dataclasses.replace(settings, guild_id=guild_id)
        bot = create_bot(target, sync_only=True, sync_global=guild_id is None)
        async with bot:
            await bot.login(settings.discord_token.get())  # setup_hook syncs, then we leave
            commands = [c.name for c in bot.tree.get_commands()]
        print(f"Published {len(commands)} commands {where}: {', '.join('/' + c for c in commands)}")
        if guild_id is None:
            print("Global commands can take up to an hour to appear in every server.")
        return 0

    try:
        return asyncio.run(main())
    except discord.LoginFailure:
        return _fail(BAD_TOKEN, 2)
    except (discord.HTTPException, OSError) as err:
        return _fail(f"talksbot: could not publish the commands ({type(err).__name__}: {err}).", 1)
