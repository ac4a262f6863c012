"""Quoted text shows exactly as written and never becomes a link or formatting; links are parsed, outlets checked.

Unit tests of the pieces the Discord and terminal faces share: ``escape`` (every Markdown
character), the embed builders (within Discord's limits whatever the metadata holds, fuzzed),
article links (``index.safe_url``) and the attribution that checks an outlet against its link.
The same attacks go through the real bot in tests/test_reliability_links.py.
"""

from __future__ import annotations

import datetime as dt
import random

import pytest
from discord_markdown import links, live_markup, plain_quote, visible_text
from fakediscord.openapi import embed_problems

from bot.attribution import attribute
from bot.render_answers import render_more_sources
from bot.render_discord import (
    escape,
    render_about_embed,
    render_added_article_embed,
    render_answer_embed,
    render_error_embed,
    render_question,
    render_reindex_embed,
    render_sources_page,
)
from bot.render_text import render_answer_text
from bot.service import AddedArticle, Coverage
from index import MAX_URL_CHARS, DocumentError, link_site, parse_article, safe_url
from index.models import Answer, DocumentInfo, Hit, IndexStats, SkippedFile, SyncReport

# Text that Discord would turn into a link, formatting, a ping or a layout change if left as it is.
ATTACKS = {
    "masked links, adjacent": "see [a](b) and [Reuters](https://evil.example/x) now",
    "masked link in the issue": "[annex](a) was published, see [the official Reuters text](https://evil.example/phish)",
    "nested link in bold in spoiler": "||**[click](https://evil.example)**||",
    "link with angle target": "[Reuters](<https://evil.example/login>)",
    "link text with brackets": "[[nested] text](https://evil.example) and [](https://evil.example)",
    "bold italic underline": "***bold italic*** __underline__ _italic_ *also*",
    "adjacent spans": "**a****b**__c____d__~~e~~~~f~~||g||||h||",
    "strike and spoiler": "~~struck~~ ||spoiler|| |single|",
    "code": "`inline` ``double`` ```block\ncode``` end",
    "headers": "# Big\n## Medium\n### Small\n-# subtext",
    "lists": "- item\n* item\n+ item\n1. first\n  2. nested\n10) tenth",
    "blockquotes": "> quoted\n>>> all quoted\n> > nested",
    "mentions": "@everyone @here <@123456789012345678> <@!1> <@&234> <#345> </ask:456>",
    "timestamps and emoji": "<t:1700000000:R> <:custom:123> <a:anim:456> :flag_ru: :white_check_mark:",
    "backslashes": "a \\*literal\\* backslash \\ and \\\\ double",
    "autolink and angle": "<https://evil.example> https://evil.example/x_y_z",
    "unicode around markup": "Київ **жирний** [посилання](https://evil.example) ||спойлер||",
}


def doc(
    title: str = "Title", source: str = "Reuters", url: str = "https://www.reuters.com/world/a", **kw
) -> DocumentInfo:
    return DocumentInfo(
        kw.get("id", "a.md"), title, source, kw.get("author", "Tom Balmforth"), kw.get("published"), url
    )


def hit(
    quote: str, highlight: tuple[int, int], info: DocumentInfo | None = None, also: tuple[DocumentInfo, ...] = ()
) -> Hit:
    return Hit(info or doc(), quote, 0, len(quote), 0.71, highlight, also)


@pytest.mark.parametrize("text", ATTACKS.values(), ids=list(ATTACKS))
def test_escaped_text_reads_exactly_as_written_and_nothing_in_it_is_live(text):
    """escape(): the reader sees the text as typed; no link, emphasis, spoiler, code, header, list or ping is live."""
    escaped = escape(text)
    assert visible_text(escaped) == text
    assert live_markup(escaped) == [], escaped
    assert links(escaped) == []


def test_escaped_random_markup_soup_stays_inert():
    """Fuzz: 2,000 random strings of markup characters, letters and line breaks all escape to inert text."""
    rng = random.Random(17)
    alphabet = [*"*_~|`[]()<>#:-+.!@\\ \n1aZ", "@everyone", "<@1>", "](", "**", "||", "\u200b", "é", "К"]
    for _ in range(2_000):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randint(1, 40)))
        escaped = escape(text)
        assert visible_text(escaped) == text.replace("\u200b", ""), (text, escaped)
        assert live_markup(escaped) == [], (text, escaped)


