"""/reindex and /add-article (a link or a file): for members with Manage Server or a role in ADMIN_ROLE_IDS."""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING

import discord
from discord import app_commands
from discord.ext import commands

from ..announce import Announcer, render_article_embed
from ..errors import NotAllowed
from ..ingest import AddReport
from ..permissions import may_change_index
from ..render_discord import escape, render_added_article_embed, render_reindex_embed
from ..service import Service
from ..settings import Settings
from ..uploads import UploadRejected

if TYPE_CHECKING:
    from ..client import TalksBot

log = logging.getLogger(__name__)


class AdminCog(commands.Cog):
    """Feeding the bot new articles."""

    def __init__(self, service: Service, settings: Settings, announcer: Announcer | None = None) -> None:
        self.service = service
        self.admin_role_ids = settings.admin_role_ids
        self.announcer = announcer

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
        name="add-article", description="Add an article from a link or a file (.md or .txt, up to 1 MiB) and index it."
    )
    @app_commands.describe(
        url="A link to a news article: it is fetched, its text and attribution extracted",
        file="The article: YAML front matter (title, source, author, published, url) or a first-line title",
        overwrite="Replace an article already there (the same link, or a file with the same name)",
    )
    @app_commands.guild_only()
    @app_commands.default_permissions(manage_guild=True)
    async def add_article(
        self,
        interaction: discord.Interaction,
        url: app_commands.Range[str, 1, 2048] | None = None,
        file: discord.Attachment | None = None,
        overwrite: bool = False,
    ) -> None:
        """A link is fetched and extracted, a file validated; saved under documents/, indexed at once, announced."""
        if (url is None) == (file is None):
            raise UploadRejected("Give either url: (a link to a news article) or file: (an .md or .txt article).")
        if url is not None:
            await self._add_link(interaction, url.strip(), overwrite)
        else:
            assert file is not None
            await self._add_file(interaction, file, overwrite)

    async def _add_link(self, interaction: discord.Interaction, url: str, overwrite: bool) -> None:
        """Fetch (address rules, limits), extract, save, reindex; reply with what was extracted."""
        self.service.check_link(url)  # a malformed or non-http(s) link is refused before deferring
        self.service.check_ready()
        await interaction.response.defer(ephemeral=True, thinking=True)
        await self.service.wait_ready()
        report: AddReport = await asyncio.to_thread(
            self.service.add_sources, [url], overwrite=overwrite, allow_files=False
        )
        if report.failed:
            raise UploadRejected(f"Not added: {report.failed[0][1]}")
        if report.unchanged:
            _source, path, why = report.unchanged[0]
            await interaction.followup.send(
                embed=discord.Embed(
                    title="Already there", description=f"This article is already indexed as `{path}` ({why})."
                ),
                ephemeral=True,
            )
            return
        saved = report.added[0]
        log.info("article added by %s from a link: %s", interaction.user.id, saved.path)
        verb = "Replaced" if saved.replaced else "Added"
        embed = render_article_embed(saved, heading=f"{verb} an article")
        embed.add_field(name="Outlet", value=escape(saved.source) or "not stated by the page", inline=True)
        embed.add_field(name="Author", value=escape(saved.author) or "not stated by the page", inline=True)
        embed.add_field(
            name="Published", value=saved.published.isoformat() if saved.published else "not stated", inline=True
        )
        embed.add_field(name="File", value=f"`{saved.path}`: {saved.passages} passages indexed", inline=False)
        if saved.paywalled:
            embed.add_field(name="Note", value="The page is paywalled: only its free part was saved.", inline=False)
        await interaction.followup.send(embed=embed, ephemeral=True)
        if self.announcer is not None:
            await self.announcer.announce([saved])

    async def _add_file(self, interaction: discord.Interaction, file: discord.Attachment, overwrite: bool) -> None:
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
        if self.announcer is not None and added.info is not None:
            await self.announcer.announce([added.info])


async def setup(bot: TalksBot) -> None:
    """Register /reindex and /add-article."""
    await bot.add_cog(AdminCog(bot.service, bot.settings, bot.announcer))
