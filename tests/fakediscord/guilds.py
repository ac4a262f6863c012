"""The fake's guilds: what each server holds, and the GUILD_CREATE, READY and application payloads.

A :class:`FakeGuild` keeps the parts of a server that differ between guilds (its roles, its
members, its default text channel). Channels live in one flat list on the fake, each with its
``guild_id``, since Discord addresses channels by id alone (``GET /channels/{id}``).

Extra guilds get ids one millisecond apart in their timestamp bits, so consecutive guilds fall
on consecutive shards (``(guild_id >> 22) % count``), as ids spread over time would.
"""

from __future__ import annotations

import copy
import secrets
from dataclasses import dataclass
from typing import Any

from .models import iso_now

__all__ = ["FakeGuild", "application_payload", "guild_create_payload", "neighbour_guild_id", "ready_payload"]


@dataclass
class FakeGuild:
    """One server the bot is in."""

    id: int
    name: str
    channel_id: int  # its text channel, where interactions come from unless a test says otherwise
    roles: list[dict[str, Any]]
    members: dict[int, dict[str, Any]]


def neighbour_guild_id(first_guild_id: int, k: int) -> int:
    """The k-th extra guild's id: the first guild's timestamp plus k ms, so it lands on the next shard."""
    return (((first_guild_id >> 22) + k) << 22) | (first_guild_id & ((1 << 22) - 1))


def guild_create_payload(guild: FakeGuild, channels: list[dict[str, Any]], owner_id: int) -> dict[str, Any]:
    """The full GUILD_CREATE payload of one guild (``channels``: the fake's flat list, all guilds)."""
    own = [c for c in channels if c.get("guild_id") == str(guild.id)]
    return {
        "id": str(guild.id),
        "name": guild.name,
        "icon": None,
        "icon_hash": None,
        "splash": None,
        "discovery_splash": None,
        "owner_id": str(owner_id),
        "afk_channel_id": None,
        "afk_timeout": 300,
        "widget_enabled": False,
        "widget_channel_id": None,
        "verification_level": 1,
        "default_message_notifications": 1,
        "explicit_content_filter": 2,
        "roles": copy.deepcopy(guild.roles),
        "emojis": [],
        "features": [],
        "mfa_level": 0,
        "application_id": None,
        "system_channel_id": str(guild.channel_id),
        "system_channel_flags": 0,
        "rules_channel_id": None,
        "max_presences": None,
        "max_members": 500000,
        "vanity_url_code": None,
        "description": None,
        "banner": None,
        "premium_tier": 0,
        "premium_subscription_count": 0,
        "preferred_locale": "en-US",
        "public_updates_channel_id": None,
        "max_video_channel_users": 25,
        "max_stage_video_channel_users": 50,
        "nsfw_level": 0,
        "stickers": [],
        "premium_progress_bar_enabled": False,
        "safety_alerts_channel_id": None,
        "incidents_data": None,
        "hub_type": None,
        "latest_onboarding_question_id": None,
        # GUILD_CREATE-only fields
        "joined_at": iso_now(),
        "large": False,
        "unavailable": False,
        "member_count": len(guild.members),
        "voice_states": [],
        "members": copy.deepcopy(list(guild.members.values())),
        "channels": [{k: v for k, v in c.items() if k != "guild_id"} for c in own],
        "threads": [],
        "presences": [],
        "stage_instances": [],
        "guild_scheduled_events": [],
        "soundboard_sounds": [],
        "embedded_activities": [],
        "activity_instances": [],
        "application_command_counts": {},
        "lazy": True,
    }


def ready_payload(
    bot_user: dict[str, Any], application_id: int, session_id: str, guild_ids: list[int], resume_gateway_url: str
) -> dict[str, Any]:
    """READY's ``d`` for a session that will receive ``guild_ids`` (announced unavailable, then created)."""
    return {
        "v": 10,
        "user": {**copy.deepcopy(bot_user), "verified": True, "mfa_enabled": False, "email": None},
        "guilds": [{"id": str(gid), "unavailable": True} for gid in guild_ids],
        "session_id": session_id,
        "session_type": "normal",
        "resume_gateway_url": resume_gateway_url,
        "application": {"id": str(application_id), "flags": 0},
        "private_channels": [],
        "relationships": [],
        "presences": [],
        "guild_join_requests": [],
        "user_settings": {},
        "geo_ordered_rtc_regions": ["fake"],
        "auth": {},
        "_trace": ["fake-gateway"],
    }


def application_payload(
    application_id: int, bot_user: dict[str, Any], owner: dict[str, Any], guild_count: int
) -> dict[str, Any]:
    """The bot's application object (PrivateApplicationResponse)."""
    return {
        "id": str(application_id),
        "name": bot_user["username"],
        "icon": None,
        "description": "Answers questions about the Istanbul talks with attributed quotes.",
        "summary": "",
        "type": None,
        "bot": copy.deepcopy(bot_user),
        "bot_public": False,
        "bot_require_code_grant": False,
        "verify_key": secrets.token_hex(32),
        "flags": 0,
        "flags_new": "0",
        "hook": True,
        "is_monetized": False,
        "is_verified": False,
        "is_discoverable": False,
        "storefront_available": False,
        "redirect_uris": [],
        "interactions_endpoint_url": None,  # None, else discord.py warns that it receives no interactions
        "role_connections_verification_url": None,
        "owner": dict(owner),
        "approximate_guild_count": guild_count,
        "approximate_user_install_count": 0,
        "approximate_user_authorization_count": 0,
        "explicit_content_filter": 0,
        "team": None,
        "eligible_oauth2_scopes": ["applications.commands", "bot"],
        "integration_types_config": {"0": {}},
        "tags": [],
    }
