"""A broken index folder: each damage is detected with a clear message, the previous index keeps answering,
and the documented fix (`talksbot index`, or the automatic rebuild in `talksbot ask`) works.

The CLI runs in this process (``bot.cli.main``, with the session's model) except where a separate
process matters (another process holding a lock, an unwritable folder).
"""

from __future__ import annotations

import errno
import json
import os
import random
import shutil
import sqlite3
import subprocess
import sys
import threading
from collections.abc import Callable
from pathlib import Path

import faiss
import pytest
from reliability_helpers import (
    GOOD_ANSWER,
    GOOD_QUESTION,
    assert_one_line_error,
    copy_seed,
    in_process_cli,
    run_cli,
)

from index.engine import Engine
from index.errors import IndexBusy, IndexIncompatible, IndexWriteError
from index.store import CURRENT_NAME, FAISS_NAME, MANIFEST_NAME, SQLITE_NAME, IndexStore

NEW_ARTICLE = (
    "---\ntitle: Second round in Istanbul\nsource: Test Wire\nauthor: A. Writer\npublished: 2025-06-02\n---\n"
    "The second round of talks in Istanbul ended with an agreement to exchange the bodies of six thousand "
    "soldiers killed in the fighting.\n"
)
NEW_QUESTION = "How many bodies of soldiers will be exchanged?"
NEW_ANSWER = "six thousand soldiers"
THIRD_ARTICLE = (
    "---\ntitle: Grain corridor inspections\nsource: Test Wire\npublished: 2025-06-20\n---\n"
    "Ships carrying grain from Odesa will be inspected by a joint commission of Turkish and United Nations staff.\n"
)
THIRD_QUESTION = "Who will inspect the grain ships from Odesa?"
THIRD_ANSWER = "joint commission"


@pytest.fixture(scope="module")
def two_generations(tmp_path_factory, embedder):
    """Seed articles indexed (gen 1), then a new article added and indexed (gen 2, live)."""
    base = tmp_path_factory.mktemp("two-gens")
    docs = copy_seed(base / "documents")
    engine = Engine(docs, base / "index", embedder=embedder)
    engine.reindex()
    (docs / "second-round.md").write_text(NEW_ARTICLE, encoding="utf-8")
    assert engine.reindex().published
    return base


@pytest.fixture
def site(two_generations, tmp_path):
    """A private copy of the two-generation folder: (documents, index)."""
    shutil.copytree(two_generations / "documents", tmp_path / "documents")
    shutil.copytree(two_generations / "index", tmp_path / "index")
    return tmp_path / "documents", tmp_path / "index"


@pytest.fixture
def cli(monkeypatch, embedder, tmp_path):
    """The real CLI in this process; run from the site folder."""
    monkeypatch.chdir(tmp_path)
    with in_process_cli(monkeypatch, embedder) as call:
        yield call


def live_dir(index: Path) -> Path:
    return index / (index / CURRENT_NAME).read_text().strip()


def assert_single_error_line(err: str, says: str) -> None:
    """Progress lines may come first; then exactly one 'talksbot:' line saying what happened and what to run."""
    errors = [line for line in err.splitlines() if line.startswith("talksbot:")]
    assert len(errors) == 1 and err.rstrip("\n").endswith(errors[0]), err
    assert says in errors[0] and "talksbot index" in errors[0], errors[0]


def answers(engine: Engine, question: str, expected: str) -> bool:
    answer = engine.answer(question)
    return answer.hit is not None and expected in answer.hit.quote


# --------------------------------------------------------------------------- damage to one file of the index


def _truncate(name: str) -> Callable[[Path], None]:
    def damage(index: Path) -> None:
        path = live_dir(index) / name
        path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])

    return damage


