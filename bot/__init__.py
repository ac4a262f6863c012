"""talksbot's faces over the engine in ``index``: the `talksbot` CLI and the Discord bot.

Where things live:

- ``service``      the use cases every face calls: answer a question, reindex, add an article
- ``permissions``  who may change the index (reindex, add articles)
- ``runner``       the one place that wires settings -> engine -> service -> Discord client
- ``settings``     the only reader of the environment and ``.env``
- ``cli``          the `talksbot` command; ``render_text`` its terminal and JSON output
- ``client``, ``commands/``, ``render_discord``, ``errors``   the Discord bot
- ``watch``        reindex by itself when the documents folder changes
- ``uploads``      checking and safely writing an uploaded article

``create_bot(settings)`` returns the not-yet-started Discord client; it is imported lazily so
the terminal commands never pay for importing discord.py.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .settings import Settings

if TYPE_CHECKING:
    from .client import ShardedTalksBot, TalksBot

__all__ = ["Settings", "create_bot"]


def create_bot(settings: Settings, **kwargs: Any) -> TalksBot | ShardedTalksBot:
    """Build the Discord client for these settings; ``await client.start(token)`` runs it."""
    from .runner import create_bot as _create_bot

    return _create_bot(settings, **kwargs)
