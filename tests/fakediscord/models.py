"""Payload builders and the records the fake keeps about interactions, errors and violations."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .gateway import GatewayConnection
    from .server import FakeDiscord

log = logging.getLogger(__name__)

DISCORD_EPOCH_MS = 1420070400000

# Permission bits (https://discord.com/developers/docs/topics/permissions).
PERM_MANAGE_GUILD = 1 << 5
PERM_ADMINISTRATOR = 1 << 3
PERM_VIEW_CHANNEL = 1 << 10
PERM_SEND_MESSAGES = 1 << 11
PERM_EMBED_LINKS = 1 << 14
PERM_ATTACH_FILES = 1 << 15
PERM_READ_MESSAGE_HISTORY = 1 << 16
PERM_USE_EXTERNAL_EMOJIS = 1 << 18
PERM_ADD_REACTIONS = 1 << 6
PERM_USE_APPLICATION_COMMANDS = 1 << 31
PERM_SEND_MESSAGES_IN_THREADS = 1 << 38

#: What an ordinary member may do in the text channel (no Manage Server).
DEFAULT_MEMBER_PERMISSIONS = str(
    PERM_VIEW_CHANNEL
    | PERM_SEND_MESSAGES
    | PERM_EMBED_LINKS
    | PERM_ATTACH_FILES
    | PERM_READ_MESSAGE_HISTORY
    | PERM_ADD_REACTIONS
    | PERM_USE_EXTERNAL_EMOJIS
    | PERM_USE_APPLICATION_COMMANDS
    | PERM_SEND_MESSAGES_IN_THREADS
)
#: What the bot may do in the text channel (interaction ``app_permissions``).
DEFAULT_BOT_PERMISSIONS = DEFAULT_MEMBER_PERMISSIONS

MESSAGE_FLAG_EPHEMERAL = 1 << 6
MESSAGE_FLAG_LOADING = 1 << 7


class SnowflakeFactory:
    """Monotonic, realistic snowflakes (timestamp << 22 | counter)."""

    def __init__(self) -> None:
        """Start the per-process counter."""
        self._counter = itertools.count(1)

    def __call__(self) -> int:
        """Return a fresh snowflake."""
        ms = int(time.time() * 1000) - DISCORD_EPOCH_MS
        return (ms << 22) | (1 << 17) | (next(self._counter) & 0xFFF)


def iso_now() -> str:
    """Current UTC time in Discord's ISO-8601 form."""
    return datetime.now(UTC).isoformat()


def user_payload(user_id: int, name: str, *, bot: bool = False, global_name: str | None = None) -> dict[str, Any]:
    """A UserResponse-shaped user object."""
    data: dict[str, Any] = {
        "id": str(user_id),
        "username": name,
        "avatar": None,
        "discriminator": "0",
        "public_flags": 0,
        "flags": 0,
        "banner": None,
        "accent_color": None,
        "global_name": global_name if global_name is not None else (None if bot else name.title()),
        "avatar_decoration_data": None,
        "collectibles": None,
        "primary_guild": None,
    }
    if bot:
        data["bot"] = True
    return data


def role_payload(
    role_id: int,
    name: str,
    *,
    permissions: str = "0",
    position: int = 0,
    managed: bool = False,
    bot_id: int | None = None,
) -> dict[str, Any]:
    """A guild role object."""
    data: dict[str, Any] = {
        "id": str(role_id),
        "name": name,
        "description": None,
        "color": 0,
        "colors": {"primary_color": 0, "secondary_color": None, "tertiary_color": None},
        "hoist": False,
        "icon": None,
        "unicode_emoji": None,
        "position": position,
        "permissions": permissions,
        "managed": managed,
        "mentionable": False,
        "flags": 0,
    }
    if bot_id is not None:
        data["tags"] = {"bot_id": str(bot_id)}
    return data


def text_channel_payload(
    channel_id: int, guild_id: int, name: str, *, parent_id: int | None, position: int = 0
) -> dict[str, Any]:
    """A guild text channel object (type 0)."""
    return {
        "id": str(channel_id),
        "type": 0,
        "guild_id": str(guild_id),
        "name": name,
        "position": position,
        "permission_overwrites": [],
        "parent_id": None if parent_id is None else str(parent_id),
        "nsfw": False,
        "topic": None,
        "rate_limit_per_user": 0,
        "last_message_id": None,
        "last_pin_timestamp": None,
        "flags": 0,
        "default_thread_rate_limit_per_user": 0,
        "default_auto_archive_duration": 4320,
    }


def overwrite_payload(target_id: int | str, *, kind: int = 0, allow: int = 0, deny: int = 0) -> dict[str, Any]:
    """A channel permission overwrite for a role (``kind`` 0) or a member (1)."""
    return {"id": str(target_id), "type": kind, "allow": str(allow), "deny": str(deny)}


