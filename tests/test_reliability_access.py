"""Access and secrets: admin commands need the permission or a listed role; the token never shows;
uploads cannot leave documents/ and a refused upload writes nothing.

One bot runs for the whole module, logged in with a distinctive token, with every log record at
DEBUG captured from the start, so the token check covers everything the other tests made it do.
"""

from __future__ import annotations

import logging
import os
import re
import subprocess
from pathlib import Path

import pytest
from discord_helpers import embed_text, make_settings
from fakediscord import PERM_MANAGE_GUILD, DiscordHarness
from fakediscord.models import role_payload
from reliability_helpers import GOOD_ANSWER, GOOD_QUESTION, TALKSBOT, cli_env, copy_seed

from bot import create_bot
from bot.settings import Secret, Settings
from index.engine import Engine
from tests.conftest import REUTERS, ROOT

# Shaped like a real bot token, so leaks are caught the way a real one would be; assembled at run time
# so that this file itself does not trip the scan of tracked files for token-shaped strings.
CANARY = ".".join(["MTIzNDU2Nzg5MDEyMzQ1Njc4", "GcAnRy", "reliability-canary-token-5f3e9a1c2b7d"])
EDITORS_ROLE_ID = 1111222233334444555
MODERATOR = "Moderator"  # a role of the fake guild that is NOT listed in ADMIN_ROLE_IDS
NOT_ALLOWED = "Only members who can manage the server"
APOLOGY = "Sorry, something went wrong"


