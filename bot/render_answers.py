"""Rendering what the buttons and "Find sources" show: the claim looked up, More sources, a vote's receipt.

Built on ``render_discord``'s pieces (escaping, shortening, the quote), within Discord's limits by
construction like everything there.
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING

import discord

from index import Answer, DocumentInfo, Hit

from .attribution import attribute
from .claims import Claim
from .feedback import VoteResult
from .render_discord import (
    ACCENT,
    DESCRIPTION_LIMIT,
    SCOPE,
    coverage_phrase,
    escape,
    escape_within,
    render_answer_embed,
    shorten,
)
from .render_text import MORE_FROM_THE_SOURCES

if TYPE_CHECKING:
    from .service import Coverage

__all__ = [
    "render_cooldown_embed",
    "render_find_sources",
    "render_more_sources",
    "render_shared",
    "render_vote_reply",
]

CLAIM_CHARS = 300
FOOTER_LIMIT = 2_048
SHORT_QUOTE_CHARS = 280  # "a sentence or so" of each passage


def _claim_line(claim: Claim, author: str, jump_url: str | None) -> str:
    """'Sources for a message by Bob: “…claim…”', the message linked when Discord gave its address."""
    who = f"a message by {escape(shorten(author, 80))}"
    linked = f"[{who}]({jump_url})" if jump_url else who
    return f"Sources for {linked}:\n“{escape(shorten(claim.text, CLAIM_CHARS))}”"


def render_find_sources(
    claim: Claim, answer: Answer, *, author: str, jump_url: str | None, coverage: Coverage | None = None
) -> discord.Embed:
    """The reply to "Find sources": the claim looked up, then the passage that speaks to it, or a plain no."""
    head = _claim_line(claim, author, jump_url)
    notes = []
    if claim.cut:
        notes.append(f"the message is long: I looked up its first {len(claim.text)} characters")
    if claim.from_embed:
        notes.append("the message has no text of its own: I looked up its embed")
    if answer.hit is None:
        covered = f" ({coverage_phrase(coverage)})" if coverage is not None else ""
        embed = discord.Embed(
            description=f"{head}\n\nNone of my articles speaks to this, so I have nothing to quote. "
            f"I only cover {SCOPE}{covered}; `/sources` lists them.",
            colour=ACCENT,
        )
    else:
        embed = render_answer_embed(answer, coverage=coverage)
        embed.description = f"{head}\n\n{embed.description}"
    if notes:
        footer = embed.footer.text or ""
        embed.set_footer(text=shorten(" · ".join([footer, *notes] if footer else notes), 1_000))
    return embed


def render_more_sources(answer: Answer) -> discord.Embed | None:
    """What the More sources button shows: one compact message, each article once with short quotes from it.

    The answer's other passages often come from the same article as each other: grouped by article, its
    title (linked when it has a link) and citation are written once, each passage as its best sentence
    (verbatim, escaped; a sentence too long is cut between words, with "…"). Articles come in the order
    of their best passage. None when there is nothing more. Within 4,096 characters by construction: an
    article that would not fit is counted in "… and N more".
    """
    groups: dict[str, tuple[DocumentInfo, list[Hit]]] = {}
    for hit in answer.alternatives:
        groups.setdefault(hit.document.id, (hit.document, []))[1].append(hit)
    if not groups:
        return None
    entries = [_more_sources_entry(info, hits) for info, hits in groups.values()]
    shown: list[str] = []
    for i, entry in enumerate(entries):
        rest = len(entries) - i - 1
        tail = f"\n\n… and {rest} more article{'' if rest == 1 else 's'}" if rest else ""
        if len("\n\n".join([*shown, entry])) + len(tail) > DESCRIPTION_LIMIT:
            break
        shown.append(entry)
    description = "\n\n".join(shown)
    if len(shown) < len(entries):
        left = len(entries) - len(shown)
        description += f"\n\n… and {left} more article{'' if left == 1 else 's'}"
    return discord.Embed(title=MORE_FROM_THE_SOURCES, description=description.strip(), colour=ACCENT)


def _more_sources_entry(info: DocumentInfo, hits: list[Hit]) -> str:
    """One article of More sources: bold title (linked), its citation, then a short quote per passage."""
    source = attribute(info)
    title = escape_within(source.title, 200)
    lines = [f"**[{title}]({source.url})**" if source.url else f"**{title}**", escape_within(source.citation(), 300)]
    for hit in hits[:5]:
        a, b = hit.highlight
        sentence = hit.quote[a:b].strip() or hit.quote.strip()
        # Verbatim: a line break inside the sentence stays, each line kept inside the quote.
        # Quotation marks set each passage apart: consecutive quoted lines draw as one block in Discord.
        lines += ["> " + line for line in f"“{escape_within(sentence, SHORT_QUOTE_CHARS)}”".split("\n")]
    return "\n".join(lines)


def render_shared(embeds: Sequence[discord.Embed], *, shared_by: str) -> list[discord.Embed]:
    """A private Find-sources reply as posted in the channel: the same embeds, saying who posted them."""
    out = [discord.Embed.from_dict(e.to_dict()) for e in embeds]
    if out:
        last = out[-1]
        note = f"posted by {shorten(shared_by, 80)}"  # footers render no Markdown: nothing to escape
        text = last.footer.text
        last.set_footer(text=shorten(f"{text} · {note}" if text else note, FOOTER_LIMIT))
    return out


def render_vote_reply(result: VoteResult) -> str:
    """The voter's private receipt: what was counted, whether it replaced a vote, the tally so far."""
    mark = "👍" if result.vote > 0 else "👎"
    if result.previous == result.vote:
        head = f"You had already voted {mark} on this answer; it still counts once."
    elif result.previous is not None:
        head = f"Changed your vote to {mark}."
    else:
        head = f"Thanks, your {mark} is counted."
    return f"{head} So far: {result.up} 👍 · {result.down} 👎. Votes help the maintainers check answers."


def render_cooldown_embed(retry_after: float, *, now: float | None = None) -> discord.Embed:
    """Asking too quickly: a notice (not an error) with Discord's live relative time of the next try."""
    ready_at = math.ceil((time.time() if now is None else now) + retry_after)
    return discord.Embed(
        description=f"You're asking quickly. You can ask again <t:{ready_at}:R>.",
        colour=ACCENT,
    )