def channel_permissions(
    guild_id: int, roles: list[dict[str, Any]], member_roles: list[str], member_id: int, channel: dict[str, Any]
) -> int:
    """A member's permissions in a channel, computed as Discord documents it (base, then overwrites)."""
    by_id = {r["id"]: int(r["permissions"]) for r in roles}
    base = by_id.get(str(guild_id), 0)
    for role_id in member_roles:
        base |= by_id.get(str(role_id), 0)
    if base & PERM_ADMINISTRATOR:
        return (1 << 53) - 1
    overwrites = {
        (o["type"], o["id"]): (int(o["allow"]), int(o["deny"])) for o in channel.get("permission_overwrites", [])
    }
    allow, deny = overwrites.get((0, str(guild_id)), (0, 0))
    perms = (base & ~deny) | allow
    role_allow = role_deny = 0
    for role_id in member_roles:
        a, d = overwrites.get((0, str(role_id)), (0, 0))
        role_allow, role_deny = role_allow | a, role_deny | d
    perms = (perms & ~role_deny) | role_allow
    allow, deny = overwrites.get((1, str(member_id)), (0, 0))
    return (perms & ~deny) | allow


def category_payload(channel_id: int, guild_id: int, name: str, position: int = 0) -> dict[str, Any]:
    """A guild category object (type 4)."""
    return {
        "id": str(channel_id),
        "type": 4,
        "guild_id": str(guild_id),
        "name": name,
        "position": position,
        "permission_overwrites": [],
        "parent_id": None,
        "nsfw": False,
        "flags": 0,
    }


def voice_channel_payload(
    channel_id: int, guild_id: int, name: str, *, parent_id: int | None, position: int = 0
) -> dict[str, Any]:
    """A guild voice channel object (type 2)."""
    return {
        "id": str(channel_id),
        "type": 2,
        "guild_id": str(guild_id),
        "name": name,
        "position": position,
        "permission_overwrites": [],
        "parent_id": None if parent_id is None else str(parent_id),
        "nsfw": False,
        "bitrate": 64000,
        "user_limit": 0,
        "rtc_region": None,
        "video_quality_mode": 1,
        "rate_limit_per_user": 0,
        "last_message_id": None,
        "flags": 0,
    }


def member_payload(
    user: dict[str, Any],
    *,
    roles: list[str],
    permissions: str | None = None,
    nick: str | None = None,
    joined_at: str | None = None,
) -> dict[str, Any]:
    """A guild member object; ``permissions`` is present only in interaction payloads."""
    data: dict[str, Any] = {
        "user": user,
        "nick": nick,
        "avatar": None,
        "banner": None,
        "roles": roles,
        "joined_at": joined_at or iso_now(),
        "premium_since": None,
        "deaf": False,
        "mute": False,
        "flags": 0,
        "pending": False,
        "communication_disabled_until": None,
        "unusual_dm_activity_until": None,
    }
    if permissions is not None:
        data["permissions"] = permissions
    return data


@dataclass
class Violation:
    """A request that Discord would reject, or that breaks a product rule."""

    route: str
    reasons: list[str]
    body: Any = None
    interaction_id: int | None = None
    at: float = field(default_factory=time.monotonic)

    def __str__(self) -> str:
        """One line per reason, prefixed by the route."""
        return "\n".join(f"{self.route}: {r}" for r in self.reasons)


@dataclass
class ErrorEvent:
    """A Discord error the fake returned (10062 late ack, 40060 double ack, 10015, 10008, ...)."""

    code: int
    message: str
    status: int
    route: str
    interaction_id: int | None = None
    at: float = field(default_factory=time.monotonic)


@dataclass
class CallbackRecord:
    """One POST to the interaction callback route, successful or not."""

    type: int | None
    data: dict[str, Any] | None
    at: float
    latency: float
    status: int
    error_code: int | None = None


@dataclass
class EditRecord:
    """One PATCH of an interaction's message (``@original`` or by id)."""

    target: str
    message_id: int | None
    body: dict[str, Any]
    at: float
    status: int


def visible_state(message: dict[str, Any], *, deleted: bool = False) -> dict[str, Any]:
    """The compact view a test asserts on: content, embeds, components, flags, ephemeral."""
    flags = int(message.get("flags") or 0)
    return {
        "id": int(message["id"]),
        "content": message.get("content", ""),
        "embeds": message.get("embeds", []),
        "components": message.get("components", []),
        "attachments": message.get("attachments", []),
        "flags": flags,
        "ephemeral": bool(flags & MESSAGE_FLAG_EPHEMERAL),
        "loading": bool(flags & MESSAGE_FLAG_LOADING),
        "deleted": deleted,
    }


