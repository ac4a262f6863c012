"""/reindex and /add-article: for members with Manage Server or a role in ADMIN_ROLE_IDS."""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING

import discord
from discord import app_commands
from discord.ext import commands

from ..errors import NotAllowed
from ..permissions import may_change_index
from ..render_discord import render_added_article_embed, render_reindex_embed
from ..service import Service
from ..settings import Settings
from ..uploads import UploadRejected

if TYPE_CHECKING:
    from ..client import TalksBot

log = logging.getLogger(__name__)


class AdminCog(commands.Cog):
    """Feeding the bot new articles."""

    def __init__(self, service: Service, settings: Settings) -> None:
        self.service = service
        self.admin_role_ids = settings.admin_role_ids

    async def interaction_check(self, interaction: discord.Interaction) -> bool:  # type: ignore[override]
        """Every command here: Manage Server or an admin role, and never from direct messages."""
        if interaction.guild_id is None:
            # guild_only() hides the commands in DMs, but a client may still send one from there.
            raise NotAllowed("This command works in a server, not in direct messages.")
        perms = interaction.permissions
        if may_change_index(
            in_server=True,
            manage_server=perms.manage_guild,
            administrator=perms.administrator,
            role_ids=[role.id for role in getattr(interaction.user, "roles", [])],
            admin_role_ids=self.admin_role_ids,
        ):
            return True
        raise NotAllowed("Only members who can manage the server (or hold an admin role) can do this.")

    @app_commands.command(name="reindex", description="Bring the index up to date with the documents folder.")
    @app_commands.guild_only()
    @app_commands.default_permissions(manage_guild=True)
    async def reindex(self, interaction: discord.Interaction) -> None:
        """Reindex in a worker thread and report what changed; one at a time."""
        if self.service.reindex_running:
            await interaction.response.send_message(
                "A reindex is already running; I'll keep answering from the current index meanwhile.", ephemeral=True
            )
            return
        self.service.check_ready()
        await interaction.response.defer(ephemeral=True, thinking=True)
        await self.service.wait_ready()
        report = await asyncio.to_thread(self.service.reindex, wait=False)
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
    async def add_article(
        self, interaction: discord.Interaction, file: discord.Attachment, overwrite: bool = False
    ) -> None:
        """Validate, save under documents/ with a safe name, index at once, report title and passages."""
        self.service.check_upload(file.filename, file.size)  # refuse a bad name, suffix or size before downloading
        self.service.check_ready()
        await interaction.response.defer(ephemeral=True, thinking=True)
        try:
            data = await file.read()
        except discord.HTTPException as err:
            raise UploadRejected(
                f"I couldn't download {file.filename[:80]!r} from Discord ({err.status}); please upload it again."
            ) from None
        await self.service.wait_ready()
        added = await asyncio.to_thread(self.service.add_article, file.filename, data, overwrite=overwrite)
        embed = render_added_article_embed(added, uploaded_as=file.filename)
        await interaction.followup.send(embed=embed, ephemeral=True)


async def setup(bot: TalksBot) -> None:
    """Register /reindex and /add-article."""
    await bot.add_cog(AdminCog(bot.service, bot.settings))
