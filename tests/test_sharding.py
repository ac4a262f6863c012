"""Sharding in one process: SHARD_COUNT=auto against a fake Discord with several guilds.

The fake shards as Discord does (tests/test_fake_discord_shards.py): it recommends two shards
for four guilds, sends each guild only to shard ``(guild_id >> 22) % 2`` and refuses an
IDENTIFY that breaks the identify rate limit (Discord's 5-second window here, since discord.py
waits exactly that long between its shards). The real bot, built by ``bot.create_bot``, must
connect every shard, answer /ask in every guild, each interaction arriving on its guild's
shard connection, and keep every shard's heartbeat going. A bot with too many guilds for one
connection must say which setting to change.
"""

from __future__ import annotations

import shutil

import yarl
from discord.gateway import DiscordWebSocket
from discord.http import Route
from discord_helpers import SEED_DOCUMENTS, make_settings, plain_quote
from fakediscord import DiscordHarness, shard_for
from reliability_helpers import GOOD_ANSWER, GOOD_QUESTION

from bot import create_bot
from bot.client import ShardedTalksBot
from bot.runner import run_bot
from bot.settings import Secret
from index.engine import Engine


def test_auto_sharding_answers_in_every_guild_through_its_shard(tmp_path, embedder):
    """SHARD_COUNT=auto: two shards from GET /gateway/bot, no IDENTIFY refused, /ask answered on each guild's shard."""
    shutil.copytree(SEED_DOCUMENTS, tmp_path / "documents")
    engine = Engine(tmp_path / "documents", tmp_path / "index", embedder=embedder)
    settings = make_settings(tmp_path / "documents", tmp_path / "index", shard_count="auto")

    def factory():
        # Many guilds: commands are global (published once), not synced to one guild.
        return create_bot(settings, engine=engine, sync_global=True, guild_ready_timeout=0.1)

    fake_kwargs = {"guilds": 4, "guilds_per_shard": 2}
    with DiscordHarness(factory, fake_kwargs=fake_kwargs, ready_timeout=60) as h:
        h.call(h.client.service.wait_ready(), timeout=120)
        fake, client = h.fake, h.client
        assert isinstance(client, ShardedTalksBot) and client.shard_count == 2
        assert "get_bot_gateway" in {r.operation_id for r in fake.requests}  # auto: Discord's recommendation
        shards = fake.gateway.shard_connections()
        assert set(shards) == {(0, 2), (1, 2)}
        # discord.py waited out the identify window between its two shards: Discord refused neither.
        assert [(a.shard, a.outcome) for a in fake.gateway.identifies] == [((0, 2), "ready"), ((1, 2), "ready")]
        t0 = h.now()
        for guild_id in [*fake.guild_ids, None]:
            rec = h.slash("ask", {"question": GOOD_QUESTION}, guild_id=guild_id, dm=guild_id is None)
            final = h.wait_final(rec, timeout=30)
            shard = 0 if guild_id is None else shard_for(guild_id, 2)  # Discord sends DMs to shard 0
            assert rec.delivered_on == [shards[(shard, 2)]], (guild_id, rec.shards)
            if guild_id is not None:
                assert client.get_guild(guild_id).shard_id == shard
            assert not rec.error_codes and rec.acknowledged
            assert GOOD_ANSWER in plain_quote(final["embeds"][0]["description"])

        def every_shard_beat() -> bool:
            return all(any(t > t0 for t in conn.heartbeats) for conn in shards.values())

        h.call(fake.wait_until(every_shard_beat, 10, "a heartbeat on every shard connection"))
        h.assert_clean()


def test_too_many_guilds_for_one_connection_says_to_set_shard_count(tmp_path, monkeypatch, capsys):
    """Discord closes an unsharded session holding too many guilds (4011): exit 2 naming SHARD_COUNT, no traceback."""
    shutil.copytree(SEED_DOCUMENTS, tmp_path / "documents")
    with DiscordHarness(None, fake_kwargs={"guilds": 3, "max_guilds_per_shard": 2}) as h:
        monkeypatch.setattr(Route, "BASE", h.fake.api_base)
        monkeypatch.setattr(DiscordWebSocket, "DEFAULT_GATEWAY", yarl.URL(h.fake.gateway_url))
        settings = make_settings(tmp_path / "documents", tmp_path / "index", discord_token=Secret(h.fake.token))
        code = run_bot(settings)
        assert [a.outcome for a in h.fake.gateway.identifies] == ["sharding required"]
    err = capsys.readouterr().err
    assert code == 2, err
    assert "requires sharding" in err and "SHARD_COUNT=auto" in err and "Traceback" not in err