class InteractionRecord:
    """Everything the fake saw for one dispatched interaction, with async waiting helpers."""

    def __init__(
        self,
        fake: FakeDiscord,
        payload: dict[str, Any],
        *,
        kind: str,
        name: str | None,
        custom_id: str | None,
    ) -> None:
        """Create the record for ``payload`` (the INTERACTION_CREATE ``d``)."""
        self._fake = fake
        self.payload = payload
        self.id: int = int(payload["id"])
        self.token: str = payload["token"]
        self.kind = kind
        self.name = name
        self.custom_id = custom_id
        self.created_at: float = time.monotonic()
        self.dispatched_at: float | None = None
        self.callbacks: list[CallbackRecord] = []
        self.followups: list[dict[str, Any]] = []
        self.edits: list[EditRecord] = []
        self.deletes: list[int] = []
        self.errors: list[ErrorEvent] = []
        self.violations: list[Violation] = []
        self.response_type: int | None = None
        self.acknowledged_at: float | None = None
        self.original_message_id: int | None = None
        self.modal: dict[str, Any] | None = None
        self.autocomplete_choices: list[dict[str, Any]] | None = None
        self.component_message_id: int | None = None  # the clicked message, for component interactions
        self.parent: InteractionRecord | None = None  # the interaction whose modal this one submits
        # Gateway connections that carried the INTERACTION_CREATE (live or replayed on RESUME).
        self.delivered_on: list[GatewayConnection] = []
        self.last_activity: float = self.created_at
        self._touched: list[int] = []  # message ids in order of last change
        self._changed = asyncio.Event()

    def __repr__(self) -> str:
        """Short summary for assertion messages."""
        return (
            f"<InteractionRecord {self.kind} {self.name or self.custom_id!r} id={self.id} "
            f"callbacks={[c.type for c in self.callbacks]} errors={self.error_codes} "
            f"followups={len(self.followups)} edits={len(self.edits)}>"
        )

    # ------------------------------------------------------------------ state
    def _touch(self, message_id: int | None = None) -> None:
        """Note activity and wake waiters; called by the server on the loop."""
        self.last_activity = time.monotonic()
        if message_id is not None:
            if message_id in self._touched:
                self._touched.remove(message_id)
            self._touched.append(message_id)
        self._changed.set()
        self._changed = asyncio.Event()

    @property
    def shards(self) -> list[tuple[int, int] | None]:
        """The (shard id, shard count) of each connection that carried this interaction."""
        return [conn.shard for conn in self.delivered_on]

    @property
    def acknowledged(self) -> bool:
        """Whether an initial response was accepted."""
        return self.response_type is not None

    @property
    def ack_latency(self) -> float | None:
        """Seconds from dispatch to the first callback request (accepted or not); None if none came."""
        return self.callbacks[0].latency if self.callbacks else None

    @property
    def error_codes(self) -> list[int]:
        """Discord error codes returned for this interaction, in order."""
        return [e.code for e in self.errors]

    @property
    def messages(self) -> list[dict[str, Any]]:
        """Full MessageResponse objects of this interaction (original, followups), in creation order."""
        return [self._fake.messages[m] for m in self._fake.interaction_message_ids(self)]

    @property
    def original(self) -> dict[str, Any] | None:
        """The ``@original`` message object, if any."""
        if self.original_message_id is None:
            return None
        return self._fake.messages.get(self.original_message_id)

    def final_state(self) -> dict[str, Any] | None:
        """The latest visible result, or None while nothing final is visible yet.

        Final means: a reply (type 4/7), a deferred reply (type 5) that a followup or
        edit has filled in, a deferred update (type 6) that was acknowledged, a modal,
        or autocomplete choices. The most recently changed message wins.
        """
        if self.response_type is None:
            return None
        if self.response_type == 9:
            return {"modal": self.modal}
        if self.response_type == 8:
            return {"choices": self.autocomplete_choices}
        for mid in reversed(self._touched):
            msg = self._fake.messages.get(mid)
            if msg is None:
                continue
            state = visible_state(msg, deleted=mid in self._fake.deleted_message_ids)
            if state["loading"]:
                continue
            return state
        return None

    # --------------------------------------------------------------- waiting
    async def wait_for(self, predicate: Callable[[InteractionRecord], Any], timeout: float = 5.0) -> Any:
        """Wait until ``predicate(self)`` is truthy and return it; TimeoutError with a summary otherwise."""
        deadline = time.monotonic() + timeout
        while True:
            value = predicate(self)
            if value:
                return value
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError(f"condition not met within {timeout}s: {self!r}")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._changed.wait(), remaining)

    async def wait_final(self, timeout: float = 5.0, *, settle: float = 0.1) -> dict[str, Any]:
        """Wait for the final visible message state, then for ``settle`` s of quiet (catches later edits).

        The settle window is a quiescence check, not a synchronising sleep: it returns
        as soon as no new request for this interaction arrived for ``settle`` seconds.
        """
        deadline = time.monotonic() + timeout
        while True:
            state = self.final_state()
            now = time.monotonic()
            if state is not None and now - self.last_activity >= settle:
                return state
            if now >= deadline:
                if state is not None:
                    return state
                raise TimeoutError(f"no final response within {timeout}s: {self!r}")
            wake = deadline if state is None else min(deadline, self.last_activity + settle)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._changed.wait(), max(0.0, wake - now))
