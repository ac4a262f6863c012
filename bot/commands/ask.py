"""/ask: the question, then the most relevant passage quoted with its source; 👍 / 👎 and More sources under it."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import time
from typing import TYPE_CHECKING

import discord
from discord import app_commands
from discord.ext import commands

from index import MAX_QUESTION_CHARS, Answer, InvalidQuestion, clean_question

from ..buttons import answer_view
from ..render_discord import render_answer_embed, render_question
from ..service import Coverage, Service
from ..settings import Settings

if TYPE_CHECKING:
    from ..client import TalksBot

log = logging.getLogger(__name__)


class PerUserCooldown:
    """ASK_COOLDOWN_RATE questions per ASK_COOLDOWN_SECONDS, per member."""

    def __init__(self, rate: int, per: float) -> None:
        self.rate, self.per = rate, per
        self._buckets: dict[int, app_commands.Cooldown] = {}

    def hit(self, user_id: int) -> None:
        """Count one question; raise CommandOnCooldown (the error handler words it) when over the rate."""
        now = time.time()
        if len(self._buckets) > 1_000:  # forget members whose window has passed (a fresh bucket is the same)
            self._buckets = {k: b for k, b in self._buckets.items() if b.get_tokens(now) < b.rate}
        bucket = self._buckets.setdefault(user_id, app_commands.Cooldown(self.rate, self.per))
        retry_after = bucket.update_rate_limit(now)
        if retry_after:
            raise app_commands.CommandOnCooldown(bucket, retry_after)


def parse_since(value: str | None) -> dt.date | None:
    """The since: option as a date; a clear error for anything but YYYY-MM-DD."""
    if value is None or not value.strip():
        return None
    try:
        return dt.date.fromisoformat(value.strip())
    except ValueError:
        raise InvalidQuestion(f"since: must be a date like 2025-06-01, not {value.strip()[:40]!r}.") from None


class AskCog(commands.Cog):
    """Questions and answers."""

    def __init__(self, service: Service, settings: Settings) -> None:
        self.service = service
        self.cooldown = PerUserCooldown(settings.ask_cooldown_rate, settings.ask_cooldown_seconds)

    @app_commands.command(
        name="ask", description="Ask about the Russia–Ukraine talks; I quote the most relevant article."
    )
    @app_commands.describe(
        question="Your question, in your own words",
        since="Only articles published on or after this date (YYYY-MM-DD)",
    )
    async def ask(
        self,
        interaction: discord.Interaction,
        question: app_commands.Range[str, 1, MAX_QUESTION_CHARS],
        since: app_commands.Range[str, 1, 10] | None = None,
    ) -> None:
        """Defer at once, search in a worker thread, reply with the quoted passage."""
        self.cooldown.hit(interaction.user.id)
        clean_question(question)  # invalid questions get an ephemeral reason before anything public
        since_date = parse_since(since)
        self.service.check_ready()
        await interaction.response.defer(thinking=True)
        await self.service.wait_ready()

        def work() -> tuple[Answer, Coverage | None, str]:
            answer = self.service.answer(question, since=since_date)
            # On record before it is sent, so its buttons work from the first click, after restarts too.
            answer_id = self.service.record_answer(answer, kind="ask")
            # Only "nothing relevant" says what the bot covers.
            return answer, self.service.coverage() if answer.hit is None else None, answer_id

        answer, coverage, answer_id = await asyncio.to_thread(work)
        await interaction.followup.send(
            content=render_question(question, since=since_date),  # the channel sees what was asked
            embed=render_answer_embed(answer, coverage=coverage),
            view=answer_view(answer_id, more=bool(answer.alternatives)),
        )


async def setup(bot: TalksBot) -> None:
    """Register /ask."""
    await bot.add_cog(AskCog(bot.service, bot.settings))
