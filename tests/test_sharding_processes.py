"""Two real `talksbot run` processes serving one bot: SHARD_COUNT=2, SHARD_IDS=0 and 1, one INDEX_DIR.

This is docs/scaling.md's multi-process recipe, run as written: the index is built from one
place (`talksbot index`), the commands are published once (`talksbot sync-commands --global`),
then each process runs its own shard over the same documents and index folders. The fake
Discord runs standalone in this process with four guilds, two per shard; the processes reach
it through tests/fakediscord/launch.py (nothing in the product is patched).

What a user would notice, in order: both processes answer in their own guilds, each question
arriving on its guild's shard; an article indexed by a third `talksbot index` is quoted by both
without a restart; with one process killed the other keeps answering, while a question in a
dead shard's guild gets no answer; the killed process, started again, answers again.
"""

from __future__ import annotations

import shutil
import subprocess
import time

import pytest
from bot_processes import BotProcess, talksbot_command, talksbot_env, wait_for
from discord_helpers import SEED_DOCUMENTS, plain_quote
from fakediscord import DiscordHarness, InteractionRecord, shard_for
from reliability_helpers import GOOD_ANSWER, GOOD_QUESTION, run_cli, synthetic_article

pytestmark = pytest.mark.slow

# An article the seed documents know nothing about, added while both processes run.
NEW_ARTICLE_NUMBER = 5  # "Technical working group 5 met in Sumy to review demining of farmland ..."
NEW_QUESTION = "Which working group met in Sumy to review demining of farmland?"
NEW_ANSWER = "Technical working group 5 met in Sumy"
STARTUP_SECONDS = 240  # generous: two processes load the model at once on a shared 2-core machine
PICKUP_SECONDS = 60  # a bound for the test's patience, not the product's promise (bench/sharding.py measures that)


def ask(h: DiscordHarness, guild_id: int, question: str) -> tuple[InteractionRecord, dict]:
    """/ask in a guild, as its default member; the record and the final message."""
    rec = h.slash("ask", {"question": question}, guild_id=guild_id)
    return rec, h.wait_final(rec, timeout=120)


def quote_of(final: dict) -> str:
    """The quoted passage of an answer, or '' for 'nothing relevant' (no article cited) and private replies."""
    embeds = final.get("embeds") or []
    if final.get("ephemeral") or not embeds or "author" not in embeds[0]:
        return ""
    return plain_quote(embeds[0]["description"])


def test_two_processes_split_the_shards_and_share_one_index(tmp_path):
    """Both serve their guilds, both quote a newly indexed article, one outlives the other's crash, a restart serves."""
    docs, index = tmp_path / "documents", tmp_path / "index"
    shutil.copytree(SEED_DOCUMENTS, docs)
    built = run_cli("index", cwd=tmp_path, env={"DOCUMENTS_DIR": str(docs), "INDEX_DIR": str(index)})
    assert built.returncode == 0, built.stderr

    with DiscordHarness(None, heartbeat_interval=0.5, fake_kwargs={"guilds": 4}) as h:
        fake = h.fake
        by_shard = {s: [g for g in fake.guild_ids if shard_for(g, 2) == s] for s in (0, 1)}
        assert [len(g) for g in by_shard.values()] == [2, 2]
        # Commands are published once, globally, for every guild (not synced by each process).
        published = subprocess.run(
            talksbot_command("sync-commands", "--global"),
            cwd=tmp_path,
            env=talksbot_env(fake, docs, index),
            capture_output=True,
            timeout=300,
        )
        assert published.returncode == 0, published.stderr
        assert {c["name"] for c in fake.global_commands} >= {"ask", "reindex", "add-article"}

        def process(shard: int) -> BotProcess:
            env = talksbot_env(fake, docs, index, SHARD_COUNT="2", SHARD_IDS=str(shard), ASK_COOLDOWN_RATE="1000")
            return BotProcess(f"shard{shard}", env, tmp_path)

        procs = {0: process(0).start(), 1: process(1).start()}
        try:
            everyone = list(procs.values())
            wait_for(h, lambda: len(fake.gateway.shard_connections()) == 2, everyone, STARTUP_SECONDS, "both shards")
            first = fake.gateway.shard_connections()
            assert set(first) == {(0, 2), (1, 2)}

            # --- each process serves its own guilds, each question on its guild's shard
            for shard, guilds in by_shard.items():
                for gid in guilds:
                    rec, final = ask(h, gid, GOOD_QUESTION)
                    assert rec.delivered_on == [first[(shard, 2)]], (gid, rec.shards)
                    assert GOOD_ANSWER in quote_of(final), final
                    assert NEW_ANSWER not in quote_of(ask(h, gid, NEW_QUESTION)[1])
            for shard, p in procs.items():  # the shard a process connected is the one SHARD_IDS named
                assert f"Shard ID {shard} has connected" in p.log() and f"Shard ID {1 - shard} " not in p.log()

            # --- a third process indexes a new article; both running processes quote it, no restart
            (docs / "wg-005.md").write_text(synthetic_article(NEW_ARTICLE_NUMBER), encoding="utf-8")
            reindexed = run_cli("index", cwd=tmp_path, env={"DOCUMENTS_DIR": str(docs), "INDEX_DIR": str(index)})
            assert reindexed.returncode == 0 and b"added" in reindexed.stdout, reindexed.stdout
            for shard in (0, 1):
                answered_from_new = False
                deadline = time.monotonic() + PICKUP_SECONDS
                while not answered_from_new and time.monotonic() < deadline:
                    answered_from_new = NEW_ANSWER in quote_of(ask(h, by_shard[shard][0], NEW_QUESTION)[1])
                assert answered_from_new, f"shard {shard} never answered from the newly indexed article"

            # --- shard 0's process crashes: shard 1 keeps answering; shard 0's guilds get no answer
            dead_conn = first[(0, 2)]
            procs[0].kill()
            wait_for(h, lambda: dead_conn.closed_at is not None, [procs[1]], 30, "the killed shard's socket closed")
            assert (0, 2) not in fake.gateway.shard_connections()
            for gid in by_shard[1]:
                assert GOOD_ANSWER in quote_of(ask(h, gid, GOOD_QUESTION)[1])
            unanswered = h.slash("ask", {"question": GOOD_QUESTION}, guild_id=by_shard[0][0], wait_connected=False)

            # --- started again, it identifies shard 0 anew and answers there, from the current index
            procs[0] = process(0).start()
            wait_for(
                h,
                lambda: (0, 2) in fake.gateway.shard_connections(),
                list(procs.values()),
                STARTUP_SECONDS,
                "shard 0 back",
            )
            for gid in by_shard[0]:
                rec, final = ask(h, gid, NEW_QUESTION)
                assert rec.delivered_on == [fake.gateway.shard_connections()[(0, 2)]]
                assert NEW_ANSWER in quote_of(final)
            # The question asked while shard 0 was down was queued on the dead session: never delivered, never answered.
            assert unanswered.delivered_on == [] and unanswered.callbacks == []

            # --- every shard connection heartbeats; both stop cleanly; nothing went wrong anywhere
            now = h.now()
            live = fake.gateway.shard_connections()
            wait_for(
                h,
                lambda: all(any(t > now for t in c.heartbeats) for c in live.values()),
                list(procs.values()),
                30,
                "a heartbeat on each shard",
            )
        finally:
            codes = {shard: p.stop() for shard, p in procs.items()}
        assert codes == {0: 0, 1: 0}, codes
        for p in procs.values():
            assert p.problems() == [], p.log()[-3000:]
        h.assert_clean()
