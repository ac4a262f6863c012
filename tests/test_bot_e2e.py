"""/ask, /sources and /about end to end: the real discord.py bot against the fake Discord."""

from __future__ import annotations

import json
import re

import pytest
from discord_helpers import buttons, embed_text, plain_quote, start_seed_bot
from discord_markdown import links, live_markup, reader_text, visible_text
from fakediscord import DiscordHarness

from bot.commands.ask import PerUserCooldown
from bot.render_discord import ACCENT, LIKELY
from tests.conftest import REUTERS, REWRITE

REUTERS_TITLE = "Russia demanded Ukraine quit four regions before any ceasefire, Ukrainian official says"
REWRITE_TITLE = "Russia sought sweeping territorial concessions at Istanbul talks (unattributed rewrite)"


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
    """/ask with a paraphrase: the question, then the Reuters passage word for word, cited, no score, on time."""
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
    assert embed["author"]["name"] == "Tom Balmforth · Reuters (unverified), 17 May 2025"
    assert embed["title"] == REUTERS_TITLE and "url" not in embed  # the seed article states no link
    assert reader_text(final["content"]) == "Q: Does Moscow insist that Kyiv stay neutral?"
    assert "relevance" not in json.dumps(final) and not re.search(r"\b0\.\d\d\b", embed_text(final))
    assert rec.ack_latency < 3.0
    assert h.max_heartbeat_gap(t0, h.now()) <= 0.5
    assert h.max_loop_lag(t0, h.now()) < 0.5
    h.assert_clean(since=t0)


def test_an_off_topic_question_says_what_the_bot_covers_and_nothing_else(h):
    """Off topic: the question, then 'I only cover the talks (2 articles from 17 May 2025)', /sources, no titles."""
    t0 = h.now()
    final = h.wait_final(h.slash("ask", {"question": "who won the football yesterday?"}), timeout=20)
    text = embed_text(final)
    assert not final["ephemeral"] and reader_text(final["content"]) == "Q: who won the football yesterday?"
    assert (
        "I only cover the Russia–Ukraine talks in Istanbul (2 articles from 17 May 2025), "
        "and none of my articles answers this. `/sources` lists them."
    ) in text
    assert REUTERS_TITLE not in text and REWRITE_TITLE not in text and "Reuters" not in text
    assert "> " not in final["embeds"][0]["description"] and final["embeds"][0]["color"] == ACCENT.value
    h.assert_clean(since=t0)


def test_a_likely_answer_is_shown_as_such(h):
    """The product owner's question: Reuters quoted, amber, with the 'likely answer' note and label."""
    t0 = h.now()
    final = h.wait_final(h.slash("ask", {"question": "What did Russia demand before agreeing to a ceasefire?"}), 20)
    embed = final["embeds"][0]
    assert embed["author"]["name"].startswith("Tom Balmforth · Reuters")
    assert embed["description"].startswith("*Likely answer:") and embed["color"] == LIKELY.value
    assert embed["footer"]["text"] == f"Also reported by: “{REWRITE_TITLE}” — Unattributed source, no date"
    h.assert_clean(since=t0)


def test_more_sources_is_one_private_message_naming_each_article_once(bot_env):
    """More sources: one ephemeral embed, 'More from the sources', each article's title and citation once, and
    short quotes that are each a verbatim sentence of that article."""
    h, _engine, base = bot_env
    t0 = h.now()
    rec = h.slash("ask", {"question": "What did the Russians propose at the talks?"})
    final = h.wait_final(rec, timeout=20)
    more = h.wait_final(h.click(rec, buttons(final)["More sources"]["custom_id"]), timeout=10)
    assert more["ephemeral"] and len(more["embeds"]) == 1
    embed = more["embeds"][0]
    assert embed["title"] == "More from the sources" and "footer" not in embed and "author" not in embed
    text = visible_text(embed["description"])
    cited = {REUTERS_TITLE: "Tom Balmforth · Reuters (unverified), 17 May 2025", REWRITE_TITLE: "Unattributed source"}
    shown = [title for title in cited if title in text]
    assert shown and all(text.count(t) == 1 and text.count(cited[t]) == 1 for t in shown), text
    bodies = [(base / "documents" / name).read_text(encoding="utf-8") for name in (REUTERS, REWRITE)]
    quotes = re.findall(r"^> “(.*)”$", text, flags=re.MULTILINE)
    assert quotes and all(any(q in body for body in bodies) for q in quotes), quotes
    assert (
        live_markup(embed["description"], blockquote=True, bold=True, link_count=len(links(embed["description"]))) == []
    )
    h.assert_clean(since=t0)


