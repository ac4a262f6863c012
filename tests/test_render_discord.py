"""Discord rendering: limits met by construction, markup and mentions escaped, long passages cut honestly."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest
from discord_helpers import plain_quote

from bot.render_discord import (
    escape,
    render_about_embed,
    render_alternatives_embeds,
    render_answer_embed,
    render_reindex_embed,
    render_sources_page,
)
from index.models import Answer, DocumentInfo, Hit, IndexStats, SkippedFile, SyncReport

DOC = DocumentInfo("a.md", "Title", "Reuters", "Tom Balmforth", dt.date(2025, 5, 17), "https://www.reuters.com/world/a")
HUGE = DocumentInfo("b.md", "T" * 400, "S" * 300, "A" * 300, None, "")


def embed_size(embed) -> int:
    d = embed.to_dict()
    size = len(d.get("title", "")) + len(d.get("description", ""))
    size += len((d.get("author") or {}).get("name", "")) + len((d.get("footer") or {}).get("text", ""))
    size += sum(len(f["name"]) + len(f["value"]) for f in d.get("fields", []))
    return size


def hit(quote: str, highlight: tuple[int, int], doc: DocumentInfo = DOC, also=()) -> Hit:
    return Hit(doc, quote, 0, len(quote), 0.71, highlight, also)


def test_the_answer_embed_shows_quote_bold_sentence_attribution_and_relevance():
    """Quote as a blockquote, best sentence bold, date-first attribution, linked title, relevance, corroboration."""
    quote = "First sentence here. The best sentence is this one. Last one."
    embed = render_answer_embed(Answer("q", hit(quote, (21, 51), also=(HUGE,)))).to_dict()
    assert embed["description"] == "> First sentence here. **The best sentence is this one.** Last one."
    assert embed["author"]["name"] == "2025-05-17 · Reuters · Tom Balmforth"
    assert embed["url"] == "https://www.reuters.com/world/a" and embed["title"] == "Title"
    assert "relevance 0.71" in embed["footer"]["text"] and "also reported by" in embed["footer"]["text"]
    assert plain_quote(embed["description"]) == quote


def test_unknown_attribution_stays_empty_and_no_link_is_invented():
    """An undated, unknown-source article shows 'undated · unknown' and no URL."""
    doc = DocumentInfo("c.md", "Rewrite", "unknown")
    embed = render_answer_embed(Answer("q", hit("Some text here.", (0, 15), doc))).to_dict()
    assert embed["author"]["name"] == "undated · unknown" and "url" not in embed


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
    assert "shortened" in d["footer"]["text"]
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


def test_nothing_relevant_says_so_and_lists_nothing_unrelated():
    """No hit: a plain 'Nothing relevant', and no list of unrelated article titles."""
    embed = render_answer_embed(Answer("q", None, relevance=0.2), documents=2).to_dict()
    assert embed["title"] == "Nothing relevant" and "2 indexed articles" in embed["description"]
    assert "Closest" not in embed["description"] and "Reuters" not in embed["description"]


def test_alternatives_fit_in_one_message():
    """Three alternative embeds of long passages stay under 6,000 characters together."""
    long = ("A sentence about the talks. " * 200).strip()
    embeds = render_alternatives_embeds(Answer("q", hit("x y z", (0, 5)), alternatives=(hit(long, (0, 27)),) * 5))
    assert len(embeds) == 3 and sum(embed_size(e) for e in embeds) <= 6000


@pytest.mark.parametrize("count", [0, 1, 10, 11, 95])
def test_sources_pages_are_ten_articles_each_within_limits(count):
    """The article list pages by ten; every page is a valid embed."""
    rows = [(DocumentInfo(f"{i}.md", f"Article {i} " + "x" * 200, "Wire"), 3) for i in range(count)]
    pages = max(1, -(-count // 10))
    for page in range(pages):
        embed, total = render_sources_page(rows, page)
        assert total == pages and len(embed.description) <= 4096 and embed_size(embed) <= 6000
    assert f"page {pages} of {pages}" in render_sources_page(rows, pages + 5)[0].footer.text


def test_about_and_reindex_embeds():
    """/about shows counts and model; a reindex report lists skipped files by name, escaped and capped."""
    stats = IndexStats(2, 21, "gen-000001", dt.datetime(2026, 1, 1, tzinfo=dt.UTC), "all-MiniLM-L6-v2")
    fields = {f["name"]: f["value"] for f in render_about_embed(stats).to_dict()["fields"]}
    assert fields["Articles"] == "2" and fields["Passages"] == "21"
    report = SyncReport(added=["a.md"], skipped=[SkippedFile(f"bad_{i}*.md", "binary file") for i in range(20)])
    embed = render_reindex_embed(report)
    field = embed.to_dict()["fields"][0]
    assert "bad\\_0\\*.md" in field["value"] and "12 more" in field["value"] and len(field["value"]) <= 1024


def test_a_likely_answer_is_amber_with_a_note_and_a_confident_one_is_not():
    """Low confidence: amber embed, the 'likely answer' note above the quote, the label in the footer."""
    quote = "The best sentence is this one."
    likely = render_answer_embed(Answer("q", dataclasses.replace(hit(quote, (0, 30)), confidence="low"))).to_dict()
    assert likely["description"].startswith("*Likely answer:") and likely["color"] == 0xE6A000
    assert "likely answer" in likely["footer"]["text"] and plain_quote(likely["description"]) == quote
    sure = render_answer_embed(Answer("q", hit(quote, (0, 30)))).to_dict()
    assert "Likely" not in sure["description"] and sure["color"] != 0xE6A000
    assert "confident" in sure["footer"]["text"]


def test_about_names_the_second_stage_when_there_is_one():
    """/about shows the re-ranking model, which changes answers, and nothing when there is none."""
    when = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    with_stage = IndexStats(2, 21, "gen-000001", when, "all-MiniLM-L6-v2", reranker="/models/ms-marco")
    fields = {f["name"]: f["value"] for f in render_about_embed(with_stage).to_dict()["fields"]}
    assert fields["Re-ranked by"] == "/models/ms-marco"
    without = render_about_embed(IndexStats(2, 21, "gen-000001", when, "all-MiniLM-L6-v2")).to_dict()["fields"]
    assert "Re-ranked by" not in {f["name"] for f in without}
