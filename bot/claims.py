"""Reading a chat message as a claim to look up ("Find sources"): Discord's markup out, the words in.

Pure text work, no Discord objects, so every odd message can be tested directly. What is searched is
what a reader sees as the message's words: mentions of people, roles and channels, custom emoji,
timestamps and links are not claims about the talks and are left out; Markdown marks are dropped
but the words they wrap stay; a masked link keeps its text. A message too long for one search is
cut at a sentence end (else a word end) and the reply says so.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from index import MAX_QUESTION_CHARS, InvalidQuestion, TalksbotError, clean_question

__all__ = ["Claim", "NoClaim", "read_claim"]


class NoClaim(TalksbotError):
    """The message has no words to look up; the sentence says what it has instead."""


@dataclass(frozen=True, slots=True)
class Claim:
    """The words of a message to search for, and whether they had to be cut."""

    text: str
    cut: bool = False
    from_embed: bool = False  # the message had no text of its own: its embed's words were used


_CODE_BLOCK = re.compile(r"```(?:[\w+-]*\n)?(.*?)```", re.S)
_MASKED_LINK = re.compile(r"\[([^\]\n]*)\]\(\s*<?[^)\s>]*>?(?:\s+\"[^\"]*\")?\s*\)")
_MENTION = re.compile(r"<(?:@[!&]?|#)\d+>|</[^:>\n]+:\d+>|<a?:[\w~]+:\d+>|<t:-?\d+(?::[tTdDfFR])?>|<id:\w+>")
_URL = re.compile(r"<?\bhttps?://[^\s<>]+>?", re.I)
_EVERYONE = re.compile(r"@(?:everyone|here)\b", re.I)
_LINE_MARKS = re.compile(r"^[ \t]*(?:>>> ?|> ?|-# +|#{1,3} +|[-*+] +|\d+[.)] +)+", re.M)
_INLINE_MARKS = re.compile(r"\*\*\*|\*\*|__|~~|\|\||(?<!\w)[*_](?=\S)|(?<=\S)[*_](?!\w)|`+")
_ESCAPED = re.compile(r"\\([\\*_~|`>#\-\[\]()<@:.!])")
_SENTENCE_END = re.compile(r"[.!?…](?=\s)")


def _plain(text: str) -> str:
    """The words a reader sees, without Discord's markup."""
    text = _CODE_BLOCK.sub(lambda m: " " + m.group(1) + " ", text)
    text = _MASKED_LINK.sub(lambda m: m.group(1), text)
    text = _MENTION.sub(" ", text)
    text = _URL.sub(" ", text)
    text = _EVERYONE.sub(" ", text)
    text = _LINE_MARKS.sub("", text)
    # Escaped marks are shown as the characters themselves: protect them while marks are removed.
    text = _ESCAPED.sub(lambda m: f"\x00{ord(m.group(1))}\x00", text)
    text = _INLINE_MARKS.sub("", text)
    text = re.sub(r"\x00(\d+)\x00", lambda m: chr(int(m.group(1))), text)
    return " ".join(text.split())


def _cut(text: str, limit: int) -> str:
    """At most ``limit`` characters, ending at a sentence end if one is in the second half, else a word end."""
    head = text[:limit]
    ends = [m.end() for m in _SENTENCE_END.finditer(head + " ")]
    ends = [e for e in ends if e >= limit // 2]
    if ends:
        return head[: ends[-1]].rstrip()
    space = head.rfind(" ")
    return (head[:space] if space > limit // 2 else head).rstrip()


def read_claim(
    content: str,
    *,
    embed_texts: Sequence[str] = (),
    attachments: int = 0,
    stickers: int = 0,
    limit: int = MAX_QUESTION_CHARS,
) -> Claim:
    """The claim in a message's text (or, without text, in its embeds); NoClaim says why there is none."""
    text = _plain(content or "")
    from_embed = False
    if not re.search(r"\w", text):
        embedded = _plain(" ".join(t for t in embed_texts if t))
        if re.search(r"\w", embedded):
            text, from_embed = embedded, True
    if not re.search(r"\w", text):
        raise NoClaim(_why_nothing(content or "", attachments, stickers))
    cut = len(text) > limit
    if cut:
        text = _cut(text, limit)
    try:
        text = clean_question(text, max_chars=limit)  # what every search gets: invisible characters out
    except InvalidQuestion:
        raise NoClaim(_why_nothing(content or "", attachments, stickers)) from None
    return Claim(text, cut=cut, from_embed=from_embed)


def _why_nothing(content: str, attachments: int, stickers: int) -> str:
    """The sentence for a message with nothing to look up."""
    if not content.strip():
        if attachments:
            return "That message has only an attachment; I can look up only what a message says in words."
        if stickers:
            return "That message is only a sticker; I can look up only what a message says in words."
        return "That message has no text for me to look up."
    if _URL.search(content):
        return (
            "That message is only a link. I look up what a message says; to add an article from a link, "
            "an admin can use /add-article url:."
        )
    return "That message has no words for me to look up (only mentions, emoji or symbols)."