class _Capture(logging.Handler):
    """Every log record, formatted with its traceback, from every logger."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))


@pytest.fixture(scope="module")
def env(tmp_path_factory, embedder):
    """The bot (token: CANARY, ADMIN_ROLE_IDS: the Editors role) on the fake, with DEBUG logs captured."""
    base = tmp_path_factory.mktemp("access")
    docs = copy_seed(base / "documents")
    index = base / "index"
    engine = Engine(docs, index, embedder=embedder)
    capture = _Capture()
    root = logging.getLogger()
    old_level = root.level
    root.addHandler(capture)
    root.setLevel(logging.DEBUG)
    settings = make_settings(docs, index, discord_token=Secret(CANARY), admin_role_ids=frozenset({EDITORS_ROLE_ID}))

    def factory(fake):
        fake.roles.append(role_payload(EDITORS_ROLE_ID, "Editors", permissions="0", position=1))
        return create_bot(settings.replace(guild_id=fake.guild_id), engine=engine, guild_ready_timeout=0.1)

    harness = DiscordHarness(factory, token=CANARY).start()
    harness.call(harness.client.service.wait_ready())
    try:
        yield {
            "h": harness,
            "engine": engine,
            "docs": docs,
            "index": index,
            "base": base,
            "settings": settings,
            "capture": capture,
        }
    finally:
        harness.close()
        root.removeHandler(capture)
        root.setLevel(old_level)


def listing(root: Path, skip: Path | None = None) -> dict[str, tuple[int, int]]:
    """Every path under ``root`` (symlinks not followed) with size and mtime, ``skip`` (the index) left out."""
    out = {}
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = [d for d in dirnames if Path(dirpath) / d != skip]
        for name in dirnames + filenames:
            path = Path(dirpath) / name
            st = path.lstat()
            out[str(path.relative_to(root))] = (st.st_size, st.st_mtime_ns)
    return out


def live_generation(index: Path) -> str:
    return (index / "CURRENT").read_text().strip()


def article(unique: str) -> bytes:
    return (
        f"---\ntitle: Upload {unique}\nsource: Test Wire\npublished: 2025-06-03\n---\n"
        f"The delegation from {unique} brought a proposal on river shipping to the talks in Istanbul.\n"
    ).encode()


# --------------------------------------------------------------------------- who may run admin commands


def _upload(h: DiscordHarness, name: str, data: bytes, member: dict, *, overwrite: bool | None = None, size=None):
    """/add-article with ``data`` as the file; ``name`` is the file name the uploader chose.

    Discord serves the file from its own, percent-encoded CDN URL; only the ``filename`` field
    carries the uploader's name, so the fake hosts it under a plain name and the field is set after.
    """
    att = h.host_attachment("upload.bin", data)
    att["filename"] = name
    if size is not None:
        att["size"] = size
    options: dict = {"file": att}
    if overwrite is not None:
        options["overwrite"] = overwrite
    return h.slash("add-article", options, member=member)


@pytest.mark.parametrize(
    "who",
    ["plain member", "member with an unlisted role", "member with every permission but Manage Server"],
)
@pytest.mark.parametrize("command", ["reindex", "add-article"])
def test_admin_commands_refuse_members_without_the_permission(env, who, command):
    """/reindex and /add-article from a member without Manage Server or a listed role: refused privately."""
    h, docs, index = env["h"], env["docs"], env["index"]
    if who == "plain member":
        member = h.member(name="pleb")
    elif who == "member with an unlisted role":
        member = h.member(name="moddy", roles=[MODERATOR])
    else:
        everything_but = ((1 << 41) - 1) & ~PERM_MANAGE_GUILD & ~(1 << 3)  # no Manage Server, no Administrator
        member = h.member(name="almost", permissions=str(everything_but))
    (docs / "pending.md").write_bytes(article("Pending"))  # a reindex would pick this up
    try:
        before_docs, before_gen = listing(env["base"], env["index"]), live_generation(index)
        t0 = h.now()
        if command == "reindex":
            rec = h.slash("reindex", member=member)
        else:
            rec = _upload(h, "sneaky.md", article("Sneaky"), member)
        final = h.wait_final(rec, timeout=15)
        assert final["ephemeral"] and NOT_ALLOWED in embed_text(final), final
        assert rec.ack_latency < 3.0
        assert listing(env["base"], env["index"]) == before_docs and live_generation(index) == before_gen
        h.assert_clean(since=t0)
    finally:
        (docs / "pending.md").unlink()


@pytest.mark.parametrize("who", ["listed admin role", "Manage Server"])
def test_admin_commands_work_for_a_listed_role_or_manage_server(env, who):
    """A member holding a role in ADMIN_ROLE_IDS (no permission bits) or Manage Server can reindex and add."""
    h, engine, docs = env["h"], env["engine"], env["docs"]
    if who == "listed admin role":
        member = h.member(name="editor", roles=[str(EDITORS_ROLE_ID)])
    else:
        member = h.member(name="manager", permissions=str(PERM_MANAGE_GUILD))
    slug = "Editors" if who == "listed admin role" else "Managers"
    t0 = h.now()
    (docs / f"direct-{slug}.md").write_bytes(article(f"Direct{slug}"))
    final = h.wait_final(h.slash("reindex", member=member), timeout=60)
    assert final["ephemeral"] and "Reindexed" in embed_text(final) and "**1** added" in embed_text(final)
    final = h.wait_final(_upload(h, f"by-{slug}.md", article(slug), member), timeout=60)
    assert final["ephemeral"] and "Added" in embed_text(final) and f"by-{slug}.md" in embed_text(final)
    assert (docs / f"by-{slug}.md").read_bytes() == article(slug)
    answer = engine.answer(f"What did the delegation from {slug} bring to the talks?")
    assert answer.hit is not None and answer.hit.document.id == f"by-{slug}.md"
    h.assert_clean(since=t0)


# --------------------------------------------------------------------------- file names

HOSTILE_NAMES = [
    "../evil.md",
    "..\\evil.md",
    "../../../../tmp/evil.md",
    "/etc/passwd.md",
    "sub/dir.md",
    "sub\\dir.md",
    ".hidden.md",
    "..",
    "..md",
    " .md",
    "CON.md",
    "nul.txt",
    "na\x00me.md",
    "a" * 300 + ".md",
    "..\uff0fevil.md",  # a fullwidth slash, which NFKC turns into '/'
    "\u2025\u2215evil.md",  # two-dot leader and division slash
    "evil.md.exe",
    "evil.exe",
    "evil\u202egnp.md",  # right-to-left override
    "%2e%2e%2fevil.md",
    "évil ärticle.MD",
]


@pytest.mark.parametrize("name", HOSTILE_NAMES, ids=repr)
def test_an_uploaded_file_name_cannot_escape_or_hide_in_documents(env, name):
    """/add-article with a hostile file name: refused with nothing written, or saved as a plain visible file."""
    h, docs, index = env["h"], env["docs"], env["index"]
    admin = h.member(name="admin", permissions=str(PERM_MANAGE_GUILD))
    unique = "N" + str(abs(hash(name)) % 10**8)
    before = listing(env["base"].parent, env["index"])  # the module's folder and everything beside it
    before_gen = live_generation(index)
    t0 = h.now()
    final = h.wait_final(_upload(h, name, article(unique), admin), timeout=60)
    text = embed_text(final)
    assert final["ephemeral"] and APOLOGY not in text, text
    after = listing(env["base"].parent, env["index"])
    new = sorted(set(after) - set(before))
    changed = sorted(k for k in set(after) & set(before) if after[k] != before[k])
    if "Added" in text:
        # Accepted: exactly one new plain, visible file directly in documents/, nothing else touched.
        assert len(new) == 1, new
        path = env["base"].parent / new[0]
        assert path.parent == docs, new
        # Letters of every script are kept (bot/uploads.py); nothing hidden, no separator, nothing invisible.
        assert re.fullmatch(r"[^\W_][\w .,()'&+!~-]*\.(md|txt)", path.name, re.IGNORECASE), path.name
        assert len(path.name) <= 100 and path.name.isprintable(), path.name
        assert path.read_bytes() == article(unique)
        assert changed in ([], [str(docs.relative_to(env["base"].parent))]), changed
        path.unlink()
    else:
        assert new == [] and changed == [], (new, changed, text)
        assert live_generation(index) == before_gen
    h.assert_clean(since=t0)


def test_an_upload_cannot_write_through_a_symlink_or_replace_without_overwrite(env, tmp_path):
    """A symlink planted in documents/ is never written through; an existing article needs overwrite."""
    h, docs = env["h"], env["docs"]
    admin = h.member(name="admin", permissions=str(PERM_MANAGE_GUILD))
    outside = tmp_path / "outside.md"
    outside.write_bytes(b"do not touch\n")
    (docs / "link.md").symlink_to(outside)
    reuters = (docs / REUTERS).read_bytes()
    try:
        t0 = h.now()
        for name, overwrite in (("link.md", True), ("link.md", False), (REUTERS, False), (REUTERS, None)):
            final = h.wait_final(_upload(h, name, article("Symlinked"), admin, overwrite=overwrite), timeout=60)
            assert final["ephemeral"] and "Added" not in embed_text(final), (name, overwrite, embed_text(final))
            assert outside.read_bytes() == b"do not touch\n" and (docs / "link.md").is_symlink()
            assert (docs / REUTERS).read_bytes() == reuters
        h.assert_clean(since=t0)
    finally:
        (docs / "link.md").unlink()


# --------------------------------------------------------------------------- file contents

PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)) * 8
BAD_UPLOADS = {
    "binary": (PNG, None),
    "over 1 MiB": (b"Title\n\n" + b"word " * (1024 * 1024 // 5 + 10), None),
    "size hidden by the metadata": (b"Title\n\n" + b"word " * (2 * 1024 * 1024 // 5), 2_000),
    "empty": (b"", None),
    "Latin-1": ("Déjà vu\n\nLes négociations à Istanbul ont échoué hier soir.\n".encode("latin-1"), None),
    "UTF-16": ("Title\n\nThe talks in Istanbul ended with a prisoner exchange.\n".encode("utf-16"), None),
    "NUL bytes": (b"Title\n\nA stray \x00 in the text of the article.\n", None),
    "front matter only": (b"---\ntitle: Nothing else\n---\n", None),
    "unclosed front matter": (b"---\ntitle: Open\nThe talks ended.\n", None),
    "YAML alias bomb": (b"---\na: &a [x, x]\nb: &b [*a, *a]\ntitle: *b\n---\nBody text of the article.\n", None),
    "YAML python tag": (b"---\ntitle: !!python/object/apply:os.getcwd []\n---\nBody text of the article.\n", None),
    "YAML deep nesting": (b"---\ntitle: " + b"[" * 3000 + b"]" * 3000 + b"\n---\nBody text of the article.\n", None),
    "YAML impossible date": (b"---\ntitle: Bad date\npublished: 2025-02-30\n---\nBody text of the article.\n", None),
}


@pytest.mark.parametrize("kind", BAD_UPLOADS, ids=str)
def test_a_bad_upload_is_refused_with_a_reason_and_nothing_is_written(env, kind):
    """/add-article with a binary, oversized or invalid file: a private reason, no file, no reindex."""
    h, index = env["h"], env["index"]
    admin = h.member(name="admin", permissions=str(PERM_MANAGE_GUILD))
    data, size = BAD_UPLOADS[kind]
    before, before_gen = listing(env["base"], env["index"]), live_generation(index)
    t0 = h.now()
    final = h.wait_final(_upload(h, f"upload-{kind.replace(' ', '-')}.md", data, admin, size=size), timeout=60)
    text = embed_text(final)
    assert final["ephemeral"] and "Added" not in text, text
    assert APOLOGY not in text, f"an apology instead of the reason: {text}"
    assert listing(env["base"], env["index"]) == before and live_generation(index) == before_gen
    h.assert_clean(since=t0)


def test_an_attachment_that_cannot_be_downloaded_gets_a_reason_not_an_apology(env):
    """The attachment is gone from Discord's CDN (expired, deleted): a sentence saying so, nothing written."""
    h = env["h"]
    admin = h.member(name="admin", permissions=str(PERM_MANAGE_GUILD))
    att = h.host_attachment("gone.md", article("Gone"))
    h.run(h.fake._files.pop, int(att["id"]))  # the CDN now answers 404 for it
    before, before_gen = listing(env["base"], env["index"]), live_generation(env["index"])
    final = h.wait_final(h.slash("add-article", {"file": att}, member=admin), timeout=30)
    text = embed_text(final)
    assert final["ephemeral"] and "Added" not in text
    assert APOLOGY not in text, f"an apology instead of the reason: {text}"
    assert listing(env["base"], env["index"]) == before and live_generation(env["index"]) == before_gen


