"""A local fake Discord (REST + gateway) for end-to-end tests of the real discord.py client.

Typical use from a synchronous pytest test::

    with DiscordHarness(make_client) as h:
        rec = h.slash("ask", {"question": "Who met in Istanbul?"})
        final = h.wait_final(rec)
        h.assert_clean()
"""

from __future__ import annotations

import logging

from .gateway import Gateway, GatewayConnection, IdentifyAttempt, Session, shard_for
from .guilds import FakeGuild
from .harness import DiscordHarness
from .models import (
    DEFAULT_BOT_PERMISSIONS,
    DEFAULT_MEMBER_PERMISSIONS,
    MESSAGE_FLAG_EPHEMERAL,
    MESSAGE_FLAG_LOADING,
    PERM_ADMINISTRATOR,
    PERM_EMBED_LINKS,
    PERM_MANAGE_GUILD,
    PERM_SEND_MESSAGES,
    PERM_VIEW_CHANNEL,
    CallbackRecord,
    EditRecord,
    ErrorEvent,
    InteractionRecord,
    Violation,
    visible_state,
)
from .openapi import (
    OpenAPISpec,
    Operation,
    allowed_mentions_problems,
    component_problems,
    default_spec_path,
    embed_problems,
    load_spec,
    message_problems,
)
from .server import FakeDiscord, Reply, RequestLog

log = logging.getLogger(__name__)

__all__ = [
    "DEFAULT_BOT_PERMISSIONS",
    "DEFAULT_MEMBER_PERMISSIONS",
    "MESSAGE_FLAG_EPHEMERAL",
    "MESSAGE_FLAG_LOADING",
    "PERM_ADMINISTRATOR",
    "PERM_EMBED_LINKS",
    "PERM_MANAGE_GUILD",
    "PERM_SEND_MESSAGES",
    "PERM_VIEW_CHANNEL",
    "CallbackRecord",
    "DiscordHarness",
    "EditRecord",
    "ErrorEvent",
    "FakeDiscord",
    "FakeGuild",
    "Gateway",
    "GatewayConnection",
    "IdentifyAttempt",
    "InteractionRecord",
    "OpenAPISpec",
    "Operation",
    "Reply",
    "RequestLog",
    "Session",
    "Violation",
    "allowed_mentions_problems",
    "component_problems",
    "default_spec_path",
    "embed_problems",
    "load_spec",
    "message_problems",
    "shard_for",
    "visible_state",
]
