"""The Discord client: slash commands over the engine, never blocking the event loop.

``create_bot(settings)`` builds it, not yet started. At start it loads its command extensions
(``bot.commands.*``; one that fails is logged and skipped), warms the engine up in a worker
thread (index built or opened, model loaded) while the gateway connects, and syncs commands to
``DISCORD_GUILD_ID`` when set. A global sync happens only on request (``talksbot sync-commands``
or ``run --sync-global``), since global syncs are rate-limited and slow to propagate.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any

import discord
from discord import app_commands
from discord.ext import commands

from index.engine import Engine
from index.errors import TalksbotError

from .errors import install_error_handler
from .settings import Settings

__all__ = ["EXTENSIONS", "ShardedTalksBot", "TalksBot", "create_bot"]

log = logging.getLogger(__name__)

EXTENSIONS = ("bot.commands.ask", "bot.commands.info", "bot.commands.admin")
# How long a command waits for the engine to finish loading before saying so (the interaction
# token lives 15 minutes; the model loads in seconds).
ENGINE_WAIT_SECONDS = 600.0


class NotReady(TalksbotError):
    """The engine could not be started (its error says why)."""


class _TalksBotMixin:
    """Behaviour shared by the single-connection and the sharded client."""

    settings: Settings
    engine: Engine
    tree: app_commands.CommandTree

    def __init__(
        self,
        settings: Settings,
        *,
        engine: Engine | None = None,
        engine_factory: Callable[[Settings], Engine] | None = None,
        sync_global: bool = False,
        sync_only: bool = False,
        **kwargs: Any,
    ) -> None:
        from .cli import make_engine

        super().__init__(**_client_options(settings, kwargs))  # type: ignore[call-arg]
        self.settings = settings
        self.engine = engine or (engine_factory or make_engine)(settings)
        self.sync_global = sync_global
        self.sync_only = sync_only
        self.engine_ready = asyncio.Event()
        self.engine_error: BaseException | None = None
        self.reindex_lock = asyncio.Lock()
        self.watcher: Any = None
        self._warmup: asyncio.Task[None] | None = None

    async def setup_hook(self) -> None:
        """Load commands, start warming the engine (off the loop), sync commands where asked."""
        install_error_handler(self.tree)
        for name in EXTENSIONS:
            try:
                await self.load_extension(name)  # type: ignore[attr-defined]
            except Exception:
                log.exception("could not load extension %s; the bot starts without it", name)
        if not self.sync_only:
            self._warmup = asyncio.get_running_loop().create_task(self._warm_up(), name="talksbot-warmup")
        await self._sync_commands()
        if self.settings.watch_documents and not self.sync_only:
            from .watch import DocumentWatcher

            self.watcher = DocumentWatcher(self)  # type: ignore[arg-type]
            self.watcher.start()

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

    async def _warm_up(self) -> None:
        """Open (or build) the index and load the model in a worker thread; the gateway is not kept waiting."""
        try:
            report = await asyncio.to_thread(self.engine.ensure_index, on_build=lambda why: log.info("%s", why))
            if report is not None:
                log.info(
                    "index built: %d articles, %d passages in %.1f s", report.documents, report.passages, report.seconds
                )
                for skipped in report.skipped:
                    log.warning("skipped %s: %s", skipped.path, skipped.reason)
            await asyncio.to_thread(self.engine.embedder.embed_queries, ["warm up"])
            stats = await asyncio.to_thread(self.engine.stats)
            log.info("ready to answer from %d articles, %d passages", stats.documents, stats.passages)
        except TalksbotError as err:
            self.engine_error = err
            log.error("the engine could not start: %s", err)
        except Exception as err:
            self.engine_error = err
            log.exception("the engine could not start")
        finally:
            self.engine_ready.set()

    def check_engine(self) -> None:
        """Raise NotReady at once if the engine already failed to start (before a command defers)."""
        if self.engine_ready.is_set() and self.engine_error is not None:
            raise NotReady(f"I can't answer right now: {self._engine_problem()}")

    def _engine_problem(self) -> str:
        if isinstance(self.engine_error, TalksbotError):
            return str(self.engine_error)
        return "my index failed to load (see the bot's log)."

    async def wait_engine(self) -> Engine:
        """The engine once it is ready; raises NotReady (a sentence) if it failed to start."""
        try:
            await asyncio.wait_for(self.engine_ready.wait(), timeout=ENGINE_WAIT_SECONDS)
        except TimeoutError:
            raise NotReady("I'm still loading my articles; please try again in a minute.") from None
        if self.engine_error is not None:
            raise NotReady(f"I can't answer right now: {self._engine_problem()}")
        return self.engine

    def is_admin(self, interaction: discord.Interaction) -> bool:
        """Manage Server, or one of ADMIN_ROLE_IDS."""
        perms = interaction.permissions
        if perms.manage_guild or perms.administrator:
            return True
        roles = getattr(interaction.user, "roles", [])
        return any(role.id in self.settings.admin_role_ids for role in roles)

    async def close(self) -> None:
        """Stop the watcher and background work, then disconnect."""
        if self.watcher is not None:
            self.watcher.stop()
        if self._warmup is not None and not self._warmup.done():
            self._warmup.cancel()
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

    def __init__(self, settings: Settings, **kwargs: Any) -> None:
        if isinstance(settings.shard_count, int):
            kwargs.setdefault("shard_count", settings.shard_count)
        if settings.shard_ids is not None:
            # Several processes split the shards between them; each runs only its own range.
            kwargs.setdefault("shard_ids", list(settings.shard_ids))
        super().__init__(settings, **kwargs)


def create_bot(settings: Settings, **kwargs: Any) -> TalksBot | ShardedTalksBot:
    """The not-yet-started client for these settings; ``await client.start(token)`` runs it."""
    if settings.shard_count is not None:
        return ShardedTalksBot(settings, **kwargs)
    return TalksBot(settings, **kwargs)