# --------------------------------------------------------------------------- the token


def test_the_token_never_appears_in_logs_errors_or_output(env, capfd, monkeypatch):
    """Running, failing, reconnecting and reindexing at DEBUG: the token is in no log line, traceback or output."""
    h, engine, capture = env["h"], env["engine"], env["capture"]
    logging.getLogger().setLevel(logging.DEBUG)
    admin = h.member(name="admin", permissions=str(PERM_MANAGE_GUILD))
    answered = h.wait_final(h.slash("ask", {"question": GOOD_QUESTION}), timeout=30)
    assert GOOD_ANSWER in embed_text(answered).replace("\u200b", "")
    assert "Reindexed" in embed_text(h.wait_final(h.slash("reindex", member=admin), timeout=60))
    h.wait_final(h.slash("about"), timeout=10)
    h.drop_gateway()  # RESUME sends the token again
    identifies = h.fake.identify_count
    h.call(h.fake.invalidate_session(resumable=False))  # and so does a fresh IDENTIFY
    h.call(h.fake.wait_until(lambda: h.fake.identify_count > identifies and h.fake.session is not None, 30))

    def broken(*args, **kwargs):
        raise RuntimeError(f"simulated failure while holding {env['settings']!r}")

    monkeypatch.setattr(engine, "answer", broken)
    final = h.wait_final(h.slash("ask", {"question": GOOD_QUESTION}), timeout=30)
    assert APOLOGY in embed_text(final)
    monkeypatch.undo()

    texts = [
        repr(env["settings"]),
        str(env["settings"]),
        str(env["settings"].discord_token),
        repr(Settings.load(env={"DISCORD_TOKEN": CANARY}, env_file=None)),
    ]
    logged = "\n".join(capture.lines)
    assert "IDENTIFY" in logged and "RESUME" in logged, "the capture missed discord.py's DEBUG logs"
    assert "simulated failure" in logged and "Traceback" in logged, "the capture missed the logged traceback"
    out, err = capfd.readouterr()
    everything = "\n".join([logged, out, err, *texts])
    assert CANARY not in everything
    assert CANARY.split(".")[-1] not in everything  # not even the secret part of it


