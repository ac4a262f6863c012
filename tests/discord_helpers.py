"""Helpers for the end-to-end Discord tests: building the bot for the fake, reading its embeds back."""

from __future__ import annotations

import shutil
import warnings
from collections.abc import Callable
from pathlib import Path

with warnings.catch_warnings():
    warnings.filterwarnings("ignore", message="'audioop' is deprecated", category=DeprecationWarning)
    import discord  # noqa: F401 - imported here first so later imports see it loaded

from discord_markdown import plain_quote, visible_text  # noqa: F401 - plain_quote is re-exported for the e2e tests
from fakediscord import DiscordHarness

from bot import create_bot
from bot.settings import Settings
from index.embedder import Embedder
from index.engine import Engine

SEED_DOCUMENTS = Path(__file__).resolve().parents[1] / "documents"


def make_settings(documents: Path, index: Path, **overrides) -> Settings:
    """Settings for a test bot (no .env is read)."""
    base = Settings(
        documents_dir=documents,
        index_dir=index,
        feedback_db=index.parent / "feedback.sqlite3",
        ask_cooldown_rate=100,
        ask_cooldown_seconds=1.0,
    )
    return base.replace(**overrides)


def bot_factory(settings: Settings, engine: Engine | None = None, **kwargs):
    """A harness client factory building the real bot through bot.create_bot."""

    def factory(fake):
        return create_bot(settings.replace(guild_id=fake.guild_id), engine=engine, guild_ready_timeout=0.1, **kwargs)

    return factory


def start_seed_bot(
    base: Path, embedder: Embedder, customize: Callable[[Settings, object], Settings] | None = None
) -> tuple[DiscordHarness, Engine]:
    """Copy the seed articles under ``base``, start the real bot on the fake Discord, wait until it answers.

    ``customize(settings, fake)`` may change the settings once the fake (its guild, its roles) exists.
    """
    shutil.copytree(SEED_DOCUMENTS, base / "documents")
    engine = Engine(base / "documents", base / "index", embedder=embedder)
    settings = make_settings(base / "documents", base / "index")

    def factory(fake):
        chosen = customize(settings, fake) if customize else settings
        return bot_factory(chosen, engine)(fake)

    harness = DiscordHarness(factory).start()
    harness.call(harness.client.service.wait_ready())
    return harness, engine


def embed_text(message: dict, *, raw: bool = False) -> str:
    """All text of a message and its embeds as a member reads it (Markdown escapes removed), for 'does it say X'.

    ``raw``: the Markdown as sent instead, for checks of what Discord would act on (mentions, links).
    """
    read = (lambda text: text) if raw else visible_text
    parts = [read(message.get("content") or "")]
    for embed in message.get("embeds") or []:
        parts += [read(embed.get("title", "")), read(embed.get("description", ""))]
        parts.append((embed.get("author") or {}).get("name", ""))  # authors and footers render no Markdown
        parts.append((embed.get("footer") or {}).get("text", ""))
        for field in embed.get("fields") or []:
            parts += [field.get("name", ""), read(field.get("value", ""))]
    return "\n".join(parts)


def buttons(message: dict) -> dict[str, dict]:
    """A message's buttons by what they show (the label, else the emoji)."""
    out = {}
    for row in message.get("components") or []:
        for c in row.get("components") or []:
            if c.get("type") == 2:
                out[c.get("label") or (c.get("emoji") or {}).get("name", "")] = c
    return out
