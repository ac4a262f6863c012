"""Rendering what the buttons and "Find sources" show: the claim looked up, More sources, a vote's receipt.

Built on ``render_discord``'s pieces (escaping, shortening, the quote), within Discord's limits by
construction like everything there.
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence

import discord

from index import Answer

from .claims import Claim
from .feedback import VoteResult
from .render_discord import ACCENT, escape, render_alternatives_embeds, render_answer_embed, shorten

__all__ = [
    "render_cooldown_embed",
    "render_find_sources",
    "render_more_sources",
    "render_shared",
    "render_vote_reply",
]

CLAIM_CHARS = 300
FOOTER_LIMIT = 2_048


def _claim_line(claim: Claim, author: str, jump_url: str | None) -> str:
    """'Sources for a message by Bob: “…claim…”', the message linked when Discord gave its address."""
    who = f"a message by {escape(shorten(author, 80))}"
    linked = f"[{who}]({jump_url})" if jump_url else who
    return f"Sources for {linked}:\n“{escape(shorten(claim.text, CLAIM_CHARS))}”"


def render_find_sources(
    claim: Claim, answer: Answer, *, author: str, jump_url: str | None, documents: int | None = None
) -> discord.Embed:
    """The reply to "Find sources": the claim looked up, then the passage that speaks to it, or a plain no."""
    head = _claim_line(claim, author, jump_url)
    notes = []
    if claim.cut:
        notes.append(f"the message is long: I looked up its first {len(claim.text)} characters")
    if claim.from_embed:
        notes.append("the message has no text of its own: I looked up its embed")
    if answer.hit is None:
        scope = f"my {documents} articles" if documents is not None else "my articles"
        embed = discord.Embed(
            description=f"{head}\n\nNo passage in {scope} speaks to this, so I have nothing to quote. "
            "I only cover the Russia–Ukraine talks in Istanbul; `/sources` lists what I have.",
            colour=ACCENT,
        )
    else:
        embed = render_answer_embed(answer, documents=documents)
        embed.description = f"{head}\n\n{embed.description}"
    if notes:
        footer = embed.footer.text or ""
        embed.set_footer(text=shorten(" · ".join([footer, *notes] if footer else notes), 1_000))
    return embed


def render_more_sources(answer: Answer) -> list[discord.Embed]:
    """What the More sources button shows (the other passages of an answer)."""
    return render_alternatives_embeds(answer)


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