def test_sources_lists_both_seed_articles(h):
    """/sources: each article titled and cited, a blank line between them, no passage counts, no 'page 1 of 1'."""
    final = h.wait_final(h.slash("sources"), timeout=10)
    embed = final["embeds"][0]
    assert embed["title"] == "Articles I answer from (2)" and "footer" not in embed
    assert reader_text(embed["description"]) == (
        f"{REUTERS_TITLE}\nTom Balmforth · Reuters (unverified), 17 May 2025\n\n"
        f"{REWRITE_TITLE}\nUnattributed source, no date"
    )
    assert "passage" not in embed_text(final) and "page" not in embed_text(final)


def test_about_says_what_the_articles_cover_without_internal_ids(bot_env):
    """/about: the article count, the dates and outlets covered, when updated; no generation id; the model small."""
    h, engine, _ = bot_env
    final = h.wait_final(h.slash("about"), timeout=10)
    embed = final["embeds"][0]
    fields = {f["name"]: f["value"] for f in embed["fields"]}
    assert fields["Articles"] == "2" and fields["Published"] == "17 May 2025\n1 undated"
    assert visible_text(fields["Outlets"]) == "Reuters (unverified): 1\nUnattributed source: 1"
    assert re.fullmatch(r"<t:\d+:R>", fields["Updated"])
    assert engine.stats().generation not in json.dumps(final) and "gen-" not in json.dumps(final)
    assert "Passages" not in fields and embed["footer"]["text"] == "Search model: all-MiniLM-L6-v2"


def test_everyone_in_a_question_pings_nobody(h):
    """A question with @everyone and a role mention is answered and shown as typed; no request could ping."""
    t0 = h.now()
    question = "@everyone <@&123> does russia want ukraine to be neutral?"
    final = h.wait_final(h.slash("ask", {"question": question}), timeout=20)
    assert final["embeds"] and reader_text(final["content"]) == f"Q: {question}"
    assert "@everyone" not in final["content"] and "<@&" not in final["content"]
    h.assert_clean(since=t0)  # the fake refuses any message that could ping


def test_a_question_full_of_markup_shows_as_typed_in_the_public_answer(h):
    """Bold, a masked link, a spoiler, code and a heading in the question: the channel sees them as typed, inert."""
    t0 = h.now()
    question = "# **Did** [Russia](https://evil.example) demand ||neutrality|| `now` ~~or~~ __later__?"
    final = h.wait_final(h.slash("ask", {"question": question}), timeout=20)
    assert not final["ephemeral"] and reader_text(final["content"]) == f"Q: {question}"
    assert live_markup(final["content"], bold=True) == [] and links(final["content"]) == []
    h.assert_clean(since=t0)


def test_a_since_date_is_shown_with_the_question(h):
    """/ask with since: the public answer says the question and that only articles from that date on were searched."""
    t0 = h.now()
    options = {"question": "Does Moscow insist that Kyiv stay neutral?", "since": "2025-05-01"}
    final = h.wait_final(h.slash("ask", options), timeout=20)
    assert (
        reader_text(final["content"]) == "Q: Does Moscow insist that Kyiv stay neutral? *(articles from 1 May 2025 on)*"
    )
    h.assert_clean(since=t0)


def test_no_discord_message_shows_a_raw_score_and_every_reply_wears_the_neutral_colour(h):
    """After answers, More sources, /sources and /about: no 'relevance 0.' anywhere; colours neutral or amber."""
    t0, before = h.now(), set(h.fake.messages)
    rec = h.slash("ask", {"question": "What did the Russians propose at the talks?"})
    final = h.wait_final(rec, timeout=20)
    h.wait_final(h.click(rec, buttons(final)["More sources"]["custom_id"]), timeout=10)
    for command in ("sources", "about"):
        h.wait_final(h.slash(command), timeout=10)
    h.wait_final(h.slash("ask", {"question": "who won the football yesterday?"}), timeout=20)
    sent = [m for mid, m in h.fake.messages.items() if mid not in before and m.get("embeds")]
    assert len(sent) >= 5
    for message in sent:
        assert "relevance" not in json.dumps(message, ensure_ascii=False), message
        assert {e.get("color") for e in message["embeds"]} <= {ACCENT.value, LIKELY.value}, message
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
    assert "author" in h.wait_final(first, timeout=20)["embeds"][0]  # an answer, cited
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
