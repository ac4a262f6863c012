""" "Find sources" (Apps -> Find sources on a member's message), end to end against the fake Discord.

The fake sends the message command as Discord does (data.type 3, the message whole in
resolved.messages) to a bot holding no message-content intent; every reply is validated against the
OpenAPI description and Discord's limits, and the fake refuses anything that could ping.
"""

from __future__ import annotations

import pytest
from discord_helpers import buttons, embed_text, plain_quote, start_seed_bot
from reliability_helpers import live_mentions

from tests.conftest import REUTERS


@pytest.fixture(scope="module")
def bot_env(tmp_path_factory, embedder):
    """The seed bot on the fake Discord, and a member, Bob, whose messages get looked up."""
    base = tmp_path_factory.mktemp("find")
    harness, _engine = start_seed_bot(base, embedder)
    bob = harness.member(name="bob")
    yield harness, base, bob
    harness.close()


def find(h, message: dict, member: dict | None = None) -> tuple[object, dict]:
    """Run Find sources on ``message`` and wait for the reply."""
    rec = h.message_command("Find sources", message, member=member)
    return rec, h.wait_final(rec, timeout=20)


def test_a_supported_claim_gets_the_passage_privately_with_its_source(bot_env):
    """A claim the Reuters article covers: a private reply quoting it word for word, naming the message it
    answers (linked), with 👍 / 👎 and Post in channel; the command was registered as a message command."""
    h, base, bob = bot_env
    t0 = h.now()
    posted = h.post_message("Russia wants Ukraine to become a neutral state, apparently", author=bob)
    rec, reply = find(h, posted)
    assert rec.payload["data"]["type"] == 3 and "content" in rec.payload["data"]["resolved"]["messages"][posted["id"]]
    assert reply["ephemeral"] and rec.ack_latency < 3.0
    embed = reply["embeds"][0]
    head, _, quote_part = embed["description"].partition("\n\n")
    assert "a message by Bob" in head and f"/channels/{h.fake.guild_id}/{posted['channel_id']}/{posted['id']}" in head
    assert "Russia wants Ukraine to become a neutral state, apparently" in head
    quote = plain_quote(quote_part)
    assert "Ukraine becomes a neutral state" in quote
    assert quote in (base / "documents" / REUTERS).read_text(encoding="utf-8")
    assert set(buttons(reply)) == {"👍", "👎", "Post in channel"}
    menus = [c for c in h.fake.guild_commands[h.fake.guild_id] if c["type"] == 3]
    assert [c["name"] for c in menus] == ["Find sources"]
    h.assert_clean(since=t0)


def test_posting_in_the_channel_shares_the_answer_and_its_votes(bot_env):
    """Post in channel: the private reply keeps its votes but loses the button; a public message with the same
    quote says who posted it; a vote there and one on the private copy add up on one answer."""
    h, _base, bob = bot_env
    t0 = h.now()
    alice, carol = h.member(name="alice"), h.member(name="carol")
    rec, private = find(h, h.post_message("did they agree a prisoner exchange in istanbul?", author=bob), alice)
    shared = h.click(rec, buttons(private)["Post in channel"]["custom_id"], member=alice)
    public = h.wait_final(shared, timeout=10)
    assert not public["ephemeral"]
    assert plain_quote(public["embeds"][0]["description"].partition("\n\n")[2]) == plain_quote(
        private["embeds"][0]["description"].partition("\n\n")[2]
    )
    assert "posted by Alice" in public["embeds"][0]["footer"]["text"]
    edited = h.fake.messages[private["id"]]
    assert {c.get("label") for row in edited["components"] for c in row["components"]} == {None}
    first = h.wait_final(h.click(public["id"], buttons(public)["👍"]["custom_id"], member=carol), timeout=10)
    second = h.wait_final(h.click(rec, buttons(private)["👍"]["custom_id"], member=alice), timeout=10)
    assert "So far: 1 👍" in first["content"] and "So far: 2 👍 · 0 👎." in second["content"]
    h.assert_clean(since=t0)


