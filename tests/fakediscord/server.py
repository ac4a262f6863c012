"""A local fake of Discord's REST API, strict enough to catch real bot bugs, and the whole fake's front.

:class:`FakeDiscord` serves, on 127.0.0.1, the REST routes discord.py uses (login,
application info, command sync, interaction callbacks, webhook followups, channel
messages), hosted attachment files, and the gateway (``gateway.py``: sessions, shards,
heartbeats, RESUME). Every request body is validated against Discord's OpenAPI
description and documented limits; problems are recorded in :attr:`FakeDiscord.violations`
and answered with Discord's 400 error shape, never raised inside the server. Its guilds
are ``guilds.py``; the driver methods that play the users (:meth:`FakeDiscord.slash`,
:meth:`FakeDiscord.click`, ...) are ``interactions.py``.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import json
import logging
import re
import time
import unicodedata
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from . import models
from .gateway import Gateway, GatewayConnection, Session
from .guilds import FakeGuild, application_payload, guild_create_payload, neighbour_guild_id, ready_payload
from .interactions import InteractionDriver
from .models import (
    DEFAULT_BOT_PERMISSIONS,
    DEFAULT_MEMBER_PERMISSIONS,
    MESSAGE_FLAG_EPHEMERAL,
    MESSAGE_FLAG_LOADING,
    CallbackRecord,
    EditRecord,
    ErrorEvent,
    InteractionRecord,
    SnowflakeFactory,
    Violation,
    iso_now,
)
from .openapi import OpenAPISpec, Operation, load_spec, message_problems

log = logging.getLogger(__name__)

API_PREFIX = "/api/v10"

# Interaction types and the callback types Discord accepts for each.
_ALLOWED_CALLBACKS: dict[int, set[int]] = {
    2: {4, 5, 9},  # APPLICATION_COMMAND
    3: {4, 5, 6, 7, 9},  # MESSAGE_COMPONENT
    4: {8},  # APPLICATION_COMMAND_AUTOCOMPLETE
    5: {4, 5, 6, 7},  # MODAL_SUBMIT
}
# Message flags a bot may set when creating / editing (SUPPRESS_EMBEDS, EPHEMERAL,
# SUPPRESS_NOTIFICATIONS, IS_COMPONENTS_V2); anything else Discord rejects or ignores.
_CREATE_FLAGS = 4 | 64 | 4096 | 32768
_EDIT_FLAGS = 4 | 32768

_COMMAND_NAME_RE = re.compile(r"^[-_'\w]{1,32}$")


@dataclass
class Reply:
    """What a route handler answers: a status and a JSON body (None = no body)."""

    status: int
    body: Any = None


@dataclass
class RequestLog:
    """One REST request the fake received."""

    method: str
    path: str
    operation_id: str | None
    status: int
    at: float


@dataclass
class UploadedFile:
    """A ``files[n]`` part of a multipart request."""

    field_name: str
    filename: str
    content_type: str
    data: bytes


@dataclass
class _Ctx:
    """Per-request context handed to a route handler."""

    request: web.Request
    op: Operation
    route: str
    query: Mapping[str, str]
    body: Any
    files: list[UploadedFile]
    problems: list[str]


def _error(status: int, code: int, message: str, errors: dict[str, Any] | None = None) -> Reply:
    """Discord's JSON error shape."""
    body: dict[str, Any] = {"message": message, "code": code}
    if errors is not None:
        body["errors"] = errors
    return Reply(status, body)


def _errors_tree(problems: Iterable[str]) -> dict[str, Any]:
    """Turn ``a.b[0].c: msg`` problem strings into Discord's nested ``errors`` object."""
    tree: dict[str, Any] = {}
    for p in problems:
        where, _, msg = p.partition(": ")
        keys = [k for k in re.split(r"\.|\[(\d+)\]", where) if k] if where and where != "<body>" else ["_root"]
        node = tree
        for k in keys:
            node = node.setdefault(k, {})
        code = "BASE_TYPE_MAX_LENGTH" if "max" in msg.lower() or ">" in msg else "BASE_TYPE_INVALID"
        node.setdefault("_errors", []).append({"code": code, "message": msg or p})
    return tree