@pytest.mark.parametrize("text", ATTACKS.values(), ids=list(ATTACKS))
def test_an_answer_quotes_hostile_text_verbatim_with_only_its_own_bold_live(text):
    """The answer's quote: the passage as written, the bot's blockquote and bold the only live markup."""
    quote = f"Officials said: {text} Then the talks went on."
    start = quote.index(text)
    for highlight in ((0, len(quote)), (start, start + len(text)), (start + 1, start + 4), (0, start)):
        description = render_answer_embed(Answer("q", hit(quote, highlight))).description
        assert plain_quote(description) == quote, description
        assert live_markup(description, blockquote=True, bold=True) == [], description


def test_highlights_starting_and_ending_on_every_markup_character_keep_the_quote_verbatim():
    """Fuzz the bold highlight's edges over a quote of markup: the quote still reads as written, nothing else live."""
    quote = "a*b_c~d|e`f[g]h(i)j<k>l#m:n\\o-p+q 1. r**s__t||u"
    for a in range(len(quote)):
        for b in range(a + 1, len(quote) + 1, 3):
            description = render_answer_embed(Answer("q", hit(quote, (a, b)))).description
            assert plain_quote(description) == quote, (a, b, description)
            assert live_markup(description, blockquote=True, bold=True) == [], (a, b, description)


def test_titles_in_answers_and_sources_are_escaped():
    """A title carrying a masked link is plain text in the embed title, /sources and the 'also reported by' credit."""
    title = "Talks [Reuters](https://evil.example/x) **urgent** ||leak||"
    info = doc(title=title)
    embed = render_answer_embed(Answer("q", hit("Some words here.", (0, 16), info))).to_dict()
    assert visible_text(embed["title"]) == title and live_markup(embed["title"]) == []
    sources = render_sources_page([(info, 3)], 0)[0].description
    assert links(sources) == [(title, "https://www.reuters.com/world/a")]
    assert live_markup(sources, bold=True, link_count=1) == []
    credited = render_answer_embed(Answer("q", hit("Some words here.", (0, 16), doc(), also=(info,)))).to_dict()
    assert title in credited["footer"]["text"]  # a footer renders no Markdown: the title shows as written
    assert links(credited["description"]) == []


def test_a_url_that_tries_to_break_out_of_its_link_stays_one_link():
    """The issue's url (a ')' then a second, fake link) is percent-encoded: /sources shows one link, to reuters.com."""
    evil = "https://www.reuters.com/world/x)**[Verified_by_Reuters_click_here](https://evil.example/login)**["
    info = doc(url=evil)
    description = render_sources_page([(info, 3)], 0)[0].description
    found = links(description)
    assert len(found) == 1 and found[0][1].startswith("https://www.reuters.com/world/x%29")
    assert "evil.example/login)" not in description and ")**" not in found[0][1]
    assert live_markup(description, bold=True, link_count=1) == []
    assert render_answer_embed(Answer("q", hit("Some words here.", (0, 16), info))).url == found[0][1]


def test_an_article_url_is_parsed_and_encoded_when_it_is_loaded():
    """Front matter: the url is checked at load; markup characters are percent-encoded, bad links skip with a reason."""
    article = "---\ntitle: T\nsource: Reuters\nurl: {}\n---\nBody text of the article here.\n"
    evil = "https://www.reuters.com/world/x)**[Verified](https://evil.example/login)**["
    loaded = parse_article(article.format(evil).encode(), doc_id="a.md").info.url
    assert loaded == "https://www.reuters.com/world/x%29%2A%2A%5BVerified%5D%28https://evil.example/login%29%2A%2A%5B"
    assert parse_article(article.format("https://Київ.example/шлях").encode(), doc_id="b.md").info.url == (
        "https://xn--b1alf1j.example/%D1%88%D0%BB%D1%8F%D1%85"
    )
    refused = {
        "https://example.com/" + "a" * 2_100: "2,048",
        "javascript:alert(1)": "http",
        "https://reuters.com@evil.example/login": "user name",
        "https://": "host",
        "https://localhost/x": "host name",
        "https://exa mple.com/": "spaces",
        "https://example.com:99999/": "parsed",
        "https://[evil.example/": "parsed",
        "https://reuters.com\\.evil.example/": "host name",
        "https://[2001:db8::1]/x": "IPv6 address",
    }
    for url, reason in refused.items():
        with pytest.raises(DocumentError, match=reason):
            parse_article(article.format(url).encode(), doc_id="c.md")


