"""Draw Discord messages (the JSON the bot sent) as Discord's dark theme does, in HTML, to look at them.

Not a full Discord client: the parts talksbot uses. A message's header (the bot's name and APP tag,
"alice used /ask" above it), its content, embeds (the left colour bar, author line, linked title,
description, fields, footer) and buttons, and the "Only you can see this" line of an ephemeral
reply. Markdown follows Discord's rules for what the bot writes: backslash escapes, bold, italics,
underline, strike, spoilers, inline code, masked links, block quotes, headings, subtext and lists,
and timestamps (``<t:...:R>``) written out as a reader's client shows them. Anything escaped shows
as typed, so an escaping bug shows up in the picture.
"""

from __future__ import annotations

import datetime as dt
import html
import re
from collections.abc import Iterable
from typing import Any

__all__ = ["page", "render_message"]

CSS = """
body { margin: 0; background: #313338; font-family: "gg sans", "Noto Sans", "Helvetica Neue", "Liberation Sans",
  "DejaVu Sans", sans-serif, "Noto Color Emoji"; color: #dbdee1; font-size: 16px; }
.chat { padding: 16px 16px 20px 0; width: var(--width); }
.msg { position: relative; padding: 2px 16px 2px 72px; margin-top: 17px; }
.msg.ephemeral { background: rgba(88, 101, 242, 0.06); }
.reply { font-size: 14px; color: #b5bac1; margin: 0 0 4px 0; display: flex; align-items: center; gap: 6px; }
.reply:before { content: ""; position: absolute; left: 36px; top: 10px; width: 30px; height: 10px;
  border-left: 2px solid #4e5058; border-top: 2px solid #4e5058; border-top-left-radius: 6px; }
.reply .who { color: #f2f3f5; font-weight: 500; }
.reply .cmd { color: #00a8fc; }
.mini { width: 16px; height: 16px; border-radius: 50%; background: #80848e; display: inline-block; }
.avatar { position: absolute; left: 16px; width: 40px; height: 40px; border-radius: 50%;
  background: #4e5058; color: #fff; font-weight: 700; font-size: 18px; display: flex;
  align-items: center; justify-content: center; }
.head { display: flex; align-items: center; gap: 6px; line-height: 22px; }
.name { color: #f2f3f5; font-weight: 500; font-size: 16px; }
.app { background: #5865f2; color: #fff; font-size: 10px; font-weight: 600; padding: 0 4px; border-radius: 3px;
  line-height: 15px; height: 15px; }
.time { color: #949ba4; font-size: 12px; margin-left: 2px; }
.content { font-size: 16px; line-height: 1.375; white-space: pre-wrap; word-wrap: break-word; }
.embed { display: grid; max-width: 516px; background: #2b2d31; border-left: 4px solid #1e1f22;
  border-radius: 4px; padding: 8px 16px 16px 12px; margin-top: 4px; box-sizing: border-box; gap: 8px 0; }
.e-author { font-size: 14px; font-weight: 600; color: #f2f3f5; margin-top: 8px; }
.e-title { font-size: 16px; font-weight: 600; color: #f2f3f5; margin-top: 8px; }
.e-title a, .e-author a { color: #00a8fc; text-decoration: none; }
.e-author a { color: #f2f3f5; }
.e-desc, .e-field-value { font-size: 14px; line-height: 1.375; white-space: pre-wrap; word-wrap: break-word;
  margin-top: 8px; }
.e-fields { display: grid; grid-template-columns: repeat(3, 1fr); gap: 8px 8px; margin-top: 8px; }
.e-field { grid-column: 1 / 4; font-size: 14px; }
.e-field.inline { grid-column: auto; }
.e-field-name { font-weight: 600; color: #f2f3f5; margin-bottom: 2px; }
.e-field-value { margin-top: 0; }
.e-footer { font-size: 12px; color: #b5bac1; margin-top: 8px; line-height: 16px; }
a { color: #00a8fc; text-decoration: none; }
blockquote { margin: 0; padding: 0 8px 0 12px; border-left: 4px solid #4e5058; border-radius: 4px;
  white-space: pre-wrap; }
code { background: #1e1f22; border-radius: 4px; padding: 0 2px; font-size: 85%;
  font-family: "Liberation Mono", "DejaVu Sans Mono", monospace; }
.spoiler { background: #1e1f22; color: #1e1f22; border-radius: 3px; }
.ts { background: rgba(78, 80, 88, 0.48); border-radius: 3px; padding: 0 2px; }
.mention { background: rgba(88, 101, 242, 0.3); color: #c9cdfb; border-radius: 3px; padding: 0 2px; }
.sub { font-size: 12px; color: #949ba4; }
h1, h2, h3 { margin: 8px 0 0 0; color: #f2f3f5; line-height: 1.375; }
h1 { font-size: 24px; } h2 { font-size: 20px; } h3 { font-size: 16px; }
ul, ol { margin: 0; padding-left: 22px; }
.buttons { display: flex; flex-wrap: wrap; gap: 8px; margin-top: 8px; padding: 2px 0; }
.btn { height: 32px; min-width: 52px; padding: 2px 16px; border-radius: 8px; font-size: 14px; font-weight: 500;
  color: #fff; display: flex; align-items: center; justify-content: center; gap: 6px; box-sizing: border-box; }
.btn.s1 { background: #5865f2; } .btn.s2 { background: #4e5058; } .btn.s3 { background: #248046; }
.btn.s4 { background: #da373c; } .btn.s5 { background: #4e5058; }
.btn.disabled { opacity: 0.5; }
.eph { font-size: 12px; color: #949ba4; margin-top: 4px; }
.eph a { color: #00a8fc; }
"""


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _timestamp(seconds: int, style: str) -> str:
    """A ``<t:seconds:style>`` as a reader's client writes it (in UTC here)."""
    when = dt.datetime.fromtimestamp(seconds, dt.UTC)
    if style == "R":
        delta = when - _now()
        secs = abs(delta.total_seconds())
        for unit, size in (("year", 31536000), ("month", 2592000), ("day", 86400), ("hour", 3600), ("minute", 60)):
            if secs >= size:
                n = round(secs / size)
                words = f"{n} {unit}{'s' if n != 1 else ''}"
                break
        else:
            n = max(1, round(secs))
            words = f"{n} second{'s' if n != 1 else ''}"
        return f"in {words}" if delta.total_seconds() > 0 else f"{words} ago"
    formats = {
        "t": "%H:%M",
        "T": "%H:%M:%S",
        "d": "%d/%m/%Y",
        "D": "%-d %B %Y",
        "f": "%-d %B %Y %H:%M",
        "F": "%A, %-d %B %Y %H:%M",
    }
    return when.strftime(formats.get(style, formats["f"]))


