"""talksbot's faces: the `talksbot` CLI and the Discord bot, thin adapters over ``index``.

``create_bot(settings)`` returns the not-yet-started Discord client; it is imported lazily so
the terminal commands never pay for importing discord.py.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .settings import Settings

if TYPE_CHECKING:
    from .client import TalksBot

__all__ = ["Settings", "create_bot"]


def create_bot(settings: Settings, **kwargs: Any) -> TalksBot:
    """Build the Discord client for these settings; ``await client.start(token)`` runs it."""
    from .client import create_bot as _create_bot

    return _create_bot(settings, **kwargs)
