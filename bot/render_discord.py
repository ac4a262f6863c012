"""Rendering answers, sources and reports as Discord embeds, within Discord's limits by construction.

Limits (https://discord.com/developers/docs/resources/message#embed-object-embed-limits):
content 2,000; embed title 256, description 4,096, author 256, footer 2,048, field name 256,
field value 1,024, 25 fields; url 2,048; 6,000 characters across all embeds of a message.
Every builder here caps each part below its limit (after escaping), so the sum stays under
6,000 without checking at send time, whatever an article's metadata holds.

Text from articles and users is shown exactly as written: ``escape`` puts a backslash before
every character Discord's Markdown reads (discord.py's ``escape_markdown`` leaves ``[a](b)``
links live, so it is not used), and mentions are broken with a zero-width space. Messages are
also sent with ``AllowedMentions.none()``, so even a missed escape cannot ping. Embed titles
and descriptions render Markdown and are escaped; author names and footers do not, and are not.
Links pass through ``index.safe_url`` before they are placed in ``[..](..)`` or an embed's url.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from typing import TYPE_CHECKING

import discord

from index import CONFIDENCE_LOW, Answer, DocumentInfo, Hit, IndexStats, SyncReport

from .attribution import attribute, date_in_words
from .render_text import CONFIDENCE_LABELS, LIKELY_ANSWER_NOTE, also_reported_by

if TYPE_CHECKING:
    from .service import AddedArticle, Coverage

__all__ = [
    "ACCENT",
    "LIKELY",
    "SCOPE",
    "coverage_phrase",
    "escape",
    "escape_within",
    "render_about_embed",
    "render_added_article_embed",
    "render_answer_embed",
    "render_error_embed",
    "render_question",
    "render_reindex_embed",
    "render_sources_page",
    "shorten",
]

# The bot's colour: Discord's own neutral grey ("greyple"). A bot meant to be neutral about these talks
# wears neither side's colours (not the Ukrainian flag's blue, rgb(0, 91, 187), nor Russia's white,
# blue and red), and a grey lets the amber of a likely answer stand out.
ACCENT = discord.Colour.greyple()
# A likely (low-confidence) answer: amber, and a note above the quote, so it never passes for a sure one.
LIKELY = discord.Colour.from_rgb(230, 160, 0)
# What the bot covers, in the words of its off-topic reply and /about.
SCOPE = "the Russia–Ukraine talks in Istanbul"
QUESTION_BUDGET = 1_900  # of the content's 2,000, after escaping and the bold label
QUOTE_BUDGET = 3_000  # of the description's 4,096, after escaping and the blockquote marks
DESCRIPTION_LIMIT = 4_096
TITLE_LIMIT = 256
AUTHOR_LIMIT = 256
FOOTER_BUDGET = 1_000
FIELD_VALUE_LIMIT = 1_024
SOURCES_PER_PAGE = 10

# Every ASCII character Discord's Markdown gives a meaning anywhere in a line: emphasis and
# underline (* _), strike (~), spoilers (|), code (`), masked links ([ ] ( )), quotes, mentions,
# timestamps and custom emoji (< > :), headers (#), and the escape character itself.
_MARKUP = re.compile(r"([\\*_~|`\[\]()<>#:])")
# Markers that mean something only at the start of a line: lists (- + 1.) and subtext (-#).
_LINE_START_MARKER = re.compile(r"^([ \t]*)([-+])", re.MULTILINE)
_ORDERED_LIST = re.compile(r"^([ \t]*\d+)\.", re.MULTILINE)
# <@id>, <@!id>, <@&id>, <#id> and </cmd:id> render as mention pills; @everyone and @here ping.
_MENTION_SYNTAX = re.compile(r"<(@[!&]?|#|/)")
_MASS_MENTION = re.compile(r"@(everyone|here)")


def escape(text: str) -> str:
    """Text that Discord shows exactly as written: every markup character escaped, every mention broken."""
    text = _MENTION_SYNTAX.sub("<\u200b\\1", text)
    text = _MASS_MENTION.sub("@\u200b\\1", text)
    text = _MARKUP.sub(r"\\\1", text)
    text = _LINE_START_MARKER.sub(r"\1\\\2", text)
    return _ORDERED_LIST.sub(r"\1\\.", text)


def escape_within(text: str, limit: int) -> str:
    """``escape(text)``, the text first shortened at a word boundary so the escaped form fits ``limit``."""
    cut = limit
    while True:
        escaped = escape(shorten(text, cut))
        if len(escaped) <= limit or cut <= 1:
            return escaped[:limit] if len(escaped) > limit else escaped
        cut = max(1, cut - max(1, (len(escaped) - limit + 1) // 2))


def shorten(text: str, limit: int) -> str:
    """Cut plain text to ``limit`` characters at a word boundary, with an ellipsis."""
    if len(text) <= limit:
        return text
    cut = text[: limit - 1]
    space = cut.rfind(" ")
    if space > limit // 2:
        cut = cut[:space]
    return cut.rstrip() + "…"


def _blockquote(text: str) -> str:
    """Prefix every line with '> ' so the passage renders as a quote."""
    return "\n".join("> " + line for line in text.split("\n"))


def _quote_markdown(hit: Hit, budget: int = QUOTE_BUDGET) -> tuple[str, bool]:
    """The passage as an escaped blockquote with its best sentence in bold; (markdown, shortened?).

    A passage too long for the budget is cut to whole sentences around the best one, with an
    ellipsis where text was left out: what remains is still word for word.
    """
    quote = hit.quote
    a, b = hit.highlight

    def render(start: int, end: int) -> str:
        while start < end and quote[start].isspace():
            start += 1
        while end > start and quote[end - 1].isspace():
            end -= 1
        hs, he = max(a, start), min(b, end)
        segments = (
            [(quote[start:hs], False), (quote[hs:he], True), (quote[he:end], False)]
            if hs < he
            else [(quote[start:end], False)]
        )
        lines = [""]
        for text, bold in segments:
            for i, piece in enumerate(text.split("\n")):
                if i:
                    lines.append("")
                # Bold cannot span a line break inside a blockquote: wrap each line's piece on its own.
                lines[-1] += f"**{escape(piece)}**" if bold and piece.strip() else escape(piece)
        if start > 0:
            lines[0] = "… " + lines[0]
        if end < len(quote):
            lines[-1] += " …"
        return _blockquote("\n".join(lines))

    full = render(0, len(quote))
    if len(full) <= budget:
        return full, False
    # Grow a window of whole sentences around the highlight while it fits.
    boundaries = _sentence_bounds(quote)
    start, end = a, b
    while True:
        grown = False
        for new_start, new_end in ((_prev(boundaries, start), end), (start, _next(boundaries, end, len(quote)))):
            if (new_start, new_end) != (start, end) and len(render(new_start, new_end)) <= budget:
                start, end, grown = new_start, new_end, True
        if not grown:
            break
    window = render(start, end)
    if len(window) <= budget:
        return window, True
    # Even the best sentence alone is too long: cut it between words.
    text = quote[a:b]
    while len(render_plain := _blockquote("**" + escape(text) + "** …")) > budget and len(text) > 10:
        text = text[: int(len(text) * 0.9)].rsplit(" ", 1)[0] or text[: int(len(text) * 0.9)]
    return render_plain, True


def _sentence_bounds(text: str) -> list[int]:
    """Offsets where a sentence may start or end (after . ! ? and a space)."""
    bounds = {0, len(text)}
    for i, ch in enumerate(text[:-1]):
        if ch in ".!?" and text[i + 1] == " ":
            bounds.add(i + 1)
            bounds.add(i + 2)
    return sorted(bounds)


def _prev(bounds: list[int], pos: int) -> int:
    earlier = [x for x in bounds if x < pos]
    return earlier[-1] if earlier else pos


def _next(bounds: list[int], pos: int, limit: int) -> int:
    later = [x for x in bounds if x > pos]
    return later[0] if later else limit


def _timestamp(when: dt.datetime) -> str:
    """Discord's live relative time ("3 days ago"), shown in each reader's own time zone."""
    return f"<t:{int(when.timestamp())}:R>"


def render_question(question: str, *, since: dt.date | None = None) -> str:
    """The question, as the content of the public answer: escaped, so it shows as typed and pings nobody.

    A public /ask reply shows "alice used /ask" but not what alice asked, so the channel would see an
    answer to nothing. The question goes in the message's content rather than in the embed: it is then
    read first, at the size of the chat around it, as the question the card below answers; it shows in
    full (a question may have 500 characters, an embed's author line or title only 256); and it is what
    Discord shows where embeds show nothing: notifications, search, and the preview of a reply to the
    answer. Content renders Markdown, so every markup character and mention is escaped (and the message
    is sent with ``AllowedMentions.none()`` anyway). Line breaks fold into spaces: it is one question.
    A ``since:`` date is said too, so the channel knows older articles were left out.
    """
    asked = f"**Q:** {escape_within(' '.join(question.split()), QUESTION_BUDGET)}"
    return f"{asked} *(articles from {date_in_words(since)} on)*" if since else asked


def _titled_embed(info: DocumentInfo, description: str, colour: discord.Colour = ACCENT) -> discord.Embed:
    """An embed headed by an article, as a citation: who and when above, its title (linked when it has a link)."""
    source = attribute(info)
    embed = discord.Embed(
        title=escape_within(source.title, TITLE_LIMIT),
        url=source.url or None,
        description=description,
        colour=colour,
    )
    embed.set_author(name=shorten(source.citation(), AUTHOR_LIMIT))  # author names render no Markdown
    return embed


def render_answer_embed(answer: Answer, *, coverage: Coverage | None = None) -> discord.Embed:
    """The answer as a citation: the quote (best sentence in bold), its source, how sure, who else reported it.

    The relevance score is not shown: a word for the confidence band is what a reader can use.
    ``coverage`` (what the bot covers) words the reply when nothing is relevant.
    """
    if answer.hit is None:
        return _nothing_relevant_embed(coverage)
    hit = answer.hit
    quote, shortened = _quote_markdown(hit)
    likely = hit.confidence == CONFIDENCE_LOW
    embed = _titled_embed(
        hit.document, f"*{LIKELY_ANSWER_NOTE}*\n{quote}" if likely else quote, LIKELY if likely else ACCENT
    )
    # The band in a word, once: a likely answer already says so in its note above the quote.
    footer = [] if likely else [CONFIDENCE_LABELS[hit.confidence]]
    if shortened:
        footer.append("passage shortened to fit; the source has the full text")
    if hit.also_reported_by:
        footer.append(also_reported_by(hit.also_reported_by))
    if footer:
        embed.set_footer(text=shorten(" · ".join(footer), FOOTER_BUDGET))
    return embed


def coverage_phrase(coverage: Coverage) -> str:
    """'2 articles from 17 May 2025 to 2 June 2025': how much the bot covers, and when from."""
    count = f"{coverage.articles:,} article{'' if coverage.articles == 1 else 's'}"
    if coverage.first is None or coverage.last is None:
        return count
    if coverage.first == coverage.last:
        return f"{count} from {date_in_words(coverage.first)}"
    return f"{count} from {date_in_words(coverage.first)} to {date_in_words(coverage.last)}"


def _nothing_relevant_embed(coverage: Coverage | None) -> discord.Embed:
    """Nothing relevant (the question is off the articles' subject): what the bot covers, and where to look."""
    covered = f" ({coverage_phrase(coverage)})" if coverage is not None else ""
    return discord.Embed(
        description=f"I only cover {SCOPE}{covered}, and none of my articles answers this. `/sources` lists them.",
        colour=ACCENT,
    )


def render_sources_page(rows: list[tuple[DocumentInfo, int]], page: int) -> tuple[discord.Embed, int]:
    """One page of the articles (title, linked when it has a link, and its citation); returns (embed, page count).

    ``rows`` are ``Service.sources()``'s (article, passages); passage counts are the index's business and
    are not shown. Titles link to their articles while the page fits Discord's 4,096 characters; when long
    links would not fit, the longest ones are left out (the title still shows), and if the page is still
    too long its titles and citations are shortened further. "page 2 of 3" only when there are pages.
    """
    pages = max(1, math.ceil(len(rows) / SOURCES_PER_PAGE))
    page = min(max(page, 0), pages - 1)
    chunk = [attribute(info) for info, _ in rows[page * SOURCES_PER_PAGE : (page + 1) * SOURCES_PER_PAGE]]
    links = [source.url for source in chunk]

    def entries(title_chars: int, line_chars: int) -> str:
        out = []
        for source, url in zip(chunk, links, strict=True):
            title = escape_within(source.title, title_chars)
            linked = f"[{title}]({url})" if url else title
            out.append(f"**{linked}**\n{escape_within(source.citation(), line_chars)}")
        return "\n\n".join(out)  # a blank line between articles: each reads as its own entry

    text = entries(300, 300)
    while len(text) > DESCRIPTION_LIMIT and any(links):
        longest = max(range(len(links)), key=lambda i: len(links[i]))
        links[longest] = ""
        text = entries(300, 300)
    if len(text) > DESCRIPTION_LIMIT:
        text = entries(150, 150)  # at most 10 x (150 + 150 + 10): always fits
    embed = discord.Embed(
        title=f"Articles I answer from ({len(rows):,})",
        description=text or "No articles are indexed yet.",
        colour=ACCENT,
    )
    if pages > 1:
        embed.set_footer(text=f"page {page + 1} of {pages}")
    return embed, pages


ABOUT = (
    f"I answer questions about {SCOPE} by quoting, word for word, the most relevant passage of my news "
    "articles, with where it comes from. Ask with `/ask`; see the articles with `/sources`; to check what a "
    "message claims, open its menu, then *Apps* → *Find sources*."
)
OUTLETS_SHOWN = 8


def render_about_embed(
    coverage: Coverage | None, stats: IndexStats | None = None, *, loading: bool = False
) -> discord.Embed:
    """What the bot is and what it covers: how many articles, from when, from which outlets, when updated.

    Internal ids (index generations) are left out; the model is named in the footer, for the curious.
    """
    embed = discord.Embed(title="About talksbot", description=ABOUT, colour=ACCENT)
    if coverage is None:
        embed.add_field(name="Articles", value="loading…" if loading else "not built yet", inline=False)
        return embed
    embed.add_field(name="Articles", value=f"{coverage.articles:,}")
    if coverage.first is not None and coverage.last is not None:
        dates = date_in_words(coverage.first)
        if coverage.last != coverage.first:
            dates += f" to {date_in_words(coverage.last)}"
        if coverage.undated:
            dates += f"\n{coverage.undated:,} undated"
        embed.add_field(name="Published", value=dates)
    elif coverage.articles:
        embed.add_field(name="Published", value="no article states a date")
    embed.add_field(name="Updated", value=_timestamp(coverage.updated))
    if coverage.outlets:
        outlets = [f"{escape_within(name, 120)}: {count:,}" for name, count in coverage.outlets]
        embed.add_field(name="Outlets", value=_listing(outlets, FIELD_VALUE_LIMIT, most=OUTLETS_SHOWN), inline=False)
    if stats is not None:
        model = f"Search model: {stats.model}"  # footers render no Markdown: shown as written
        if stats.reranker:  # it changes answers: say which
            model += f", re-ranked by {stats.reranker}"
        embed.set_footer(text=shorten(model, FOOTER_BUDGET))
    return embed


def render_reindex_embed(report: SyncReport, *, title: str = "Reindexed") -> discord.Embed:
    """What a reindex changed: counts, time, skipped files (names escaped), why it rebuilt."""
    lines = [
        f"**{len(report.added)}** added · **{len(report.updated)}** updated · **{len(report.removed)}** removed · "
        f"**{len(report.unchanged)}** unchanged",
        f"{report.documents} articles, {report.passages} passages, in {report.seconds:.1f} s",
    ]
    if not report.published:
        lines.append("Nothing changed: the index was already up to date.")
    if report.rebuilt_because:
        lines.append(f"Rebuilt from scratch because {escape_within(report.rebuilt_because, 600)}.")
    if report.repaired:
        lines.append(escape_within(report.repaired, 600))
    embed = discord.Embed(title=title, description="\n".join(lines), colour=ACCENT)
    for name, items in (
        ("Skipped files", [f"• {escape_within(s.path, 80)}: {escape_within(s.reason, 120)}" for s in report.skipped]),
        ("Notes", [f"• {escape_within(note, 200)}" for note in report.notes]),
    ):
        if items:
            embed.add_field(name=name, value=_listing(items, FIELD_VALUE_LIMIT), inline=False)
    return embed


def _listing(items: list[str], limit: int, most: int = 8) -> str:
    """Up to ``most`` items, one per line, as many as fit in ``limit`` with '… and N more' after them."""
    shown: list[str] = []
    for item in items[:most]:
        rest = len(items) - len(shown) - 1
        tail = len(f"\n… and {rest} more") if rest else 0
        if len("\n".join([*shown, item])) + tail > limit:
            break
        shown.append(item)
    value = "\n".join(shown)
    if len(shown) < len(items):
        value += f"\n… and {len(items) - len(shown)} more"
    return value.lstrip("\n")


def render_added_article_embed(added: AddedArticle, *, uploaded_as: str) -> discord.Embed:
    """The /add-article reply: what was added under which name, and what it replaced, then the reindex report."""
    verb = "Replaced" if added.replaced else "Added"
    embed = render_reindex_embed(added.report, title=f"{verb} an article")
    title = f"**{escape_within(added.title, 600)}**"
    if not added.replaced:
        head = f"Added {title} as `{added.name}`"
    elif added.replaced_title:
        head = f"Replaced **{escape_within(added.replaced_title, 600)}** in `{added.name}` with {title}"
    else:
        head = f"Replaced `{added.name}` (it held no readable article) with {title}"
    lines = [f"{head}: {added.passages} passages indexed."]
    if added.renamed:
        lines.append(f"The upload was called {escape_within(uploaded_as, 200)}; it was saved under a safe name.")
    embed.description = "\n".join([*lines, embed.description or ""])
    return embed


def render_error_embed(message: str) -> discord.Embed:
    """A short, friendly error (always sent ephemeral)."""
    return discord.Embed(description=escape_within(message, 3_000), colour=discord.Colour.red())
