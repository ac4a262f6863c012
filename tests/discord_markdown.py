"""Reading Discord Markdown back in tests: what a reader sees, and which markup is still live.

Discord's Markdown (simple-markdown rules plus Discord's own) treats a backslash before any
character that is not a letter, digit or space as an escape: the character is shown as typed.
So a text is inert when every markup character in it is escaped, except the markup the bot
itself meant (the '> ' of its quotes, its '**bold**', its '[title](url)' links, its `code`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# Parentheses alone are not markup; with brackets they are a link, which links() finds.
_INLINE = set("*_~|`[]<>#")
_ZWSP = "\u200b"


@dataclass(frozen=True, slots=True)
class _Char:
    ch: str
    escaped: bool


def _tokens(text: str) -> list[_Char]:
    """Characters with whether a backslash escapes them (Discord: any non-alphanumeric, non-space)."""
    out: list[_Char] = []
    i = 0
    while i < len(text):
        ch = text[i]
        if ch == "\\" and i + 1 < len(text) and not (text[i + 1].isalnum() or text[i + 1].isspace()):
            out.append(_Char(text[i + 1], True))
            i += 2
        else:
            out.append(_Char(ch, False))
            i += 1
    return out


def visible_text(markdown: str) -> str:
    """What the reader sees of escaped text: escapes and zero-width spaces removed, nothing else."""
    return "".join(t.ch for t in _tokens(markdown)).replace(_ZWSP, "")


def reader_text(markdown: str) -> str:
    """What the reader sees: escapes, zero-width spaces and the bot's '**' bold marks removed."""
    return "".join(t.ch for t in _drop_bold(_tokens(markdown))).replace(_ZWSP, "")


def plain_quote(description: str) -> str:
    """The passage back from an answer description: quote marks, the bot's bold, escapes and cut marks removed.

    When the description has a block quote, only the block quote is the passage: a note above it
    (a likely answer's) is left out.
    """
    quoted, other = [], []
    for line in description.split("\n"):
        tokens = _tokens(line)
        if len(tokens) >= 2 and not tokens[0].escaped and tokens[0].ch == ">" and tokens[1].ch == " ":
            quoted.append("".join(t.ch for t in _drop_bold(tokens[2:])))
        else:
            other.append("".join(t.ch for t in _drop_bold(tokens)))
    lines = quoted or other
    text = "\n".join(lines).replace(_ZWSP, "")
    return text.removeprefix("… ").removesuffix(" …")


def _drop_bold(tokens: list[_Char]) -> list[_Char]:
    """The tokens without unescaped '**' pairs (the bot's own bold)."""
    out: list[_Char] = []
    i = 0
    while i < len(tokens):
        if (
            i + 1 < len(tokens)
            and not tokens[i].escaped
            and not tokens[i + 1].escaped
            and tokens[i].ch == "*"
            and tokens[i + 1].ch == "*"
        ):
            i += 2
            continue
        out.append(tokens[i])
        i += 1
    return out


def links(markdown: str) -> list[tuple[str, str]]:
    """Live masked links as (visible text, target): unescaped ``[text](target)``."""
    tokens = _tokens(markdown)
    found = []
    i = 0
    while i < len(tokens):
        if tokens[i].ch == "[" and not tokens[i].escaped:
            j = next((k for k in range(i + 1, len(tokens)) if tokens[k].ch == "]" and not tokens[k].escaped), None)
            if j is not None and j + 1 < len(tokens) and tokens[j + 1].ch == "(" and not tokens[j + 1].escaped:
                k = next((m for m in range(j + 2, len(tokens)) if tokens[m].ch == ")" and not tokens[m].escaped), None)
                if k is not None:
                    text = "".join(t.ch for t in tokens[i + 1 : j])
                    target = "".join(t.ch for t in tokens[j + 2 : k])
                    found.append((text, target))
                    i = k + 1
                    continue
        i += 1
    return found


def live_markup(
    markdown: str, *, blockquote: bool = False, bold: bool = False, link_count: int = 0, code: bool = False
) -> list[str]:
    """Markup Discord would still act on, besides what the bot meant (the keyword arguments).

    ``blockquote``: a leading '> ' on each line is the bot's; ``bold``: unescaped '**' pairs are;
    ``link_count``: that many ``[text](url)`` links are; ``code``: `name` spans are.
    """
    problems: list[str] = []
    if len(links(markdown)) > link_count:
        problems.append(f"{len(links(markdown))} live links (expected at most {link_count}): {links(markdown)}")
    for number, line in enumerate(markdown.split("\n")):
        tokens = _tokens(line)
        if blockquote and len(tokens) >= 2 and tokens[0].ch == ">" and not tokens[0].escaped and tokens[1].ch == " ":
            tokens = tokens[2:]
        if bold:
            tokens = _drop_bold(tokens)
        if link_count:
            tokens = _drop_links(tokens)
        if code:
            tokens = _drop_code(tokens)
        text = "".join(t.ch if not t.escaped else "\x00" for t in tokens)
        live = [t.ch for t in tokens if not t.escaped and t.ch in _INLINE]
        if live:
            problems.append(f"line {number}: unescaped {''.join(live)!r} in {line[:120]!r}")
        if re.match(r"[ \t]*(?:[-+]|\d+\.)(?:[ \t]|$)", text):
            problems.append(f"line {number}: starts a list: {line[:120]!r}")
        if re.search(r":[A-Za-z0-9_+-]+:", text):
            problems.append(f"line {number}: an emoji shortcode: {line[:120]!r}")
        # A mention is parsed from the raw text: '@**eve**ryone' is no mention, '@\u200beveryone' neither.
        if re.search(r"@(?:everyone|here)", line):
            problems.append(f"line {number}: a mass mention: {line[:120]!r}")
    return problems


def _drop_links(tokens: list[_Char]) -> list[_Char]:
    """The tokens with each live link's brackets, parentheses and target removed (its text kept)."""
    marks = {"[": "\x01", "]": "\x02", "(": "\x03", ")": "\x04"}
    text = "".join(marks.get(t.ch, "x") if not t.escaped else "x" for t in tokens)
    out = list(tokens)
    for match in reversed(list(re.finditer(r"\x01([^\x01-\x04]*)\x02\x03[^\x01-\x04]*\x04", text))):
        a, b = match.span()
        inner = tokens[match.start(1) : match.end(1)]
        out[a:b] = inner
    return out


def _drop_code(tokens: list[_Char]) -> list[_Char]:
    """The tokens without unescaped `code` spans."""
    out: list[_Char] = []
    inside = False
    for t in tokens:
        if t.ch == "`" and not t.escaped:
            inside = not inside
            continue
        if not inside:
            out.append(t)
    return out