@pytest.mark.parametrize(
    ("source", "url", "shown"),
    [
        ("Reuters", "https://www.reuters.com/world/europe/x", "Reuters"),
        ("Reuters", "", "Reuters (unverified)"),
        ("Reuters", "https://evil.example/x", "Reuters (unverified; link to evil.example)"),
        ("Reuters", "https://www.reuters.com.evil.example/x", "Reuters (unverified; link to evil.example)"),
        ("Reuters", "https://reuters.xyz/x", "Reuters (unverified; link to reuters.xyz)"),
        ("Reuters", "https://www.rеuters.com/x", "Reuters (unverified; link to xn--ruters-3of.com)"),  # Cyrillic е
        ("Reuters", "https://reuters.com@evil.example/x", "Reuters (unverified)"),  # not a usable link at all
        ("BBC News", "https://www.bbc.co.uk/news/articles/x", "BBC News"),
        ("The Kyiv Independent", "https://kyivindependent.com/x", "The Kyiv Independent"),
        ("Ukrainska Pravda", "https://www.pravda.com.ua/eng/news/x", "Ukrainska Pravda"),
        ("Bosphorus Daily", "https://www.bosphorus-daily.com.tr/x", "Bosphorus Daily"),
        (
            "Bosphorus Daily",
            "https://bosphorus-daily.evil.example/x",
            "Bosphorus Daily (unverified; link to evil.example)",
        ),
        ("Reuters", "http://192.0.2.1:8080/x", "Reuters (unverified; link to 192.0.2.1)"),  # an address names no outlet
        ("unknown", "", "Unattributed source"),
        ("Unknown", "", "Unattributed source"),
        ("", "", "Unattributed source"),
        ("unknown", "https://apnews.com/article/x", "Unattributed source (link to apnews.com)"),
    ],
)
def test_the_outlet_is_shown_as_verified_only_when_its_link_leads_to_its_own_site(source, url, shown):
    """attribute(): the outlet named in front matter is vouched for only by a link to that outlet's site."""
    source_line = attribute(doc(source=source, url=url, author=""))
    assert source_line.outlet_label == shown
    assert source_line.citation() == f"{shown}, no date"


def test_both_faces_show_the_same_checked_attribution():
    """The terminal and Discord show the outlet with the link's real site when they disagree, and the same link."""
    info = doc(url="https://reuters.com.evil.example/login)[x](y)", published=dt.date(2025, 5, 17))
    answer = Answer("q", hit("Some words here.", (0, 16), info))
    line = "Tom Balmforth · Reuters (unverified; link to evil.example), 17 May 2025"
    assert render_answer_embed(answer).author.name == line
    text = render_answer_text(answer)
    assert f"— {line}" in text and "  https://reuters.com.evil.example/login%29%5Bx%5D%28y%29" in text


ODD_TEXT = ["", " ", "x", "[a](b)" * 200, "*" * 5_000, "\n" * 300, "é" * 3_000, "<@1>" * 900, "word " * 2_000]
ODD_URLS = [
    "",
    "https://example.com/" + "a" * 2_100,
    "https://example.com/" + "(" * 5_000,
    "https://example.com/" + "é" * 1_000,
    "ftp://example.com/x",
    "https://evil.example/x)**[y](z)",
    "not a url at all",
    "https://www.reuters.com/world/a",
]


