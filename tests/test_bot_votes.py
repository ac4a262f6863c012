"""👍 / 👎 under answers, end to end: the real bot against the fake Discord, restarted in between.

Members click the buttons of a public /ask answer, one changes their vote after the bot restarted
(the click lands on a message the previous bot process sent), a rebuild of the index changes
nothing, and `talksbot feedback` reads the tally. Every request is validated by the fake.
"""

from __future__ import annotations

import asyncio
import json
import sqlite3

import pytest
from discord_helpers import buttons, embed_text, plain_quote, start_seed_bot
from reliability_helpers import in_process_cli


@pytest.fixture(scope="module")
def bot_env(tmp_path_factory, embedder):
    """The seed bot with its feedback database at <base>/feedback.sqlite3."""
    base = tmp_path_factory.mktemp("votes")
    harness, engine = start_seed_bot(base, embedder)
    yield harness, engine, base
    harness.close()


def ask(h, question: str) -> tuple[object, dict]:
    """/ask and wait for the public answer."""
    rec = h.slash("ask", {"question": question})
    return rec, h.wait_final(rec, timeout=20)


def test_votes_from_several_members_count_once_each_and_survive_a_restart_and_a_rebuild(bot_env, monkeypatch, embedder):
    """Alice 👍, Bob 👎; the bot restarts; Alice changes to 👎 on the old message, Carol 👍; after a rebuild
    Dave 👍: each receipt is private and right, More sources still works, and `talksbot feedback` agrees."""
    h, _engine, base = bot_env
    t0 = h.now()
    rec, answer = ask(h, "Does Moscow insist that Kyiv stay neutral?")
    shown = buttons(answer)
    assert {"👍", "👎", "More sources"} <= set(shown)
    up, down = shown["👍"]["custom_id"], shown["👎"]["custom_id"]
    alice, bob, carol, dave = (h.member(name=n) for n in ("alice", "bob", "carol", "dave"))

    def vote(custom_id: str, member: dict) -> dict:
        reply = h.wait_final(h.click(rec, custom_id, member=member), timeout=10)
        assert reply["ephemeral"] and not reply["embeds"]
        return reply

    assert vote(up, alice)["content"].startswith("Thanks, your 👍 is counted. So far: 1 👍 · 0 👎.")
    assert "So far: 1 👍 · 1 👎." in vote(down, bob)["content"]

    h.restart_client()
    h.call(h.client.service.wait_ready())
    changed = vote(down, alice)["content"]
    assert changed.startswith("Changed your vote to 👎.") and "So far: 0 👍 · 2 👎." in changed
    assert "So far: 1 👍 · 2 👎." in vote(up, carol)["content"]
    same = vote(up, carol)["content"]
    assert same.startswith("You had already voted 👍") and "So far: 1 👍 · 2 👎." in same

    h.call(asyncio.to_thread(h.client.service.reindex, rebuild=True))
    assert "So far: 2 👍 · 2 👎." in vote(up, dave)["content"]
    more = h.wait_final(h.click(rec, shown["More sources"]["custom_id"], member=carol), timeout=10)
    assert more["ephemeral"] and more["embeds"]
    assert plain_quote(more["embeds"][0]["description"]) != plain_quote(answer["embeds"][0]["description"])
    h.assert_clean(since=t0)

    with in_process_cli(monkeypatch, embedder) as cli:
        code, out, err = cli(["feedback", "--json", "--feedback-db", str(base / "feedback.sqlite3")])
    assert code == 0, err
    [entry] = json.loads(out)["answers"]
    assert (entry["up"], entry["down"]) == (2, 2)
    assert entry["question"] == "Does Moscow insist that Kyiv stay neutral?"
    assert entry["quote"] == plain_quote(answer["embeds"][0]["description"]) or entry["quote"] in (
        base / "documents" / entry["document"]["id"]
    ).read_text(encoding="utf-8")
    with sqlite3.connect(base / "feedback.sqlite3") as conn:
        stored = "\n".join(str(row) for row in conn.execute("SELECT * FROM votes"))
    for member in (alice, bob, carol, dave):
        assert member["user"]["id"] not in stored


def test_a_vote_after_the_window_closed_says_so(bot_env):
    """An answer older than 30 days: its 👍 replies privately that voting has closed, and counts nothing."""
    h, _engine, base = bot_env
    t0 = h.now()
    rec, answer = ask(h, "so was there a ceasefire agreed in istanbul or not")
    answer_id = buttons(answer)["👍"]["custom_id"].split(":")[2]
    with sqlite3.connect(base / "feedback.sqlite3") as conn:
        conn.execute("UPDATE answers SET asked_at = '2020-01-01T00:00:00+00:00' WHERE id = ?", (answer_id,))
    reply = h.wait_final(h.click(rec, buttons(answer)["👍"]["custom_id"]), timeout=10)
    assert reply["ephemeral"] and "Voting on this answer has closed" in embed_text(reply)
    with sqlite3.connect(base / "feedback.sqlite3") as conn:
        assert conn.execute("SELECT COUNT(*) FROM votes WHERE answer_id = ?", (answer_id,)).fetchone()[0] == 0
    h.assert_clean(since=t0)


def test_nothing_relevant_answers_take_votes_too(bot_env):
    """An off-topic question's reply has 👍 / 👎 but no More sources; a vote on it is counted."""
    h, _engine, _base = bot_env
    t0 = h.now()
    rec, answer = ask(h, "What is a good recipe for apple pie?")
    shown = buttons(answer)
    assert set(shown) == {"👍", "👎"}
    reply = h.wait_final(h.click(rec, shown["👍"]["custom_id"]), timeout=10)
    assert "So far: 1 👍 · 0 👎." in reply["content"]
    h.assert_clean(since=t0)
