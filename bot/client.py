"""The Discord client: slash commands over the service, never blocking the event loop.

``bot.runner.create_bot(settings)`` builds it, not yet started, and hands it the service. At
start it loads its command extensions (``bot.commands.*``; one that fails is logged and
skipped), starts the service in a worker thread (index built or opened, model loaded) while
the gateway connects, syncs commands to ``DISCORD_GUILD_ID`` when set, and schedules the feed
poller (FEEDS) and the announcer (ANNOUNCE_CHANNEL_ID). A global sync happens
only on request (``talksbot sync-commands`` or ``run --sync-global``), since global syncs are
rate-limited and slow to propagate.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import discord
from discord.ext import commands

from index import TalksbotError

from .announce import Announcer
from .buttons import BUTTONS
from .errors import install_error_handler
from .feed_poller import FeedPoller
from .service import Service
from .settings import Settings
from .watch import DocumentWatcher

__all__ = ["EXTENSIONS", "ShardedTalksBot", "TalksBot"]

log = logging.getLogger(__name__)

EXTENSIONS = ("bot.commands.ask", "bot.commands.find_sources", "bot.commands.info", "bot.commands.admin")


class _TalksBotMixin:
    """Behaviour shared by the single-connection and the sharded client."""

    tree: discord.app_commands.CommandTree

    def __init__(
        self,
        settings: Settings,
        service: Service,
        *,
        sync_global: bool = False,
        sync_only: bool = False,
        **kwargs: Any,
    ) -> None:
        # talksbot has no voice: discord.py's warnings that PyNaCl and davey (voice libraries) are
        # missing are noise in every start-up log.
        discord.VoiceClient.warn_nacl = False
        discord.VoiceClient.warn_dave = False
        super().__init__(**_client_options(settings, kwargs))  # type: ignore[call-arg]
        self.settings = settings
        self.service = service
        self.sync_global = sync_global
        self.sync_only = sync_only
        self.watcher: DocumentWatcher | None = None
        self._startup: asyncio.Task[None] | None = None
        # ANNOUNCE_CHANNEL_ID and FEEDS (bot/announce.py, bot/feed_poller.py).
        self.announcer: Announcer | None = None
        self.poller: FeedPoller | None = None

    async def setup_hook(self) -> None:
        """Load commands, start the service (off the loop), sync commands where asked, schedule the poller."""
        install_error_handler(self.tree)
        # The answer buttons are templates, not views kept in memory: a click on a message sent before a
        # restart reaches them too (bot/buttons.py).
        self.add_dynamic_items(*BUTTONS)  # type: ignore[attr-defined]
        if self.settings.announce_channel_id and not self.sync_only:  # before the commands that announce
            self.announcer = Announcer(self, self.settings.announce_channel_id)  # type: ignore[arg-type]
        for name in EXTENSIONS:
            try:
                await self.load_extension(name)  # type: ignore[attr-defined]
            except Exception:
                log.exception("could not load extension %s; the bot starts without it", name)
        if not self.sync_only:
            self._startup = asyncio.get_running_loop().create_task(self._start_service(), name="talksbot-startup")
        await self._sync_commands()
        if self.settings.watch_documents and not self.sync_only:
            self.watcher = DocumentWatcher(self.service)
            self.watcher.start()
        if self.service.feeds and not self.sync_only:
            self.poller = FeedPoller(self.service, minutes=self.settings.feed_poll_minutes, announcer=self.announcer)
            self.poller.start()

    async def _start_service(self) -> None:
        """Open (or build) the index and load the model in a worker thread; the gateway is not kept waiting."""
        try:
            report = await asyncio.to_thread(self.service.start, on_build=lambda why: log.info("%s", why))
        except TalksbotError as err:  # every command answers with this sentence from now on
            log.error("the engine could not start: %s", err)
            return
        except Exception:
            log.exception("the engine could not start")
            return
        if report is not None:
            log.info(
                "index built: %d articles, %d passages in %.1f s", report.documents, report.passages, report.seconds
            )
            for skipped in report.skipped:
                log.warning("skipped %s: %s", skipped.path, skipped.reason)
        stats = await asyncio.to_thread(self.service.stats)
        log.info("ready to answer from %d articles, %d passages", stats.documents, stats.passages)

    async def on_ready(self) -> None:
        """Connected (again): say who the bot is and where (a healthy start's first sign), and say now,
        not at the first article, if the announcement channel refuses the bot."""
        user = self.user  # type: ignore[attr-defined]
        guilds = len(self.guilds)  # type: ignore[attr-defined]
        log.info(
            "connected to Discord as %s (id %s), in %d server%s", user, user.id, guilds, "" if guilds == 1 else "s"
        )
        if self.announcer is not None:
            await self.announcer.check()

    async def _sync_commands(self) -> None:
        """Sync to the configured guild (instant); globally only when asked to."""
        if self.settings.guild_id:
            guild = discord.Object(id=self.settings.guild_id)
            self.tree.copy_global_to(guild=guild)
            synced = await self.tree.sync(guild=guild)
            log.info("synced %d commands to guild %s", len(synced), self.settings.guild_id)
        if self.sync_global:
            synced = await self.tree.sync()
            log.info("synced %d commands globally (may take up to an hour to appear)", len(synced))

    async def close(self) -> None:
        """Stop the watcher and background work, then disconnect."""
        if self.watcher is not None:
            self.watcher.stop()
        if self.poller is not None:
            await self.poller.stop()
        if self._startup is not None and not self._startup.done():
            self._startup.cancel()
        await super().close()  # type: ignore[misc]


def _client_options(settings: Settings, kwargs: dict[str, Any]) -> dict[str, Any]:
    """Constructor options: no privileged intents, no pings, never a message-content read."""
    intents = discord.Intents.none()
    intents.guilds = True  # slash commands need no other intent
    options: dict[str, Any] = {
        "command_prefix": commands.when_mentioned,
        "help_command": None,
        "intents": intents,
        "allowed_mentions": discord.AllowedMentions.none(),
        "activity": discord.Activity(type=discord.ActivityType.listening, name="/ask"),
    }
    options.update(kwargs)
    return options


class TalksBot(_TalksBotMixin, commands.Bot):
    """talksbot on one gateway connection."""


class ShardedTalksBot(_TalksBotMixin, commands.AutoShardedBot):
    """talksbot over several gateway shards (SHARD_COUNT), for many guilds."""

    def __init__(self, settings: Settings, service: Service, **kwargs: Any) -> None:
        if isinstance(settings.shard_count, int):
            kwargs.setdefault("shard_count", settings.shard_count)
        if settings.shard_ids is not None:
            # Several processes split the shards between them; each runs only its own range.
            kwargs.setdefault("shard_ids", list(settings.shard_ids))
        super().__init__(settings, service, **kwargs)
