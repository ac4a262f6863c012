"""/sources and /about: what the bot knows and how it works."""

from __future__ import annotations

import asyncio
import contextlib
from typing import TYPE_CHECKING

import discord
from discord import app_commands
from discord.ext import commands

from index import DocumentInfo

from ..render_discord import render_about_embed, render_sources_page
from ..service import Service

if TYPE_CHECKING:
    from ..client import TalksBot

PAGER_TIMEOUT = 300.0


class SourcesPager(discord.ui.View):
    """Previous/next buttons over the list of articles; only the member who asked can page."""

    def __init__(self, rows: list[tuple[DocumentInfo, int]], owner_id: int) -> None:
        super().__init__(timeout=PAGER_TIMEOUT)
        self.rows = rows
        self.owner_id = owner_id
        self.page = 0
        self.message: discord.WebhookMessage | None = None
        self._refresh_buttons()

    def _refresh_buttons(self) -> None:
        _, pages = render_sources_page(self.rows, self.page)
        self.previous.disabled = self.page <= 0
        self.next.disabled = self.page >= pages - 1

    async def interaction_check(self, interaction: discord.Interaction) -> bool:
        """Only the member who ran /sources turns its pages."""
        if interaction.user.id == self.owner_id:
            return True
        await interaction.response.send_message("Run `/sources` yourself to page through the list.", ephemeral=True)
        return False

    async def _show(self, interaction: discord.Interaction) -> None:
        self._refresh_buttons()
        embed, _ = render_sources_page(self.rows, self.page)
        await interaction.response.edit_message(embed=embed, view=self)

    @discord.ui.button(label="Previous", style=discord.ButtonStyle.secondary)
    async def previous(self, interaction: discord.Interaction, button: discord.ui.Button) -> None:
        """Go back a page."""
        self.page -= 1
        await self._show(interaction)

    @discord.ui.button(label="Next", style=discord.ButtonStyle.secondary)
    async def next(self, interaction: discord.Interaction, button: discord.ui.Button) -> None:
        """Go forward a page."""
        self.page += 1
        await self._show(interaction)

    async def on_timeout(self) -> None:
        """Drop the buttons when they stop working."""
        if self.message is not None:
            with contextlib.suppress(discord.HTTPException):
                await self.message.edit(view=None)


class InfoCog(commands.Cog):
    """What is indexed and what the bot is."""

    def __init__(self, service: Service) -> None:
        self.service = service

    @app_commands.command(name="sources", description="List the articles I answer from.")
    async def sources(self, interaction: discord.Interaction) -> None:
        """Every indexed article, titled, linked and cited, ten per page."""
        self.service.check_ready()
        await interaction.response.defer(thinking=True)
        await self.service.wait_ready()
        rows = await asyncio.to_thread(self.service.sources)
        embed, pages = render_sources_page(rows, 0)
        if pages > 1:
            view = SourcesPager(rows, interaction.user.id)
            view.message = await interaction.followup.send(embed=embed, view=view, wait=True)
        else:
            await interaction.followup.send(embed=embed)

    @app_commands.command(name="about", description="What this bot is and what it knows.")
    async def about(self, interaction: discord.Interaction) -> None:
        """What the bot covers: how many articles, from when, from which outlets, when it was updated."""
        if self.service.starting:
            await interaction.response.send_message(embed=render_about_embed(None, loading=True))
            return
        if not self.service.ready:
            await interaction.response.send_message(embed=render_about_embed(None))
            return
        coverage, stats = await asyncio.to_thread(lambda: (self.service.coverage(), self.service.stats()))
        await interaction.response.send_message(embed=render_about_embed(coverage, stats))


async def setup(bot: TalksBot) -> None:
    """Register /sources and /about."""
    await bot.add_cog(InfoCog(bot.service))
