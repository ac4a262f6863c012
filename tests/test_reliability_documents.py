"""Broken and hostile files in the documents folder: each is skipped with its name and reason, the rest answer.

Each kind is tested alone through the engine (one file added to an indexed folder, then a
reindex), and all of them together through `talksbot index`, the command a maintainer runs.
"""

from __future__ import annotations

import os
import re
import shutil
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from discord_helpers import bot_factory, make_settings, plain_quote
from fakediscord import DiscordHarness
from reliability_helpers import (
    GOOD_ANSWER,
    GOOD_QUESTION,
    assert_no_traceback,
    copy_seed,
    live_mentions,
    run_cli,
    text,
)

from index.engine import Engine

GOOD = "---\ntitle: {title}\nsource: Test Wire\npublished: 2025-06-02\n---\n{body}\n"
BODY = "Body text of an article about the talks in Istanbul, long enough to be one passage.\n"


@dataclass(frozen=True)
class Broken:
    """A broken file: how to make it, its name as reported, and a word its reason must contain."""

    name: str
    make: Callable[[Path], None]
    reason: str


def _write(name: str, data: bytes) -> Callable[[Path], None]:
    return lambda folder: (folder / name).write_bytes(data)


def _front(meta: str, body: str = BODY) -> bytes:
    return f"---\n{meta}\n---\n{body}".encode()


def _sparse(name: str, size: int) -> Callable[[Path], None]:
    def make(folder: Path) -> None:
        with (folder / name).open("wb") as fh:
            fh.write(b"---\ntitle: huge\n---\n")
            fh.truncate(size)  # a sparse file: 50 MB long, no disk used

    return make


def _folder(name: str) -> Callable[[Path], None]:
    def make(folder: Path) -> None:
        (folder / name).mkdir()

    return make


def _symlink(name: str, target: Callable[[Path], Path]) -> Callable[[Path], None]:
    def make(folder: Path) -> None:
        os.symlink(target(folder), folder / name)

    return make


def _outside_file(folder: Path) -> Path:
    secret = folder.parent / "outside-secret.md"
    secret.write_text("---\ntitle: Outside secret\n---\nThe launch codes are in the drawer of the desk.\n")
    return secret


UTF16_TEXT = "Title of a UTF-16 article\n\nThe talks in Istanbul ended with a prisoner exchange agreement.\n"
PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x10" + bytes(range(256)) * 4
PWNED = "/tmp/talksbot-reliability-pwned"

BROKEN: tuple[Broken, ...] = (
    Broken("binary-png.md", _write("binary-png.md", PNG), "binary"),
    Broken("binary-controls.md", _write("binary-controls.md", bytes(range(1, 32)) * 64), "binary"),
    Broken(
        "latin1.md",
        _write("latin1.md", "Déjà vu\n\nLes négociations à Istanbul ont échoué.\n".encode("latin-1")),
        "UTF-8",
    ),
    Broken("utf16-le-bom.md", _write("utf16-le-bom.md", UTF16_TEXT.encode("utf-16")), "UTF-8"),
    Broken("utf16-be-bom.md", _write("utf16-be-bom.md", b"\xfe\xff" + UTF16_TEXT.encode("utf-16-be")), "UTF-8"),
    Broken("nul-bytes.md", _write("nul-bytes.md", b"Title\n\nText with a stray \x00 NUL byte in it.\n"), "NUL"),
    Broken(
        "yaml-alias-bomb.md",
        _write(
            "yaml-alias-bomb.md",
            _front(
                'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]\n'
                + "".join(f"{chr(98 + i)}: &{chr(98 + i)} [{(f'*{chr(97 + i)},' * 9)[:-1]}]\n" for i in range(8))
                + "title: *i"
            ),
        ),
        "alias",
    ),
    Broken(
        "yaml-python-object.md",
        _write("yaml-python-object.md", _front(f'title: !!python/object/apply:os.system ["touch {PWNED}"]')),
        "front matter",
    ),
    Broken(
        "yaml-python-name.md",
        _write("yaml-python-name.md", _front("title: !!python/name:os.system")),
        "front matter",
    ),
    Broken(
        "yaml-deep-nesting.md",
        _write("yaml-deep-nesting.md", _front("title: " + "[" * 2000 + "]" * 2000)),
        "front matter",
    ),
    Broken(
        "yaml-impossible-date.md",
        _write("yaml-impossible-date.md", _front("title: A date that is not one\npublished: 2025-13-45")),
        "published",
    ),
    Broken(
        "yaml-huge-integer.md",
        _write("yaml-huge-integer.md", _front("title: " + "7" * 5000)),
        "front matter",
    ),
    Broken("yaml-huge-front-matter.md", _write("yaml-huge-front-matter.md", _front("x: " + "y" * 70_000)), "64 KiB"),
    Broken(
        "yaml-unclosed.md", _write("yaml-unclosed.md", b"---\ntitle: Never closed\n" + BODY.encode()), "front matter"
    ),
    Broken("yaml-not-a-mapping.md", _write("yaml-not-a-mapping.md", _front("- just\n- a list")), "front matter"),
    Broken("yaml-tab-indent.md", _write("yaml-tab-indent.md", _front("title: x\n\tsource: y")), "front matter"),
    Broken("empty.md", _write("empty.md", b""), "empty"),
    Broken("whitespace-only.md", _write("whitespace-only.md", b" \n\n\t\r\n  \n"), "empty"),
    Broken("front-matter-only.md", _write("front-matter-only.md", b"---\ntitle: Only a title\n---\n\n"), "no article"),
    Broken("a-folder.md", _folder("a-folder.md"), "folder"),
    Broken("outside-link.md", _symlink("outside-link.md", _outside_file), "outside"),
    Broken("etc-passwd-link.md", _symlink("etc-passwd-link.md", lambda f: Path("/etc/passwd")), "outside"),
    Broken("dangling-link.md", _symlink("dangling-link.md", lambda f: f / "does-not-exist.md"), "cannot be read"),
    Broken("fifty-megabytes.md", _sparse("fifty-megabytes.md", 50 * 1024 * 1024), "too large"),
    Broken("photo.jpg", _write("photo.jpg", b"\xff\xd8\xff\xe0" + bytes(100)), "not an article"),
)
# A file whose name is not valid UTF-8 (a Latin-1 name from an old archive): its content is a fine article.
LATIN1_NAME = os.fsdecode(b"caf\xe9-report.md")
LATIN1_NAME_TEXT = GOOD.format(
    title="Cafe report", body="The delegations met for coffee in a cafe near the Dolmabahce palace before the talks."
)