_SPAN_MARKERS = (("**", "strong"), ("__", "u"), ("~~", "s"), ("||", "spoiler"), ("*", "em"), ("_", "em"))
_LINK = re.compile(r"\[((?:\\.|[^\]\\])*)\]\((https?://[^)\s]+)\)")
_ANGLED = re.compile(r"<t:(-?\d+)(?::([tTdDfFR]))?>|<(@[!&]?|#)(\d+)>|</([\w -]+):\d+>|<a?:(\w+):\d+>")
_URL = re.compile(r"https?://[^\s<]+[^\s<.,:;\"')\]]")


def _closing(text: str, start: int, marker: str) -> int:
    """Where ``marker`` closes a span opened just before ``start`` (skipping escapes), or -1."""
    i = start
    while i < len(text):
        if text[i] == "\\":
            i += 2
            continue
        if text.startswith(marker, i) and i > start and not text[i - 1].isspace():
            if marker in ("*", "_") and text.startswith(marker * 2, i):
                i += 2
                continue
            return i
        i += 1
    return -1


def inline(text: str) -> str:
    """Discord's inline Markdown to HTML."""
    out: list[str] = []
    i = 0
    while i < len(text):
        c = text[i]
        if c == "\\" and i + 1 < len(text) and not text[i + 1].isalnum() and not text[i + 1].isspace():
            out.append(html.escape(text[i + 1]))
            i += 2
            continue
        if c == "`":
            end = text.find("`", i + 1)
            if end > i + 1:
                out.append(f"<code>{html.escape(text[i + 1 : end])}</code>")
                i = end + 1
                continue
        matched = False
        for marker, tag in _SPAN_MARKERS:
            if text.startswith(marker, i) and i + len(marker) < len(text) and not text[i + len(marker)].isspace():
                end = _closing(text, i + len(marker), marker)
                if end > 0:
                    inner = inline(text[i + len(marker) : end])
                    cls = ' class="spoiler"' if tag == "spoiler" else ""
                    tag_name = "span" if tag == "spoiler" else tag
                    out.append(f"<{tag_name}{cls}>{inner}</{tag_name}>")
                    i = end + len(marker)
                    matched = True
                    break
        if matched:
            continue
        if c == "[":
            m = _LINK.match(text, i)
            if m:
                out.append(f'<a href="{html.escape(m.group(2))}">{inline(m.group(1))}</a>')
                i = m.end()
                continue
        if c == "<":
            m = _ANGLED.match(text, i)
            if m:
                if m.group(1):
                    out.append(f'<span class="ts">{html.escape(_timestamp(int(m.group(1)), m.group(2) or "f"))}</span>')
                elif m.group(3):
                    prefix = {"@": "@", "@!": "@", "@&": "@", "#": "#"}[m.group(3)]
                    out.append(f'<span class="mention">{prefix}{"user" if "@" in prefix else "channel"}</span>')
                elif m.group(5):
                    out.append(f'<span class="mention">/{html.escape(m.group(5))}</span>')
                else:
                    out.append(f":{html.escape(m.group(6))}:")
                i = m.end()
                continue
        if c == "h":
            m = _URL.match(text, i)
            if m:
                out.append(f'<a href="{html.escape(m.group(0))}">{html.escape(m.group(0))}</a>')
                i = m.end()
                continue
        out.append(html.escape(c))
        i += 1
    return "".join(out)