class FakeDiscord(InteractionDriver):
    """An in-process fake Discord (REST + gateway) for one bot in one or more guilds."""

    def __init__(
        self,
        token: str = "fake-bot-token",
        *,
        heartbeat_interval: float = 0.25,
        ack_deadline: float = 3.0,
        spec: OpenAPISpec | None = None,
        validate_responses: bool = True,
        bot_name: str = "talksbot",
        guild_name: str = "Istanbul Talks Watch",
        application_id: int | None = None,
        guild_id: int | None = None,
        channel_id: int | None = None,
        guilds: int = 1,
        guilds_per_shard: int = 1000,
        max_guilds_per_shard: int = 2500,
        max_concurrency: int = 1,
        identify_window: float = 5.0,
    ) -> None:
        """Build the fake's world (bot, app, guilds, channels, roles, a default member); call :meth:`start`.

        ``guilds`` is how many servers the bot is in (the first is :attr:`guild_id`, the one the
        driver uses unless told otherwise). Sharding follows Discord with these knobs:
        GET /gateway/bot recommends one shard per ``guilds_per_shard`` guilds (Discord: 1,000),
        a session holding more than ``max_guilds_per_shard`` guilds is closed with 4011
        (Discord: 2,500), and one IDENTIFY per ``identify_window`` seconds (Discord: 5) is
        allowed per bucket ``shard_id % max_concurrency``.
        """
        self.token = token
        self.heartbeat_interval = heartbeat_interval
        self.ack_deadline = ack_deadline
        self.spec = spec or load_spec()
        self.validate_responses = validate_responses
        self.snowflake = SnowflakeFactory()

        # --- the world
        self.application_id = application_id or self.snowflake()
        self.bot_user_id = self.application_id  # Discord bots share the app id
        self.owner_id = self.snowflake()
        self.guild_id = guild_id or self.snowflake()
        self.category_id = self.snowflake()
        self.channel_id = channel_id or self.snowflake()
        self.voice_channel_id = self.snowflake()
        self.bot_user = models.user_payload(self.bot_user_id, bot_name, bot=True, global_name=None)
        self.owner = models.user_payload(self.owner_id, "guildowner")
        self.guild_name = guild_name
        self.bot_role_id = self.snowflake()
        self.roles: list[dict[str, Any]] = [
            models.role_payload(self.guild_id, "@everyone", permissions=DEFAULT_MEMBER_PERMISSIONS),
            models.role_payload(self.snowflake(), "Moderator", permissions=str(models.PERM_MANAGE_GUILD), position=1),
            models.role_payload(
                self.bot_role_id,
                bot_name,
                permissions=DEFAULT_BOT_PERMISSIONS,
                position=2,
                managed=True,
                bot_id=self.bot_user_id,
            ),
        ]
        self.channels: list[dict[str, Any]] = [
            models.category_payload(self.category_id, self.guild_id, "Text Channels"),
            models.text_channel_payload(self.channel_id, self.guild_id, "general", parent_id=self.category_id),
            models.voice_channel_payload(
                self.voice_channel_id, self.guild_id, "General", parent_id=self.category_id, position=1
            ),
        ]
        self.members: dict[int, dict[str, Any]] = {}
        self.members[self.owner_id] = models.member_payload(self.owner, roles=[])
        self.members[self.bot_user_id] = models.member_payload(self.bot_user, roles=[str(self.bot_role_id)])
        # The first guild's roles and members are the attributes above (the same objects).
        self.guilds: dict[int, FakeGuild] = {
            self.guild_id: FakeGuild(self.guild_id, guild_name, self.channel_id, self.roles, self.members)
        }
        for k in range(1, guilds):
            self._add_guild(neighbour_guild_id(self.guild_id, k), f"Talks Watch {k + 1}", bot_name)
        self.default_member = self.member(name="alice")

        # --- recorded traffic (the gateway's own: self.gateway.connections, .identifies, .heartbeats)
        self.violations: list[Violation] = []
        self.response_violations: list[Violation] = []
        self.events: list[ErrorEvent] = []
        self.requests: list[RequestLog] = []
        self.global_commands: list[dict[str, Any]] = []
        self.guild_commands: dict[int, list[dict[str, Any]]] = {}
        self.sync_log: list[tuple[int | None, float, list[str]]] = []
        self.interactions: dict[int, InteractionRecord] = {}
        self._tokens: dict[str, InteractionRecord] = {}
        self.messages: dict[int, dict[str, Any]] = {}
        self.deleted_message_ids: set[int] = set()
        self._message_owner: dict[int, int] = {}  # message id -> interaction id
        self.channel_messages: dict[int, list[int]] = {}
        self._files: dict[int, tuple[str, bytes, str]] = {}

        # --- server state
        self.gateway = Gateway(
            self,
            heartbeat_interval=heartbeat_interval,
            max_concurrency=max_concurrency,
            identify_window=identify_window,
            guilds_per_shard=guilds_per_shard,
            max_guilds_per_shard=max_guilds_per_shard,
        )
        self._changed: asyncio.Event | None = None
        self._runner: web.AppRunner | None = None
        self.port: int | None = None
        self._handlers: dict[str, Callable[[_Ctx], Any]] = {
            "get_my_user": self._h_get_my_user,
            "get_gateway": self._h_get_gateway,
            "get_bot_gateway": self._h_get_bot_gateway,
            "get_my_oauth2_application": self._h_get_application,
            "get_my_application": self._h_get_application,
            "list_application_commands": self._h_list_commands,
            "list_guild_application_commands": self._h_list_commands,
            "bulk_set_application_commands": self._h_bulk_set_commands,
            "bulk_set_guild_application_commands": self._h_bulk_set_commands,
            "create_application_command": self._h_create_command,
            "create_guild_application_command": self._h_create_command,
            "create_interaction_response": self._h_interaction_callback,
            "execute_webhook": self._h_execute_webhook,
            "get_original_webhook_message": self._h_get_webhook_message,
            "get_webhook_message": self._h_get_webhook_message,
            "update_original_webhook_message": self._h_update_webhook_message,
            "update_webhook_message": self._h_update_webhook_message,
            "delete_original_webhook_message": self._h_delete_webhook_message,
            "delete_webhook_message": self._h_delete_webhook_message,
            "create_message": self._h_create_message,
            "get_message": self._h_get_message,
            "update_message": self._h_update_message,
            "delete_message": self._h_delete_message,
            "trigger_typing_indicator": self._h_typing,
            "get_channel": self._h_get_channel,
        }

    # ================================================================ lifecycle
    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:<port>``."""
        return f"http://127.0.0.1:{self.port}"

    @property
    def api_base(self) -> str:
        """The value for ``discord.http.Route.BASE``."""
        return self.base_url + API_PREFIX

    @property
    def gateway_url(self) -> str:
        """The value for ``DiscordWebSocket.DEFAULT_GATEWAY`` (and GET /gateway)."""
        return f"ws://127.0.0.1:{self.port}/gateway"

    @property
    def resume_gateway_url(self) -> str:
        """READY's ``resume_gateway_url``: a distinct path so a test can see the client used it."""
        return f"ws://127.0.0.1:{self.port}/resume-gateway"

    def launch_env(self) -> dict[str, str]:
        """Environment variables for ``launch.py``: a discord.py program in another process uses this fake."""
        return {"FAKEDISCORD_API_BASE": self.api_base, "FAKEDISCORD_GATEWAY": self.gateway_url}

    async def start(self) -> None:
        """Bind a random free port on 127.0.0.1 and serve."""
        self.gateway.bind()
        self._changed = asyncio.Event()
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_get("/gateway", self.gateway.handle)
        app.router.add_get("/resume-gateway", self.gateway.handle)
        app.router.add_get("/cdn/attachments/{channel_id}/{attachment_id}/{filename}", self._serve_attachment)
        app.router.add_route("*", API_PREFIX + "/{tail:.*}", self._api)
        app.router.add_route("*", "/{tail:.*}", self._outside_api)
        self._runner = web.AppRunner(app, access_log=None, handle_signals=False)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        server = site._server  # aiohttp exposes the bound port only here
        assert server is not None and server.sockets  # type: ignore[union-attr]
        self.port = server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        log.info("fake Discord listening on %s", self.base_url)

    async def stop(self) -> None:
        """Close gateway sockets and the HTTP server."""
        await self.gateway.close_all()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    # ================================================================== waiting
    def _notify(self) -> None:
        """Wake everyone waiting in :meth:`wait_until`."""
        if self._changed is not None:
            self._changed.set()
            self._changed = asyncio.Event()

    async def wait_until(self, predicate: Callable[[], Any], timeout: float = 5.0, what: str = "condition") -> Any:
        """Wait until ``predicate()`` is truthy (re-checked on every fake state change)."""
        deadline = time.monotonic() + timeout
        while True:
            value = predicate()
            if value:
                return value
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError(f"fake Discord: {what} not reached within {timeout}s")
            assert self._changed is not None
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._changed.wait(), remaining)

    async def wait_ready(self, timeout: float = 10.0, *, guild_id: int | None = None) -> None:
        """Wait until a session that gets the guild's events (default: the first guild) is READY and connected."""
        gid = self.guild_id if guild_id is None else guild_id
        await self.wait_until(lambda: self.gateway.serving(gid), timeout, f"a READY gateway session for guild {gid}")

    async def wait_all_served(self, timeout: float = 10.0) -> None:
        """Wait until every guild's shard has a READY, connected session."""
        await self.wait_until(
            lambda: all(self.gateway.serving(gid) for gid in self.guilds), timeout, "every guild served by a shard"
        )

    async def wait_for_sync(self, timeout: float = 10.0, count: int = 1) -> None:
        """Wait until at least ``count`` command syncs (global or guild) arrived."""
        await self.wait_until(lambda: len(self.sync_log) >= count, timeout, f"{count} command sync(s)")

    async def wait_resumed(self, count: int = 1, timeout: float = 10.0) -> None:
        """Wait until ``count`` RESUMEs have completed."""
        await self.wait_until(
            lambda: self.resume_count >= count and self.gateway.serving(self.guild_id),
            timeout,
            f"{count} gateway RESUME(s)",
        )

    # ============================================================ driver: world
    def member(
        self,
        user_id: int | None = None,
        name: str = "member",
        permissions: str = DEFAULT_MEMBER_PERMISSIONS,
        roles: Iterable[int | str] = (),
        *,
        nick: str | None = None,
    ) -> dict[str, Any]:
        """Build (and remember) a guild member.

        ``permissions`` is the interaction's bitfield string ("32" = Manage Server).
        """
        uid = user_id if user_id is not None else self.snowflake()
        role_ids = [self._role_id(r) for r in roles]
        user = models.user_payload(uid, name)
        member = models.member_payload(user, roles=role_ids, permissions=str(permissions), nick=nick)
        stored = copy.deepcopy(member)
        stored.pop("permissions", None)  # guild member lists never carry computed permissions
        self.members[uid] = stored
        return member

    def _role_id(self, role: int | str) -> str:
        """Accept a role id or a role name; return the id string."""
        for r in self.roles:
            if str(role) in (r["id"], r["name"]):
                return r["id"]
        raise ValueError(f"unknown role {role!r}; known: {[r['name'] for r in self.roles]}")

    def role(self, name: str) -> dict[str, Any]:
        """The role object with this name."""
        return next(r for r in self.roles if r["name"] == name)

    def add_text_channel(self, name: str, *, bot_denied: int = 0) -> int:
        """Add a text channel (before the bot connects, so GUILD_CREATE carries it); returns its id.

        ``bot_denied`` is a permission bitfield the channel denies the bot's role (e.g.
        ``PERM_SEND_MESSAGES``): messages the bot posts there then get Discord's 403.
        """
        channel_id = self.snowflake()
        channel = models.text_channel_payload(
            channel_id, self.guild_id, name, parent_id=self.category_id, position=len(self.channels)
        )
        if bot_denied:
            channel["permission_overwrites"] = [models.overwrite_payload(self.bot_role_id, deny=bot_denied)]
        self.channels.append(channel)
        return channel_id

    def bot_permissions_in(self, channel_id: int) -> int:
        """The bot's permissions in a channel of the guild (roles, then the channel's overwrites)."""
        channel = self._channel(channel_id)
        member = self.members[self.bot_user_id]
        if channel is None:
            return 0
        return models.channel_permissions(self.guild_id, self.roles, member["roles"], self.bot_user_id, channel)

    @property
    def text_channel(self) -> dict[str, Any]:
        """The guild's text channel object."""
        return self._channel(self.channel_id)  # type: ignore[return-value]

    def _channel(self, channel_id: int) -> dict[str, Any] | None:
        """The channel with this id, if it exists."""
        return next((c for c in self.channels if int(c["id"]) == int(channel_id)), None)

    def _add_guild(self, guild_id: int, name: str, bot_name: str) -> FakeGuild:
        """Another server the bot is in: a text channel, @everyone and the bot's role, its owner and the bot."""
        category_id, channel_id, bot_role_id = self.snowflake(), self.snowflake(), self.snowflake()
        roles = [
            models.role_payload(guild_id, "@everyone", permissions=DEFAULT_MEMBER_PERMISSIONS),
            models.role_payload(
                bot_role_id,
                bot_name,
                permissions=DEFAULT_BOT_PERMISSIONS,
                position=1,
                managed=True,
                bot_id=self.bot_user_id,
            ),
        ]
        self.channels += [
            models.category_payload(category_id, guild_id, "Text Channels"),
            models.text_channel_payload(channel_id, guild_id, "general", parent_id=category_id),
        ]
        members = {
            self.owner_id: models.member_payload(self.owner, roles=[]),
            self.bot_user_id: models.member_payload(self.bot_user, roles=[str(bot_role_id)]),
        }
        guild = self.guilds[guild_id] = FakeGuild(guild_id, name, channel_id, roles, members)
        return guild

    @property
    def guild_ids(self) -> list[int]:
        """Every guild the bot is in, the first one first."""
        return list(self.guilds)

    def guild_payload(self, guild_id: int | None = None) -> dict[str, Any]:
        """The full GUILD_CREATE payload of a guild (default: the first)."""
        guild = self.guilds[self.guild_id if guild_id is None else guild_id]
        return guild_create_payload(guild, self.channels, self.owner_id)

    def ready_payload(self, session_id: str, guild_ids: list[int]) -> dict[str, Any]:
        """READY's ``d`` for a new session that will receive ``guild_ids``."""
        return ready_payload(self.bot_user, self.application_id, session_id, guild_ids, self.resume_gateway_url)

    def application_payload(self) -> dict[str, Any]:
        """The bot's application object (PrivateApplicationResponse)."""
        return application_payload(self.application_id, self.bot_user, self.owner, len(self.guilds))

    def host_attachment(
        self,
        filename: str,
        data: bytes,
        content_type: str = "text/plain; charset=utf-8",
        *,
        ephemeral: bool = True,
    ) -> dict[str, Any]:
        """Host ``data`` on the fake CDN; return an attachment object for ``slash(...)`` options."""
        att_id = self.snowflake()
        self._files[att_id] = (filename, data, content_type)
        url = f"{self.base_url}/cdn/attachments/{self.channel_id}/{att_id}/{filename}"
        att: dict[str, Any] = {
            "id": str(att_id),
            "filename": filename,
            "size": len(data),
            "url": url,
            "proxy_url": url,
            "content_type": content_type,
        }
        if ephemeral:
            att["ephemeral"] = True  # slash-command uploads are ephemeral attachments
        return att

    def post_message(
        self,
        content: str = "",
        *,
        author: dict[str, Any] | None = None,
        channel_id: int | None = None,
        attachments: Iterable[dict[str, Any]] = (),
        embeds: Iterable[dict[str, Any]] = (),
    ) -> dict[str, Any]:
        """A member posts a message in a channel (default: the first guild's text channel); returns it.

        It is stored as Discord stores it (a MessageResponse: ``mentions`` and ``mention_roles``
        worked out from the content as Discord does, ``mention_everyone`` for @everyone/@here)
        and checked against the spec like the fake's own replies. The bot has no message intent,
        so nothing is dispatched: a message command (``message_command``) is how the bot sees it.
        """
        member = author or self.default_member
        cid = channel_id or self.channel_id
        if self._channel(cid) is None:
            raise ValueError(f"unknown channel {cid}")
        mid = self.snowflake()
        user_ids = dict.fromkeys(int(m) for m in re.findall(r"<@!?(\d+)>", content))
        msg: dict[str, Any] = {
            "type": 0,
            "content": content,
            "mentions": [copy.deepcopy(self.members[u]["user"]) for u in user_ids if u in self.members],
            "mention_roles": list(dict.fromkeys(re.findall(r"<@&(\d+)>", content))),
            "attachments": [copy.deepcopy(a) for a in attachments],
            "embeds": [copy.deepcopy(e) for e in embeds],
            "timestamp": iso_now(),
            "edited_timestamp": None,
            "flags": 0,
            "components": [],
            "id": str(mid),
            "channel_id": str(cid),
            "author": copy.deepcopy(member["user"]),
            "pinned": False,
            "mention_everyone": bool(re.search(r"@(everyone|here)\b", content)),
            "tts": False,
        }
        problems = self.spec.validate_component("MessageResponse", msg)
        if problems:
            self.response_violations.append(Violation("member message", problems, msg))
        self.messages[mid] = msg
        self.channel_messages.setdefault(cid, []).append(mid)
        return copy.deepcopy(msg)

    # ================================================================ messages
    def interaction_message_ids(self, rec: InteractionRecord) -> list[int]:
        """Ids of messages this interaction created or responded on, oldest first."""
        ids = [mid for mid, owner in self._message_owner.items() if owner == rec.id]
        if rec.original_message_id is not None and rec.original_message_id not in ids:
            ids.insert(0, rec.original_message_id)
        return ids

    # ========================================================= driver: gateway
    @property
    def session(self) -> Session | None:
        """The newest gateway session that gets the first guild's events."""
        return self.gateway.session_for(self.guild_id)

    @property
    def connections(self) -> list[GatewayConnection]:
        """Every gateway connection so far, oldest first."""
        return self.gateway.connections

    @property
    def heartbeats(self) -> list[float]:
        """Arrival times of every heartbeat on any connection (each connection also keeps its own)."""
        return self.gateway.heartbeats

    @property
    def presence_updates(self) -> list[dict[str, Any]]:
        """Op 3 payloads received."""
        return self.gateway.presence_updates

    @property
    def identify_count(self) -> int:
        """Accepted IDENTIFYs (sessions started); every attempt is in ``gateway.identifies``."""
        return self.gateway.identify_count

    @property
    def resume_count(self) -> int:
        """Completed RESUMEs."""
        return self.gateway.resume_count

    async def dispatch(self, event: str, data: dict[str, Any]) -> int:
        """Send a DISPATCH to the sessions of the guild it names (``guild_id``, or GUILD_CREATE's ``id``)."""
        raw = data.get("id") if event.startswith("GUILD_") and "guild_id" not in data else data.get("guild_id")
        return await self.gateway.dispatch(event, data, guild_id=int(raw) if raw is not None else None)

    async def drop_gateway(
        self,
        code: int = 4000,
        reason: str = "fake Discord dropped the connection",
        *,
        guild_id: int | None = None,
    ) -> None:
        """Close the live socket of a guild's shard (default: the first guild) with a resumable code."""
        await self.gateway.drop(self.guild_id if guild_id is None else guild_id, code, reason)

    async def invalidate_session(self, resumable: bool = False, *, guild_id: int | None = None) -> None:
        """Send op 9 INVALID_SESSION; with ``resumable=False`` the client must IDENTIFY again."""
        await self.gateway.invalidate(self.guild_id if guild_id is None else guild_id, resumable)

    def max_heartbeat_gap(self, since: float | None = None, until: float | None = None) -> float:
        """Longest time without a heartbeat within [since, until] (monotonic), counting open ends."""
        return self.gateway.max_heartbeat_gap(since, until)

    # ================================================================= checks
    @property
    def global_sync_count(self) -> int:
        """How many PUT /applications/{app}/commands arrived."""
        return sum(1 for g, _, _ in self.sync_log if g is None)

    @property
    def guild_sync_count(self) -> int:
        """How many PUT /applications/{app}/guilds/{guild}/commands arrived."""
        return sum(1 for g, _, _ in self.sync_log if g is not None)

    def problems(self) -> list[str]:
        """All violations (bot's and the fake's own replies), one line each; empty means clean."""
        lines = [str(v) for v in self.violations]
        lines += [f"[fake reply] {v}" for v in self.response_violations]
        return lines

    # ================================================================== REST
    async def _outside_api(self, request: web.Request) -> web.StreamResponse:
        """Anything not under /api/v10 (wrong base URL, other API version)."""
        self._violate(f"{request.method} {request.path}", ["request outside /api/v10 (wrong Route.BASE?)"])
        return _json_response(_error(404, 0, "404: Not Found"))

    async def _serve_attachment(self, request: web.Request) -> web.StreamResponse:
        """Serve a hosted attachment like Discord's CDN."""
        att_id = int(request.match_info["attachment_id"])
        entry = self._files.get(att_id)
        if entry is None or entry[0] != request.match_info["filename"]:
            return web.Response(status=404, text="Not Found")
        _filename, data, content_type = entry
        return web.Response(body=data, headers={"Content-Type": content_type})

    async def _api(self, request: web.Request) -> web.StreamResponse:
        """Route, authenticate, parse and validate one REST request, then run its handler."""
        path = "/" + request.match_info["tail"]
        method = request.method
        op, why = self.spec.match(method, path)
        if op is None:
            self._violate(f"{method} {path}", [why or "unknown route"])
            status = 405 if why and "not allowed" in why else 404
            reply = _error(status, 0, "405: Method Not Allowed" if status == 405 else "404: Not Found")
            self._log_request(method, path, None, reply.status)
            return _json_response(reply)
        route = f"{method} {op.template}"
        try:
            reply = await self._api_inner(request, op, route)
        except Exception as exc:  # never raise inside the server: record and answer like Discord would
            log.exception("fake Discord handler crashed on %s", route)
            self._violate(route, [f"fake Discord internal error: {exc!r}"])
            reply = _error(400, 0, f"fake Discord could not handle this request: {exc!r}")
        if self.validate_responses and 200 <= reply.status < 300:
            problems = self.spec.validate_response(op, reply.status, reply.body)
            if problems:
                self.response_violations.append(Violation(route, problems, reply.body))
        self._log_request(method, path, op.operation_id, reply.status)
        return _json_response(reply)

    async def _api_inner(self, request: web.Request, op: Operation, route: str) -> Reply:
        """Everything between routing and the handler."""
        problems = self.spec.validate_parameters(op, request.query)
        if not self._authorised(request, op):
            return _error(401, 0, "401: Unauthorized")
        body: Any = None
        files: list[UploadedFile] = []
        ctype = request.headers.get("Content-Type", "")
        raw = b""
        if ctype.startswith("multipart/form-data"):
            body, files, mp_problems = await self._read_multipart(request)
            problems += mp_problems
        elif request.can_read_body:
            raw = await request.read()
        if raw:
            if not ctype.startswith("application/json"):
                problems.append(f"body sent with Content-Type {ctype!r}, expected application/json")
            try:
                body = json.loads(raw)
            except ValueError:
                self._violate(route, ["request body is not valid JSON"])
                return _error(400, 50109, "The request body contains invalid JSON.")
        declared = self.spec.request_content_types(op)
        if body is not None or files:
            if not declared:
                problems.append(f"{op.operation_id} takes no request body")
            elif body is not None:
                problems += self.spec.validate_request(op, body)
        elif declared and self.spec.operation_object(op).get("requestBody", {}).get("required"):
            problems.append(f"{op.operation_id} requires a request body")
        handler = self._handlers.get(op.operation_id)
        if handler is None:
            self._violate(route, [*problems, f"fake Discord does not implement {op.operation_id}"], body)
            return _error(404, 0, "404: Not Found")
        ctx = _Ctx(request, op, route, request.query, body, files, problems)
        result = handler(ctx)
        if asyncio.iscoroutine(result):
            result = await result
        return result

    def _authorised(self, request: web.Request, op: Operation) -> bool:
        """Bot-token check; webhook and interaction-callback routes authenticate by their token instead."""
        if op.template.startswith(("/webhooks/{webhook_id}/{webhook_token}", "/interactions/")):
            auth = request.headers.get("Authorization")
            return auth is None or auth == f"Bot {self.token}"
        return request.headers.get("Authorization") == f"Bot {self.token}"

    async def _read_multipart(self, request: web.Request) -> tuple[Any, list[UploadedFile], list[str]]:
        """Split a multipart body into its ``payload_json`` and ``files[n]`` parts."""
        problems: list[str] = []
        payload: Any = None
        files: list[UploadedFile] = []
        reader = await request.multipart()
        while True:
            part = await reader.next()
            if part is None:
                break
            name = getattr(part, "name", None)
            if name == "payload_json":
                text = await part.text()  # type: ignore[union-attr]
                try:
                    payload = json.loads(text)
                except ValueError:
                    problems.append("payload_json: not valid JSON")
            elif name and re.fullmatch(r"files\[\d+\]", name):
                data = await part.read()  # type: ignore[union-attr]
                files.append(
                    UploadedFile(
                        name,
                        getattr(part, "filename", None) or "file",
                        part.headers.get("Content-Type", "application/octet-stream"),
                        bytes(data),
                    )
                )
            else:
                problems.append(f"unexpected multipart field {name!r} (Discord takes payload_json and files[n])")
        if payload is None:
            problems.append("multipart request without payload_json")
        if len(files) > 10:
            problems.append(f"{len(files)} files > 10")
        attachment_ids = {
            str(a.get("id")) for a in (_message_body(payload) or {}).get("attachments") or [] if isinstance(a, dict)
        }
        for f in files:
            idx = f.field_name[len("files[") : -1]
            if attachment_ids and idx not in attachment_ids:
                problems.append(f"{f.field_name} has no matching attachments[].id")
        return payload, files, problems

    def _log_request(self, method: str, path: str, op_id: str | None, status: int) -> None:
        """Keep a log of all REST traffic."""
        self.requests.append(RequestLog(method, path, op_id, status, time.monotonic()))
        self._notify()

    def _violate(self, route: str, reasons: list[str], body: Any = None, rec: InteractionRecord | None = None) -> None:
        """Record a violation (and on the interaction's record)."""
        v = Violation(route, list(reasons), body, rec.id if rec else None)
        self.violations.append(v)
        log.warning("fake Discord violation: %s", v)
        if rec is not None:
            rec.violations.append(v)
            rec._touch()
        self._notify()

    def _event(self, reply: Reply, route: str, rec: InteractionRecord | None) -> Reply:
        """Record a Discord error reply as an event (and on the interaction's record)."""
        body = reply.body or {}
        ev = ErrorEvent(
            int(body.get("code", 0)),
            str(body.get("message", "")),
            reply.status,
            route,
            rec.id if rec else None,
        )
        self.events.append(ev)
        if rec is not None:
            rec.errors.append(ev)
            rec._touch()
        self._notify()
        return reply

    def _invalid(self, ctx: _Ctx, problems: list[str], rec: InteractionRecord | None = None) -> Reply:
        """Record ``problems`` as a violation and answer 400 Invalid Form Body."""
        self._violate(ctx.route, problems, ctx.body, rec)
        return self._event(_error(400, 50035, "Invalid Form Body", _errors_tree(problems)), ctx.route, rec)

    # ------------------------------------------------------------- messages
    def _new_message(
        self,
        body: dict[str, Any],
        files: list[UploadedFile],
        *,
        channel_id: int,
        msg_type: int,
        flags: int,
        rec: InteractionRecord | None,
    ) -> dict[str, Any]:
        """Create and store a MessageResponse-shaped message from a request body."""
        mid = self.snowflake()
        msg: dict[str, Any] = {
            "type": msg_type,
            "content": "",
            "mentions": [],
            "mention_roles": [],
            "attachments": [],
            "embeds": [],
            "timestamp": iso_now(),
            "edited_timestamp": None,
            "flags": flags,
            "components": [],
            "id": str(mid),
            "channel_id": str(channel_id),
            "author": copy.deepcopy(self.bot_user),
            "pinned": False,
            "mention_everyone": False,
            "tts": bool(body.get("tts") or False),
        }
        if rec is not None:
            msg["webhook_id"] = str(self.application_id)
            msg["application_id"] = str(self.application_id)
            msg["interaction_metadata"] = self._interaction_metadata(rec)
        self._apply_body(msg, body, files, creating=True)
        self.messages[mid] = msg
        self.channel_messages.setdefault(channel_id, []).append(mid)
        if rec is not None:
            self._message_owner[mid] = rec.id
        return msg

    def _interaction_metadata(self, rec: InteractionRecord) -> dict[str, Any]:
        """A message's ``interaction_metadata`` for the interaction that produced it."""
        meta: dict[str, Any] = {
            "id": str(rec.id),
            "type": rec.payload["type"],
            "user": copy.deepcopy(rec.payload["member"]["user"] if "member" in rec.payload else rec.payload["user"]),
            "authorizing_integration_owners": dict(rec.payload["authorizing_integration_owners"]),
        }
        if rec.payload["type"] == 3:
            meta["interacted_message_id"] = rec.payload["message"]["id"]
        if rec.payload["type"] == 2 and rec.payload["data"].get("target_id"):
            target = rec.payload["data"]["target_id"]
            if rec.payload["data"].get("type") == 3:
                meta["target_message_id"] = target
            else:  # a user command
                meta["target_user"] = copy.deepcopy(rec.payload["data"]["resolved"]["users"][target])
        if rec.original_message_id is not None:
            meta["original_response_message_id"] = str(rec.original_message_id)
        if rec.payload["type"] == 5 and rec.parent is not None:
            meta["triggering_interaction_metadata"] = self._interaction_metadata(rec.parent)
        return meta

    def _apply_body(
        self, msg: dict[str, Any], body: dict[str, Any], files: list[UploadedFile], *, creating: bool
    ) -> None:
        """Apply content/embeds/components/attachments of a create or edit body to ``msg``."""
        if "content" in body:
            msg["content"] = body["content"] or ""
        if "embeds" in body:
            msg["embeds"] = [_embed_response(e) for e in body["embeds"] or []]
        if "components" in body:
            counter = iter(range(1, 10_000))
            msg["components"] = [_component_response(c, counter) for c in body["components"] or []]
        if "attachments" in body or files:
            by_index = {f.field_name[len("files[") : -1]: f for f in files}
            kept: list[dict[str, Any]] = []
            existing = {a["id"]: a for a in msg.get("attachments", [])}
            for a in body.get("attachments") or []:
                aid = str(a.get("id"))
                if aid in by_index:
                    kept.append(self._store_upload(by_index.pop(aid), int(msg["channel_id"]), a))
                elif aid in existing:
                    kept.append(existing[aid])
            for f in by_index.values():  # files sent without an attachments entry are still attached
                kept.append(self._store_upload(f, int(msg["channel_id"]), {}))
            msg["attachments"] = kept

    def _store_upload(self, f: UploadedFile, channel_id: int, meta: dict[str, Any]) -> dict[str, Any]:
        """Host an uploaded file and return its attachment object."""
        att = self.host_attachment(meta.get("filename") or f.filename, f.data, f.content_type, ephemeral=False)
        if meta.get("description"):
            att["description"] = meta["description"]
        return att

    def _message_checks(self, body: Any, files: list[UploadedFile], *, creating: bool, allowed_flags: int) -> list[str]:
        """Limits, product rules and flag checks for one message body."""
        if body is None:
            body = {}
        problems = message_problems(body, creating=creating, has_files=bool(files))
        flags = body.get("flags") if isinstance(body, dict) else None
        if isinstance(flags, int) and flags & ~allowed_flags:
            problems.append(f"flags: {flags} sets bits Discord does not accept here (allowed mask {allowed_flags})")
        return problems

    # ------------------------------------------------------------- handlers
    def _h_get_my_user(self, ctx: _Ctx) -> Reply:
        """GET /users/@me."""
        user = copy.deepcopy(self.bot_user)
        user.update({"mfa_enabled": False, "locale": "en-US", "premium_type": 0, "email": None, "verified": True})
        user.pop("primary_guild", None)
        return Reply(200, user)

    def _h_get_gateway(self, ctx: _Ctx) -> Reply:
        """GET /gateway."""
        return Reply(200, {"url": self.gateway_url})

    def _h_get_bot_gateway(self, ctx: _Ctx) -> Reply:
        """GET /gateway/bot: the url, the recommended shard count and the session start limits."""
        return Reply(200, self.gateway.bot_gateway())

    def _h_get_application(self, ctx: _Ctx) -> Reply:
        """GET /oauth2/applications/@me and /applications/@me."""
        return Reply(200, self.application_payload())

    def _scope(self, ctx: _Ctx) -> tuple[int | None, Reply | None]:
        """Check the app (and guild) of a command route; return (guild id or None, error reply)."""
        if int(ctx.op.path_params["application_id"]) != self.application_id:
            return None, self._event(_error(403, 50001, "Missing Access"), ctx.route, None)
        gid = ctx.op.path_params.get("guild_id")
        if gid is not None and int(gid) not in self.guilds:
            return None, self._event(_error(403, 50001, "Missing Access"), ctx.route, None)
        return (int(gid) if gid is not None else None), None

    def _h_list_commands(self, ctx: _Ctx) -> Reply:
        """GET the global or guild command list."""
        guild, err = self._scope(ctx)
        if err:
            return err
        cmds = self.global_commands if guild is None else self.guild_commands.get(guild, [])
        return Reply(200, copy.deepcopy(cmds))

    def _command_response(
        self, item: dict[str, Any], guild: int | None, previous: list[dict[str, Any]]
    ) -> dict[str, Any]:
        """Turn a command create/update body into the stored ApplicationCommandResponse."""
        t = item.get("type") or 1
        old = next((c for c in previous if c["name"] == item["name"] and c["type"] == t), None)
        dmp = item.get("default_member_permissions")
        cmd: dict[str, Any] = {
            "id": old["id"] if old else str(self.snowflake()),
            "application_id": str(self.application_id),
            "version": str(self.snowflake()),
            "default_member_permissions": None if dmp is None else str(dmp),
            "type": t,
            "name": item["name"],
            "description": item.get("description") or "",
            "dm_permission": item.get("dm_permission", True) if item.get("dm_permission") is not None else True,
            "contexts": item.get("contexts"),
            "integration_types": item.get("integration_types") or [0],
            "nsfw": bool(item.get("nsfw") or False),
        }
        for key in ("name_localizations", "description_localizations"):
            if item.get(key) is not None:
                cmd[key] = item[key]
        if item.get("options"):
            cmd["options"] = [_strip_nulls(o) for o in item["options"]]
        if guild is not None:
            cmd["guild_id"] = str(guild)
        return cmd

    def _h_bulk_set_commands(self, ctx: _Ctx) -> Reply:
        """PUT (overwrite) global or guild commands; records every sync."""
        guild, err = self._scope(ctx)
        if err:
            return err
        items = ctx.body if isinstance(ctx.body, list) else []
        problems = ctx.problems + _command_list_problems(items)
        if problems:
            return self._invalid(ctx, problems)
        previous = self.global_commands if guild is None else self.guild_commands.get(guild, [])
        cmds = [self._command_response(i, guild, previous) for i in items]
        if guild is None:
            self.global_commands = cmds
        else:
            self.guild_commands[guild] = cmds
        self.sync_log.append((guild, time.monotonic(), [c["name"] for c in cmds]))
        self._notify()
        return Reply(200, copy.deepcopy(cmds))

    def _h_create_command(self, ctx: _Ctx) -> Reply:
        """POST one command (upsert by name)."""
        guild, err = self._scope(ctx)
        if err:
            return err
        problems = ctx.problems + _command_list_problems([ctx.body] if isinstance(ctx.body, dict) else [])
        if problems:
            return self._invalid(ctx, problems)
        previous = self.global_commands if guild is None else self.guild_commands.setdefault(guild, [])
        cmd = self._command_response(ctx.body, guild, previous)
        rest = [c for c in previous if c["id"] != cmd["id"]]
        if guild is None:
            self.global_commands = [*rest, cmd]
        else:
            self.guild_commands[guild] = [*rest, cmd]
        self._notify()
        return Reply(201, copy.deepcopy(cmd))

    def _h_interaction_callback(self, ctx: _Ctx) -> Reply:
        """POST /interactions/{id}/{token}/callback: Discord's 3-second and respond-once rules."""
        rec = (
            self.interactions.get(int(ctx.op.path_params["interaction_id"]))
            if ctx.op.path_params["interaction_id"].isdigit()
            else None
        )
        if rec is None or rec.token != ctx.op.path_params["interaction_token"]:
            return self._event(_error(404, 10062, "Unknown interaction"), ctx.route, rec)
        now = time.monotonic()
        body = ctx.body if isinstance(ctx.body, dict) else {}
        cb_type = body.get("type")
        cb = CallbackRecord(cb_type, body.get("data"), now, now - rec.created_at, 0)
        rec.callbacks.append(cb)
        reply = self._callback_reply(ctx, rec, body, cb_type, now)
        cb.status = reply.status
        if reply.status >= 400 and isinstance(reply.body, dict):
            cb.error_code = reply.body.get("code")
        rec._touch(rec.original_message_id)
        return reply

    def _callback_reply(
        self, ctx: _Ctx, rec: InteractionRecord, body: dict[str, Any], cb_type: Any, now: float
    ) -> Reply:
        """Decide and apply the initial response."""
        if rec.acknowledged:
            return self._event(_error(400, 40060, "Interaction has already been acknowledged."), ctx.route, rec)
        if now - rec.created_at > self.ack_deadline:
            return self._event(_error(404, 10062, "Unknown interaction"), ctx.route, rec)
        problems = list(ctx.problems)
        itype = rec.payload["type"]
        if isinstance(cb_type, int) and cb_type not in _ALLOWED_CALLBACKS.get(itype, set()):
            problems.append(f"type: callback type {cb_type} is not valid for interaction type {itype}")
        data = body.get("data") if isinstance(body.get("data"), dict) else None
        if cb_type == 4:
            problems += self._message_checks(data, ctx.files, creating=True, allowed_flags=_CREATE_FLAGS)
        elif cb_type == 7:
            problems += self._message_checks(data or {}, ctx.files, creating=False, allowed_flags=_EDIT_FLAGS)
        elif cb_type == 5 and data and (data.get("flags") or 0) & ~MESSAGE_FLAG_EPHEMERAL:
            problems.append("data.flags: a deferred response may only set EPHEMERAL (64)")
        elif cb_type == 9:
            problems += _modal_problems(data)
        if problems:
            return self._invalid(ctx, problems, rec)

        rec.response_type = cb_type
        rec.acknowledged_at = now
        channel_id = int(rec.payload["channel_id"])
        interaction: dict[str, Any] = {
            "id": str(rec.id),
            "type": itype,
            "channel_id": str(channel_id),
            "guild_id": rec.payload.get("guild_id", str(self.guild_id)),
        }
        result: dict[str, Any] = {"interaction": interaction}
        # Discord's message types: 20 answers a slash command, 23 a user or message command (Apps menu).
        msg_type = (23 if rec.payload["data"].get("type") in (2, 3) else 20) if itype == 2 else 0
        if cb_type == 4:
            msg = self._new_message(
                data or {},
                ctx.files,
                channel_id=channel_id,
                msg_type=msg_type,
                flags=(data or {}).get("flags") or 0,
                rec=rec,
            )
            rec.original_message_id = int(msg["id"])
            interaction.update(
                response_message_id=msg["id"],
                response_message_loading=False,
                response_message_ephemeral=bool(msg["flags"] & MESSAGE_FLAG_EPHEMERAL),
            )
            result["resource"] = {"type": 4, "message": copy.deepcopy(msg)}
        elif cb_type == 5:
            flags = MESSAGE_FLAG_LOADING | ((data or {}).get("flags") or 0) & MESSAGE_FLAG_EPHEMERAL
            msg = self._new_message({}, [], channel_id=channel_id, msg_type=msg_type, flags=flags, rec=rec)
            rec.original_message_id = int(msg["id"])
            interaction.update(
                response_message_id=msg["id"],
                response_message_loading=True,
                response_message_ephemeral=bool(flags & MESSAGE_FLAG_EPHEMERAL),
            )
        elif cb_type in (6, 7):
            mid = int(rec.payload["message"]["id"])
            rec.original_message_id = mid
            interaction.update(
                response_message_id=str(mid),
                response_message_loading=False,
                response_message_ephemeral=bool(self.messages[mid]["flags"] & MESSAGE_FLAG_EPHEMERAL),
            )
            if cb_type == 7:
                msg = self.messages[mid]
                self._apply_body(msg, data or {}, ctx.files, creating=False)
                msg["edited_timestamp"] = iso_now()
                result["resource"] = {"type": 7, "message": copy.deepcopy(msg)}
        elif cb_type == 8:
            rec.autocomplete_choices = list((data or {}).get("choices") or [])
        elif cb_type == 9:
            rec.modal = data
        if "with_response" not in ctx.query:
            return Reply(204)
        return Reply(200, result)

    def _webhook_rec(self, ctx: _Ctx) -> tuple[InteractionRecord | None, Reply | None]:
        """The interaction behind ``/webhooks/{app}/{token}``; 10015 if unknown or not yet acknowledged."""
        rec = self._tokens.get(ctx.op.path_params["webhook_token"])
        if rec is None or ctx.op.path_params["webhook_id"] != str(self.application_id):
            return None, self._event(_error(404, 10015, "Unknown Webhook"), ctx.route, rec)
        if not rec.acknowledged:
            # The interaction webhook only exists once the interaction has been responded to.
            return rec, self._event(_error(404, 10015, "Unknown Webhook"), ctx.route, rec)
        return rec, None

    def _webhook_target(self, ctx: _Ctx, rec: InteractionRecord) -> tuple[int | None, Reply | None]:
        """Resolve ``@original`` or a message id to a message of this interaction."""
        raw = ctx.op.path_params.get("message_id", "@original")
        if raw == "@original" or "message_id" not in ctx.op.path_params:
            mid = rec.original_message_id
        else:
            mid = int(raw) if raw.isdigit() else None
            if mid is not None and mid not in self.interaction_message_ids(rec):
                mid = None
        if mid is None or mid not in self.messages or mid in self.deleted_message_ids:
            return None, self._event(_error(404, 10008, "Unknown Message"), ctx.route, rec)
        return mid, None

    def _h_execute_webhook(self, ctx: _Ctx) -> Reply:
        """POST /webhooks/{app}/{token}: followups; the first after a type-5 defer fills the original."""
        rec, err = self._webhook_rec(ctx)
        if err or rec is None:
            return err  # type: ignore[return-value]
        body = ctx.body if isinstance(ctx.body, dict) else {}
        problems = ctx.problems + self._message_checks(body, ctx.files, creating=True, allowed_flags=_CREATE_FLAGS)
        if problems:
            return self._invalid(ctx, problems, rec)
        original = self.messages.get(rec.original_message_id or -1)
        if rec.response_type == 5 and original is not None and original["flags"] & MESSAGE_FLAG_LOADING:
            self._apply_body(original, body, ctx.files, creating=True)
            original["flags"] &= ~MESSAGE_FLAG_LOADING
            msg = original
        else:
            msg = self._new_message(
                body,
                ctx.files,
                channel_id=int(rec.payload["channel_id"]),
                msg_type=0,
                flags=body.get("flags") or 0,
                rec=rec,
            )
        rec.followups.append(copy.deepcopy(msg))
        rec._touch(int(msg["id"]))
        wait = ctx.query.get("wait", "false").lower() in ("1", "true")
        return Reply(200, copy.deepcopy(msg)) if wait else Reply(204)

    def _h_get_webhook_message(self, ctx: _Ctx) -> Reply:
        """GET @original or a followup by id."""
        rec, err = self._webhook_rec(ctx)
        if err or rec is None:
            return err  # type: ignore[return-value]
        mid, err = self._webhook_target(ctx, rec)
        if err or mid is None:
            return err  # type: ignore[return-value]
        return Reply(200, copy.deepcopy(self.messages[mid]))

    def _h_update_webhook_message(self, ctx: _Ctx) -> Reply:
        """PATCH @original or a followup; filling a deferred (loading) original counts as creating it."""
        rec, err = self._webhook_rec(ctx)
        if err or rec is None:
            return err  # type: ignore[return-value]
        mid, err = self._webhook_target(ctx, rec)
        if err or mid is None:
            return err  # type: ignore[return-value]
        msg = self.messages[mid]
        loading = bool(msg["flags"] & MESSAGE_FLAG_LOADING)
        body = ctx.body if isinstance(ctx.body, dict) else {}
        target = ctx.op.path_params.get("message_id", "@original")
        problems = ctx.problems + self._message_checks(body, ctx.files, creating=loading, allowed_flags=_EDIT_FLAGS)
        now = time.monotonic()
        if problems:
            rec.edits.append(EditRecord(target, mid, body, now, 400))
            return self._invalid(ctx, problems, rec)
        self._apply_body(msg, body, ctx.files, creating=False)
        if isinstance(body.get("flags"), int):
            keep = msg["flags"] & (MESSAGE_FLAG_EPHEMERAL | MESSAGE_FLAG_LOADING)
            msg["flags"] = keep | body["flags"]
        if loading:
            msg["flags"] &= ~MESSAGE_FLAG_LOADING
        else:
            msg["edited_timestamp"] = iso_now()
        rec.edits.append(EditRecord(target, mid, body, now, 200))
        rec._touch(mid)
        return Reply(200, copy.deepcopy(msg))

    def _h_delete_webhook_message(self, ctx: _Ctx) -> Reply:
        """DELETE @original or a followup."""
        rec, err = self._webhook_rec(ctx)
        if err or rec is None:
            return err  # type: ignore[return-value]
        mid, err = self._webhook_target(ctx, rec)
        if err or mid is None:
            return err  # type: ignore[return-value]
        self.deleted_message_ids.add(mid)
        rec.deletes.append(mid)
        rec._touch(mid)
        return Reply(204)

    def _channel_or_404(self, ctx: _Ctx) -> tuple[int | None, Reply | None]:
        """The channel id of a channel route, or 10003."""
        raw = ctx.op.path_params["channel_id"]
        ch = self._channel(int(raw)) if raw.isdigit() else None
        if ch is None:
            return None, self._event(_error(404, 10003, "Unknown Channel"), ctx.route, None)
        return int(ch["id"]), None

    def _missing_access(self, ctx: _Ctx, cid: int, body: dict[str, Any] | None) -> Reply | None:
        """Discord's 403s for a bot that may not see a channel (50001) or post there (50013)."""
        perms = self.bot_permissions_in(cid)
        if not perms & models.PERM_VIEW_CHANNEL:
            return self._event(_error(403, 50001, "Missing Access"), ctx.route, None)
        if body is None:
            return None
        if not perms & models.PERM_SEND_MESSAGES:
            return self._event(_error(403, 50013, "Missing Permissions"), ctx.route, None)
        if body.get("embeds") and not body.get("content") and not perms & models.PERM_EMBED_LINKS:
            return self._event(_error(403, 50013, "Missing Permissions"), ctx.route, None)
        return None

    def _h_create_message(self, ctx: _Ctx) -> Reply:
        """POST /channels/{id}/messages."""
        cid, err = self._channel_or_404(ctx)
        if err or cid is None:
            return err  # type: ignore[return-value]
        body = ctx.body if isinstance(ctx.body, dict) else {}
        refused = self._missing_access(ctx, cid, body)
        if refused is not None:
            return refused
        problems = ctx.problems + self._message_checks(
            body, ctx.files, creating=True, allowed_flags=_CREATE_FLAGS & ~MESSAGE_FLAG_EPHEMERAL
        )
        if problems:
            return self._invalid(ctx, problems)
        msg_type = 19 if body.get("message_reference") else 0
        msg = self._new_message(
            body, ctx.files, channel_id=cid, msg_type=msg_type, flags=body.get("flags") or 0, rec=None
        )
        self._notify()
        return Reply(200, copy.deepcopy(msg))

    def _channel_message(self, ctx: _Ctx) -> tuple[int | None, Reply | None]:
        """A message id of a channel route, or 10008."""
        cid, err = self._channel_or_404(ctx)
        if err or cid is None:
            return None, err
        raw = ctx.op.path_params["message_id"]
        mid = int(raw) if raw.isdigit() else -1
        if mid not in self.channel_messages.get(cid, []) or mid in self.deleted_message_ids:
            return None, self._event(_error(404, 10008, "Unknown Message"), ctx.route, None)
        return mid, None

    def _h_get_message(self, ctx: _Ctx) -> Reply:
        """GET /channels/{id}/messages/{id}."""
        mid, err = self._channel_message(ctx)
        return err if err or mid is None else Reply(200, copy.deepcopy(self.messages[mid]))  # type: ignore[return-value]

    def _h_update_message(self, ctx: _Ctx) -> Reply:
        """PATCH /channels/{id}/messages/{id}."""
        mid, err = self._channel_message(ctx)
        if err or mid is None:
            return err  # type: ignore[return-value]
        body = ctx.body if isinstance(ctx.body, dict) else {}
        problems = ctx.problems + self._message_checks(body, ctx.files, creating=False, allowed_flags=_EDIT_FLAGS)
        if problems:
            return self._invalid(ctx, problems)
        msg = self.messages[mid]
        self._apply_body(msg, body, ctx.files, creating=False)
        msg["edited_timestamp"] = iso_now()
        self._notify()
        return Reply(200, copy.deepcopy(msg))

    def _h_delete_message(self, ctx: _Ctx) -> Reply:
        """DELETE /channels/{id}/messages/{id}."""
        mid, err = self._channel_message(ctx)
        if err or mid is None:
            return err  # type: ignore[return-value]
        self.deleted_message_ids.add(mid)
        self._notify()
        return Reply(204)

    def _h_typing(self, ctx: _Ctx) -> Reply:
        """POST /channels/{id}/typing."""
        _cid, err = self._channel_or_404(ctx)
        return err if err else Reply(204)  # type: ignore[return-value]

    def _h_get_channel(self, ctx: _Ctx) -> Reply:
        """GET /channels/{id}."""
        cid, err = self._channel_or_404(ctx)
        if err or cid is None:
            return err  # type: ignore[return-value]
        refused = self._missing_access(ctx, cid, None)
        return refused if refused is not None else Reply(200, copy.deepcopy(self._channel(cid)))


