"""The one place that wires settings -> engine -> service -> faces, and runs the Discord bot.

``build_engine`` and ``build_service`` are what the CLI uses; ``create_bot`` hands the service
to the Discord client through its constructor (discord.py's ``examples/advanced_startup.py``
pattern), so the client never builds anything itself. ``run_bot`` adds what a long-running
process needs: token checks, logging with secrets redacted, clean shutdown, exit codes.

discord.py is imported only by the functions that need it, so the terminal commands never pay
for it.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import sys
from typing import TYPE_CHECKING, Any

from index import Embedder, Engine, SearchConfig
from index.web import FeedState, Fetcher, FetchLimits

from .feedback import FeedbackStore
from .ingest import FeedPolicy
from .logs import bot_logging
from .service import Service
from .settings import Settings

if TYPE_CHECKING:
    from .client import ShardedTalksBot, TalksBot

__all__ = ["build_engine", "build_fetcher", "build_service", "create_bot", "run_bot", "search_config", "sync_commands"]

log = logging.getLogger(__name__)

NO_TOKEN = (
    "talksbot: DISCORD_TOKEN is not set. Put it in .env (see .env.example) or the environment; "
    "the README explains how to create the bot and get its token."
)
BAD_TOKEN = (
    "talksbot: Discord rejected DISCORD_TOKEN. Reset the token in the Discord developer portal "
    "(Applications -> your app -> Bot -> Reset Token) and update .env."
)
SHARDING_REQUIRED = (
    "talksbot: Discord requires sharding: the bot is in more servers than one gateway connection may hold. "
    "Set SHARD_COUNT=auto (or a larger SHARD_COUNT); docs/scaling.md explains how."
)
# Gateway close code: "the session would have handled too many guilds" (2,500 per shard).
_CLOSE_SHARDING_REQUIRED = 4011


def build_engine(settings: Settings, *, embedder: Embedder | None = None) -> Engine:
    """The engine for these settings (the model loads on first use, not here)."""
    return Engine(
        settings.documents_dir,
        settings.index_dir,
        model=settings.embedding_model,
        embedder=embedder,
        threads=settings.torch_threads,
        search_config=search_config(settings),
        rerank_model=settings.rerank_model or None,
    )


def search_config(settings: Settings) -> SearchConfig:
    """The answer pipeline's knobs that settings choose: the two cut-offs and the second stage's weight."""
    config = SearchConfig().with_cutoffs(settings.min_score, settings.confident_score)
    return dataclasses.replace(config, rerank_weight=settings.rerank_weight)


def build_service(settings: Settings, *, engine: Engine | None = None) -> Service:
    """The service every face calls, over the given engine or one built from the settings."""
    return Service(
        engine if engine is not None else build_engine(settings),
        fetcher=build_fetcher(settings),
        # Beside the index generations, never inside one: a rebuild must not forget what was seen.
        feed_state=FeedState(settings.index_dir / "feeds"),
        feed_policy=FeedPolicy(
            keywords=settings.feed_keywords,
            min_similarity=settings.feed_min_similarity,
            # A failing feed skips at least the next round, then waits twice as long after each failure.
            retry_base_seconds=2 * settings.feed_poll_minutes * 60.0,
        ),
        feeds=settings.feeds,
        # Outside INDEX_DIR's generations: votes survive reindexes, rebuilds and restarts.
        feedback=FeedbackStore(settings.feedback_db),
    )


def build_fetcher(settings: Settings) -> Fetcher:
    """The guarded HTTP fetcher for links and feeds (ALLOW_PRIVATE_URLS, FETCH_TIMEOUT_SECONDS)."""
    timeout = settings.fetch_timeout_seconds
    return Fetcher(
        allow_private=settings.allow_private_urls,
        limits=FetchLimits(connect_seconds=min(10.0, timeout), total_seconds=timeout),
    )


def create_bot(
    settings: Settings, *, service: Service | None = None, engine: Engine | None = None, **kwargs: Any
) -> TalksBot | ShardedTalksBot:
    """The not-yet-started Discord client over a service (built from the settings unless given)."""
    from .client import ShardedTalksBot, TalksBot

    service = service if service is not None else build_service(settings, engine=engine)
    cls = ShardedTalksBot if settings.shard_count is not None else TalksBot
    return cls(settings, service, **kwargs)


def _fail(message: str, code: int) -> int:
    print(message, file=sys.stderr, flush=True)
    return code


def run_bot(settings: Settings, *, sync_global: bool = False, log_level: str | None = None) -> int:
    """Connect to Discord and serve until interrupted; 2 for a missing or rejected token."""
    if not settings.discord_token:
        return _fail(NO_TOKEN, 2)
    with bot_logging(settings, log_level):
        return _run(settings, sync_global)


def _run(settings: Settings, sync_global: bool) -> int:
    """The event loop of run_bot, with its exits mapped to codes."""
    import discord

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
        if isinstance(err, discord.ConnectionClosed) and err.code == _CLOSE_SHARDING_REQUIRED:
            return _fail(SHARDING_REQUIRED, 2)
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
    import discord

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
