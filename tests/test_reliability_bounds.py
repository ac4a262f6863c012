"""Unbounded work from one input: a huge stdin line, an article of countless tiny paragraphs, a SIGTERM mid-index.

Through the real `talksbot` command (a subprocess where memory or a signal is what is measured),
the real bot on the fake Discord for /add-article, and the splitter itself for what must not change.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from discord_helpers import embed_text, plain_quote, start_seed_bot
from fakediscord import PERM_MANAGE_GUILD
from reliability_helpers import (
    GOOD_ANSWER,
    GOOD_QUESTION,
    TALKSBOT,
    cli_env,
    copy_seed,
    in_process_cli,
    run_cli,
    text,
    write_corpus,
)

from index.documents import scan_documents
from index.passages import (
    DEFAULT_MAX_TOKENS,
    MAX_MERGED_SENTENCES,
    MAX_PASSAGES_PER_ARTICLE,
    approximate_token_count,
    split_article,
    split_passages,
)
from tests.conftest import DOCUMENTS, ROOT

EVAL_CORPUS = ROOT / "tests" / "eval" / "corpus"


def tiny_paragraphs(count: int, *, topic: str = "ceasefire monitors") -> str:
    """An article of ``count`` one-line paragraphs, each a short sentence."""
    lines = [f"{topic.capitalize()} seen at post {i}." for i in range(count)]  # 4 MB for 100,000
    return f"---\ntitle: Tiny paragraphs about {topic}\nsource: Test Wire\n---\n" + "\n\n".join(lines) + "\n"


# --------------------------------------------------------------------------- one huge stdin line


def _peak_rss(pid: int) -> int:
    """The process's peak resident memory so far (VmHWM), in bytes."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    raise AssertionError("VmHWM not found")


