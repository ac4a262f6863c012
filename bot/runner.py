"""Running the bot from the command line: token checks, logging, clean shutdown, exit codes."""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import sys

import discord

from .settings import Settings

__all__ = ["run_bot", "sync_commands"]

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


def run_bot(settings: Settings, *, sync_global: bool = False) -> int:
    """Connect to Discord and serve until interrupted; 2 for a missing or rejected token."""
    if not settings.discord_token:
        return _fail(NO_TOKEN, 2)
    discord.utils.setup_logging(level=getattr(logging, settings.log_level), root=True)
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
    discord.utils.setup_logging(level=logging.WARNING, root=True)
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
