"""Disguised links, spoofed outlets and oversized links, through the real bot on the fake Discord and the CLI.

An article whose body, title and url carry Markdown attacks is indexed beside the seed
articles; /ask, /sources and the /add-article reply must show its text exactly as written with
no live link but the bot's own, to the parsed and encoded url. An outlet its link does not
confirm is shown with the link's real site. A url over Discord's 2,048 characters is refused
when loaded, and even one already in an index (built before the check) never breaks a reply.
"""

from __future__ import annotations

import pytest
from discord_helpers import embed_text, plain_quote, start_seed_bot
from discord_markdown import links, live_markup, visible_text
from fakediscord import PERM_MANAGE_GUILD, DiscordHarness
from reliability_helpers import GOOD_ANSWER, GOOD_QUESTION, copy_seed, run_cli, text

import index.documents

EVIL_URL = "https://www.reuters.com/world/x)**[Verified_by_Reuters_click_here](https://evil.example/login)**["
SAFE_EVIL_URL = (
    "https://www.reuters.com/world/x%29%2A%2A%5BVerified_by_Reuters_click_here%5D%28https://evil.example/login%29"
    "%2A%2A%5B"
)
HOSTILE_TITLE = "Grain annex [Reuters](https://evil.example/t) **official** ||leak|| __now__"
HOSTILE_BODY = (
    "The grain corridor annex [annex](a) was published, see [the official Reuters text](https://evil.example/phish) "
    "for the **full** terms, ||secret|| `code` and __underlined__ ~~struck~~ words at the Istanbul talks.\n\n"
    "# A heading line about the grain corridor annex\n"
    "- a list item: the grain corridor annex opens three ports\n"
    "> a quoted line: the grain corridor annex was signed <@&123> @everyone :flag_ru:\n"
)
HOSTILE = (
    f"---\ntitle: '{HOSTILE_TITLE}'\nsource: Reuters\npublished: 2025-06-05\nurl: '{EVIL_URL}'\n---\n{HOSTILE_BODY}"
)
LONG_URL = "https://example.com/" + "a" * 2_100
HUGE_URL = "https://example.com/" + "b" * 5_000


def _article(title: str, body: str, *, source: str = "Test Wire", url: str = "") -> str:
    link = f"url: '{url}'\n" if url else ""
    return f"---\ntitle: '{title}'\nsource: {source}\npublished: 2025-06-06\n{link}---\n{body}\n"


@pytest.fixture(scope="module")
def bot(tmp_path_factory, embedder):
    """The seed articles plus the hostile one, the real bot on the fake Discord."""
    base = tmp_path_factory.mktemp("links")
    harness, engine = start_seed_bot(base, embedder)
    docs = base / "documents"
    (docs / "hostile.md").write_text(HOSTILE, encoding="utf-8")
    report = engine.reindex()
    assert report.added == ["hostile.md"], report.skipped
    yield harness, engine, docs
    harness.close()


def _admin(h: DiscordHarness) -> dict:
    return h.member(name="admin", permissions=str(PERM_MANAGE_GUILD))


def _upload(h: DiscordHarness, name: str, data: bytes, **options):
    att = h.host_attachment("upload.bin", data)
    att["filename"] = name
    return h.slash("add-article", {"file": att, **options}, member=_admin(h))


def test_a_hostile_article_is_quoted_word_for_word_in_a_public_answer_with_no_live_markup(bot):
    """/ask: the passage reads exactly as written; no masked link, bold, spoiler, code, header, list or ping is live."""
    h, _engine, docs = bot
    t0 = h.now()
    seen = []
    for question in (
        "Where was the grain corridor annex text published?",
        "What does the list item say about ports in the grain corridor annex?",
        "What was signed about the grain corridor annex in the quoted line?",
    ):
        final = h.wait_final(h.slash("ask", {"question": question}), timeout=30)
        assert not final["ephemeral"]
        embed = final["embeds"][0]
        assert visible_text(embed["title"]) == HOSTILE_TITLE and live_markup(embed["title"]) == []
        assert embed["url"] == SAFE_EVIL_URL
        quote = plain_quote(embed["description"])
        assert quote in (docs / "hostile.md").read_text(encoding="utf-8"), quote
        assert links(embed["description"]) == [], embed["description"]
        # The passage is the block quote; a likely answer's note above it is the bot's own italics.
        passage = "\n".join(line for line in embed["description"].split("\n") if line.startswith("> "))
        assert passage and live_markup(passage, blockquote=True, bold=True) == [], embed["description"]
        seen.append(quote)
    assert any("[the official Reuters text](https://evil.example/phish)" in q for q in seen), seen
    h.assert_clean(since=t0)


def test_sources_shows_one_link_per_article_and_none_smuggled_by_a_title_or_url(bot):
    """/sources: every link is the bot's own, to the encoded url; the title's and url's fake links are plain text."""
    h, _engine, _docs = bot
    t0 = h.now()
    description = h.wait_final(h.slash("sources"), timeout=20)["embeds"][0]["description"]
    found = links(description)
    assert found == [(HOSTILE_TITLE, SAFE_EVIL_URL)], found
    assert live_markup(description, bold=True, link_count=1) == [], description
    h.assert_clean(since=t0)


