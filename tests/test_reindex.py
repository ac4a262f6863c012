"""Reindexing after new articles arrive: engine-level add/edit/delete, and /reindex, /add-article, --watch."""

from __future__ import annotations

import shutil
import threading
import time

import pytest
from discord_helpers import embed_text, plain_quote, start_seed_bot
from fakediscord import PERM_MANAGE_GUILD

from index.engine import Engine
from tests.conftest import DOCUMENTS

ROUND_TWO = """---
title: Second round of Istanbul talks ends with deal on bodies
source: Test Wire
author: Jane Tester
published: 2025-06-02
---
The second round of talks in Istanbul ended after about an hour with an agreement to hand over \
the bodies of six thousand fallen soldiers.

The delegations also exchanged written memoranda setting out their conditions for a truce.
"""
QUESTION = "How many fallen soldiers' bodies will be handed over?"


@pytest.fixture
def engine(tmp_path, embedder) -> Engine:
    shutil.copytree(DOCUMENTS, tmp_path / "documents")
    engine = Engine(tmp_path / "documents", tmp_path / "index", embedder=embedder)
    engine.reindex()
    return engine


def test_added_edited_deleted_articles_show_in_answers_at_once(engine):
    """Add an article: answers quote it; edit it: the edited text; delete it: never quoted again."""
    path = engine.documents_dir / "round-two.md"
    assert engine.answer(QUESTION).hit is None or "six thousand" not in engine.answer(QUESTION).hit.quote

    path.write_text(ROUND_TWO, encoding="utf-8")
    report = engine.reindex()
    assert report.added == ["round-two.md"]
    hit = engine.answer(QUESTION).hit
    assert hit.document.id == "round-two.md" and "six thousand" in hit.quote

    path.write_text(ROUND_TWO.replace("six thousand", "seven thousand"), encoding="utf-8")
    assert engine.reindex().updated == ["round-two.md"]
    hit = engine.answer(QUESTION).hit
    assert "seven thousand" in hit.quote and "six thousand" not in hit.quote

    path.unlink()
    assert engine.reindex().removed == ["round-two.md"]
    answer = engine.answer(QUESTION, alternatives=10)
    assert all(
        h.document.id != "round-two.md" for h in ([answer.hit] if answer.hit else []) + list(answer.alternatives)
    )


def test_unchanged_articles_are_not_re_embedded(engine, monkeypatch):
    """Adding one article embeds only that article's passages."""
    embedded = []
    real = engine.embedder.embed_passages

    def counting(passages, **kwargs):
        embedded.extend(passages)
        return real(passages, **kwargs)

    monkeypatch.setattr(engine.embedder, "embed_passages", counting)
    (engine.documents_dir / "round-two.md").write_text(ROUND_TWO, encoding="utf-8")
    report = engine.reindex()
    assert len(embedded) == report.passages_added == 2
    assert len(report.unchanged) == 2


def test_another_process_reindexing_is_picked_up_without_restart(engine, tmp_path, embedder):
    """A generation published by someone else (e.g. `talksbot index`) is answered from within seconds."""
    other = Engine(engine.documents_dir, engine.store.directory, embedder=embedder)
    (engine.documents_dir / "round-two.md").write_text(ROUND_TWO, encoding="utf-8")
    other.reindex()
    time.sleep(2.1)  # the engine re-checks CURRENT at most every 2 s (a stat, not a reload per question)
    assert engine.answer(QUESTION).hit.document.id == "round-two.md"


@pytest.fixture(scope="module")
def admin_bot(tmp_path_factory, embedder):
    """A bot over a writable copy of the seed articles, with the fake's Moderator role in ADMIN_ROLE_IDS."""
    base = tmp_path_factory.mktemp("admin-bot")
    harness, engine = start_seed_bot(
        base,
        embedder,
        lambda settings, fake: settings.replace(admin_role_ids=frozenset({int(fake.role("Moderator")["id"])})),
    )
    yield harness, engine, base
    harness.close()


def admin(h):
    return h.member(name="moderator", permissions=str(PERM_MANAGE_GUILD))


def listing(folder) -> list[tuple[str, bytes]]:
    return sorted((p.name, p.read_bytes()) for p in folder.iterdir() if p.is_file())


def test_reindex_is_refused_to_members_without_manage_server(admin_bot):
    """/reindex by an ordinary member: a polite ephemeral refusal; nothing is reindexed."""
    h, engine, _ = admin_bot
    before = engine.store.current_generation()
    final = h.wait_final(h.slash("reindex", member=h.member(name="reader")), timeout=10)
    assert final["ephemeral"] and "manage the server" in embed_text(final)
    assert engine.store.current_generation() == before


