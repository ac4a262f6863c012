"""The fake's gateway: websocket connections, sessions, shards, heartbeats, IDENTIFY and RESUME.

It follows Discord's gateway as discord.py meets it (``docs/topics/gateway``):

* HELLO with the heartbeat interval, then IDENTIFY (a new session) or RESUME (replay of the
  events the client missed, then RESUMED). Every heartbeat is recorded, on the connection and
  globally: a late one means the client's event loop was blocked.
* Sharding: an IDENTIFY may carry ``shard: [id, count]``. The session gets READY with that
  ``shard`` field and only the guilds of that shard, ``(guild_id >> 22) % count``; each guild's
  GUILD_CREATE and its later events (interactions included) go only to sessions of its shard;
  events without a guild (DMs) go to shard 0. ``4010`` closes an invalid shard, ``4011`` a
  session that would hold more than ``max_guilds_per_shard`` guilds (Discord: 2,500).
* The identify rate limit: one IDENTIFY per ``identify_window`` seconds (Discord: 5) per
  bucket ``shard_id % max_concurrency``. An IDENTIFY over the limit is answered with op 9
  INVALID_SESSION (``d: false``), as Discord does, and recorded in :attr:`Gateway.identifies`.
* Sessions outlive their sockets: events dispatched while a session has no connection are
  kept and replayed on RESUME. A client closing with 1000/1001 ends its session (Discord
  invalidates it); a socket that just dies (a killed process) leaves it resumable, as on
  Discord, so its events queue and are never delivered unless that session resumes. Every
  live session of a guild's shard receives its events (two processes running the same shard
  would both get each interaction, as on Discord).

Each INTERACTION_CREATE sent on a connection is noted on the interaction's record
(``InteractionRecord.delivered_on``), so a test can prove which shard connection carried it.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import itertools
import json
import logging
import math
import secrets
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from aiohttp import WSMsgType, web

if TYPE_CHECKING:
    from .server import FakeDiscord

__all__ = ["Gateway", "GatewayConnection", "IdentifyAttempt", "Session", "shard_for"]

log = logging.getLogger(__name__)

# Close codes (docs/topics/opcodes-and-status-codes#gateway-gateway-close-event-codes).
CLOSE_NOT_AUTHENTICATED = 4003
CLOSE_AUTHENTICATION_FAILED = 4004
CLOSE_ALREADY_AUTHENTICATED = 4005
CLOSE_INVALID_SHARD = 4010
CLOSE_SHARDING_REQUIRED = 4011
CLOSE_INVALID_INTENTS = 4013
# A client closing with these ends its session for good (Discord: "your session will be invalidated").
_SESSION_ENDING_CLOSES = (1000, 1001)


def shard_for(guild_id: int, shard_count: int) -> int:
    """The shard Discord delivers a guild's events to: ``(guild_id >> 22) % shard_count``."""
    return (int(guild_id) >> 22) % shard_count


@dataclass
class Session:
    """One gateway session: a shard of the bot, surviving socket drops (RESUME replays ``events``)."""

    session_id: str
    shard: tuple[int, int] = (0, 1)  # (shard id, shard count); (0, 1) when the client did not shard
    seq: int = 0
    events: list[dict[str, Any]] = field(default_factory=list)
    intents: int | None = None
    connection: GatewayConnection | None = None  # the live socket, None while disconnected
    identified_at: float = field(default_factory=time.monotonic)
    ended: bool = False

    def covers(self, guild_id: int | None) -> bool:
        """Whether this session gets the guild's events (no guild: DMs, which go to shard 0)."""
        if guild_id is None:
            return self.shard[0] == 0
        return shard_for(guild_id, self.shard[1]) == self.shard[0]