def markdown(text: str) -> str:
    """Discord's Markdown (block and inline) to HTML."""
    lines = text.split("\n")
    out: list[str] = []
    quote: list[str] = []
    items: list[str] = []

    def flush() -> None:
        if quote:
            out.append(f"<blockquote>{'<br>'.join(quote)}</blockquote>")
            quote.clear()
        if items:
            out.append("<ul>" + "".join(f"<li>{x}</li>" for x in items) + "</ul>")
            items.clear()

    rest_quoted = False
    for line in lines:
        if rest_quoted:
            quote.append(inline(line))
            continue
        if line.startswith(">>> "):
            flush()
            rest_quoted = True
            quote.append(inline(line[4:]))
            continue
        if line.startswith("> ") or line == ">":
            if items:
                flush()
            quote.append(inline(line[2:]))
            continue
        m = re.match(r"^(#{1,3}) (.*)$", line)
        if m:
            flush()
            out.append(f"<h{len(m.group(1))}>{inline(m.group(2))}</h{len(m.group(1))}>")
            continue
        if line.startswith("-# "):
            flush()
            out.append(f'<div class="sub">{inline(line[3:])}</div>')
            continue
        m = re.match(r"^\s*[-*] (.*)$", line)
        if m:
            if quote:
                flush()
            items.append(inline(m.group(1)))
            continue
        flush()
        out.append(inline(line) + "<br>")
    flush()
    body = "".join(out)
    return body[:-4] if body.endswith("<br>") else body