# ---------------------------------------------------------------------------
def _json_response(reply: Reply) -> web.Response:
    """Build the HTTP response; Content-Type must be exactly application/json for discord.py."""
    if reply.body is None:
        return web.Response(status=reply.status)
    return web.Response(
        status=reply.status,
        body=json.dumps(reply.body).encode(),
        headers={"Content-Type": "application/json"},
    )


def _message_body(payload: Any) -> dict[str, Any] | None:
    """The message part of a request: the callback's ``data`` or the body itself."""
    if not isinstance(payload, dict):
        return None
    if "type" in payload and isinstance(payload.get("data"), dict) and set(payload) <= {"type", "data"}:
        return payload["data"]
    return payload


def _strip_nulls(obj: Any) -> Any:
    """Drop null members recursively (Discord omits unset option fields in responses)."""
    if isinstance(obj, dict):
        return {k: _strip_nulls(v) for k, v in obj.items() if v is not None}
    if isinstance(obj, list):
        return [_strip_nulls(v) for v in obj]
    return obj


def _embed_response(embed: dict[str, Any]) -> dict[str, Any]:
    """Echo an embed the way Discord does (``type: rich``, nulls dropped)."""
    out = _strip_nulls(copy.deepcopy(embed))
    out.setdefault("type", "rich")
    for f in out.get("fields", []):
        f.setdefault("inline", False)
    return out