@dataclass
class GatewayConnection:
    """One websocket connection to the fake gateway."""

    ws: web.WebSocketResponse
    path: str
    query: dict[str, str]
    opened_at: float
    session: Session | None = None
    how: str | None = None  # "identify" or "resume"
    ready: bool = False  # READY+GUILD_CREATE (or RESUMED) sent: interactions may follow
    closed_at: float | None = None
    close_code: int | None = None
    closed_by_fake: bool = False
    frames_in: list[dict[str, Any]] = field(default_factory=list)
    heartbeats: list[float] = field(default_factory=list)
    peer: tuple[str, int] | None = None  # the client's address, to tell processes apart

    @property
    def shard(self) -> tuple[int, int] | None:
        """The (id, count) of the session this connection identified or resumed."""
        return self.session.shard if self.session is not None else None

    @property
    def live(self) -> bool:
        """Open and carrying its session."""
        return self.closed_at is None and not self.ws.closed and self.session is not None


@dataclass
class IdentifyAttempt:
    """One IDENTIFY the gateway received and what became of it."""

    at: float
    shard: tuple[int, int] | None  # None when the client sent no shard
    outcome: str  # "ready", "rate limited", "invalid shard", "sharding required", "bad token", "no intents"
    connection: GatewayConnection


class Gateway:
    """The fake's gateway side: the websocket endpoint, its sessions and how events are routed to them."""

    def __init__(
        self,
        fake: FakeDiscord,
        *,
        heartbeat_interval: float,
        max_concurrency: int = 1,
        identify_window: float = 5.0,
        guilds_per_shard: int = 1000,
        max_guilds_per_shard: int = 2500,
        session_start_total: int = 1000,
    ) -> None:
        """Configure; ``identify_window`` is Discord's 5 s unless a test wants it shorter."""
        self.fake = fake
        self.heartbeat_interval = heartbeat_interval
        self.max_concurrency = max_concurrency
        self.identify_window = identify_window
        self.guilds_per_shard = guilds_per_shard
        self.max_guilds_per_shard = max_guilds_per_shard
        self.session_start_total = session_start_total
        self.session_start_remaining = session_start_total

        self.connections: list[GatewayConnection] = []
        self.sessions: list[Session] = []  # every session ever started, oldest first
        self.identifies: list[IdentifyAttempt] = []
        self.heartbeats: list[float] = []
        self.presence_updates: list[dict[str, Any]] = []
        self.identify_count = 0  # accepted IDENTIFYs (sessions started)
        self.resume_count = 0
        self._bucket_opened: dict[int, float] = {}  # rate-limit bucket -> time of its last accepted IDENTIFY
        self._lock: asyncio.Lock | None = None

    # ============================================================== lifecycle
    def bind(self) -> None:
        """Create the loop-bound state (called by ``FakeDiscord.start`` on the fake's loop)."""
        self._lock = asyncio.Lock()

    async def close_all(self) -> None:
        """Close every open socket (the fake is shutting down)."""
        for conn in list(self.connections):
            if not conn.ws.closed:
                conn.closed_by_fake = True
                with contextlib.suppress(TimeoutError, ConnectionError):
                    await asyncio.wait_for(conn.ws.close(code=1001, message=b"fake shutting down"), 2.0)

    # ================================================================ routing
    @property
    def recommended_shards(self) -> int:
        """GET /gateway/bot's ``shards``: one per ``guilds_per_shard`` guilds (Discord: 1,000)."""
        return max(1, math.ceil(len(self.fake.guilds) / self.guilds_per_shard))

    def bot_gateway(self) -> dict[str, Any]:
        """The body of GET /gateway/bot."""
        return {
            "url": self.fake.gateway_url,
            "shards": self.recommended_shards,
            "session_start_limit": {
                "total": self.session_start_total,
                "remaining": self.session_start_remaining,
                "reset_after": 14_400_000,
                "max_concurrency": self.max_concurrency,
            },
        }

    def live_sessions(self, guild_id: int | None) -> list[Session]:
        """Sessions (not ended) that receive this guild's events, oldest first; ``None`` = DMs."""
        return [s for s in self.sessions if not s.ended and s.covers(guild_id)]

    def session_for(self, guild_id: int | None) -> Session | None:
        """The newest session receiving this guild's events."""
        sessions = self.live_sessions(guild_id)
        return sessions[-1] if sessions else None

    def serving(self, guild_id: int | None) -> GatewayConnection | None:
        """A ready, open connection that gets this guild's events (the newest), or None."""
        for session in reversed(self.live_sessions(guild_id)):
            conn = session.connection
            if conn is not None and conn.ready and conn.live:
                return conn
        return None

    def shard_connections(self) -> dict[tuple[int, int], GatewayConnection]:
        """The live, ready connection of each shard (id, count) right now."""
        out: dict[tuple[int, int], GatewayConnection] = {}
        for session in self.sessions:
            conn = session.connection
            if not session.ended and conn is not None and conn.ready and conn.live:
                out[session.shard] = conn
        return out

    # ============================================================== dispatch
    async def dispatch(self, event: str, data: dict[str, Any], *, guild_id: int | None) -> int:
        """Send a DISPATCH to every session of the guild's shard (queued where disconnected); the last seq."""
        sessions = self.live_sessions(guild_id)
        if not sessions:
            raise RuntimeError(f"no gateway session receives guild {guild_id}'s events yet")
        seq = 0
        for session in sessions:
            seq = await self.dispatch_to(session, event, data)
        return seq

    async def dispatch_to(self, session: Session, event: str, data: dict[str, Any]) -> int:
        """Send a DISPATCH (op 0) on one session with its next sequence number; kept for RESUME replay."""
        assert self._lock is not None
        async with self._lock:
            session.seq += 1
            frame = {"op": 0, "t": event, "s": session.seq, "d": data}
            session.events.append(frame)
            conn = session.connection
            if conn is not None and not conn.ws.closed:
                await self._send_event(conn, frame)
            return session.seq

    async def _send_event(self, conn: GatewayConnection, frame: dict[str, Any]) -> None:
        """Send a dispatch frame, noting which connection carried each interaction."""
        await self.send(conn, frame)
        if frame.get("t") == "INTERACTION_CREATE":
            rec = self.fake.interactions.get(int(frame["d"]["id"]))
            if rec is not None:
                rec.delivered_on.append(conn)
                rec._touch()

    async def send(self, conn: GatewayConnection, frame: dict[str, Any]) -> None:
        """Send one JSON text frame (plain JSON: discord.py only inflates binary frames)."""
        try:
            await conn.ws.send_str(json.dumps(frame))
        except (ConnectionError, RuntimeError) as exc:
            log.debug("gateway send failed: %s", exc)

    async def drop(self, guild_id: int | None, code: int = 4000, reason: str = "fake Discord dropped it") -> None:
        """Close the live socket of the guild's shard with a resumable code; discord.py reconnects and RESUMEs."""
        assert self._lock is not None
        async with self._lock:
            conn = self.serving(guild_id)
            if conn is None or conn.session is None:
                raise RuntimeError("no live gateway connection to drop")
            conn.session.connection = None
        conn.close_code = code
        conn.closed_by_fake = True
        await conn.ws.close(code=code, message=reason.encode())
        self.fake._notify()

    async def invalidate(self, guild_id: int | None, resumable: bool = False) -> None:
        """Send op 9 INVALID_SESSION on the guild's shard; with ``resumable=False`` its session ends."""
        conn = self.serving(guild_id)
        if conn is None or conn.session is None:
            raise RuntimeError("no live gateway connection to invalidate")
        if not resumable:
            conn.session.ended = True
        await self.send(conn, {"op": 9, "d": resumable, "s": None, "t": None})

    def max_heartbeat_gap(
        self, since: float | None = None, until: float | None = None, *, connection: GatewayConnection | None = None
    ) -> float:
        """Longest time without a heartbeat within [since, until] (monotonic), counting open ends."""
        until = time.monotonic() if until is None else until
        beats = self.heartbeats if connection is None else connection.heartbeats
        since = (beats[0] if beats else until) if since is None else since
        before = [t for t in beats if t < since]
        points = [before[-1] if before else since] + [t for t in beats if since <= t <= until] + [until]
        return max((b - a for a, b in itertools.pairwise(points)), default=0.0)

    # ============================================================== websocket
    async def handle(self, request: web.Request) -> web.StreamResponse:
        """The gateway websocket: HELLO, then IDENTIFY/RESUME, heartbeats, member requests."""
        ws = web.WebSocketResponse(autoping=True, max_msg_size=0)
        await ws.prepare(request)
        peer = request.transport.get_extra_info("peername") if request.transport is not None else None
        conn = GatewayConnection(
            ws=ws,
            path=request.path,
            query=dict(request.query),
            opened_at=time.monotonic(),
            peer=tuple(peer[:2]) if peer else None,
        )
        self.connections.append(conn)
        if request.query.get("encoding", "json") != "json" or request.query.get("v") != "10":
            self.fake._violate(f"GATEWAY {request.path}", [f"unexpected gateway query {dict(request.query)}"])
        hello = {"heartbeat_interval": int(self.heartbeat_interval * 1000), "_trace": ["fake-gateway"]}
        await self.send(conn, {"op": 10, "d": hello, "s": None, "t": None})
        try:
            async for msg in ws:
                if msg.type is WSMsgType.TEXT:
                    try:
                        frame = json.loads(msg.data)
                    except ValueError:
                        self.fake._violate("GATEWAY", ["non-JSON text frame"])
                        await ws.close(code=4002, message=b"Error while decoding payload.")
                        break
                    conn.frames_in.append(frame)
                    await self._on_frame(conn, frame)
                elif msg.type is WSMsgType.BINARY:
                    self.fake._violate("GATEWAY", ["unexpected binary frame from client"])
                elif msg.type is WSMsgType.ERROR:
                    break
        finally:
            self._closed(conn)
        return ws

    def _closed(self, conn: GatewayConnection) -> None:
        """The socket is gone: detach it from its session, and end the session if the client said goodbye."""
        conn.closed_at = time.monotonic()
        if conn.close_code is None:
            conn.close_code = conn.ws.close_code
        session = conn.session
        if session is not None and session.connection is conn:
            session.connection = None
            if not conn.closed_by_fake and conn.close_code in _SESSION_ENDING_CLOSES:
                session.ended = True
        self.fake._notify()

    async def _close(self, conn: GatewayConnection, code: int, reason: str) -> None:
        """Close a connection with a gateway close code."""
        conn.close_code = code
        conn.closed_by_fake = True
        await conn.ws.close(code=code, message=reason.encode())

    async def _on_frame(self, conn: GatewayConnection, frame: dict[str, Any]) -> None:
        """Handle one client opcode."""
        op, d = frame.get("op"), frame.get("d")
        if op == 1:
            # The arrival time is the point: a late heartbeat means the client's loop was blocked.
            now = time.monotonic()
            self.heartbeats.append(now)
            conn.heartbeats.append(now)
            await self.send(conn, {"op": 11, "s": None, "t": None, "d": None})
            return
        if op == 2:
            await self._identify(conn, d or {})
            return
        if op == 6:
            await self._resume(conn, d or {})
            return
        if conn.session is None:
            await self._close(conn, CLOSE_NOT_AUTHENTICATED, "Not authenticated.")
            return
        if op == 3:
            self.presence_updates.append(d or {})
        elif op == 8:
            await self._request_members(conn.session, d or {})
        elif op == 4:
            pass  # voice state updates: the fake has no voice
        else:
            self.fake._violate("GATEWAY", [f"unknown opcode {op}"])
            await self._close(conn, 4001, "Unknown opcode.")

    async def _request_members(self, session: Session, d: dict[str, Any]) -> None:
        """Op 8: one GUILD_MEMBERS_CHUNK per requested guild this session serves."""
        raw = d.get("guild_id")
        for gid in raw if isinstance(raw, list) else [raw]:
            guild = self.fake.guilds.get(int(gid)) if str(gid).isdigit() else None
            if guild is None or not session.covers(guild.id):
                continue
            chunk = {
                "guild_id": str(guild.id),
                "members": copy.deepcopy(list(guild.members.values())),
                "chunk_index": 0,
                "chunk_count": 1,
                "not_found": [],
                "nonce": d.get("nonce"),
            }
            await self.dispatch_to(session, "GUILD_MEMBERS_CHUNK", chunk)

    def _parse_shard(self, raw: Any) -> tuple[int, int] | None:
        """``[id, count]`` with 0 <= id < count, else None."""
        if not (isinstance(raw, list) and len(raw) == 2 and all(type(x) is int for x in raw)):
            return None
        shard_id, count = raw
        return (shard_id, count) if count >= 1 and 0 <= shard_id < count else None

    async def _identify(self, conn: GatewayConnection, d: dict[str, Any]) -> None:
        """IDENTIFY: token, intents, shard and rate limit checked; then a session, READY and its guilds."""
        now = time.monotonic()
        shard = self._parse_shard(d["shard"]) if "shard" in d else (0, 1)

        def attempt(outcome: str) -> None:
            self.identifies.append(IdentifyAttempt(now, shard if "shard" in d else None, outcome, conn))
            self.fake._notify()

        if conn.session is not None:
            await self._close(conn, CLOSE_ALREADY_AUTHENTICATED, "Already authenticated.")
            return
        if d.get("token") != self.fake.token:
            attempt("bad token")
            await self._close(conn, CLOSE_AUTHENTICATION_FAILED, "Authentication failed.")
            return
        if "intents" not in d:
            attempt("no intents")
            await self._close(conn, CLOSE_INVALID_INTENTS, "Invalid intent(s).")
            return
        if shard is None:
            attempt("invalid shard")
            await self._close(conn, CLOSE_INVALID_SHARD, "Invalid shard.")
            return
        guild_ids = [gid for gid in self.fake.guilds if shard_for(gid, shard[1]) == shard[0]]
        if len(guild_ids) > self.max_guilds_per_shard:
            attempt("sharding required")
            await self._close(conn, CLOSE_SHARDING_REQUIRED, "Sharding required.")
            return
        assert self._lock is not None
        async with self._lock:
            bucket = shard[0] % self.max_concurrency
            opened = self._bucket_opened.get(bucket)
            if opened is not None and now - opened < self.identify_window:
                attempt("rate limited")
                await self.send(conn, {"op": 9, "d": False, "s": None, "t": None})
                return
            self._bucket_opened[bucket] = now
            session = Session(session_id=secrets.token_hex(16), shard=shard, intents=d.get("intents"))
            session.connection = conn
            conn.session, conn.how = session, "identify"
            self.sessions.append(session)
            self.identify_count += 1
            self.session_start_remaining = max(0, self.session_start_remaining - 1)
        attempt("ready")
        ready = self.fake.ready_payload(session.session_id, guild_ids)
        if "shard" in d:
            ready["shard"] = list(shard)
        await self.dispatch_to(session, "READY", ready)
        for gid in guild_ids:
            await self.dispatch_to(session, "GUILD_CREATE", self.fake.guild_payload(gid))
        conn.ready = True
        self.fake._notify()

    async def _resume(self, conn: GatewayConnection, d: dict[str, Any]) -> None:
        """RESUME: replay events after the client's ``seq`` and send RESUMED, or INVALID_SESSION."""
        if d.get("token") != self.fake.token:
            await self._close(conn, CLOSE_AUTHENTICATION_FAILED, "Authentication failed.")
            return
        session = next((s for s in self.sessions if s.session_id == d.get("session_id") and not s.ended), None)
        if session is None or (d.get("seq") or 0) > session.seq:
            await self.send(conn, {"op": 9, "d": False, "s": None, "t": None})
            return
        assert self._lock is not None
        async with self._lock:
            conn.session, conn.how = session, "resume"
            session.connection = conn
            for frame in session.events:
                if frame["s"] > (d.get("seq") or 0):
                    await self._send_event(conn, frame)
            session.seq += 1
            resumed = {"op": 0, "t": "RESUMED", "s": session.seq, "d": {"_trace": ["fake-gateway"]}}
            session.events.append(resumed)
            await self.send(conn, resumed)
            self.resume_count += 1
            conn.ready = True
        self.fake._notify()