@pytest.mark.slow
def test_one_huge_stdin_line_is_refused_in_a_short_line_without_taking_its_size_in_memory(tmp_path):
    """`ask --json` fed a 100 MB line: a short error line, the next question answered, peak memory barely moves."""
    copy_seed(tmp_path / "documents")
    assert run_cli("index", cwd=tmp_path).returncode == 0
    with subprocess.Popen(
        [str(TALKSBOT), "ask", "--json"],
        cwd=tmp_path,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        env=cli_env(),
    ) as proc:
        assert proc.stdin is not None and proc.stdout is not None
        proc.stdin.write(GOOD_QUESTION.encode() + b"\n")
        proc.stdin.flush()
        assert GOOD_ANSWER in json.loads(proc.stdout.readline())["answer"]["quote"]
        before = _peak_rss(proc.pid)  # the model is loaded and has answered once
        chunk = b"what did russia demand " * 4_000
        for _ in range(100 * 1024 * 1024 // len(chunk)):
            proc.stdin.write(chunk)
        proc.stdin.write(b"\n" + GOOD_QUESTION.encode() + b"\n")
        proc.stdin.flush()
        error_line = proc.stdout.readline()
        answer_line = proc.stdout.readline()
        grown = _peak_rss(proc.pid) - before
        proc.stdin.close()
        assert proc.wait(timeout=120) == 0
    assert len(error_line) < 2_500, len(error_line)
    error = json.loads(error_line)
    assert set(error) == {"question", "error"} and "too long" in error["error"]
    assert error["question"].startswith("what did russia demand") and error["question"].endswith("…")
    assert GOOD_ANSWER in json.loads(answer_line)["answer"]["quote"]
    assert grown < 40 * 1024 * 1024, f"peak memory grew by {grown / 1048576:.0f} MiB for one 100 MB line"


def test_an_over_long_question_in_a_batch_is_echoed_cut_short(monkeypatch, fake_embedder, tmp_path):
    """An error line repeats at most 2,000 characters of a refused question, then '…'."""
    copy_seed(tmp_path / "documents")
    monkeypatch.chdir(tmp_path)
    with in_process_cli(monkeypatch, fake_embedder) as cli:
        stdin = "w" * 600 + "\n" + "x" * 5_000 + "\n" + "y" * 70_000 + "\nneutral state\n"
        code, out, _ = cli(["ask", "--json"], stdin=stdin)
    assert code == 0
    short, first, second, third = (json.loads(line) for line in out.splitlines())
    assert short["question"] == "w" * 600 and "600 characters" in short["error"]
    assert first["question"] == "x" * 2_000 + "…" and "5,000 characters" in first["error"]
    assert second["question"] == "y" * 2_000 + "…" and "over 65,536 characters" in second["error"]
    assert third["question"] == "neutral state" and "answer" in third


# --------------------------------------------------------------------------- many tiny paragraphs


def test_normal_articles_split_exactly_as_before_the_bound():
    """The seed and evaluation articles are far below the bound: their passages are the same with or without it."""
    for folder in (DOCUMENTS, EVAL_CORPUS):
        for doc in scan_documents(folder).documents:
            bounded = split_article(doc.body, title=doc.info.title)
            assert not bounded.merged
            assert bounded.passages == split_passages(doc.body, title=doc.info.title, max_passages=10**9)


def test_an_article_of_countless_tiny_paragraphs_is_merged_into_verbatim_spans_losing_nothing():
    """100,000 one-line paragraphs: a few thousand passages, each a verbatim span; every paragraph is in one."""
    body = tiny_paragraphs(100_000).split("---\n", 2)[2]
    split = split_article(body)
    unbounded = split_passages(body, max_passages=10**9)
    assert split.merged and split.before_merging == len(unbounded) == 100_000
    # Merged passages are near the model's length: about as many as an article of the same text in long paragraphs.
    words = sum(approximate_token_count(p.text) for p in unbounded)
    assert len(split.passages) <= 2 * words / DEFAULT_MAX_TOKENS + 1
    assert all(p.text == body[p.start : p.end] for p in split.passages)
    assert all(len(p.sentences) <= MAX_MERGED_SENTENCES for p in split.passages)
    covered = iter(split.passages)
    current = next(covered)
    for paragraph in unbounded:
        while current.end < paragraph.end:
            current = next(covered)
        assert current.start <= paragraph.start and paragraph.end <= current.end


def test_just_over_the_bound_only_short_passages_are_merged():
    """A long article of normal paragraphs plus a run of short lines: the normal paragraphs stay as they were."""
    normal = " ".join(["The delegations discussed the corridor and its inspections in detail."] * 6)
    paragraphs = [f"{normal} Paragraph {i}." for i in range(MAX_PASSAGES_PER_ARTICLE - 10)]
    paragraphs += [f"Short line {i} here." for i in range(50)]
    body = "\n\n".join(paragraphs) + "\n"
    split = split_article(body)
    assert split.merged and len(split.passages) <= MAX_PASSAGES_PER_ARTICLE
    long_ones = [p.text for p in split.passages if p.text.startswith("The delegations")]
    assert long_ones == paragraphs[: MAX_PASSAGES_PER_ARTICLE - 10]


def test_talksbot_index_says_when_it_merged_an_articles_passages(monkeypatch, fake_embedder, tmp_path):
    """`talksbot index` on a 100,000-paragraph file: a few thousand passages, a note saying what was merged."""
    docs = copy_seed(tmp_path / "documents")
    (docs / "tiny.md").write_text(tiny_paragraphs(100_000), encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    with in_process_cli(monkeypatch, fake_embedder) as cli:
        code, out, err = cli(["index", "--json"])
        assert code == 0, err
        report = json.loads(out)
        assert report["skipped"] == [] and "tiny.md" in report["added"]
        assert report["passages"] < 100_000 / 15, report["passages"]
        assert any(
            note.startswith("tiny.md: 100,000 paragraphs are more than the 2,000 passages") for note in report["notes"]
        )
        code, out, err = cli(["ask", "--json", "Were ceasefire monitors seen at post 42?"])
    hit = json.loads(out)["answer"]
    assert hit is not None and hit["quote"] in (docs / "tiny.md").read_text(encoding="utf-8")


def test_an_upload_of_tiny_paragraphs_is_merged_and_the_reply_says_so(tmp_path_factory, embedder):
    """/add-article of 3,000 one-line paragraphs: indexed as merged passages, the reply says so, quotes verbatim."""
    h, _engine = start_seed_bot(tmp_path_factory.mktemp("tiny"), embedder)
    try:
        t0 = h.now()
        data = tiny_paragraphs(3_000, topic="grain convoys").encode()
        att = h.host_attachment("upload.bin", data)
        att["filename"] = "tiny-upload.md"
        admin = h.member(name="admin", permissions=str(PERM_MANAGE_GUILD))
        reply = embed_text(h.wait_final(h.slash("add-article", {"file": att}, member=admin), timeout=120))
        assert "Added" in reply and "3,000 paragraphs are more than the 2,000 passages" in reply, reply
        final = h.wait_final(h.slash("ask", {"question": "Were grain convoys seen at post 42?"}), 30)
        assert plain_quote(final["embeds"][0]["description"]) in data.decode()
        h.assert_clean(since=t0)
    finally:
        h.close()


# --------------------------------------------------------------------------- SIGTERM mid-index


def _wait_for(predicate, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return False


@pytest.mark.slow
def test_sigterm_during_talksbot_index_leaves_no_staging_folder_and_the_index_answers(tmp_path):
    """`talksbot index` gets SIGTERM while embedding: it ends by the signal, leaves no .staging-*, old index live."""
    docs = copy_seed(tmp_path / "documents")
    assert run_cli("index", cwd=tmp_path).returncode == 0
    index = tmp_path / ".talksbot" / "index"
    live = (index / "CURRENT").read_text()
    write_corpus(docs, 300, paragraphs=4)
    with subprocess.Popen(
        [str(TALKSBOT), "index"], cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=cli_env()
    ) as proc:
        assert _wait_for(lambda: any(index.glob(".staging-*")), timeout=120), "no staging folder appeared"
        time.sleep(1.0)  # well into embedding 1,200 passages
        assert proc.poll() is None, "the reindex finished before it could be interrupted"
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=60) == -signal.SIGTERM
    assert list(index.glob(".staging-*")) == [] and (index / "CURRENT").read_text() == live
    answer = run_cli("ask", GOOD_QUESTION, cwd=tmp_path)
    assert answer.returncode == 0 and GOOD_ANSWER in text(answer.stdout)


SLOW_WORKER = textwrap.dedent(
    """
    import sys, threading
    from pathlib import Path
    from index import Engine, staging_removed_on_sigterm
    from tests.conftest import FakeEmbedder

    class Stuck(FakeEmbedder):
        def embed_passages(self, passages, *, progress=None):
            print("embedding", flush=True)
            threading.Event().wait(120)  # as if the model took minutes
            return super().embed_passages(passages, progress=progress)

    docs, index = Path(sys.argv[1]), Path(sys.argv[2])
    with staging_removed_on_sigterm():
        worker = threading.Thread(target=Engine(docs, index, embedder=Stuck()).reindex, daemon=True)
        worker.start()  # the bot reindexes in a worker thread while the main thread runs the event loop
        worker.join()
    """
)


def test_sigterm_while_a_worker_thread_reindexes_removes_its_staging_folder(tmp_path):
    """As in the bot: a reindex in a worker thread, SIGTERM to the process: the staging folder goes with it."""
    docs = copy_seed(tmp_path / "documents")
    index = tmp_path / "index"
    with subprocess.Popen(
        [sys.executable, "-c", SLOW_WORKER, str(docs), str(index)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    ) as proc:
        assert proc.stdout is not None and proc.stdout.readline() == b"embedding\n"
        assert list(index.glob(".staging-*")), "the reindex has a staging folder while it embeds"
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=30) == -signal.SIGTERM
    assert list(index.glob(".staging-*")) == []


@pytest.mark.parametrize("ignored", [True, False])
def test_the_sigterm_handler_is_restored_and_respects_an_ignored_signal(ignored):
    """Leaving staging_removed_on_sigterm restores the previous handler; an ignored SIGTERM stays ignored."""
    from index import staging_removed_on_sigterm

    before = signal.signal(signal.SIGTERM, signal.SIG_IGN if ignored else signal.SIG_DFL)
    try:
        with staging_removed_on_sigterm():
            inside = signal.getsignal(signal.SIGTERM)
        assert (inside is signal.SIG_IGN) == ignored
        assert signal.getsignal(signal.SIGTERM) is (signal.SIG_IGN if ignored else signal.SIG_DFL)
    finally:
        signal.signal(signal.SIGTERM, before)
