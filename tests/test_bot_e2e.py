"""/ask, /sources and /about end to end: the real discord.py bot against the fake Discord."""

from __future__ import annotations

import pytest
from discord_helpers import buttons, embed_text, plain_quote, start_seed_bot
from discord_markdown import visible_text
from fakediscord import DiscordHarness

from bot.commands.ask import PerUserCooldown
from tests.conftest import REUTERS


@pytest.fixture(scope="module")
def bot_env(tmp_path_factory, embedder):
    """A seed-article engine with the real model and a bot logged into the fake Discord."""
    base = tmp_path_factory.mktemp("bot")
    harness, engine = start_seed_bot(base, embedder)
    yield harness, engine, base
    harness.close()


@pytest.fixture
def h(bot_env) -> DiscordHarness:
    harness, *_ = bot_env
    return harness


def test_ask_quotes_the_right_passage_verbatim_with_attribution(bot_env):
    """/ask with a paraphrase: an embed quoting the Reuters passage word for word, attributed, on time."""
    h, _engine, base = bot_env
    t0 = h.now()
    rec = h.slash("ask", {"question": "Does Moscow insist that Kyiv stay neutral?"})
    final = h.wait_final(rec, timeout=20)
    assert not final["ephemeral"]
    embed = final["embeds"][0]
    quote = plain_quote(embed["description"])
    body = (base / "documents" / REUTERS).read_text(encoding="utf-8")
    assert quote in body and "Ukraine becomes a neutral state" in quote
    assert "**" in embed["description"]  # the best sentence is bold
    assert embed["author"]["name"] == "2025-05-17 · Reuters (unverified) · Tom Balmforth"
    assert embed["title"].startswith("Russia demanded Ukraine")
    assert "relevance" in embed["footer"]["text"]
    assert rec.ack_latency < 3.0
    assert h.max_heartbeat_gap(t0, h.now()) <= 0.5
    assert h.max_loop_lag(t0, h.now()) < 0.5
    h.assert_clean(since=t0)


def test_an_off_topic_question_says_nothing_relevant_and_nothing_else(h):
    """Nothing relevant: said plainly, publicly, without a list of unrelated article titles."""
    t0 = h.now()
    final = h.wait_final(h.slash("ask", {"question": "What is a good recipe for apple pie?"}), timeout=20)
    embed = final["embeds"][0]
    assert embed["title"] == "Nothing relevant" and not final["ephemeral"]
    assert "Closest" not in embed["description"] and "Russia" not in embed["description"]
    h.assert_clean(since=t0)


def test_a_likely_answer_is_shown_as_such(h):
    """The product owner's question: Reuters quoted, amber, with the 'likely answer' note and label."""
    t0 = h.now()
    final = h.wait_final(h.slash("ask", {"question": "What did Russia demand before agreeing to a ceasefire?"}), 20)
    embed = final["embeds"][0]
    assert embed["author"]["name"].startswith("2025-05-17 · Reuters")
    assert embed["description"].startswith("*Likely answer:") and embed["color"] == 0xE6A000
    assert "likely answer" in embed["footer"]["text"] and "also reported by" in embed["footer"]["text"]
    h.assert_clean(since=t0)


def test_more_sources_shows_the_next_passages_privately(h):
    """The 'More sources' button answers the clicker with other passages, ephemeral."""
    t0 = h.now()
    rec = h.slash("ask", {"question": "What did the Russians propose at the talks?"})
    final = h.wait_final(rec, timeout=20)
    more_button = buttons(final)["More sources"]
    click = h.click(rec, more_button["custom_id"])
    more = h.wait_final(click, timeout=10)
    assert more["ephemeral"] and len(more["embeds"]) >= 1
    assert plain_quote(more["embeds"][0]["description"]) != plain_quote(final["embeds"][0]["description"])
    h.assert_clean(since=t0)


def test_sources_lists_both_seed_articles(h):
    """/sources names every indexed article with outlet, date and passage count."""
    final = h.wait_final(h.slash("sources"), timeout=10)
    text = visible_text(embed_text(final))  # as the reader sees it: escapes removed
    assert "Indexed articles (2)" in text
    assert "Russia demanded Ukraine quit four regions" in text and "unattributed rewrite" in text
    assert "2025-05-17 · Reuters (unverified) · Tom Balmforth" in text and "undated · unknown" in text
    assert "passages" in text


