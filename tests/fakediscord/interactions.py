"""The fake's driver: it plays Discord's users, building interactions and delivering them on the gateway.

:class:`InteractionDriver` is a part of :class:`~fakediscord.server.FakeDiscord` (a mixin, so
tests keep calling ``fake.slash(...)``): it builds each interaction from the commands the bot
synced (options typed, checked and resolved as Discord's client would send them), in a guild's
channel or a DM, records it and sends INTERACTION_CREATE on the guild's shard. A test asking
for something Discord's client could never send (an unknown option, a disabled button) gets a
``ValueError``, not an interaction.
"""

from __future__ import annotations

import copy
import secrets
import time
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from .models import DEFAULT_BOT_PERMISSIONS, DEFAULT_MEMBER_PERMISSIONS, InteractionRecord

if TYPE_CHECKING:
    from collections.abc import Callable

    from .gateway import Gateway
    from .guilds import FakeGuild
    from .models import SnowflakeFactory

__all__ = ["ATTACHMENT_SIZE_LIMIT", "InteractionDriver"]

ATTACHMENT_SIZE_LIMIT = 10 * 1024 * 1024


class InteractionDriver:
    """The users' side of FakeDiscord: slash commands, autocomplete, buttons, selects and modals."""

    # Provided by FakeDiscord (the world, the recorded traffic and the gateway).
    if TYPE_CHECKING:
        application_id: int
        guild_id: int
        channel_id: int
        guilds: dict[int, FakeGuild]
        roles: list[dict[str, Any]]
        members: dict[int, dict[str, Any]]
        default_member: dict[str, Any]
        snowflake: SnowflakeFactory
        global_commands: list[dict[str, Any]]
        guild_commands: dict[int, list[dict[str, Any]]]
        interactions: dict[int, InteractionRecord]
        _tokens: dict[str, InteractionRecord]
        messages: dict[int, dict[str, Any]]
        deleted_message_ids: set[int]
        gateway: Gateway

        def _channel(self, channel_id: int) -> dict[str, Any] | None: ...
        def _role_id(self, role: int | str) -> str: ...
        def interaction_message_ids(self, rec: InteractionRecord) -> list[int]: ...
        async def wait_until(self, predicate: Callable[[], Any], timeout: float = ..., what: str = ...) -> Any: ...

    def find_command(self, name: str, type_: int = 1, guild_id: int | None = None) -> tuple[dict[str, Any], int | None]:
        """The synced command definition (that guild's version first) and its guild id (None = global)."""
        gid = self.guild_id if guild_id is None else guild_id
        for c in self.guild_commands.get(gid, []):
            if c["name"] == name and c.get("type", 1) == type_:
                return c, gid
        for c in self.global_commands:
            if c["name"] == name and c.get("type", 1) == type_:
                return c, None
        known = sorted(
            {c["name"] for c in self.global_commands} | {c["name"] for c in self.guild_commands.get(gid, [])}
        )
        raise ValueError(f"no synced command {name!r} (type {type_}); synced: {known}")

    def _interaction_base(
        self,
        type_: int,
        data: dict[str, Any],
        member: dict[str, Any] | None,
        channel_id: int | None,
        locale: str,
        dm: bool = False,
    ) -> dict[str, Any]:
        """Fields every guild interaction carries (or, with ``dm``, an interaction in the bot's DMs)."""
        if dm:
            return self._dm_interaction_base(type_, data, member, locale)
        member = copy.deepcopy(member or self.default_member)
        member.setdefault("permissions", DEFAULT_MEMBER_PERMISSIONS)
        channel = copy.deepcopy(self._channel(channel_id or self.channel_id))
        if channel is None or "guild_id" not in channel:
            raise ValueError(f"unknown guild channel {channel_id}")
        channel["permissions"] = member["permissions"]
        guild_id = channel["guild_id"]  # the interaction comes from the guild the channel is in
        return {
            "id": str(self.snowflake()),
            "application_id": str(self.application_id),
            "type": type_,
            "data": data,
            "guild_id": guild_id,
            "guild": {"id": guild_id, "locale": "en-US", "features": []},
            "channel_id": channel["id"],
            "channel": channel,
            "member": member,
            "token": "aW50ZXJhY3Rpb246" + secrets.token_urlsafe(48),
            "version": 1,
            "app_permissions": DEFAULT_BOT_PERMISSIONS,
            "locale": locale,
            "guild_locale": "en-US",
            "entitlements": [],
            "entitlement_sku_ids": [],
            "authorizing_integration_owners": {"0": guild_id},
            "context": 0,
            "attachment_size_limit": ATTACHMENT_SIZE_LIMIT,
        }

    def _dm_interaction_base(
        self, type_: int, data: dict[str, Any], member: dict[str, Any] | None, locale: str
    ) -> dict[str, Any]:
        """An interaction from the bot's DM with a user: ``user`` instead of ``member``, no guild."""
        user = copy.deepcopy((member or self.default_member)["user"])
        channel = {"id": str(self.snowflake()), "type": 1, "last_message_id": None, "flags": 0, "recipients": [user]}
        return {
            "id": str(self.snowflake()),
            "application_id": str(self.application_id),
            "type": type_,
            "data": data,
            "channel_id": channel["id"],
            "channel": channel,
            "user": user,
            "token": "aW50ZXJhY3Rpb246" + secrets.token_urlsafe(48),
            "version": 1,
            "app_permissions": DEFAULT_BOT_PERMISSIONS,
            "locale": locale,
            "entitlements": [],
            "entitlement_sku_ids": [],
            "authorizing_integration_owners": {"0": str(self.guild_id)},
            "context": 1,
            "attachment_size_limit": ATTACHMENT_SIZE_LIMIT,
        }

    def _option_value(
        self,
        opt_def: dict[str, Any],
        value: Any,
        resolved: dict[str, dict[str, Any]],
        attachments: Mapping[str, dict[str, Any]],
    ) -> Any:
        """Convert a test-supplied value to the wire value for this option type, filling ``resolved``."""
        t, name = opt_def["type"], opt_def["name"]
        if t == 11:
            att = attachments.get(name, value)
            if not isinstance(att, dict) or "url" not in att:
                raise ValueError(f"option {name!r} is an attachment: pass fake.host_attachment(...)")
            resolved.setdefault("attachments", {})[att["id"]] = att
            return att["id"]
        if t in (6, 9) and isinstance(value, dict) and ("user" in value or "username" in value):
            user = value.get("user", value)
            resolved.setdefault("users", {})[user["id"]] = user
            if "user" in value:
                m = {k: v for k, v in value.items() if k != "user"}
                m.setdefault("permissions", DEFAULT_MEMBER_PERMISSIONS)
                resolved.setdefault("members", {})[user["id"]] = m
            return user["id"]
        if t in (8, 9):
            try:
                rid = self._role_id(value)
            except ValueError:
                if t == 8:
                    raise
            else:
                resolved.setdefault("roles", {})[rid] = next(r for r in self.roles if r["id"] == rid)
                return rid
        if t == 6:
            m = self.members.get(int(value))
            if m is None:
                raise ValueError(f"option {name!r}: unknown user {value!r}")
            resolved.setdefault("users", {})[m["user"]["id"]] = m["user"]
            return m["user"]["id"]
        if t == 7:
            ch = self._channel(int(value))
            if ch is None:
                raise ValueError(f"option {name!r}: unknown channel {value!r}")
            resolved.setdefault("channels", {})[ch["id"]] = {
                "id": ch["id"],
                "name": ch["name"],
                "type": ch["type"],
                "permissions": DEFAULT_MEMBER_PERMISSIONS,
                "parent_id": ch.get("parent_id"),
                "flags": 0,
            }
            return ch["id"]
        if t == 3:
            if not isinstance(value, str):
                raise ValueError(f"option {name!r} is a STRING, got {value!r}")
            lo, hi = opt_def.get("min_length") or 0, opt_def.get("max_length") or 6000
            if not lo <= len(value) <= hi:
                raise ValueError(f"option {name!r}: Discord's client only allows {lo}..{hi} chars")
        elif t == 4:
            if isinstance(value, bool) or not isinstance(value, int):
                raise ValueError(f"option {name!r} is an INTEGER, got {value!r}")
        elif t == 10:
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise ValueError(f"option {name!r} is a NUMBER, got {value!r}")
        elif t == 5 and not isinstance(value, bool):
            raise ValueError(f"option {name!r} is a BOOLEAN, got {value!r}")
        if t in (4, 10):
            lo, hi = opt_def.get("min_value"), opt_def.get("max_value")
            if (lo is not None and value < lo) or (hi is not None and value > hi):
                raise ValueError(f"option {name!r}: Discord's client only allows {lo}..{hi}")
        choices = opt_def.get("choices")
        if choices and value not in [c["value"] for c in choices] and not opt_def.get("autocomplete"):
            raise ValueError(f"option {name!r} must be one of {[c['value'] for c in choices]}")
        return value

    def _build_options(
        self,
        defs: list[dict[str, Any]],
        options: Mapping[str, Any] | Iterable[Any] | None,
        attachments: Mapping[str, dict[str, Any]],
        focused: str | None = None,
    ) -> tuple[list[dict[str, Any]], dict[str, dict[str, Any]]]:
        """Build the wire options from ``{name: value}``, checking names, types and required ones."""
        if options is None:
            pairs: list[tuple[str, Any]] = []
        elif isinstance(options, Mapping):
            pairs = list(options.items())
        else:
            pairs = [(o["name"], o["value"]) if isinstance(o, Mapping) else tuple(o) for o in options]  # type: ignore[misc]
        for name in attachments:
            if name not in dict(pairs):
                pairs.append((name, attachments[name]))
        by_name = {d["name"]: d for d in defs}
        resolved: dict[str, dict[str, Any]] = {}
        built: list[dict[str, Any]] = []
        for name, value in pairs:
            d = by_name.get(name)
            if d is None or d["type"] in (1, 2):
                raise ValueError(f"unknown option {name!r}; the command has {sorted(by_name)}")
            if focused == name:
                built.append({"name": name, "type": d["type"], "value": str(value), "focused": True})
                continue
            built.append(
                {
                    "name": name,
                    "type": d["type"],
                    "value": self._option_value(d, value, resolved, attachments),
                }
            )
        given = {n for n, _ in pairs}
        missing = [d["name"] for d in defs if d.get("required") and d["name"] not in given]
        if missing and focused is None:
            raise ValueError(f"missing required option(s) {missing}: Discord's client would not send this")
        return built, resolved

    def _command_data(
        self,
        name: str,
        options: Any,
        subcommand: str | None,
        attachments: Mapping[str, dict[str, Any]] | None,
        focused: str | None = None,
        guild_id: int | None = None,
    ) -> dict[str, Any]:
        """The ``data`` object of an APPLICATION_COMMAND / AUTOCOMPLETE interaction."""
        cmd, scope = self.find_command(name, 1, guild_id)
        defs: list[dict[str, Any]] = cmd.get("options") or []
        wrappers: list[dict[str, Any]] = []
        for part in (subcommand or "").split():
            d = next((o for o in defs if o["name"] == part and o["type"] in (1, 2)), None)
            if d is None:
                raise ValueError(f"/{name} has no subcommand (group) {part!r}")
            wrappers.append(d)
            defs = d.get("options") or []
        if any(o["type"] in (1, 2) for o in defs):
            raise ValueError(f"/{name} {subcommand or ''}: choose a subcommand from {[o['name'] for o in defs]}")
        built, resolved = self._build_options(defs, options, dict(attachments or {}), focused)
        for w in reversed(wrappers):
            built = [{"name": w["name"], "type": w["type"], "options": built}]
        data: dict[str, Any] = {"id": cmd["id"], "name": name, "type": 1}
        if built:
            data["options"] = built
        if resolved:
            data["resolved"] = resolved
        if scope is not None:
            data["guild_id"] = str(scope)
        return data

    async def slash(
        self,
        name: str,
        options: Mapping[str, Any] | Iterable[Any] | None = None,
        *,
        member: dict[str, Any] | None = None,
        subcommand: str | None = None,
        attachments: Mapping[str, dict[str, Any]] | None = None,
        channel_id: int | None = None,
        locale: str = "en-US",
        wait_connected: bool = True,
        dm: bool = False,
        guild_id: int | None = None,
    ) -> InteractionRecord:
        """Dispatch a slash-command INTERACTION_CREATE (type 2) built from the synced definition.

        With ``wait_connected=False`` it is queued even while the socket is down and
        reaches the bot only through RESUME's replay (the 3-second clock still runs).
        With ``dm=True`` it comes from the user's DM with the bot (no guild, no member).
        ``guild_id`` picks the server (default: the channel's, else the first guild); it is
        delivered on that guild's shard.
        """
        if guild_id is not None and channel_id is None and not dm:
            channel_id = self.guilds[guild_id].channel_id
        elif guild_id is None and channel_id is not None and not dm:
            guild_id = int((self._channel(channel_id) or {}).get("guild_id") or self.guild_id)
        data = self._command_data(name, options, subcommand, attachments, guild_id=guild_id)
        payload = self._interaction_base(2, data, member, channel_id, locale, dm=dm)
        label = f"/{name}" + (f" {subcommand}" if subcommand else "")
        return await self._dispatch_interaction(
            payload, kind="slash", name=label, custom_id=None, wait_connected=wait_connected
        )

    async def message_command(
        self,
        name: str,
        message: dict[str, Any] | int,
        *,
        member: dict[str, Any] | None = None,
        locale: str = "en-US",
    ) -> InteractionRecord:
        """Run a message command (Apps -> ``name``) on a message: APPLICATION_COMMAND with data.type 3.

        ``message`` is a message the fake holds (from ``post_message``, or one the bot sent). As
        Discord does, the interaction carries the message whole in ``data.resolved.messages``,
        content included: the bot needs no message-content intent to read it.
        """
        mid = int(message["id"] if isinstance(message, dict) else message)
        msg = self.messages.get(mid)
        if msg is None or mid in self.deleted_message_ids:
            raise ValueError(f"no live message {mid}: a user cannot open its Apps menu")
        channel_id = int(msg["channel_id"])
        channel = self._channel(channel_id)
        guild_id = int(channel["guild_id"]) if channel and "guild_id" in channel else None
        cmd, scope = self.find_command(name, 3, guild_id)
        data: dict[str, Any] = {
            "id": cmd["id"],
            "name": name,
            "type": 3,
            "target_id": str(mid),
            "resolved": {"messages": {str(mid): copy.deepcopy(msg)}},
        }
        if scope is not None:
            data["guild_id"] = str(scope)
        payload = self._interaction_base(2, data, member, channel_id, locale)
        return await self._dispatch_interaction(payload, kind="message_command", name=name, custom_id=None)

    async def autocomplete(
        self,
        name: str,
        options: Mapping[str, Any],
        focused: str,
        *,
        member: dict[str, Any] | None = None,
        subcommand: str | None = None,
    ) -> InteractionRecord:
        """Dispatch an APPLICATION_COMMAND_AUTOCOMPLETE (type 4) with ``focused`` as the typed option."""
        data = self._command_data(name, options, subcommand, None, focused=focused)
        payload = self._interaction_base(4, data, member, None, "en-US")
        return await self._dispatch_interaction(payload, kind="autocomplete", name=f"/{name}", custom_id=None)

    def _find_component(
        self, target: InteractionRecord | dict[str, Any] | int, custom_id: str
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        """The (current message, component) holding ``custom_id``; ValueError if a user could not click it."""
        if isinstance(target, InteractionRecord):
            ids = list(reversed(self.interaction_message_ids(target)))
        elif isinstance(target, dict):
            ids = [int(target["id"])]
        else:
            ids = [int(target)]
        for mid in ids:
            msg = self.messages.get(mid)
            if msg is None or mid in self.deleted_message_ids:
                continue
            for comp in _iter_components(msg.get("components", [])):
                if comp.get("custom_id") == custom_id:
                    if comp.get("disabled"):
                        raise ValueError(f"component {custom_id!r} is disabled: a user cannot use it")
                    return msg, comp
        raise ValueError(f"no live message of {target!r} has a component with custom_id {custom_id!r}")

    async def click(
        self,
        target: InteractionRecord | dict[str, Any] | int,
        custom_id: str,
        *,
        member: dict[str, Any] | None = None,
    ) -> InteractionRecord:
        """Click a button (MESSAGE_COMPONENT, component_type 2) on a message the bot sent."""
        msg, comp = self._find_component(target, custom_id)
        if comp.get("type") != 2 or comp.get("style") == 5:
            raise ValueError(f"{custom_id!r} is not a clickable (non-link) button")
        data = {"custom_id": custom_id, "component_type": 2, "id": comp.get("id")}
        return await self._component_interaction(msg, data, member, custom_id)

    async def select(
        self,
        target: InteractionRecord | dict[str, Any] | int,
        custom_id: str,
        values: list[str],
        *,
        member: dict[str, Any] | None = None,
    ) -> InteractionRecord:
        """Choose ``values`` in a string select menu (component_type 3)."""
        msg, comp = self._find_component(target, custom_id)
        if comp.get("type") != 3:
            raise ValueError(f"{custom_id!r} is not a string select")
        allowed = [o["value"] for o in comp.get("options", [])]
        if any(v not in allowed for v in values):
            raise ValueError(f"values {values} not among options {allowed}")
        data = {"custom_id": custom_id, "component_type": 3, "values": list(values), "id": comp.get("id")}
        return await self._component_interaction(msg, data, member, custom_id)

    async def submit_modal(
        self, rec: InteractionRecord, values: Mapping[str, Any], *, member: dict[str, Any] | None = None
    ) -> InteractionRecord:
        """Submit the modal ``rec`` was answered with (MODAL_SUBMIT, type 5); ``values`` by custom_id."""
        if rec.modal is None:
            raise ValueError(f"{rec!r} was not answered with a modal")
        counter = iter(range(1, 10_000))
        unused = set(values)

        def fill(comp: dict[str, Any]) -> dict[str, Any]:
            out: dict[str, Any] = {"type": comp["type"], "id": comp.get("id") or next(counter)}
            if comp["type"] == 1:
                out["components"] = [fill(c) for c in comp.get("components", [])]
            elif comp["type"] == 18:
                out["component"] = fill(comp["component"])
            elif comp["type"] == 4:
                cid = comp["custom_id"]
                value = str(values.get(cid, comp.get("value") or ""))
                unused.discard(cid)
                lo, hi = comp.get("min_length") or 0, comp.get("max_length") or 4000
                if comp.get("required", True) and not value:
                    raise ValueError(f"text input {cid!r} is required")
                if value and not lo <= len(value) <= hi:
                    raise ValueError(f"text input {cid!r} takes {lo}..{hi} chars")
                out.update(custom_id=cid, value=value)
            elif comp["type"] in (3, 5, 6, 7, 8):
                cid = comp["custom_id"]
                unused.discard(cid)
                out.update(custom_id=cid, values=list(values.get(cid, [])), component_type=comp["type"])
            return out

        components = [fill(c) for c in rec.modal.get("components", [])]
        if unused:
            raise ValueError(f"the modal has no inputs {sorted(unused)}")
        data = {"custom_id": rec.modal["custom_id"], "components": components}
        payload = self._interaction_base(5, data, member, int(rec.payload["channel_id"]), "en-US")
        if "message" in rec.payload:
            payload["message"] = copy.deepcopy(rec.payload["message"])  # modal opened from a component
        return await self._dispatch_interaction(
            payload, kind="modal", name=rec.name, custom_id=rec.modal["custom_id"], parent=rec
        )

    async def _component_interaction(
        self, msg: dict[str, Any], data: dict[str, Any], member: dict[str, Any] | None, custom_id: str
    ) -> InteractionRecord:
        """Dispatch a MESSAGE_COMPONENT interaction about ``msg``."""
        payload = self._interaction_base(3, data, member, int(msg["channel_id"]), "en-US")
        payload["message"] = copy.deepcopy(msg)
        rec = await self._dispatch_interaction(
            payload, kind="component", name=None, custom_id=custom_id, message_id=int(msg["id"])
        )
        return rec

    async def _dispatch_interaction(
        self,
        payload: dict[str, Any],
        *,
        kind: str,
        name: str | None,
        custom_id: str | None,
        message_id: int | None = None,
        wait_connected: bool = True,
        parent: InteractionRecord | None = None,
    ) -> InteractionRecord:
        """Record and send INTERACTION_CREATE on the guild's shard (DMs: shard 0); the 3-second clock starts now."""
        guild_id = int(payload["guild_id"]) if "guild_id" in payload else None
        if wait_connected:
            await self.wait_until(lambda: self.gateway.serving(guild_id), 10.0, f"a shard serving guild {guild_id}")
        elif not self.gateway.live_sessions(guild_id):
            raise RuntimeError("no gateway session to queue the interaction on")
        rec = InteractionRecord(self, payload, kind=kind, name=name, custom_id=custom_id)
        rec.component_message_id = message_id
        rec.parent = parent
        self.interactions[rec.id] = rec
        self._tokens[rec.token] = rec
        rec.created_at = time.monotonic()
        await self.gateway.dispatch("INTERACTION_CREATE", payload, guild_id=guild_id)
        rec.dispatched_at = time.monotonic()
        return rec


def _iter_components(components: Iterable[Any]) -> Iterable[dict[str, Any]]:
    """Every component at any depth."""
    for c in components:
        if isinstance(c, dict):
            yield c
            yield from _iter_components(c.get("components") or [])
            if isinstance(c.get("accessory"), dict):
                yield c["accessory"]