def test_reindex_by_an_admin_reports_counts_and_time(admin_bot):
    """/reindex by a member with Manage Server: counts of added/updated/removed/unchanged and seconds."""
    h, engine, base = admin_bot
    (base / "documents" / "round-two.md").write_text(ROUND_TWO, encoding="utf-8")
    t0 = h.now()
    final = h.wait_final(h.slash("reindex", member=admin(h)), timeout=60)
    text = embed_text(final)
    assert final["ephemeral"] and "**1** added" in text and "**2** unchanged" in text and " s" in text
    h.assert_clean(since=t0)
    (base / "documents" / "round-two.md").unlink()
    h.wait_final(h.slash("reindex", member=h.member(name="role-admin", roles=["Moderator"])), timeout=60)
    assert engine.answer(QUESTION).hit is None or engine.answer(QUESTION).hit.document.id != "round-two.md"


def test_add_article_makes_it_answerable_in_the_next_ask(admin_bot):
    """/add-article with a valid .md: saved, indexed, reply names the title and passages; /ask then quotes it."""
    h, _, base = admin_bot
    t0 = h.now()
    attachment = h.fake.host_attachment("Round Two (June).md", ROUND_TWO.encode(), "text/markdown")
    final = h.wait_final(h.slash("add-article", {"file": attachment}, member=admin(h)), timeout=60)
    text = embed_text(final)
    assert "Second round of Istanbul talks ends with deal on bodies" in text and "2 passages" in text
    saved = base / "documents" / "Round Two (June).md"  # a plain name is kept as the uploader typed it
    assert saved.read_text(encoding="utf-8") == ROUND_TWO
    answer = h.wait_final(h.slash("ask", {"question": QUESTION}), timeout=20)
    assert "six thousand" in plain_quote(answer["embeds"][0]["description"])
    assert answer["embeds"][0]["author"]["name"] == "Jane Tester · Test Wire (unverified), 2 June 2025"
    again = h.wait_final(h.slash("add-article", {"file": attachment}, member=admin(h)), timeout=20)
    assert "already exists" in embed_text(again) and "overwrite" in embed_text(again)
    h.assert_clean(since=t0)
    saved.unlink()
    h.wait_final(h.slash("reindex", member=admin(h)), timeout=60)


@pytest.mark.parametrize(
    ("filename", "data", "reason"),
    [
        ("../../escape.md", ROUND_TWO.encode(), "path"),
        ("binary.md", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00", "binary"),
        ("huge.md", b"x" * (1024 * 1024 + 1), "1 MiB"),
        ("notes.pdf", b"%PDF-1.4", "Only .md and .txt"),
        ("latin.txt", "Caf\xe9 talks\nin Istanbul today.".encode("latin-1"), "UTF-8"),
        ("broken.md", b"---\ntitle: [oops\n---\nBody text here.\n", "front matter"),
    ],
)
def test_invalid_uploads_are_refused_with_the_reason_and_nothing_is_written(admin_bot, filename, data, reason):
    """Path traversal, binary, oversized and malformed uploads: refused, reason given, documents/ unchanged."""
    h, _, base = admin_bot
    before = listing(base / "documents")
    attachment = h.fake.host_attachment(filename, data, "application/octet-stream")
    final = h.wait_final(h.slash("add-article", {"file": attachment}, member=admin(h)), timeout=20)
    assert final["ephemeral"] and reason in embed_text(final)
    assert listing(base / "documents") == before
    assert not (base.parent / "escape.md").exists()


def test_asks_keep_being_answered_while_a_reindex_runs(admin_bot):
    """During a /reindex with real work, /ask answers from the old index on time; the loop never blocks."""
    h, _, base = admin_bot
    for i in range(12):
        (base / "documents" / f"bulk-{i}.md").write_text(
            ROUND_TWO.replace("six thousand", f"{i} thousand").replace("Second round", f"Round {i}"), encoding="utf-8"
        )
    t0 = h.now()
    reindex = h.slash("reindex", member=admin(h))
    asks = [
        h.slash("ask", {"question": "does russia want ukraine to be neutral?"}, member=h.member()) for _ in range(5)
    ]
    for rec in asks:
        final = h.wait_final(rec, timeout=30)
        assert "neutral" in plain_quote(final["embeds"][0]["description"])
        assert rec.ack_latency < 3.0
    assert "**12** added" in embed_text(h.wait_final(reindex, timeout=120))
    assert h.max_heartbeat_gap(t0, h.now()) <= 0.5
    assert h.max_loop_lag(t0, h.now()) < 0.5
    h.assert_clean(since=t0)
    for i in range(12):
        (base / "documents" / f"bulk-{i}.md").unlink()
    h.wait_final(h.slash("reindex", member=admin(h)), timeout=60)


def test_a_second_reindex_while_one_runs_is_told_so(admin_bot):
    """Two /reindex at once: the second says one is already running instead of starting another."""
    h, engine, _ = admin_bot
    gate = threading.Event()
    real = engine.reindex

    def slow_reindex(**kwargs):
        gate.wait(10)
        return real(**kwargs)

    engine.reindex = slow_reindex
    try:
        first = h.slash("reindex", member=admin(h))
        h.wait_for(first, lambda r: r.acknowledged, timeout=10)
        second = h.wait_final(h.slash("reindex", member=admin(h)), timeout=10)
        assert "already running" in embed_text(second)
    finally:
        gate.set()
        engine.reindex = real
    h.wait_final(first, timeout=60)
