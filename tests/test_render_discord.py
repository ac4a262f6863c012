"""Discord rendering: answers read as citations; limits met by construction, markup escaped, cuts honest."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest
from discord_helpers import plain_quote
from discord_markdown import links, live_markup, visible_text

from bot.render_answers import render_more_sources
from bot.render_discord import (
    ACCENT,
    LIKELY,
    escape,
    render_about_embed,
    render_answer_embed,
    render_question,
    render_reindex_embed,
    render_sources_page,
)
from bot.render_text import MORE_FROM_THE_SOURCES
from bot.service import Coverage
from index.models import Answer, DocumentInfo, Hit, IndexStats, SkippedFile, SyncReport

DOC = DocumentInfo("a.md", "Title", "Reuters", "Tom Balmforth", dt.date(2025, 5, 17), "https://www.reuters.com/world/a")
HUGE = DocumentInfo("b.md", "T" * 400, "S" * 300, "A" * 300, None, "")
WHEN = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
COVERAGE = Coverage(2, dt.date(2025, 5, 17), dt.date(2025, 6, 2), 1, (("Reuters", 1), ("Unattributed source", 1)), WHEN)
STATS = IndexStats(2, 21, "gen-000001", WHEN, "all-MiniLM-L6-v2")


def embed_size(embed) -> int:
    d = embed.to_dict()
    size = len(d.get("title", "")) + len(d.get("description", ""))
    size += len((d.get("author") or {}).get("name", "")) + len((d.get("footer") or {}).get("text", ""))
    size += sum(len(f["name"]) + len(f["value"]) for f in d.get("fields", []))
    return size


def hit(quote: str, highlight: tuple[int, int], doc: DocumentInfo = DOC, also=()) -> Hit:
    return Hit(doc, quote, 0, len(quote), 0.71, highlight, also)


def test_the_answer_embed_reads_as_a_citation_with_a_word_for_confidence():
    """Quote as a blockquote, best sentence bold, 'author · outlet, date in words', linked title, no raw score."""
    quote = "First sentence here. The best sentence is this one. Last one."
    embed = render_answer_embed(Answer("q", hit(quote, (21, 51), also=(HUGE,)))).to_dict()
    assert embed["description"] == "> First sentence here. **The best sentence is this one.** Last one."
    assert embed["author"]["name"] == "Tom Balmforth · Reuters, 17 May 2025"
    assert embed["url"] == "https://www.reuters.com/world/a" and embed["title"] == "Title"
    assert embed["footer"]["text"].startswith("Confident answer · Also reported by: “TTT")
    assert "relevance" not in str(embed) and "0.71" not in str(embed)
    assert plain_quote(embed["description"]) == quote


@pytest.mark.parametrize(
    ("info", "citation"),
    [
        (DOC, "Tom Balmforth · Reuters, 17 May 2025"),
        (dataclasses.replace(DOC, url=""), "Tom Balmforth · Reuters (unverified), 17 May 2025"),
        (
            dataclasses.replace(DOC, url="https://evil.example/a", author="", published=dt.date(2025, 6, 2)),
            "Reuters (unverified; link to evil.example), 2 June 2025",
        ),
        (DocumentInfo("c.md", "Rewrite", "unknown"), "Unattributed source, no date"),
        (
            DocumentInfo("c.md", "Rewrite", "", "Jane Doe", dt.date(2025, 7, 1)),
            "Jane Doe · no outlet named, 1 July 2025",
        ),
        (
            DocumentInfo("c.md", "Rewrite", "Kyiv Ledger", "Olena Kovalenko, Mark Ellis", None, ""),
            "Olena Kovalenko, Mark Ellis · Kyiv Ledger (unverified), no date",
        ),
    ],
)
def test_the_citation_says_unknown_and_unverified_parts_plainly(info, citation):
    """Attributed, unverified and unattributed/undated articles: the author line says each as a reader would."""
    embed = render_answer_embed(Answer("q", hit("Some text here.", (0, 15), info))).to_dict()
    assert embed["author"]["name"] == citation
    assert ("url" in embed) == bool(info.url)  # a title is linked only when there is a link; none is invented


def test_a_passage_too_long_for_discord_is_cut_at_sentences_around_the_highlight_and_says_so():
    """A huge passage keeps whole sentences around the best one, marks cuts with …, and says it was shortened."""
    sentences = [f"Sentence number {i} says something about the talks." for i in range(400)]
    quote = " ".join(sentences)
    start = quote.index("Sentence number 200 ")
    highlight = (start, start + len(sentences[200]))
    embed = render_answer_embed(Answer("q", hit(quote, highlight)))
    d = embed.to_dict()
    assert len(d["description"]) <= 4096 and embed_size(embed) <= 6000
    assert d["description"].startswith("> … ") and d["description"].endswith(" …")
    assert "**Sentence number 200 says something about the talks.**" in d["description"]
    assert "shortened" in d["footer"]["text"] and d["footer"]["text"].startswith("Confident answer")
    kept = plain_quote(d["description"])
    assert kept in quote and kept.startswith("Sentence number ") and kept.endswith(".")


def test_a_single_enormous_sentence_still_fits():
    """Even one sentence longer than an embed is cut to fit, between words."""
    quote = "word " * 3000
    embed = render_answer_embed(Answer("q", hit(quote.strip(), (0, len(quote.strip())))))
    assert len(embed.description) <= 4096 and embed_size(embed) <= 6000


def test_markup_and_mentions_in_article_text_are_shown_not_obeyed():
    """@everyone, role/user mentions, masked links, spoilers and code fences are escaped in the quote."""
    quote = "@everyone look <@&123> <@456> [click](https://evil.example) ||secret|| ```code``` # heading"
    description = render_answer_embed(Answer("q", hit(quote, (0, len(quote))))).description
    assert "@everyone" not in description and "<@&" not in description and "<@4" not in description
    assert "\\[click\\]" in description or "\\[click]" in description
    assert "\\|\\|secret\\|\\|" in description and "\\`\\`\\`" in description
    assert plain_quote(description) == quote


def test_escape_neutralises_every_mention_form():
    """User, role, channel and slash-command mentions and @here are broken with a zero-width space."""
    for raw in ("<@1>", "<@!1>", "<@&1>", "<#1>", "</ask:1>", "@here", "@everyone"):
        assert escape(raw) != raw


def test_oversized_metadata_is_truncated_within_limits():
    """A 400-character title and 300-character source and author still make a valid embed."""
    embed = render_answer_embed(Answer("q", hit("Short quote here.", (0, 17), HUGE, also=(HUGE,) * 20)))
    d = embed.to_dict()
    assert len(d["title"]) <= 256 and len(d["author"]["name"]) <= 256 and len(d["footer"]["text"]) <= 2048
    assert embed_size(embed) <= 6000


def test_nothing_relevant_says_what_the_bot_covers_and_lists_nothing_unrelated():
    """No hit: 'I only cover the talks (N articles from DATE to DATE)', pointing to /sources, no article titles."""
    embed = render_answer_embed(Answer("q", None, relevance=0.2), coverage=COVERAGE).to_dict()
    text = visible_text(embed["description"])
    assert text.startswith(
        "I only cover the Russia–Ukraine talks in Istanbul (2 articles from 17 May 2025 to 2 June 2025)"
    )
    assert "/sources" in text and len(text) < 200
    assert "Reuters" not in str(embed) and "title" not in embed and "author" not in embed
    one_day = dataclasses.replace(COVERAGE, articles=1, last=COVERAGE.first)
    assert "(1 article from 17 May 2025)" in render_answer_embed(Answer("q", None), coverage=one_day).description


def test_more_sources_names_each_article_once_with_short_verbatim_quotes():
    """Three passages from one article and one from another: two entries, each title and citation once, four quotes."""
    other = DocumentInfo("c.md", "Rewrite [x](https://evil.example)", "unknown")
    body = "Opening words. The *first* best sentence. Closing words that go on for a while."
    alternatives = (*[hit(body, (15, 41))] * 3, hit("Only one sentence here.", (0, 23), other))
    embed = render_more_sources(Answer("q", hit("x y z", (0, 5)), alternatives=alternatives)).to_dict()
    assert embed["title"] == MORE_FROM_THE_SOURCES and embed["color"] == ACCENT.value
    text = visible_text(embed["description"])
    assert text.count("Title") == 1 and text.count("Tom Balmforth · Reuters, 17 May 2025") == 1
    assert text.count("Rewrite [x](https://evil.example)") == 1 and "Unattributed source, no date" in text
    assert text.count("“The *first* best sentence.”") == 3 and "Opening words" not in text
    assert links(embed["description"]) == [("Title", "https://www.reuters.com/world/a")]
    assert live_markup(embed["description"], blockquote=True, bold=True, link_count=1) == []
    assert "relevance" not in str(embed) and "footer" not in embed
    assert render_more_sources(Answer("q", hit("x y z", (0, 5)))) is None


def test_more_sources_fits_one_message_however_long_the_passages():
    """Ten long passages from ten articles with huge metadata: one embed within Discord's limits, the rest counted."""
    long = ("A sentence about the talks that goes on " * 100).strip()
    docs = [dataclasses.replace(HUGE, id=f"{i}.md", url="https://example.com/" + "a" * 2_000) for i in range(10)]
    embed = render_more_sources(
        Answer("q", hit("x y z", (0, 5)), alternatives=tuple(hit(long, (0, len(long)), d) for d in docs))
    )
    assert embed is not None and len(embed.description) <= 4096 and embed_size(embed) <= 6000
    assert "more articles" in embed.description