def test_every_builder_stays_within_discords_limits_whatever_the_metadata_holds():
    """Fuzz: titles, outlets, authors, urls and quotes of any length and content give valid embeds every time."""
    rng = random.Random(2048)
    for _ in range(120):
        infos = [
            DocumentInfo(
                f"{i}.md",
                rng.choice(ODD_TEXT) or "t",
                rng.choice(ODD_TEXT) or "unknown",
                rng.choice(ODD_TEXT),
                rng.choice([None, dt.date(2025, 5, 17)]),
                rng.choice(ODD_URLS),
            )
            for i in range(12)
        ]
        quote = rng.choice(ODD_TEXT[1:])
        a = rng.randrange(len(quote))
        highlight = (a, rng.randint(a + 1, len(quote)))
        hits = [Hit(info, quote, 0, len(quote), 0.5, highlight, tuple(infos)) for info in infos]
        answer = Answer("q", hits[0], alternatives=tuple(hits[1:6]))
        nothing = Answer("q", None)
        coverage = Coverage(
            articles=rng.randint(0, 10**6),
            first=rng.choice([None, dt.date(2025, 5, 17)]),
            last=rng.choice([None, dt.date(2025, 6, 2)]),
            undated=rng.randint(0, 10),
            outlets=tuple((attribute(info).outlet_label, rng.randint(1, 9)) for info in infos),
            updated=dt.datetime(2026, 1, 1, tzinfo=dt.UTC),
        )
        report = SyncReport(
            skipped=[SkippedFile(rng.choice(ODD_TEXT), rng.choice(ODD_TEXT)) for _ in range(rng.randint(0, 30))],
            notes=[rng.choice(ODD_TEXT) for _ in range(rng.randint(0, 30))],
            rebuilt_because=rng.choice(ODD_TEXT),
            repaired=rng.choice(ODD_TEXT),
        )
        messages = [
            [render_answer_embed(answer)],
            [render_answer_embed(nothing, coverage=coverage)],
            [render_more_sources(answer)],
            [render_about_embed(coverage, IndexStats(2, 21, "g", coverage.updated, rng.choice(ODD_TEXT) or "m"))],
            [render_sources_page([(info, 3) for info in infos], page)[0] for page in (0, 1)],
            [render_reindex_embed(report)],
            [
                render_added_article_embed(
                    AddedArticle(
                        name="a.md",
                        title=rng.choice(ODD_TEXT),
                        replaced=rng.random() < 0.5,
                        passages=3,
                        report=report,
                        replaced_title=rng.choice(ODD_TEXT),
                        renamed=True,
                    ),
                    uploaded_as=rng.choice(ODD_TEXT),
                )
            ],
            [render_error_embed(rng.choice(ODD_TEXT) or "x")],
        ]
        for embeds in messages:
            dicts = [e.to_dict() for e in embeds]
            assert embed_problems(dicts) == [], embed_problems(dicts)
            for d in dicts:
                assert len(d.get("url", "")) <= MAX_URL_CHARS
                assert all(len(f["value"]) <= 1_024 and f["value"].strip() for f in d.get("fields", []))
        assert 0 < len(render_question(rng.choice(ODD_TEXT) * rng.randint(1, 3))) <= 2_000


@pytest.mark.parametrize("name", sorted(ATTACKS))
def test_a_question_full_of_markup_shows_as_typed_above_the_answer(name):
    """The question in the public answer's content: every attack reads as typed (spaces folded), nothing is live."""
    question = ATTACKS[name]
    content = render_question(question)
    assert content.startswith("**Q:** ")
    assert visible_text(content.removeprefix("**Q:** ")) == " ".join(question.split())
    assert live_markup(content, bold=True) == [], content


def test_safe_url_and_link_site_never_raise():
    """Rendering helpers: any stored value gives a usable link or none, and the site it leads to."""
    for raw in ODD_URLS + ODD_TEXT + ["https://[::1]/x", "http://192.0.2.1:8080/a", "HTTPS://WWW.BBC.CO.UK:443/"]:
        url = safe_url(raw)
        assert url == "" or (len(url) <= MAX_URL_CHARS and not set(url) & set("()[]*<> |`\\\"'"))
        assert isinstance(link_site(raw), str)
    assert link_site("HTTPS://WWW.BBC.CO.UK:443/") == "bbc.co.uk"
    assert link_site("http://192.0.2.1:8080/a") == "192.0.2.1"
    assert safe_url("HTTPS://WWW.BBC.CO.UK:443/") == "https://www.bbc.co.uk:443/"