def test_an_add_article_reply_shows_a_hostile_title_as_text(bot):
    """/add-article: the reply names the title as written, with no live link, spoiler or formatting from it."""
    h, _engine, docs = bot
    t0 = h.now()
    title = "Upload [click me](https://evil.example/x) ||spoiler|| **bold** @everyone"
    data = _article(title, "Negotiators agreed on river shipping rules in Istanbul on Friday.").encode()
    final = h.wait_final(_upload(h, "hostile-upload.md", data), timeout=60)
    description = final["embeds"][0]["description"]
    assert final["ephemeral"] and title in visible_text(description), description
    assert links(description) == [] and live_markup(description, bold=True, code=True) == [], description
    (docs / "hostile-upload.md").unlink()
    h.assert_clean(since=t0)


@pytest.mark.parametrize(
    ("source", "url", "shown"),
    [
        ("Reuters", "https://evil.example/login", "Reuters (unverified; link to evil.example)"),
        ("Reuters", "https://www.reuters.com.evil.example/x", "Reuters (unverified; link to evil.example)"),
        ("Reuters", "", "Reuters (unverified)"),
    ],
    ids=["other site", "look-alike host", "no link"],
)
def test_an_upload_claiming_an_outlet_its_link_does_not_confirm_is_shown_unverified(bot, source, url, shown):
    """'source: Reuters' with a link elsewhere (or none): /ask shows the link's real site or 'unverified'."""
    h, _engine, docs = bot
    t0 = h.now()
    fact = f"the delegation from Spoofland{len(url)} agreed to inspect the Danube crossings"
    data = _article(f"Spoof {len(url)}", f"Officials said {fact} on Saturday.", source=source, url=url).encode()
    name = f"spoof-{len(url)}.md"
    assert "Added" in embed_text(h.wait_final(_upload(h, name, data), timeout=60))
    final = h.wait_final(h.slash("ask", {"question": f"What did the delegation from Spoofland{len(url)} agree?"}), 30)
    embed = final["embeds"][0]
    assert fact in plain_quote(embed["description"])
    assert embed["author"]["name"] == f"{shown}, 6 June 2025"
    (docs / name).unlink()
    h.assert_clean(since=t0)


def test_an_upload_with_an_overlong_url_is_refused_with_the_reason(bot):
    """/add-article with a 2,100-character url: a private sentence naming Discord's 2,048 limit; nothing written."""
    h, _engine, docs = bot
    t0 = h.now()
    data = _article("Long link", "A long link article about the talks in Istanbul.", url=LONG_URL).encode()
    final = h.wait_final(_upload(h, "long-link.md", data), timeout=60)
    assert final["ephemeral"] and "2,048" in embed_text(final) and "Added" not in embed_text(final)
    assert not (docs / "long-link.md").exists()
    h.assert_clean(since=t0)


def test_links_already_in_an_index_never_break_an_answer_or_the_sources(bot, monkeypatch):
    """An index built before the url check holds 2,100- and 5,000-character urls: /ask and /sources still reply."""
    h, engine, docs = bot
    for name, url in (("long.md", LONG_URL), ("huge.md", HUGE_URL)):
        body = f"The {name[:-3]} link delegation discussed the Zaporizhzhia power plant inspection schedule."
        (docs / name).write_text(_article(f"Link {name}", body, url=url), encoding="utf-8")
    with monkeypatch.context() as m:
        m.setattr(index.documents, "clean_url", lambda raw: raw)  # as an older talksbot indexed them
        assert sorted(engine.reindex().added) == ["huge.md", "long.md"]
    t0 = h.now()
    for word in ("long", "huge"):
        rec = h.slash("ask", {"question": f"What did the {word} link delegation discuss?"})
        embed = h.wait_final(rec, timeout=30)["embeds"][0]
        assert f"The {word} link delegation" in plain_quote(embed["description"]) and "url" not in embed
    sources = h.wait_final(h.slash("sources"), timeout=20)
    assert "Link long.md" in embed_text(sources) and "Link huge.md" in embed_text(sources)
    assert "Sorry" not in embed_text(sources)
    h.assert_clean(since=t0)
    for name in ("long.md", "huge.md"):
        (docs / name).unlink()
    engine.reindex()


def test_talksbot_index_skips_an_overlong_or_disguised_url_with_its_reason(tmp_path):
    """`talksbot index`: a 2,100-character url or one with a user name is skipped with its reason; the rest answer."""
    docs = copy_seed(tmp_path / "documents")
    (docs / "long.md").write_text(_article("Long", "Body text about the talks.", url=LONG_URL), encoding="utf-8")
    spoof = _article("Spoof", "Body text about the talks.", url="https://www.reuters.com@evil.example/login")
    (docs / "userinfo.md").write_text(spoof, encoding="utf-8")
    proc = run_cli("index", cwd=tmp_path)
    out = text(proc.stdout)
    assert proc.returncode == 0, text(proc.stderr)
    assert "skipped long.md: broken front matter: url is 2,120 characters long (at most 2,048" in out, out
    assert "skipped userinfo.md: broken front matter: url must not contain a user name or password" in out, out
    proc = run_cli("ask", GOOD_QUESTION, cwd=tmp_path)
    assert proc.returncode == 0 and GOOD_ANSWER in text(proc.stdout)