@pytest.mark.parametrize("count", [0, 1, 10, 11, 95])
def test_sources_pages_are_ten_articles_each_within_limits(count):
    """The article list pages by ten; every page is a valid embed; 'page N of M' only when there are pages."""
    rows = [(DocumentInfo(f"{i}.md", f"Article {i} " + "x" * 200, "Wire"), 3) for i in range(count)]
    pages = max(1, -(-count // 10))
    for page in range(pages):
        embed, total = render_sources_page(rows, page)
        assert total == pages and len(embed.description) <= 4096 and embed_size(embed) <= 6000
    footer = render_sources_page(rows, pages + 5)[0].footer.text
    assert footer == (f"page {pages} of {pages}" if pages > 1 else None)


def test_sources_entries_are_spaced_linked_and_free_of_jargon():
    """/sources: a blank line between articles, titles linked when there is a link, citations, no passage counts."""
    rows = [(DOC, 14), (DocumentInfo("c.md", "Rewrite", "unknown"), 7)]
    embed, _ = render_sources_page(rows, 0)
    assert embed.description == (
        "**[Title](https://www.reuters.com/world/a)**\nTom Balmforth · Reuters, 17 May 2025\n\n"
        "**Rewrite**\nUnattributed source, no date"
    )
    assert "passage" not in str(embed.to_dict()) and "14" not in str(embed.to_dict())


def test_about_says_what_is_covered_without_internal_ids():
    """/about: articles, the dates and outlets covered, when updated; no generation id; the model only in the footer."""
    embed = render_about_embed(COVERAGE, STATS).to_dict()
    fields = {f["name"]: f["value"] for f in embed["fields"]}
    assert fields["Articles"] == "2" and fields["Published"] == "17 May 2025 to 2 June 2025\n1 undated"
    assert fields["Outlets"] == "Reuters: 1\nUnattributed source: 1" and fields["Updated"].startswith("<t:")
    assert "gen-" not in str(embed) and "Passages" not in fields and "Model" not in fields
    assert embed["footer"]["text"] == "Search model: all-MiniLM-L6-v2"
    undated = dataclasses.replace(COVERAGE, first=None, last=None, undated=2)
    assert {f["name"]: f["value"] for f in render_about_embed(undated).to_dict()["fields"]}["Published"] == (
        "no article states a date"
    )
    loading = render_about_embed(None, loading=True).to_dict()
    assert loading["fields"][0]["value"] == "loading…"


def test_reindex_embed_lists_skipped_files_escaped_and_capped():
    """A reindex report lists skipped files by name, escaped and capped."""
    report = SyncReport(added=["a.md"], skipped=[SkippedFile(f"bad_{i}*.md", "binary file") for i in range(20)])
    embed = render_reindex_embed(report)
    field = embed.to_dict()["fields"][0]
    assert "bad\\_0\\*.md" in field["value"] and "12 more" in field["value"] and len(field["value"]) <= 1024


def test_a_likely_answer_is_amber_with_a_note_and_a_confident_one_is_not():
    """Low confidence: amber embed, the 'likely answer' note above the quote; high: neutral, 'Confident answer'."""
    quote = "The best sentence is this one."
    likely = render_answer_embed(Answer("q", dataclasses.replace(hit(quote, (0, 30)), confidence="low"))).to_dict()
    assert likely["description"].startswith("*Likely answer:") and likely["color"] == 0xE6A000
    assert "footer" not in likely and plain_quote(likely["description"]) == quote  # the band is said once
    sure = render_answer_embed(Answer("q", hit(quote, (0, 30)))).to_dict()
    assert "Likely" not in sure["description"] and sure["color"] == ACCENT.value
    assert sure["footer"]["text"] == "Confident answer"


def test_the_accent_is_neutral_and_the_likely_amber_stands_apart():
    """Every reply wears the neutral grey: not Ukraine's blue or yellow, not Russia's white, blue or red."""
    flags = {0x005BBB, 0xFFD500, 0xFFFFFF, 0x0039A6, 0xD52B1E}
    assert ACCENT.value not in flags and LIKELY.value not in flags and LIKELY != ACCENT
    r, g, b = ACCENT.to_rgb()
    assert max(r, g, b) - min(r, g, b) <= 40  # a grey: no hue to read as a side
    sure = render_answer_embed(Answer("q", hit("Some text here.", (0, 15))))
    for embed in (
        sure,
        render_answer_embed(Answer("q", None), coverage=COVERAGE),
        render_sources_page([(DOC, 3)], 0)[0],
        render_about_embed(COVERAGE, STATS),
        render_more_sources(Answer("q", hit("a", (0, 1)), alternatives=(hit("b c", (0, 3)),))),
    ):
        assert embed.colour == ACCENT


def test_about_names_the_second_stage_when_there_is_one():
    """/about shows the re-ranking model, which changes answers, and nothing when there is none."""
    with_stage = dataclasses.replace(STATS, reranker="/models/ms-marco")
    footer = render_about_embed(COVERAGE, with_stage).to_dict()["footer"]["text"]
    assert footer == "Search model: all-MiniLM-L6-v2, re-ranked by /models/ms-marco"
    assert "re-ranked" not in render_about_embed(COVERAGE, STATS).to_dict()["footer"]["text"]


def test_the_question_says_when_older_articles_were_left_out():
    """/ask with since: the question line adds the date in words, so the channel knows the answer was filtered."""
    assert (
        render_question("what now?", since=dt.date(2025, 6, 1)) == "**Q:** what now? *(articles from 1 June 2025 on)*"
    )
    assert render_question("what\n now?") == "**Q:** what now?"