def _component_response(comp: dict[str, Any], counter: Iterable[int]) -> dict[str, Any]:
    """Echo a component the way Discord does: nulls dropped and a numeric ``id`` on every component."""
    out = _strip_nulls(copy.deepcopy(comp))
    it = iter(counter)
    out.setdefault("id", next(it))
    if isinstance(out.get("components"), list):
        out["components"] = [_component_response(c, it) for c in out["components"]]
    return out


def _command_list_problems(items: list[Any]) -> list[str]:
    """Rules Discord enforces on command definitions beyond the schema."""
    problems: list[str] = []
    seen: set[tuple[str, int]] = set()
    for i, c in enumerate(items):
        if not isinstance(c, dict) or "name" not in c:
            continue
        t = c.get("type") or 1
        key = (c["name"], t)
        if key in seen:
            problems.append(f"[{i}].name: duplicate command {c['name']!r}")
        seen.add(key)
        if t == 1:
            problems += _chat_input_problems(c, f"[{i}]")
        elif t in (2, 3):
            problems += _context_menu_problems(c, f"[{i}]")
    if sum(1 for c in items if isinstance(c, dict) and (c.get("type") or 1) == 1) > 100:
        problems.append("more than 100 chat-input commands")
    return problems


def _chat_input_problems(c: dict[str, Any], where: str) -> list[str]:
    """Name/description/option-order rules for a chat-input command or option tree."""
    problems: list[str] = []
    name = c.get("name", "")
    if (
        not _COMMAND_NAME_RE.match(name)
        or name != name.lower()
        or any(unicodedata.category(ch).startswith("Z") for ch in name)
    ):
        problems.append(f"{where}.name: {name!r} must be 1-32 lowercase characters without spaces")
    desc = c.get("description") or ""
    if not 1 <= len(desc) <= 100:
        problems.append(f"{where}.description: chat-input commands and options need a 1-100 char description")
    options = c.get("options") or []
    seen_optional = False
    names: set[str] = set()
    for j, o in enumerate(options):
        w = f"{where}.options[{j}]"
        if o.get("name") in names:
            problems.append(f"{w}.name: duplicate option {o.get('name')!r}")
        names.add(o.get("name"))
        if o.get("type") in (1, 2):
            problems += _chat_input_problems(o, w)
            continue
        if o.get("required"):
            if seen_optional:
                problems.append(f"{w}: required options must come before optional ones")
        else:
            seen_optional = True
        if not _COMMAND_NAME_RE.match(o.get("name", "")) or o.get("name") != str(o.get("name")).lower():
            problems.append(f"{w}.name: {o.get('name')!r} must be 1-32 lowercase characters")
        if not 1 <= len(o.get("description") or "") <= 100:
            problems.append(f"{w}.description: needs 1-100 chars")
        if len(o.get("choices") or []) > 25:
            problems.append(f"{w}.choices: more than 25")
        if o.get("choices") and o.get("autocomplete"):
            problems.append(f"{w}: choices and autocomplete are mutually exclusive")
    return problems


def _context_menu_problems(c: dict[str, Any], where: str) -> list[str]:
    """A user or message command (Apps menu): a 1-32 character name (spaces and capitals allowed),
    an empty description, no options."""
    problems: list[str] = []
    name = c.get("name", "")
    if not 1 <= len(name) <= 32 or name != name.strip():
        problems.append(f"{where}.name: {name!r} must be 1-32 characters without leading or trailing spaces")
    if c.get("description"):
        problems.append(f"{where}.description: user and message commands take an empty description")
    if c.get("options"):
        problems.append(f"{where}.options: user and message commands take no options")
    return problems


def _modal_problems(data: dict[str, Any] | None) -> list[str]:
    """A modal needs custom_id (<=100), title (<=45) and 1-5 components."""
    if not data:
        return ["data: a modal needs data"]
    problems = []
    if not 1 <= len(data.get("custom_id") or "") <= 100:
        problems.append("data.custom_id: needs 1-100 chars")
    if not 1 <= len(data.get("title") or "") <= 45:
        problems.append("data.title: needs 1-45 chars")
    if not 1 <= len(data.get("components") or []) <= 5:
        problems.append("data.components: needs 1-5 components")
    return problems
