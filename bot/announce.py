"""Posting each newly indexed article in ANNOUNCE_CHANNEL_ID: title, outlet, date, link, pinging nobody.

The bot needs View Channel, Send Messages and Embed Links there. It checks them in its cache before
posting (and when it connects), and when one is missing it says which in **one** log line (once per
distinct problem, not once per article); Discord's own refusal (403 ``50013 Missing Permissions`` or
``50001 Missing Access``) is logged the same way when the cache could not tell. An announcement that
cannot be posted never stops the poll or the command that added the article.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Sequence
from typing import Protocol

import discord

from index import DocumentInfo

from .attribution import attribute
from .render_discord import ACCENT, escape, escape_within, shorten

__all__ = ["Announcer", "ArticleFacts", "render_article_embed"]

log = logging.getLogger(__name__)

# (attribute of discord.Permissions, the name Discord's settings show)
NEEDED = (("view_channel", "View Channel"), ("send_messages", "Send Messages"), ("embed_links", "Embed Links"))


class ArticleFacts(Protocol):
    """What an announcement shows (SavedArticle and DocumentInfo both have it)."""

    @property
    def title(self) -> str: ...
    @property
    def source(self) -> str: ...
    @property
    def author(self) -> str: ...
    @property
    def published(self) -> dt.date | None: ...
    @property
    def url(self) -> str: ...


def render_article_embed(article: ArticleFacts, *, heading: str | None = None) -> discord.Embed:
    """An embed naming an article: its title (linked), then its citation as every answer gives it, then the link."""
    source = attribute(DocumentInfo("", article.title, article.source, article.author, article.published, article.url))
    lines = [escape_within(source.citation(), 1_500)]
    if source.url:
        lines.append(source.url)  # a plain link: Discord shows it, and it cannot carry markup
    embed = discord.Embed(
        title=escape(shorten(article.title, 200))[:256],
        url=source.url or None,
        description="\n".join(lines)[:4000],
        colour=ACCENT,
    )
    if heading:
        embed.set_author(name=heading[:256])
    return embed


class Announcer:
    """Posts articles in one channel; says once, in the log, what keeps it from doing so."""

    def __init__(self, client: discord.Client, channel_id: int) -> None:
        self.client = client
        self.channel_id = channel_id
        self._last_problem: str | None = None
        self.posted = 0

    def _problem(self, text: str) -> None:
        if text != self._last_problem:
            log.error("%s", text)
            self._last_problem = text

    async def _channel(self) -> discord.abc.Messageable | None:
        channel = self.client.get_channel(self.channel_id)
        if channel is not None:
            return channel  # type: ignore[return-value]
        try:
            return await self.client.fetch_channel(self.channel_id)  # type: ignore[return-value]
        except discord.NotFound:
            self._problem(f"cannot announce new articles: ANNOUNCE_CHANNEL_ID {self.channel_id} is not a channel.")
        except discord.Forbidden:
            self._problem(
                f"cannot announce new articles in channel {self.channel_id}: "
                "the bot lacks the View Channel permission there."
            )
        except discord.HTTPException as err:
            log.warning("could not look up the announcement channel %s (%s)", self.channel_id, err.status)
        return None

    def _missing(self, channel: object) -> str | None:
        """The first permission the bot lacks in the channel, from its cache (None: none, or it cannot tell).

        Only the first: without View Channel Discord takes Send Messages away too, and without Send
        Messages Embed Links, so naming the first is naming the one to grant.
        """
        guild = getattr(channel, "guild", None)
        me = getattr(guild, "me", None)
        if guild is None or me is None or not hasattr(channel, "permissions_for"):
            return None
        perms = channel.permissions_for(me)
        return next((label for attr, label in NEEDED if not getattr(perms, attr)), None)

    def _where(self, channel: object) -> str:
        name = getattr(channel, "name", None)
        return f"#{name} ({self.channel_id})" if name else f"channel {self.channel_id}"

    async def check(self) -> bool:
        """Whether the bot may post in the channel now; logs the missing permission once if not."""
        channel = await self._channel()
        if channel is None:
            return False
        missing = self._missing(channel)
        if missing:
            self._problem(
                f"cannot announce new articles in {self._where(channel)}: the bot lacks the {missing} permission there."
            )
            return False
        return True

    async def announce(self, articles: Sequence[ArticleFacts]) -> int:
        """Post one message per article; how many were posted."""
        if not articles or not await self.check():
            return 0
        channel = await self._channel()
        posted = 0
        for article in articles:
            try:
                await channel.send(  # type: ignore[union-attr]
                    embed=render_article_embed(article, heading="New article indexed"),
                    allowed_mentions=discord.AllowedMentions.none(),
                )
            except discord.Forbidden as err:
                needed = " and ".join(label for _attr, label in NEEDED)
                self._problem(
                    f"cannot announce new articles in {self._where(channel)}: Discord refused ({err.code} "
                    f"{err.text or 'Missing Permissions'}); the bot needs {needed} there."
                )
                break
            except discord.HTTPException as err:
                log.warning("could not announce %r in %s (%s)", article.title[:80], self._where(channel), err.status)
                continue
            posted += 1
        if posted:
            self._last_problem = None
        self.posted += posted
        return posted