@pytest.mark.parametrize("command", [[], ["ask"], ["index"], ["run"], ["eval"], ["sync-commands"]])
def test_help_never_shows_the_token(tmp_path, command):
    """`talksbot [command] --help` with the token in the environment and in .env: the token is not printed."""
    (tmp_path / ".env").write_text(f"DISCORD_TOKEN={CANARY}\nLOG_LEVEL=DEBUG\n")
    proc = subprocess.run(
        [str(TALKSBOT), *command, "--help"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        env=cli_env({"DISCORD_TOKEN": CANARY}),
        timeout=60,
    )
    assert proc.returncode == 0 and "usage: talksbot" in proc.stdout
    assert CANARY not in proc.stdout + proc.stderr


def test_dot_env_is_git_ignored_and_no_token_is_tracked():
    """.env (where the token lives) is ignored by git at any depth; no tracked file holds a token."""
    for path in (".env", "documents/.env", "bot/.env"):
        proc = subprocess.run(["git", "check-ignore", "-q", path], cwd=ROOT, capture_output=True)
        assert proc.returncode == 0, f"{path} is not git-ignored"
    assert subprocess.run(["git", "check-ignore", "-q", ".env.example"], cwd=ROOT).returncode == 1
    tracked = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True).stdout
    token_shape = re.compile(rb"[MNO][A-Za-z\d_-]{23,27}\.[A-Za-z\d_-]{6}\.[A-Za-z\d_-]{27,40}")
    for name in filter(None, tracked.split(b"\0")):
        path = ROOT / os.fsdecode(name)
        if path.is_file() and path.stat().st_size < 5_000_000:
            assert not token_shape.search(path.read_bytes()), f"{path} holds something shaped like a bot token"
    example = (ROOT / ".env.example").read_text()
    assert re.search(r"^DISCORD_TOKEN=\s*$", example, re.MULTILINE), "the example must not carry a token"
