"""Self-tests of the fake Discord's sharding, driven by a raw websocket client (no discord.py).

They prove the fake shards as Discord does: GET /gateway/bot recommends a shard count and
gives the session start limits; IDENTIFY with ``shard: [id, count]`` gets READY with that
shard and only its guilds, ``(guild_id >> 22) % count``; interactions arrive only on their
guild's shard (DMs on shard 0); the identify rate limit holds per ``max_concurrency`` bucket;
an invalid shard is closed with 4010 and an oversized unsharded session with 4011.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterator
from typing import Any

import aiohttp
import pytest
from fakediscord import DiscordHarness, FakeDiscord, shard_for

PING = {"name": "ping", "description": "Answer pong", "type": 1}


class RawShard:
    """One websocket to the fake gateway, spoken by hand."""

    def __init__(self, fake: FakeDiscord) -> None:
        """Not connected until :meth:`connect`."""
        self.fake = fake
        self.http: aiohttp.ClientSession | None = None
        self.ws: aiohttp.ClientWebSocketResponse | None = None

    async def connect(self) -> RawShard:
        """Open the socket and read HELLO."""
        self.http = aiohttp.ClientSession()
        self.ws = await self.http.ws_connect(self.fake.gateway_url + "?v=10&encoding=json")
        hello = await self.ws.receive_json(timeout=10)
        assert hello["op"] == 10
        return self

    async def identify(self, shard: list[int] | None, token: str | None = None) -> dict[str, Any]:
        """Send IDENTIFY; the next frame (READY, op 9) or the close code as ``{"close": code}``."""
        assert self.ws is not None
        d: dict[str, Any] = {"token": token or self.fake.token, "intents": 1, "properties": {}}
        if shard is not None:
            d["shard"] = shard
        await self.ws.send_json({"op": 2, "d": d})
        return await self.next_frame()

    async def next_frame(self) -> dict[str, Any]:
        """The next frame from the gateway, or ``{"close": code}``."""
        assert self.ws is not None
        msg = await self.ws.receive(timeout=10)
        if msg.type is aiohttp.WSMsgType.TEXT:
            return msg.json()
        return {"close": self.ws.close_code}

    async def guild_creates(self, ready: dict[str, Any]) -> list[int]:
        """Read the GUILD_CREATE that follows READY for each guild READY announced; their ids."""
        ids = []
        for _ in ready["d"]["guilds"]:
            frame = await self.next_frame()
            assert frame.get("t") == "GUILD_CREATE", frame
            ids.append(int(frame["d"]["id"]))
        return ids

    async def after_heartbeat(self) -> dict[str, Any]:
        """Send a heartbeat and return the next frame: op 11 if nothing was queued for this socket before it."""
        assert self.ws is not None
        await self.ws.send_json({"op": 1, "d": None})
        return await self.next_frame()

    async def close(self, code: int = 1000) -> None:
        """Close the socket (1000: the client ends its session) and the HTTP session."""
        if self.ws is not None and not self.ws.closed:
            await self.ws.close(code=code)
        if self.http is not None:
            await self.http.close()


@contextlib.contextmanager
def standalone(**fake_kwargs: Any) -> Iterator[DiscordHarness]:
    """The fake alone on a background loop, with a command synced globally as a bot would."""
    with DiscordHarness(None, fake_kwargs=fake_kwargs) as h:

        async def sync() -> None:
            url = f"{h.fake.api_base}/applications/{h.fake.application_id}/commands"
            headers = {"Authorization": f"Bot {h.fake.token}"}
            async with aiohttp.ClientSession() as http, http.put(url, json=[PING], headers=headers) as resp:
                assert resp.status == 200, await resp.text()

        h.call(sync())
        yield h


async def shards(fake: FakeDiscord, *wanted: list[int] | None) -> list[tuple[RawShard, dict[str, Any]]]:
    """Open one raw connection per wanted shard and IDENTIFY each, in order."""
    out = []
    for shard in wanted:
        raw = await RawShard(fake).connect()
        out.append((raw, await raw.identify(shard)))
    return out


async def close_all(opened: list[tuple[RawShard, dict[str, Any]]]) -> None:
    """Close every raw connection."""
    for raw, _ in opened:
        await raw.close()


def test_gateway_bot_recommends_shards_and_gives_session_limits() -> None:
    """GET /gateway/bot: its url, a shard per guilds_per_shard guilds, max_concurrency; an IDENTIFY spends a start."""
    with standalone(guilds=5, guilds_per_shard=2, max_concurrency=4) as h:
        fake = h.fake

        async def get() -> tuple[int, dict[str, Any]]:
            headers = {"Authorization": f"Bot {fake.token}"}
            async with aiohttp.ClientSession() as http, http.get(fake.api_base + "/gateway/bot", headers=headers) as r:
                return r.status, await r.json()

        status, body = h.call(get())
        assert status == 200 and body["url"] == fake.gateway_url and body["shards"] == 3
        limits = body["session_start_limit"]
        assert limits["max_concurrency"] == 4 and limits["remaining"] == limits["total"] == 1000

        async def identify_then_get() -> dict[str, Any]:
            opened = await shards(fake, [0, 3])
            try:
                return (await get())[1]
            finally:
                await close_all(opened)

        assert h.call(identify_then_get())["session_start_limit"]["remaining"] == 999
        h.assert_clean()


def test_each_shard_gets_ready_and_only_its_guilds() -> None:
    """IDENTIFY [i, 2]: READY carries shard [i, 2] and announces, then creates, exactly the guilds of shard i."""
    with standalone(guilds=4, max_concurrency=2) as h:
        fake = h.fake

        async def run() -> dict[int, tuple[dict[str, Any], list[int]]]:
            opened = await shards(fake, [0, 2], [1, 2])
            try:
                return {i: (ready, await raw.guild_creates(ready)) for i, (raw, ready) in enumerate(opened)}
            finally:
                await close_all(opened)

        got = h.call(run())
        for i, (ready, created) in got.items():
            assert ready["t"] == "READY" and ready["d"]["shard"] == [i, 2]
            expected = [g for g in fake.guild_ids if (g >> 22) % 2 == i]
            assert [int(g["id"]) for g in ready["d"]["guilds"]] == expected == created
            assert len(expected) == 2  # four guilds, ids a millisecond apart: two per shard
        assert {fake.gateway.identifies[i].outcome for i in range(2)} == {"ready"}


def test_interactions_arrive_only_on_their_guilds_shard() -> None:
    """/ping in each guild is delivered on the shard that guild maps to and on no other; a DM goes to shard 0."""
    with standalone(guilds=4, max_concurrency=2) as h:
        fake = h.fake

        async def run() -> None:
            opened = await shards(fake, [0, 2], [1, 2])
            try:
                for raw, ready in opened:
                    await raw.guild_creates(ready)
                for gid in [*fake.guild_ids, None]:
                    rec = await fake.slash("ping", guild_id=gid, dm=gid is None)
                    want = 0 if gid is None else shard_for(gid, 2)
                    assert rec.shards == [(want, 2)], (gid, rec.shards)
                    frame = await opened[want][0].next_frame()
                    assert frame["t"] == "INTERACTION_CREATE" and frame["d"]["id"] == str(rec.id)
                    assert frame["d"].get("guild_id") == (None if gid is None else str(gid))
                    assert (await opened[1 - want][0].after_heartbeat())["op"] == 11  # nothing came before it
            finally:
                await close_all(opened)

        h.call(run())
        h.assert_clean()


def test_identify_rate_limit_per_max_concurrency_bucket() -> None:
    """In the window a 2nd IDENTIFY in one bucket gets op 9 (false); other buckets pass; after the window it passes."""
    with standalone(guilds=2, max_concurrency=1, identify_window=60) as h:

        async def run() -> list[dict[str, Any]]:
            opened = await shards(h.fake, [0, 2], [1, 2])  # shard % 1: one bucket
            await close_all(opened)
            return [ready for _, ready in opened]

        first, second = h.call(run())
        assert first["t"] == "READY" and second == {"op": 9, "d": False, "s": None, "t": None}
        assert [a.outcome for a in h.fake.gateway.identifies] == ["ready", "rate limited"]
        assert h.fake.identify_count == 1

    with standalone(guilds=2, max_concurrency=2, identify_window=60) as h:
        frames = h.call(_identify_and_close(h.fake, [0, 2], [1, 2], [0, 2]))  # buckets 0, 1, then 0 again
        assert [f.get("t") or f.get("op") for f in frames] == ["READY", "READY", 9]

    with standalone(guilds=2, identify_window=0.2) as h:

        async def run_after_window() -> list[dict[str, Any]]:
            first = await _identify_and_close(h.fake, [0, 2])
            await asyncio.sleep(0.3)  # past the window: load can only make the gap longer
            return first + await _identify_and_close(h.fake, [1, 2])

        assert [f["t"] for f in h.call(run_after_window())] == ["READY", "READY"]


async def _identify_and_close(fake: FakeDiscord, *wanted: list[int]) -> list[dict[str, Any]]:
    """IDENTIFY each shard on its own socket; the first frame each got."""
    opened = await shards(fake, *wanted)
    await close_all(opened)
    return [frame for _, frame in opened]


@pytest.mark.parametrize(
    ("kwargs", "shard", "close"),
    [
        ({"guilds": 1}, [2, 2], 4010),  # shard id >= count
        ({"guilds": 1}, [0, 0], 4010),
        ({"guilds": 3, "max_guilds_per_shard": 2}, None, 4011),  # three guilds on one connection
    ],
)
def test_invalid_shard_and_sharding_required_close_the_socket(kwargs: dict[str, Any], shard, close: int) -> None:
    """An impossible shard is closed with 4010; a session that would hold too many guilds with 4011."""
    with standalone(**kwargs) as h:
        frames = h.call(_identify_and_close(h.fake, shard))
        assert frames == [{"close": close}]
        assert h.fake.identify_count == 0 and h.fake.gateway.sessions == []


def test_sharding_within_the_limit_is_accepted() -> None:
    """The same three guilds over two shards fit under max_guilds_per_shard=2: both shards get READY."""
    with standalone(guilds=3, max_guilds_per_shard=2, max_concurrency=2) as h:
        frames = h.call(_identify_and_close(h.fake, [0, 2], [1, 2]))
        assert [f["t"] for f in frames] == ["READY", "READY"]
        assert sorted(len(f["d"]["guilds"]) for f in frames) == [1, 2]


def test_a_session_closed_with_1000_ends_and_cannot_resume() -> None:
    """A client closing with 1000 ends its session: RESUME gets op 9 and no event is routed to it any more."""
    with standalone(guilds=1) as h:
        fake = h.fake

        async def run() -> dict[str, Any]:
            raw = await RawShard(fake).connect()
            ready = await raw.identify(None)
            await raw.guild_creates(ready)
            await raw.close(1000)
            await fake.wait_until(lambda: fake.gateway.sessions[0].ended, 5, "the session ended")
            again = await RawShard(fake).connect()
            try:
                assert again.ws is not None
                await again.ws.send_json(
                    {"op": 6, "d": {"token": fake.token, "session_id": ready["d"]["session_id"], "seq": 1}}
                )
                return await again.next_frame()
            finally:
                await again.close()

        assert h.call(run()) == {"op": 9, "d": False, "s": None, "t": None}
        assert fake.gateway.live_sessions(fake.guild_id) == []
        with pytest.raises(RuntimeError, match="no gateway session"):
            h.slash("ping", wait_connected=False)