@pytest.fixture(scope="module")
def indexed(tmp_path_factory, embedder):
    """Seed articles, indexed once with the session model; tests copy it before breaking anything."""
    base = tmp_path_factory.mktemp("docs-indexed")
    copy_seed(base / "documents")
    Engine(base / "documents", base / "index", embedder=embedder).reindex()
    return base


def _copy(indexed: Path, target: Path) -> tuple[Path, Path]:
    shutil.copytree(indexed / "documents", target / "documents", symlinks=True)
    shutil.copytree(indexed / "index", target / "index")
    return target / "documents", target / "index"


@pytest.mark.parametrize("broken", BROKEN, ids=lambda b: b.name)
def test_a_broken_file_is_skipped_with_its_reason_and_the_rest_still_answers(indexed, tmp_path, embedder, broken):
    """Reindexing a folder with one broken file: the file is named with its reason; answers are unchanged."""
    docs, index = _copy(indexed, tmp_path)
    broken.make(docs)
    engine = Engine(docs, index, embedder=embedder)
    report = engine.reindex()
    reasons = {s.path: s.reason for s in report.skipped}
    assert broken.name in reasons, (broken.name, reasons, report.added)
    assert broken.reason.casefold() in reasons[broken.name].casefold(), reasons[broken.name]
    assert report.removed == [] and broken.name not in report.added
    answer = engine.answer(GOOD_QUESTION)
    assert answer.hit is not None and GOOD_ANSWER in answer.hit.quote
    assert not Path(PWNED).exists(), "a YAML tag ran a command"


def test_a_file_name_that_is_not_utf8_does_not_break_the_reindex(indexed, tmp_path, embedder):
    """A good article whose file name is Latin-1 bytes: indexed or skipped with a reason, never a failed reindex."""
    docs, index = _copy(indexed, tmp_path)
    (docs / LATIN1_NAME).write_text(LATIN1_NAME_TEXT, encoding="utf-8")
    engine = Engine(docs, index, embedder=embedder)
    report = engine.reindex()
    handled = [p for p in report.added if "report" in p] + [s.path for s in report.skipped if "report" in s.path]
    assert len(handled) == 1, (report.added, report.skipped)
    assert GOOD_ANSWER in engine.answer(GOOD_QUESTION).hit.quote


def test_a_named_pipe_named_like_an_article_does_not_hang_the_reindex(indexed, tmp_path, embedder):
    """A FIFO called news.md in the folder: the reindex skips it with a reason instead of waiting forever."""
    docs, index = _copy(indexed, tmp_path)
    fifo = docs / "news.md"
    os.mkfifo(fifo)
    engine = Engine(docs, index, embedder=embedder)
    outcome: dict[str, object] = {}

    def reindex() -> None:
        try:
            outcome["report"] = engine.reindex()
        except BaseException as err:  # reported below
            outcome["error"] = err

    worker = threading.Thread(target=reindex, daemon=True)
    worker.start()
    worker.join(10)
    hung = worker.is_alive()
    if hung:  # release the blocked reader (a writer that opens and closes at once), so the thread can end
        fd = os.open(fifo, os.O_WRONLY | os.O_NONBLOCK)
        os.close(fd)
        worker.join(20)
    assert not hung, "the reindex blocked reading a named pipe"
    assert "error" not in outcome, outcome.get("error")
    reasons = {s.path: s.reason for s in outcome["report"].skipped}  # type: ignore[union-attr]
    assert "news.md" in reasons, reasons
    assert GOOD_ANSWER in engine.answer(GOOD_QUESTION).hit.quote


