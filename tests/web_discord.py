"""Helpers for the end-to-end tests of articles from the web on Discord: a bot with an announcement channel."""

from __future__ import annotations

from discord_helpers import start_seed_bot
from fakediscord import PERM_MANAGE_GUILD, DiscordHarness
from web_server import LocalSite

ADMIN = str(PERM_MANAGE_GUILD)  # a member who may use /add-article


def channel_messages(h: DiscordHarness, channel_id: int) -> list[dict]:
    """The messages the bot posted in a channel of the fake."""
    fake = h.fake
    return h.run(lambda: [fake.messages[m] for m in fake.channel_messages.get(channel_id, [])])


def wait_for_messages(h: DiscordHarness, channel_id: int, count: int, timeout: float = 60) -> list[dict]:
    """Block until the channel holds at least ``count`` messages."""
    fake = h.fake
    h.call(
        fake.wait_until(lambda: len(fake.channel_messages.get(channel_id, [])) >= count, timeout, "announcements"),
        timeout + 5,
    )
    return channel_messages(h, channel_id)


def start(base, embedder, site: LocalSite, *, denied: int = 0, **settings) -> tuple[DiscordHarness, int]:
    """The seed bot with an announcement channel ('news', denying the bot ``denied``) and web settings."""
    ids: dict[str, int] = {}

    def customize(s, fake):
        ids["news"] = fake.add_text_channel("news", bot_denied=denied)
        return s.replace(allow_private_urls=True, announce_channel_id=ids["news"], fetch_timeout_seconds=5, **settings)

    harness, _engine = start_seed_bot(base, embedder, customize)
    return harness, ids["news"]
