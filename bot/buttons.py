"""The buttons under an answer: 👍 / 👎, More sources and Post in channel. They outlive the process.

Each is a discord.py ``DynamicItem``: its custom_id carries the answer's id (``tb:vote:<id>:up``), and
the client registers the templates at start (``BUTTONS``), so a click on a message sent before a
restart is handled like any other. What a button needs is read back from the service (the answer on
record in ``FEEDBACK_DB``, bot/feedback.py); an answer past its window gets a sentence saying so.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import discord

from index import TalksbotError

from .errors import APOLOGY, reply_error, user_message
from .render_answers import render_more_sources, render_shared, render_vote_reply

__all__ = ["BUTTONS", "MoreSourcesButton", "ShareButton", "VoteButton", "answer_view"]

log = logging.getLogger(__name__)

T = TypeVar("T")

_ID = r"(?P<answer>[A-Za-z0-9_-]{6,40})"
# Discord's deadline for a first response is 3 s: work that has not finished by then is deferred first.
_DEFER_AFTER = 1.5


async def _respond_soon(
    interaction: discord.Interaction, work: Callable[[], T], *, ephemeral: bool = True
) -> tuple[T, bool]:
    """Run ``work`` in a thread; if it is still running after a moment, defer so the deadline is met.

    Returns (result, deferred): a deferred interaction is answered with a followup.
    """
    task = asyncio.ensure_future(asyncio.to_thread(work))
    done, _ = await asyncio.wait({task}, timeout=_DEFER_AFTER)
    if done:
        return task.result(), False
    await interaction.response.defer(ephemeral=ephemeral, thinking=True)
    return await task, True


async def _guarded(interaction: discord.Interaction, what: str, handler: Awaitable[None]) -> None:
    """The error policy of every command, for a button: a sentence for the user, a traceback in the log."""
    try:
        await handler
    except Exception as err:
        message = user_message(err)
        if message is None:
            log.error("unexpected error in the %s button", what, exc_info=err)
            message = APOLOGY
        await reply_error(interaction, message)


def _service(interaction: discord.Interaction) -> Any:
    """The service of the client that received the click (the client is handed it by bot/runner.py)."""
    return interaction.client.service  # type: ignore[attr-defined]


class VoteButton(discord.ui.DynamicItem[discord.ui.Button], template=rf"tb:vote:{_ID}:(?P<way>up|down)"):
    """👍 or 👎 on an answer: one vote per member, changeable; the reply is private."""

    def __init__(self, answer_id: str, up: bool) -> None:
        super().__init__(
            discord.ui.Button(
                emoji="👍" if up else "👎",
                style=discord.ButtonStyle.secondary,
                custom_id=f"tb:vote:{answer_id}:{'up' if up else 'down'}",
            )
        )
        self.answer_id, self.up = answer_id, up

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction, item: discord.ui.Button, match: re.Match[str]
    ) -> VoteButton:
        """Rebuild the button from its custom_id (any process, any time)."""
        return cls(match["answer"], match["way"] == "up")

    async def callback(self, interaction: discord.Interaction) -> None:
        """Record the vote and tell the voter privately."""
        await _guarded(interaction, "vote", self._vote(interaction))

    async def _vote(self, interaction: discord.Interaction) -> None:
        service = _service(interaction)
        result, deferred = await _respond_soon(
            interaction, lambda: service.vote(self.answer_id, interaction.user.id, self.up)
        )
        text = render_vote_reply(result)
        if deferred:
            await interaction.followup.send(text, ephemeral=True)
        else:
            await interaction.response.send_message(text, ephemeral=True)


class MoreSourcesButton(discord.ui.DynamicItem[discord.ui.Button], template=rf"tb:more:{_ID}"):
    """More from the sources of an answer (its other passages, each article once), shown privately to whoever clicks."""

    def __init__(self, answer_id: str) -> None:
        super().__init__(
            discord.ui.Button(
                label="More sources", emoji="📰", style=discord.ButtonStyle.secondary, custom_id=f"tb:more:{answer_id}"
            )
        )
        self.answer_id = answer_id

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction, item: discord.ui.Button, match: re.Match[str]
    ) -> MoreSourcesButton:
        """Rebuild the button from its custom_id."""
        return cls(match["answer"])

    async def callback(self, interaction: discord.Interaction) -> None:
        """Send the answer's other passages, grouped by article, as one ephemeral message."""
        await _guarded(interaction, "More sources", self._more(interaction))

    async def _more(self, interaction: discord.Interaction) -> None:
        service = _service(interaction)
        stored, deferred = await _respond_soon(interaction, lambda: service.stored_answer(self.answer_id))
        embed = render_more_sources(stored.answer)
        content = None if embed else "My articles have nothing more on this."
        if deferred:
            await interaction.followup.send(
                content=content or discord.utils.MISSING, embed=embed or discord.utils.MISSING, ephemeral=True
            )
        else:
            await interaction.response.send_message(content=content, embed=embed, ephemeral=True)


class ShareButton(discord.ui.DynamicItem[discord.ui.Button], template=rf"tb:share:{_ID}"):
    """Post a private "Find sources" reply in the channel, for everyone (and their votes)."""

    def __init__(self, answer_id: str) -> None:
        super().__init__(
            discord.ui.Button(
                label="Post in channel",
                emoji="📣",
                style=discord.ButtonStyle.primary,
                custom_id=f"tb:share:{answer_id}",
            )
        )
        self.answer_id = answer_id

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction, item: discord.ui.Button, match: re.Match[str]
    ) -> ShareButton:
        """Rebuild the button from its custom_id."""
        return cls(match["answer"])

    async def callback(self, interaction: discord.Interaction) -> None:
        """The private reply loses its Post button; the same embeds go to the channel, with votes."""
        await _guarded(interaction, "Post in channel", self._share(interaction))

    async def _share(self, interaction: discord.Interaction) -> None:
        private = interaction.message
        if private is None or not private.embeds:
            raise TalksbotError("There is nothing to post.")
        embeds = render_shared(private.embeds, shared_by=interaction.user.display_name)
        await interaction.response.edit_message(view=answer_view(self.answer_id))
        await interaction.followup.send(embeds=embeds, view=answer_view(self.answer_id), ephemeral=False)


BUTTONS: tuple[type[discord.ui.DynamicItem[Any]], ...] = (VoteButton, MoreSourcesButton, ShareButton)


def answer_view(answer_id: str, *, more: bool = False, share: bool = False) -> discord.ui.View:
    """The buttons under an answer: 👍 👎, then More sources (when there are alternatives), then Post in channel."""
    view = discord.ui.View(timeout=None)
    view.add_item(VoteButton(answer_id, True))
    view.add_item(VoteButton(answer_id, False))
    if more:
        view.add_item(MoreSourcesButton(answer_id))
    if share:
        view.add_item(ShareButton(answer_id))
    return view
