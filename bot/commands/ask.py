"""/ask: the most relevant passage, quoted, with its source; a button for more sources."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
from typing import TYPE_CHECKING

import discord
from discord import app_commands
from discord.ext import commands

from index.errors import InvalidQuestion
from index.models import Answer
from index.search import MAX_QUESTION_CHARS, clean_question

from ..errors import reply_error, user_message
from ..render_discord import render_alternatives_embeds, render_answer_embed

if TYPE_CHECKING:
    from ..client import TalksBot

log = logging.getLogger(__name__)

MORE_SOURCES_TIMEOUT = 600.0


def _cooldown(interaction: discord.Interaction) -> app_commands.Cooldown:
    """ASK_COOLDOWN_RATE questions per ASK_COOLDOWN_SECONDS, per user."""
    settings = interaction.client.settings  # type: ignore[attr-defined]
    return app_commands.Cooldown(settings.ask_cooldown_rate, settings.ask_cooldown_seconds)


def parse_since(value: str | None) -> dt.date | None:
    """The since: option as a date; a clear error for anything but YYYY-MM-DD."""
    if value is None or not value.strip():
        return None
    try:
        return dt.date.fromisoformat(value.strip())
    except ValueError:
        raise InvalidQuestion(f"since: must be a date like 2025-06-01, not {value.strip()[:40]!r}.") from None


class MoreSourcesView(discord.ui.View):
    """A 'More sources' button that shows the next best passages privately to whoever clicks."""

    def __init__(self, answer: Answer) -> None:
        super().__init__(timeout=MORE_SOURCES_TIMEOUT)
        self.answer = answer
        self.message: discord.WebhookMessage | None = None

    @discord.ui.button(label="More sources", style=discord.ButtonStyle.secondary, emoji="📰")
    async def more(self, interaction: discord.Interaction, button: discord.ui.Button) -> None:
        """Send the alternatives as an ephemeral reply."""
        embeds = render_alternatives_embeds(self.answer)
        await interaction.response.send_message(
            content=None if embeds else "No other relevant passages.", embeds=embeds, ephemeral=True
        )

    async def on_timeout(self) -> None:
        """Remove the button once it stops working, so nobody clicks a dead one."""
        if self.message is not None:
            with contextlib.suppress(discord.HTTPException):
                await self.message.edit(view=None)

    async def on_error(self, interaction: discord.Interaction, error: Exception, item: discord.ui.Item) -> None:
        """Same policy as commands: a sentence for the user, a traceback in the log."""
        message = user_message(error)
        if message is None:
            log.error("unexpected error in the More sources button", exc_info=error)
            message = "Sorry, something went wrong on my side."
        await reply_error(interaction, message)


class AskCog(commands.Cog):
    """Questions and answers."""

    def __init__(self, bot: TalksBot) -> None:
        self.bot = bot

    @app_commands.command(
        name="ask", description="Ask about the Russia–Ukraine talks; I quote the most relevant article."
    )
    @app_commands.describe(
        question="Your question, in your own words",
        since="Only articles published on or after this date (YYYY-MM-DD)",
    )
    @app_commands.checks.dynamic_cooldown(_cooldown, key=lambda i: i.user.id)
    async def ask(
        self,
        interaction: discord.Interaction,
        question: app_commands.Range[str, 1, MAX_QUESTION_CHARS],
        since: app_commands.Range[str, 1, 10] | None = None,
    ) -> None:
        """Defer at once, search in a worker thread, reply with the quoted passage."""
        clean_question(question)  # invalid questions get an ephemeral reason before anything public
        since_date = parse_since(since)
        self.bot.check_engine()
        await interaction.response.defer(thinking=True)
        engine = await self.bot.wait_engine()

        def work() -> tuple[Answer, int]:
            answer = engine.answer(question, since=since_date)
            return answer, len(engine.searcher().snapshot.documents)

        answer, documents = await asyncio.to_thread(work)
        embed = render_answer_embed(answer, documents=documents)
        if answer.alternatives:
            view = MoreSourcesView(answer)
            view.message = await interaction.followup.send(embed=embed, view=view, wait=True)
        else:
            await interaction.followup.send(embed=embed)


async def setup(bot: TalksBot) -> None:
    """Register /ask."""
    await bot.add_cog(AskCog(bot))