def test_about_reports_counts_and_model(bot_env):
    """/about: what the bot is, the model, article and passage counts, when the index was built."""
    h, engine, _ = bot_env
    final = h.wait_final(h.slash("about"), timeout=10)
    fields = {f["name"]: f["value"] for f in final["embeds"][0]["fields"]}
    assert fields["Articles"] == "2"
    assert fields["Passages"] == str(engine.stats().passages)
    assert "all-MiniLM-L6-v2" in fields["Model"]
    assert "<t:" in fields["Index built"]


def test_everyone_in_a_question_pings_nobody(h):
    """A question with @everyone and a role mention is answered; no request could ping (the fake checks)."""
    t0 = h.now()
    rec = h.slash("ask", {"question": "@everyone <@&123> does russia want ukraine to be neutral?"})
    final = h.wait_final(rec, timeout=20)
    assert final["embeds"]
    assert "@everyone" not in embed_text(final)
    h.assert_clean(since=t0)


def test_an_invalid_question_or_date_is_refused_privately(h):
    """Invisible-only questions and a malformed since: get an ephemeral sentence, nothing public."""
    for options, expected in (
        ({"question": "\u200b\u200b"}, "empty"),
        ({"question": "what did russia want?", "since": "yesterday"}, "since"),
    ):
        final = h.wait_final(h.slash("ask", options), timeout=10)
        assert final["ephemeral"] and expected in embed_text(final)


def test_the_cooldown_answers_a_rapid_second_ask(bot_env, monkeypatch):
    """A second /ask inside the cooldown window gets a friendly ephemeral 'please wait'; others still ask."""
    h, _, _ = bot_env
    # As if started with ASK_COOLDOWN_RATE=1 and ASK_COOLDOWN_SECONDS=60.
    monkeypatch.setattr(h.client.get_cog("AskCog"), "cooldown", PerUserCooldown(rate=1, per=60.0))
    t0 = h.now()
    member = h.member(name="eager")
    first = h.slash("ask", {"question": "does russia want ukraine to be neutral?"}, member=member)
    second = h.slash("ask", {"question": "and what about crimea?"}, member=member)
    assert h.wait_final(first, timeout=20)["embeds"][0]["title"] != "Nothing relevant"
    refused = h.wait_final(second, timeout=10)
    assert refused["ephemeral"] and "asking quickly" in embed_text(refused) and "ask again <t:" in embed_text(refused)
    other = h.slash("ask", {"question": "and what about crimea?"}, member=h.member(name="patient"))
    assert not h.wait_final(other, timeout=20)["ephemeral"]
    h.assert_clean(since=t0)


def test_an_unexpected_failure_is_an_apology_and_a_logged_traceback(bot_env, monkeypatch):
    """A bug inside /ask: the user sees a short apology in place of the answer, the log has the traceback."""
    h, engine, _ = bot_env

    def broken(*args, **kwargs):
        raise RuntimeError("simulated bug with secret detail")

    monkeypatch.setattr(engine, "answer", broken)
    t0 = h.now()
    final = h.wait_final(h.slash("ask", {"question": "does russia want ukraine to be neutral?"}), timeout=10)
    assert "Sorry" in embed_text(final) and not final["embeds"][0].get("title")
    assert "secret detail" not in embed_text(final) and "Traceback" not in embed_text(final)
    assert any("simulated bug" in str(r.exc_info[1]) for r in h.logged_errors if r.exc_info)
    h.assert_clean(since=t0, allow_logged_errors=True)


def test_commands_are_synced_to_the_configured_guild_only(h):
    """At start, commands go to DISCORD_GUILD_ID; no global sync happens unless asked."""
    fake = h.fake
    assert fake.global_sync_count == 0 and fake.guild_sync_count >= 1
    names = {c["name"] for c in fake.guild_commands[fake.guild_id]}
    assert {"ask", "sources", "about", "reindex", "add-article"} <= names


def test_ask_in_a_direct_message_with_the_bot_works_and_admin_commands_refuse(bot_env):
    """From the user's DMs (no guild, no member): /ask answers with the quote; /reindex is refused privately."""
    h, _engine, base = bot_env
    t0 = h.now()
    rec = h.slash("ask", {"question": "Does Moscow insist that Kyiv stay neutral?"}, dm=True)
    final = h.wait_final(rec, timeout=20)
    quote = plain_quote(final["embeds"][0]["description"])
    assert "Ukraine becomes a neutral state" in quote
    assert quote in (base / "documents" / REUTERS).read_text(encoding="utf-8")
    refused = h.wait_final(h.slash("reindex", dm=True), timeout=10)
    assert refused["ephemeral"] and "works in a server, not in direct messages" in embed_text(refused)
    h.assert_clean(since=t0)
