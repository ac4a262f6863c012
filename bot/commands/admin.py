"""/reindex and /add-article: for members with Manage Server or a role in ADMIN_ROLE_IDS."""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING

import discord
from discord import app_commands
from discord.ext import commands

from index.errors import TalksbotError

from ..errors import NotAllowed
from ..render_discord import escape, render_reindex_embed
from ..uploads import UploadRejected, check_size, prepare_upload, safe_article_name, undo_write, write_atomically

if TYPE_CHECKING:
    from ..client import TalksBot

log = logging.getLogger(__name__)


def admin_only():  # type: ignore[no-untyped-def]
    """A check: Manage Server, or a role listed in ADMIN_ROLE_IDS; never from direct messages."""

    async def predicate(interaction: discord.Interaction) -> bool:
        if interaction.guild_id is None:
            # guild_only() hides the command in DMs, but a client may still send it from one.
            raise NotAllowed("This command works in a server, not in direct messages.")
        if interaction.client.is_admin(interaction):  # type: ignore[attr-defined]
            return True
        raise NotAllowed("Only members who can manage the server (or hold an admin role) can do this.")

    return app_commands.check(predicate)


class AdminCog(commands.Cog):
    """Feeding the bot new articles."""

    def __init__(self, bot: TalksBot) -> None:
        self.bot = bot

    @app_commands.command(name="reindex", description="Bring the index up to date with the documents folder.")
    @app_commands.guild_only()
    @app_commands.default_permissions(manage_guild=True)
    @admin_only()
    async def reindex(self, interaction: discord.Interaction) -> None:
        """Reindex in a worker thread and report what changed; one at a time."""
        if self.bot.reindex_lock.locked():
            await interaction.response.send_message(
                "A reindex is already running; I'll keep answering from the current index meanwhile.", ephemeral=True
            )
            return
        self.bot.check_engine()
        await interaction.response.defer(ephemeral=True, thinking=True)
        engine = await self.bot.wait_engine()
        async with self.bot.reindex_lock:
            report = await asyncio.to_thread(engine.reindex, wait=False)
        log.info(
            "reindex by %s: %d added, %d updated, %d removed",
            interaction.user.id,
            len(report.added),
            len(report.updated),
            len(report.removed),
        )
        await interaction.followup.send(embed=render_reindex_embed(report), ephemeral=True)

    @app_commands.command(
        name="add-article", description="Add an article (.md or .txt, UTF-8, up to 1 MiB) and index it."
    )
    @app_commands.describe(
        file="The article: YAML front matter (title, source, author, published, url) or a first-line title",
        overwrite="Replace an article with the same file name",
    )
    @app_commands.guild_only()
    @app_commands.default_permissions(manage_guild=True)
    @admin_only()
    async def add_article(
        self, interaction: discord.Interaction, file: discord.Attachment, overwrite: bool = False
    ) -> None:
        """Validate, save under documents/ with a safe name, index at once, report title and passages."""
        safe_article_name(file.filename)  # refuse a bad name or suffix before downloading anything
        check_size(file.size)
        self.bot.check_engine()
        await interaction.response.defer(ephemeral=True, thinking=True)
        try:
            data = await file.read()
        except discord.HTTPException as err:
            raise UploadRejected(
                f"I couldn't download {file.filename[:80]!r} from Discord ({err.status}); please upload it again."
            ) from None
        engine = await self.bot.wait_engine()
        prepared = await asyncio.to_thread(
            prepare_upload, engine.documents_dir, file.filename, data, overwrite=overwrite
        )
        async with self.bot.reindex_lock:
            previous = await asyncio.to_thread(write_atomically, prepared.path, prepared.data)
            try:
                report = await asyncio.to_thread(engine.reindex)
            except TalksbotError as err:
                await asyncio.to_thread(undo_write, prepared.path, previous)
                raise UploadRejected(f"{prepared.name} was not added: {err}") from None
            passages = await asyncio.to_thread(engine.document_passage_count, prepared.name)
        title = prepared.document.info.title
        verb = "Replaced" if prepared.replaces else "Added"
        embed = render_reindex_embed(report, title=f"{verb} an article")
        embed.description = f"{verb} **{escape(title)}** as `{prepared.name}`: {passages} passages indexed.\n" + (
            embed.description or ""
        )
        await interaction.followup.send(embed=embed, ephemeral=True)


async def setup(bot: TalksBot) -> None:
    """Register /reindex and /add-article."""
    await bot.add_cog(AdminCog(bot))