def _embed(e: dict[str, Any]) -> str:
    colour = e.get("color")
    bar = f"#{colour:06x}" if isinstance(colour, int) else "#1e1f22"
    parts = []
    author = e.get("author") or {}
    if author.get("name"):
        name = html.escape(author["name"])  # author names render no Markdown
        if author.get("url"):
            name = f'<a href="{html.escape(author["url"])}">{name}</a>'
        parts.append(f'<div class="e-author">{name}</div>')
    if e.get("title"):
        title = inline(e["title"])
        if e.get("url"):
            title = f'<a href="{html.escape(e["url"])}">{title}</a>'
        parts.append(f'<div class="e-title">{title}</div>')
    if e.get("description"):
        parts.append(f'<div class="e-desc">{markdown(e["description"])}</div>')
    fields = e.get("fields") or []
    if fields:
        cells = []
        for f in fields:
            cls = "e-field inline" if f.get("inline") else "e-field"
            cells.append(
                f'<div class="{cls}"><div class="e-field-name">{inline(f["name"])}</div>'
                f'<div class="e-field-value">{markdown(f["value"])}</div></div>'
            )
        parts.append(f'<div class="e-fields">{"".join(cells)}</div>')
    footer = e.get("footer") or {}
    if footer.get("text"):
        parts.append(f'<div class="e-footer">{html.escape(footer["text"])}</div>')
    return f'<div class="embed" style="border-left-color:{bar}">{"".join(parts)}</div>'


def _buttons(components: Iterable[dict[str, Any]]) -> str:
    rows = []
    for row in components:
        cells = []
        for c in row.get("components") or []:
            if c.get("type") != 2:
                continue
            emoji = (c.get("emoji") or {}).get("name") or ""
            label = html.escape(c.get("label") or "")
            disabled = " disabled" if c.get("disabled") else ""
            inner = "".join(f"<span>{x}</span>" for x in (html.escape(emoji), label) if x)
            cells.append(f'<div class="btn s{c.get("style", 2)}{disabled}">{inner}</div>')
        rows.append(f'<div class="buttons">{"".join(cells)}</div>')
    return "".join(rows)


def render_message(
    message: dict[str, Any], *, invoker: str | None = None, command: str | None = None, bot_name: str = "talksbot"
) -> str:
    """One message as Discord draws it; ``invoker`` and ``command`` give the "alice used /ask" line."""
    ephemeral = bool((message.get("flags") or 0) & 64)
    parts = []
    if invoker and command:
        parts.append(
            f'<div class="reply"><span class="mini"></span><span class="who">{html.escape(invoker)}</span>'
            f' used <span class="cmd">{html.escape(command)}</span></div>'
        )
    parts.append(f'<div class="avatar">{html.escape(bot_name[:1].upper())}</div>')
    parts.append(
        f'<div class="head"><span class="name">{html.escape(bot_name)}</span><span class="app">APP</span>'
        '<span class="time">Today at 12:34</span></div>'
    )
    if message.get("content"):
        parts.append(f'<div class="content">{markdown(message["content"])}</div>')
    parts += [_embed(e) for e in message.get("embeds") or []]
    parts.append(_buttons(message.get("components") or []))
    if ephemeral:
        parts.append('<div class="eph">👁 Only you can see this • <a>Dismiss message</a></div>')
    cls = "msg ephemeral" if ephemeral else "msg"
    return f'<div class="{cls}">{"".join(parts)}</div>'


def page(messages: Iterable[str], *, width: int = 700) -> str:
    """A whole HTML page holding rendered messages, one under the other."""
    body = "".join(messages)
    return (
        f'<!doctype html><html><head><meta charset="utf-8"><style>{CSS}</style></head>'
        f'<body><div class="chat" style="--width:{width}px">{body}</div>'
        "<script>document.title = String(document.querySelector('.chat').getBoundingClientRect().height)</script>"
        "</body></html>"
    )