def test_duplicate_titles_are_both_indexed_with_a_note(indexed, tmp_path, embedder):
    """Two files with the same title: both answerable, and the report notes the duplicate by file name."""
    docs, index = _copy(indexed, tmp_path)
    (docs / "first.md").write_text(
        GOOD.format(title="Talks resume", body="The talks resumed with an agreement to swap twelve hundred prisoners.")
    )
    (docs / "second.md").write_text(
        GOOD.format(title="Talks resume", body="Grain ships leaving Odesa will be inspected by a joint commission.")
    )
    engine = Engine(docs, index, embedder=embedder)
    report = engine.reindex()
    assert sorted(report.added) == ["first.md", "second.md"]
    assert any("first.md" in n and "second.md" in n for n in report.notes), report.notes
    assert engine.answer("How many prisoners will be swapped?").hit.document.id == "first.md"
    assert engine.answer("Who will inspect the grain ships from Odesa?").hit.document.id == "second.md"


def test_talksbot_index_names_every_broken_file_and_keeps_the_good_ones(tmp_path, embedder):
    """`talksbot index` on a folder full of broken files: exit 0, one line per file with its reason, answers."""
    docs = copy_seed(tmp_path / "documents")
    for broken in BROKEN:
        broken.make(docs)
    (docs / LATIN1_NAME).write_text(LATIN1_NAME_TEXT, encoding="utf-8")
    (docs / "good-extra.md").write_text(
        GOOD.format(title="Extra", body="The talks resumed with an agreement to swap twelve hundred prisoners.")
    )
    (docs / "a-folder.md" / "inside.md").write_text(
        GOOD.format(title="Inside", body="Grain ships leaving Odesa will be inspected by a joint commission.")
    )
    proc = run_cli("index", "--documents", str(docs), "--index-dir", str(tmp_path / "index"), cwd=tmp_path)
    assert_no_traceback(proc)
    assert proc.returncode == 0, text(proc.stderr)[-2000:]
    out = text(proc.stdout)
    skipped = {}
    for line in out.splitlines():
        if line.startswith("  skipped "):
            name, _, reason = line.removeprefix("  skipped ").partition(": ")
            skipped[name] = reason
    for broken in BROKEN:
        assert broken.name in skipped, (broken.name, out)
        assert broken.reason.casefold() in skipped[broken.name].casefold(), (broken.name, skipped[broken.name])
    assert "added: good-extra.md" in out and "added: a-folder.md/inside.md" in out, out
    engine = Engine(docs, tmp_path / "index", embedder=embedder)
    assert GOOD_ANSWER in engine.answer(GOOD_QUESTION).hit.quote
    assert engine.answer("How many prisoners will be swapped?").hit.document.id == "good-extra.md"
    assert engine.answer("Who will inspect the grain ships from Odesa?").hit.document.id == "a-folder.md/inside.md"
    assert not Path(PWNED).exists(), "a YAML tag ran a command"


HOSTILE_MARKUP = (
    '---\ntitle: "@everyone <@&123456789012345678> **Breaking** news"\n'
    'source: "<@456789012345678901> Wire"\npublished: 2025-06-05\n---\n'
    "@everyone @here Negotiators said <@123456789012345678> and <@&234567890123456789> would attend the ceasefire "
    "monitoring meeting in <#345678901234567890>, according to ||hidden|| sources and "
    "[a masked link](https://evil.example/phish) with </ask:123456789012345678> and `code` and **bold** text.\n"
)
_LIVE_LINK = re.compile(r"(?<!\\)\[[^\]]*(?<!\\)\]\(https?://")


def test_mentions_and_markup_inside_an_article_are_shown_escaped_and_ping_no_one(indexed, tmp_path, embedder):
    """An article full of mentions, spoilers and masked links: /ask and /sources show it as text, pinging no one."""
    docs, index = _copy(indexed, tmp_path)
    (docs / "hostile-markup.md").write_text(HOSTILE_MARKUP, encoding="utf-8")
    engine = Engine(docs, index, embedder=embedder)
    engine.reindex()
    with DiscordHarness(bot_factory(make_settings(docs, index), engine)) as h:
        h.call(h.client.service.wait_ready())
        t0 = h.now()
        final = h.wait_final(h.slash("ask", {"question": "Who would attend the ceasefire monitoring meeting?"}), 20)
        embed = final["embeds"][0]
        assert "ceasefire monitoring meeting" in plain_quote(embed["description"])
        assert plain_quote(embed["description"]) in (docs / "hostile-markup.md").read_text(encoding="utf-8")
        sources = h.wait_final(h.slash("sources"), 20)["embeds"][0]
        # Discord renders markdown and mentions in descriptions and field values (titles, authors and
        # footers are plain text): there, everything must be escaped.
        for rendered in (embed["description"], sources["description"]):
            assert not live_mentions(rendered), live_mentions(rendered)
            assert not _LIVE_LINK.search(rendered), rendered
            assert "||hidden||" not in rendered
        h.assert_clean(since=t0)