def _flip_bytes(name: str) -> Callable[[Path], None]:
    def damage(index: Path) -> None:
        path = live_dir(index) / name
        data = bytearray(path.read_bytes())
        for i in range(len(data) // 2, len(data) // 2 + 64):
            data[i] ^= 0xFF
        path.write_bytes(bytes(data))

    return damage


def _empty(name: str) -> Callable[[Path], None]:
    return lambda index: (live_dir(index) / name).write_bytes(b"")


def _delete(name: str) -> Callable[[Path], None]:
    return lambda index: (live_dir(index) / name).unlink()


def _garbage(name: str) -> Callable[[Path], None]:
    return lambda index: (live_dir(index) / name).write_bytes(b"this is not what you think it is\n" * 200)


def _corrupt_sqlite_pages(index: Path) -> None:
    """Overwrite the second half of the database's pages with noise, keeping the header and schema page."""
    path = live_dir(index) / SQLITE_NAME
    data = bytearray(path.read_bytes())
    page, rng = 4096, random.Random(7)
    pages = len(data) // page
    for i in range(pages // 2, pages):
        data[i * page : (i + 1) * page] = rng.randbytes(page)
    path.write_bytes(bytes(data))


def _manifest_edit(change: Callable[[dict], None]) -> Callable[[Path], None]:
    def damage(index: Path) -> None:
        path = live_dir(index) / MANIFEST_NAME
        manifest = json.loads(path.read_text())
        change(manifest)
        path.write_text(json.dumps(manifest))

    return damage


def _current(content: bytes) -> Callable[[Path], None]:
    return lambda index: (index / CURRENT_NAME).write_bytes(content)


DAMAGES: dict[str, Callable[[Path], None]] = {
    "vectors truncated": _truncate(FAISS_NAME),
    "vectors bytes flipped": _flip_bytes(FAISS_NAME),
    "vectors empty": _empty(FAISS_NAME),
    "vectors deleted": _delete(FAISS_NAME),
    "database garbage": _garbage(SQLITE_NAME),
    "database truncated": _truncate(SQLITE_NAME),
    "database pages corrupted": _corrupt_sqlite_pages,
    "database empty": _empty(SQLITE_NAME),
    "database deleted": _delete(SQLITE_NAME),
    "manifest garbage": _garbage(MANIFEST_NAME),
    "manifest deleted": _delete(MANIFEST_NAME),
    "manifest wrong checksum": _manifest_edit(lambda m: m["faiss"].update(sha256="0" * 64)),
    "CURRENT names a missing generation": _current(b"gen-000099\n"),
    "CURRENT garbage": _current(b"\x89\x00garbage\xff\n"),
    "CURRENT zeroed by a power loss": _current(b"\x00" * 11),
}


@pytest.mark.parametrize("damage", DAMAGES, ids=str)
def test_a_damaged_index_keeps_answering_and_talksbot_index_repairs_it(site, cli, embedder, damage):
    """Damage to the live index: answers continue from the previous one; ask and index repair it, saying so."""
    docs, index = site
    (docs / "third.md").write_text(THIRD_ARTICLE, encoding="utf-8")
    DAMAGES[damage](index)

    # A bot or CLI opening the index now still answers (from the previous complete generation at worst).
    assert answers(Engine(docs, index, embedder=embedder), GOOD_QUESTION, GOOD_ANSWER)

    # `talksbot ask` notices, says so in a sentence, repairs what it must, and answers.
    code, out, err = cli(["ask", "--json", "--documents", str(docs), "--index-dir", str(index), GOOD_QUESTION])
    assert code == 0, err
    assert "unexpected error" not in err and "Traceback" not in err, err
    assert GOOD_ANSWER in json.loads(out)["answer"]["quote"]

    # `talksbot index` (the documented fix) completes; afterwards every article answers, with no warning left.
    code, out2, err2 = cli(["index", "--documents", str(docs), "--index-dir", str(index)])
    assert code == 0, err2
    said = (err + out2).casefold()
    assert any(w in said for w in ("damaged", "missing", "built differently", "format", "repaired", "rebuilt")), said
    snapshot = IndexStore(index).open(Engine(docs, index, embedder=embedder).config)
    assert snapshot.warning is None
    snapshot.close()
    fresh = Engine(docs, index, embedder=embedder)
    assert answers(fresh, GOOD_QUESTION, GOOD_ANSWER)
    assert answers(fresh, NEW_QUESTION, NEW_ANSWER)
    assert answers(fresh, THIRD_QUESTION, THIRD_ANSWER)
    assert not list(index.glob(".staging-*"))


@pytest.mark.parametrize("damage", ["database pages corrupted", "database garbage", "vectors truncated"])
def test_a_damaged_index_without_a_previous_generation_is_rebuilt_by_talksbot_index(site, cli, embedder, damage):
    """Only one generation and it is damaged: `talksbot index` rebuilds it (exit 0) and answers come back."""
    docs, index = site
    for old in index.glob("gen-*"):
        if old != live_dir(index):
            shutil.rmtree(old)
    DAMAGES[damage](index)
    code, _, err = cli(["index", "--documents", str(docs), "--index-dir", str(index)])
    assert code == 0, err
    assert "unexpected error" not in err, err
    fresh = Engine(docs, index, embedder=embedder)
    assert answers(fresh, GOOD_QUESTION, GOOD_ANSWER) and answers(fresh, NEW_QUESTION, NEW_ANSWER)


# --------------------------------------------------------------------------- another model's index


def test_an_index_built_by_another_model_is_refused_clearly_and_rebuilt_by_talksbot_index(site, cli, embedder):
    """A manifest naming another model: opening says which and what to run; `talksbot index` rebuilds it."""
    docs, index = site
    foreign = "sentence-transformers/paraphrase-multilingual-mpnet-base-v2#0123abcd"
    _manifest_edit(lambda m: m["config"].update(model=foreign))(index)
    with pytest.raises(IndexIncompatible) as caught:
        IndexStore(index).open(Engine(docs, index, embedder=embedder).config)
    assert "paraphrase-multilingual" in str(caught.value) and "talksbot index" in str(caught.value)
    code, out, err = cli(["index", "--documents", str(docs), "--index-dir", str(index)])
    assert code == 0, err
    assert "Rebuilt from scratch" in out and "model" in out, out
    assert answers(Engine(docs, index, embedder=embedder), NEW_QUESTION, NEW_ANSWER)


def test_a_running_engine_keeps_answering_when_another_model_publishes_over_it(site, embedder):
    """Another process publishes an index from a different model: the running bot keeps its index and answers."""
    docs, index = site
    engine = Engine(docs, index, embedder=embedder)
    assert answers(engine, NEW_QUESTION, NEW_ANSWER)
    live = live_dir(index)
    foreign = index / "gen-000050"
    shutil.copytree(live, foreign)
    manifest = json.loads((foreign / MANIFEST_NAME).read_text())
    manifest["config"]["model"] = "some-other-model#ffff"
    (foreign / MANIFEST_NAME).write_text(json.dumps(manifest))
    (index / CURRENT_NAME).write_text("gen-000050\n")
    searcher = engine.searcher(max_age=0.0)
    assert searcher.snapshot.generation == live.name
    assert answers(engine, NEW_QUESTION, NEW_ANSWER)


# --------------------------------------------------------------------------- locks held by other processes

HOLD_SQLITE_LOCK = """
import sqlite3, sys
conn = sqlite3.connect(sys.argv[1], isolation_level=None, timeout=0)
conn.execute("BEGIN EXCLUSIVE")
conn.execute("SELECT COUNT(*) FROM passages").fetchone()
print("locked", flush=True)
sys.stdin.read()
conn.execute("ROLLBACK")
"""

HOLD_WRITER_LOCK = """
import fcntl, os, sys
fd = os.open(sys.argv[1], os.O_RDWR | os.O_CREAT, 0o644)
fcntl.flock(fd, fcntl.LOCK_EX)
print("locked", flush=True)
sys.stdin.read()
"""


def _holder(script: str, path: Path) -> subprocess.Popen:
    proc = subprocess.Popen(
        [sys.executable, "-c", script, str(path)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    assert proc.stdout is not None and proc.stdout.readline().strip() == "locked"
    return proc


def _release(proc: subprocess.Popen) -> None:
    assert proc.stdin is not None and proc.stdout is not None
    proc.stdin.close()
    proc.wait(10)
    proc.stdout.close()


def test_a_database_locked_by_another_process_does_not_stop_answers_or_reindexing(site, cli, embedder):
    """Another process holds an exclusive transaction on the live database: answers and `talksbot index` go on."""
    docs, index = site
    holder = _holder(HOLD_SQLITE_LOCK, live_dir(index) / SQLITE_NAME)
    try:
        probe = sqlite3.connect(live_dir(index) / SQLITE_NAME, timeout=0)
        with pytest.raises(sqlite3.OperationalError, match="locked"):  # the lock is real
            probe.execute("BEGIN EXCLUSIVE")
        probe.close()
        assert answers(Engine(docs, index, embedder=embedder), NEW_QUESTION, NEW_ANSWER)
        (docs / "third.md").write_text(THIRD_ARTICLE, encoding="utf-8")
        code, out, err = cli(["index", "--documents", str(docs), "--index-dir", str(index)])
        assert code == 0, err
        assert "added: third.md" in out
        assert answers(Engine(docs, index, embedder=embedder), THIRD_QUESTION, THIRD_ANSWER)
    finally:
        _release(holder)


def test_a_reindex_waits_for_another_writer_and_a_non_waiting_one_is_told_why(site, cli, embedder):
    """Another `talksbot index` holds the writer lock: index says it waits and then finishes; /reindex refuses."""
    docs, index = site
    (docs / "third.md").write_text(THIRD_ARTICLE, encoding="utf-8")
    holder = _holder(HOLD_WRITER_LOCK, index / ".lock")
    try:
        with pytest.raises(IndexBusy, match="already running"):
            Engine(docs, index, embedder=embedder).reindex(wait=False)
        timer = threading.Timer(1.5, _release, [holder])
        timer.start()
        code, out, err = cli(["index", "--documents", str(docs), "--index-dir", str(index)])
        timer.join()
    finally:
        if holder.poll() is None:
            _release(holder)
    assert code == 0, err
    assert "waiting" in err and "added: third.md" in out, (err, out)
    assert answers(Engine(docs, index, embedder=embedder), THIRD_QUESTION, THIRD_ANSWER)


# --------------------------------------------------------------------------- an index folder that cannot be written


def test_an_index_folder_under_a_regular_file_is_a_clear_error_from_the_cli(tmp_path):
    """INDEX_DIR whose parent is a file: `talksbot index` and `ask` exit 2 (a bad setting) with one line naming it."""
    copy_seed(tmp_path / "documents")
    (tmp_path / "blocker").write_text("I am a file, not a folder\n")
    target = str(tmp_path / "blocker" / "index")
    for command in (["index"], ["ask", GOOD_QUESTION]):
        line = assert_one_line_error(run_cli(*command, "--index-dir", target, cwd=tmp_path, timeout=120), 2)
        assert "blocker" in line and "file, not a folder" in line, line


@pytest.fixture
def read_only(site):
    """Make the index folder unwritable: chmod for a normal user, the immutable attribute for root."""
    _, index = site
    if os.geteuid() != 0:
        index.chmod(0o555)
        yield index
        index.chmod(0o755)
        return
    if shutil.which("chattr") is None:
        pytest.skip("running as root, where chmod does not stop writes, and chattr is not available")
    made = subprocess.run(["chattr", "+i", str(index)], capture_output=True, text=True)
    if made.returncode != 0:
        pytest.skip(f"running as root and the immutable attribute is not supported here: {made.stderr.strip()}")
    try:
        yield index
    finally:
        subprocess.run(["chattr", "-i", str(index)], check=True)


def test_a_read_only_index_folder_keeps_answering_and_index_says_what_to_do(site, read_only, cli, embedder):
    """The index folder cannot be written: `talksbot index` exits 1 in one line; answers continue; fixable."""
    docs, index = site
    probe = index / "probe"
    with pytest.raises(OSError):
        probe.mkdir()  # the folder really is unwritable for this process
    (docs / "third.md").write_text(THIRD_ARTICLE, encoding="utf-8")
    code, out, err = cli(["index", "--documents", str(docs), "--index-dir", str(index)])
    assert code == 1 and out == ""
    assert_single_error_line(err, "permission denied")
    code, out, err = cli(["ask", "--json", "--documents", str(docs), "--index-dir", str(index), NEW_QUESTION])
    assert code == 0, err
    assert NEW_ANSWER in json.loads(out)["answer"]["quote"]
    assert not list(index.glob(".staging-*"))


# --------------------------------------------------------------------------- the disk fills up during a reindex


def _enospc(*args, **kwargs):
    raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))


def _full_sqlite(monkeypatch):
    """Staging databases may not grow: SQLite itself reports 'database or disk is full'."""
    real = sqlite3.connect

    def connect(database, *args, **kwargs):
        conn = real(database, *args, **kwargs)
        if ".staging-" in str(database):
            pages = conn.execute("PRAGMA page_count").fetchone()[0]
            conn.execute(f"PRAGMA max_page_count = {max(pages, 1)}")
        return conn

    monkeypatch.setattr(sqlite3, "connect", connect)


def _full_manifest(monkeypatch):
    real = Path.write_text

    def write_text(self, *args, **kwargs):
        if self.name == MANIFEST_NAME:
            _enospc()
        return real(self, *args, **kwargs)

    monkeypatch.setattr(Path, "write_text", write_text)


DISK_FULL: dict[str, Callable] = {
    "copying the database": lambda m: m.setattr(shutil, "copyfile", _enospc),
    "writing the database": _full_sqlite,
    "writing the vectors": lambda m: m.setattr(faiss, "write_index", _enospc),
    "writing the manifest": _full_manifest,
    "flushing to disk": lambda m: m.setattr(os, "fsync", _enospc),
    "publishing": lambda m: m.setattr(os, "replace", _enospc),
}


@pytest.mark.parametrize("where", DISK_FULL, ids=str)
def test_a_full_disk_during_reindex_keeps_the_previous_index_and_the_rerun_works(site, embedder, monkeypatch, where):
    """The disk fills up mid-reindex: a 'disk is full' sentence, the old index answers, rerunning completes."""
    docs, index = site
    engine = Engine(docs, index, embedder=embedder)
    assert answers(engine, NEW_QUESTION, NEW_ANSWER)
    before = (index / CURRENT_NAME).read_text()
    (docs / "third.md").write_text(THIRD_ARTICLE, encoding="utf-8")
    with monkeypatch.context() as m:
        DISK_FULL[where](m)
        with pytest.raises(IndexWriteError) as caught:
            engine.reindex()
    message = str(caught.value)
    assert "disk is full" in message and "talksbot index" in message, message
    assert (index / CURRENT_NAME).read_text() == before
    assert not list(index.glob(".staging-*"))
    assert answers(engine, NEW_QUESTION, NEW_ANSWER)  # the running engine still answers
    fresh = Engine(docs, index, embedder=embedder)
    assert answers(fresh, NEW_QUESTION, NEW_ANSWER) and not answers(fresh, THIRD_QUESTION, THIRD_ANSWER)
    report = engine.reindex()  # space freed: the same reindex now completes
    assert report.published and report.added == ["third.md"]
    assert answers(engine, THIRD_QUESTION, THIRD_ANSWER)
    assert not [p for p in index.glob("gen-*") if p.name > (index / CURRENT_NAME).read_text().strip()]


def test_a_full_disk_is_one_line_and_exit_1_from_talksbot_index(site, cli, monkeypatch):
    """`talksbot index` on a full disk: exit 1, one sentence saying the disk is full and what to run after."""
    docs, index = site
    (docs / "third.md").write_text(THIRD_ARTICLE, encoding="utf-8")
    monkeypatch.setattr(faiss, "write_index", _enospc)
    code, out, err = cli(["index", "--documents", str(docs), "--index-dir", str(index)])
    assert code == 1 and out == ""
    assert_single_error_line(err, "disk is full")
