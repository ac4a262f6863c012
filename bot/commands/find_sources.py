""" "Find sources": a message command (Apps -> Find sources on any message) that looks up what it claims.

Discord hands the bot the message itself with the command (``resolved.messages``), so no privileged
intent is needed: the bot never reads the channel, only the message a member points at.

The reply is private (ephemeral) with a *Post in channel* button. Whoever checks a claim decides
whether the channel sees the answer: a public reply under someone's message reads as calling them
out, and a "nothing found" only means the bot's few articles do not cover it, not that the claim is
false. Posted, the answer carries 👍 / 👎 for everyone.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

import discord
from discord import app_commands
from discord.ext import commands

from index import Answer

from ..buttons import answer_view
from ..claims import Claim, read_claim
from ..render_answers import render_find_sources
from ..service import Coverage, Service
from ..settings import Settings
from .ask import PerUserCooldown

if TYPE_CHECKING:
    from ..client import TalksBot

COMMAND_NAME = "Find sources"


def _embed_texts(message: discord.Message) -> list[str]:
    """The words of a message's embeds (a link preview, another bot's post), for a message without text."""
    texts: list[str] = []
    for embed in message.embeds:
        texts += [embed.title or "", embed.description or ""]
        texts += [field.value or "" for field in embed.fields]
    return texts


class FindSourcesCog(commands.Cog):
    """The "Find sources" message command."""

    def __init__(self, bot: TalksBot, service: Service, settings: Settings) -> None:
        self.bot = bot
        self.service = service
        # Its own bucket, at /ask's rate: both run the model once per use.
        self.cooldown = PerUserCooldown(settings.ask_cooldown_rate, settings.ask_cooldown_seconds)
        # discord.py cannot declare a context menu with a decorator inside a cog: it is built here.
        self.menu = app_commands.ContextMenu(name=COMMAND_NAME, callback=self.find_sources)

    async def cog_load(self) -> None:
        """Add the menu to the command tree (synced with the slash commands)."""
        self.bot.tree.add_command(self.menu)

    async def cog_unload(self) -> None:
        """Take the menu off the tree."""
        self.bot.tree.remove_command(self.menu.name, type=self.menu.type)

    async def find_sources(self, interaction: discord.Interaction, message: discord.Message) -> None:
        """Read the message as a claim, search in a worker thread, reply privately with the passage or a plain no."""
        self.cooldown.hit(interaction.user.id)
        claim = read_claim(  # NoClaim (empty, attachment-only, only a link ...) is a private sentence
            message.content,
            embed_texts=_embed_texts(message),
            attachments=len(message.attachments),
            stickers=len(message.stickers),
        )
        self.service.check_ready()
        await interaction.response.defer(ephemeral=True, thinking=True)
        await self.service.wait_ready()

        def work(claim: Claim) -> tuple[Answer, Coverage | None, str]:
            answer = self.service.find_sources(claim.text)
            answer_id = self.service.record_answer(answer, kind="find-sources")
            return answer, self.service.coverage() if answer.hit is None else None, answer_id

        answer, coverage, answer_id = await asyncio.to_thread(work, claim)
        embed = render_find_sources(
            claim, answer, author=message.author.display_name, jump_url=message.jump_url, coverage=coverage
        )
        await interaction.followup.send(embed=embed, view=answer_view(answer_id, share=True), ephemeral=True)


async def setup(bot: TalksBot) -> None:
    """Register the Find sources message command."""
    await bot.add_cog(FindSourcesCog(bot, bot.service, bot.settings))
