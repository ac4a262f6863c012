"""Screenshots of what the bot really sends, drawn as Discord draws it (the README's pictures come from here).

The real bot (``bot.create_bot``, the bundled model, the seed articles copied to a scratch folder)
runs against the fake Discord of tests/fakediscord/; members ask, click and look up messages; the
messages the bot sent are taken from the fake, drawn as HTML by ``discord_html.py`` (Discord's dark
theme) and photographed by headless Chromium (Debian: ``apt-get install chromium
fonts-noto-color-emoji``).

    .venv/bin/python docs/screenshots/render.py            # the README's pictures, into docs/screenshots/
    .venv/bin/python docs/screenshots/render.py --all DIR  # every scene (answers, buttons, errors) into DIR
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import re
import shutil
import subprocess
import sys
import tempfile
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
sys.path[:0] = [str(HERE), str(ROOT / "tests"), str(ROOT)]
os.environ.setdefault("HF_HUB_OFFLINE", "1")

with warnings.catch_warnings():
    warnings.filterwarnings("ignore", message="'audioop' is deprecated", category=DeprecationWarning)
    import discord  # noqa: F401

from discord_helpers import buttons, start_seed_bot  # noqa: E402 (tests/ on the path first)
from discord_html import page, render_message  # noqa: E402

from bot.commands.ask import PerUserCooldown  # noqa: E402
from index import SentenceTransformerEmbedder  # noqa: E402

README_SCENES = ("answer",)
WIDTH = 700
CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--no-first-run",
    "--hide-scrollbars",
    "--force-device-scale-factor=1",
)


def chromium() -> str:
    """The Chromium binary, or a sentence saying how to install it."""
    for name in ("chromium", "chromium-browser", "google-chrome"):
        found = shutil.which(name)
        if found:
            return found
    raise SystemExit("render.py needs headless Chromium: apt-get install -y chromium fonts-noto-color-emoji")


def photograph(html_text: str, png: Path) -> None:
    """Save ``html_text`` as a PNG exactly as tall as its content."""
    browser = chromium()
    with tempfile.TemporaryDirectory(prefix="talksbot-shot-") as tmp:
        source = Path(tmp) / "page.html"
        source.write_text(html_text, encoding="utf-8")
        profile = ["--user-data-dir=" + str(Path(tmp) / "profile")]
        dom = subprocess.run(
            [browser, *CHROMIUM_FLAGS, *profile, f"--window-size={WIDTH},2000", "--dump-dom", source.as_uri()],
            capture_output=True,
            text=True,
            timeout=120,
            check=True,
        ).stdout
        match = re.search(r"<title>([\d.]+)</title>", dom)
        height = int(float(match.group(1))) + 4 if match else 1200
        size, shot = f"--window-size={WIDTH},{height}", f"--screenshot={png}"
        subprocess.run(
            [browser, *CHROMIUM_FLAGS, *profile, size, shot, source.as_uri()],
            capture_output=True,
            timeout=120,
            check=True,
        )


@contextlib.contextmanager
def running_bot() -> Iterator:
    """The real bot over the seed articles on the fake Discord; yields the harness."""
    embedder = SentenceTransformerEmbedder()
    embedder.load()
    with tempfile.TemporaryDirectory(prefix="talksbot-render-") as tmp:
        harness, _engine = start_seed_bot(Path(tmp), embedder)
        try:
            yield harness
        finally:
            harness.close()


def scenes(h) -> dict[str, list[str]]:
    """Drive the bot as members would; each scene is the HTML of the messages a member sees."""
    alice, bob = h.member(name="alice"), h.member(name="bob")
    out: dict[str, list[str]] = {}

    def slash(name: str, options: dict | None = None, member: dict | None = None) -> tuple[object, dict]:
        rec = h.slash(name, options or {}, member=member or alice)
        return rec, h.wait_final(rec, timeout=30)

    def draw(message: dict, command: str | None = None, who: str = "Alice") -> str:
        stored = h.fake.messages[message["id"]]
        return render_message(stored, invoker=who if command else None, command=command)

    rec, answer = slash("ask", {"question": "What did Russia demand before agreeing to a ceasefire?"})
    out["answer"] = [draw(answer, "/ask")]
    more = h.wait_final(h.click(rec, buttons(answer)["More sources"]["custom_id"], member=alice), timeout=30)
    out["more-sources"] = [draw(more)]
    vote = h.wait_final(h.click(rec, buttons(answer)["👍"]["custom_id"], member=alice), timeout=30)
    out["vote"] = [draw(vote)]

    _, nothing = slash("ask", {"question": "who won the football yesterday?"})
    out["off-topic"] = [draw(nothing, "/ask")]

    claim = h.post_message("Russia wants Ukraine to be a neutral state before any deal, right?", author=bob)
    find = h.message_command("Find sources", claim, member=alice)
    private = h.wait_final(find, timeout=30)
    out["find-sources"] = [draw(private, "Find sources")]
    shared = h.wait_final(h.click(find, buttons(private)["Post in channel"]["custom_id"], member=alice), timeout=30)
    out["find-sources-posted"] = [draw(shared)]
    unsupported = h.message_command("Find sources", h.post_message("Messi scored twice last night", author=bob))
    out["find-sources-none"] = [draw(h.wait_final(unsupported, timeout=30), "Find sources")]

    cog = h.client.get_cog("AskCog")
    saved = cog.cooldown
    cog.cooldown = PerUserCooldown(rate=1, per=30.0)
    try:
        slash("ask", {"question": "what did russia demand?"}, bob)
        _, refused = slash("ask", {"question": "and what about crimea?"}, bob)
        out["cooldown"] = [draw(refused, "/ask", "Bob")]
    finally:
        cog.cooldown = saved

    _, sources = slash("sources")
    out["sources"] = [draw(sources, "/sources")]
    _, about = slash("about")
    out["about"] = [draw(about, "/about")]
    h.assert_clean()
    return out


def main(argv: list[str] | None = None) -> int:
    """Render the README's pictures (default) or every scene (--all DIR)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--all", metavar="DIR", help="write every scene (PNG and HTML) into DIR")
    args = parser.parse_args(argv)
    chromium()  # fail before the model loads
    target = Path(args.all) if args.all else HERE
    target.mkdir(parents=True, exist_ok=True)
    with running_bot() as h:
        drawn = scenes(h)
    wanted: Callable[[str], bool] = (lambda _name: True) if args.all else (lambda name: name in README_SCENES)
    for name, messages in drawn.items():
        if not wanted(name):
            continue
        html_text = page(messages, width=WIDTH)
        if args.all:
            (target / f"{name}.html").write_text(html_text, encoding="utf-8")
        png = target / f"{name}.png"
        photograph(html_text, png)
        print(f"{png} ({png.stat().st_size // 1024} KiB)")
    return 0


if __name__ == "__main__":
    asyncio.set_event_loop_policy(None)
    sys.exit(main())