def test_an_unsupported_claim_gets_a_plain_no_without_a_quote_or_titles(bot_env):
    """A claim no article covers: 'None of my articles speaks to this', what they cover, no quote, no titles."""
    h, _base, bob = bot_env
    t0 = h.now()
    _, reply = find(h, h.post_message("Messi scored twice in the cup final yesterday", author=bob))
    text = embed_text(reply)
    assert reply["ephemeral"] and "None of my articles speaks to this" in text
    assert "I only cover the Russia–Ukraine talks in Istanbul (2 articles from 17 May 2025); `/sources`" in text
    assert "\n> " not in reply["embeds"][0]["description"] and "Russia demanded" not in text
    h.assert_clean(since=t0)


@pytest.mark.parametrize(
    ("content", "attachment", "expected"),
    [
        ("", True, "only an attachment"),
        ("", False, "no text for me to look up"),
        ("https://example.com/some-article", False, "only a link"),
        ("<@1> <#2> <:pepe:12345> @everyone ||  ||", False, "no words for me to look up"),
    ],
)
def test_a_message_without_words_gets_a_private_sentence(bot_env, content, attachment, expected):
    """Empty, attachment-only, link-only and mention-only messages: a private sentence saying why, nothing public."""
    h, _base, bob = bot_env
    t0 = h.now()
    files = [h.run(h.fake.host_attachment, "photo.png", b"\x89PNG", "image/png", ephemeral=False)] if attachment else []
    _, reply = find(h, h.post_message(content, author=bob, attachments=files))
    assert reply["ephemeral"] and expected in embed_text(reply)
    h.assert_clean(since=t0)


def test_a_message_with_only_an_embed_is_read_from_its_embed(bot_env):
    """A link preview or another bot's post (no text): its embed's words are looked up, and the reply says so."""
    h, _base, bob = bot_env
    t0 = h.now()
    preview = {"type": "rich", "title": "Ukraine neutral state demand", "description": "Russia wants a neutral Ukraine"}
    _, reply = find(h, h.post_message("", author=bob, embeds=[preview]))
    assert "Ukraine becomes a neutral state" in reply["embeds"][0]["description"].replace("\\", "")
    assert "I looked up its embed" in reply["embeds"][0]["footer"]["text"]
    h.assert_clean(since=t0)


def test_a_hostile_message_pings_no_one_and_its_markup_shows_as_text(bot_env):
    """@everyone, user and role mentions, a masked link, spoilers, code and 3,900 characters: the reply quotes
    the passage, shows the claim without live markup or mentions, says it was cut, and the fake saw no ping."""
    h, _base, bob = bot_env
    t0 = h.now()
    role = h.fake.role("Moderator")["id"]
    hostile = (
        f"@everyone <@{bob['user']['id']}> <@&{role}> **Russia** wants [Ukraine](https://evil.example) to be "
        "||neutral|| `state` ```no weapons``` [click me](https://evil.example/x) # heading\n> quoted\n"
    )
    hostile += " and more words about the talks" * 120
    assert len(hostile) > 3_800
    _, reply = find(h, h.post_message(hostile, author=bob))
    description = reply["embeds"][0]["description"]
    head = description.partition("\n\n")[0]
    assert not live_mentions(description) and "@everyone" not in description
    assert "](https://evil" not in head and "||" not in head and "**Russia**" not in head
    # The words as a reader saw them ("# heading" mid-line is no heading in Discord, so its # stays).
    assert "Russia wants Ukraine to be neutral state no weapons click me # heading quoted" in head.replace("\\", "")
    assert "I looked up its first" in reply["embeds"][0]["footer"]["text"]
    h.assert_clean(since=t0)


def test_find_sources_is_rate_limited_per_member(bot_env, monkeypatch):
    """Over the rate, a member gets a private 'please wait'; another member is not affected."""
    from bot.commands.ask import PerUserCooldown

    h, _base, bob = bot_env
    monkeypatch.setattr(h.client.get_cog("FindSourcesCog"), "cooldown", PerUserCooldown(rate=1, per=60.0))
    t0 = h.now()
    eager = h.member(name="eager")
    message = h.post_message("did russia demand that ukraine be neutral", author=bob)
    find(h, message, eager)
    _, refused = find(h, message, eager)
    assert refused["ephemeral"] and "asking quickly" in embed_text(refused)
    _, other = find(h, message, h.member(name="patient"))
    assert "a message by Bob" in embed_text(other) and "asking quickly" not in embed_text(other)
    h.assert_clean(since=t0)
