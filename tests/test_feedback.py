"""Votes on answers: one per member per answer and changeable, hashed voters, kept across restarts and
reindexes, safe with two writers, and exported in the eval set's format that `talksbot eval` reads."""

from __future__ import annotations

import datetime as dt
import logging
import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import yaml

from bot.feedback import FeedbackError, FeedbackStore, VoteWindowClosed, answer_from_json
from bot.feedback_export import write_eval_questions
from index.evaluation import evaluate, load_eval_set
from index.models import Answer, DocumentInfo, Hit
from tests.conftest import REUTERS, ROOT

ALICE, BOB, CAROL = 111111111111111111, 222222222222222222, 333333333333333333
DOC = DocumentInfo("a.md", "Title", "Reuters", "Tom Balmforth", dt.date(2025, 5, 17), "https://example.com/a")


def an_answer(question: str = "does russia want ukraine neutral?") -> Answer:
    quote = "First sentence. Russia wants Ukraine to be neutral. Last one."
    hit = Hit(DOC, quote, 10, 10 + len(quote), 0.71, (16, 51), (DOC,))
    return Answer(question, hit, alternatives=(Hit(DOC, "Other passage.", 0, 14, 0.6, (0, 14)),))


def test_members_vote_once_each_and_can_change_their_vote(tmp_path):
    """Three members vote; a second click replaces the first; the tally counts each member once."""
    store = FeedbackStore(tmp_path / "feedback.sqlite3")
    answer_id = store.record_answer(an_answer(), kind="ask")
    assert store.vote(answer_id, ALICE, True).previous is None
    assert store.vote(answer_id, BOB, True).up == 2
    changed = store.vote(answer_id, ALICE, False)
    assert (changed.vote, changed.previous, changed.up, changed.down) == (-1, 1, 1, 1)
    again = store.vote(answer_id, ALICE, False)
    assert (again.previous, again.up, again.down) == (-1, 1, 1)
    store.vote(answer_id, CAROL, False)
    [voted] = store.voted_answers()
    assert (voted.up, voted.down, voted.question) == (1, 2, "does russia want ukraine neutral?")
    assert voted.to_json()["quote"] == an_answer().hit.quote and voted.to_json()["document"]["source"] == "Reuters"


def test_member_ids_are_never_stored_and_votes_cannot_be_linked_without_the_key(tmp_path):
    """The database holds no member id; one member's votes on two answers carry unrelated keys; the key
    lives in a separate 0600 file."""
    path = tmp_path / "feedback.sqlite3"
    store = FeedbackStore(path)
    first, second = (store.record_answer(an_answer(), kind="ask") for _ in range(2))
    store.vote(first, ALICE, True)
    store.vote(second, ALICE, True)
    for file in tmp_path.iterdir():
        if file.name.startswith("feedback.sqlite3") and not file.name.endswith(".key"):
            assert str(ALICE).encode() not in file.read_bytes()
    with sqlite3.connect(path) as conn:
        voters = [row[0] for row in conn.execute("SELECT voter FROM votes")]
    assert len(set(voters)) == 2 and all(len(v) == 64 for v in voters)
    assert store.key_path.stat().st_mode & 0o777 == 0o600


def test_votes_survive_a_restart_and_a_lost_key_is_said_in_the_log(tmp_path, caplog):
    """A new store over the same file sees the votes and recognises the same member; without the key file,
    a new key is made and the log says members could vote once more."""
    path = tmp_path / "feedback.sqlite3"
    answer_id = FeedbackStore(path).record_answer(an_answer(), kind="find-sources")
    FeedbackStore(path).vote(answer_id, ALICE, True)
    again = FeedbackStore(path).vote(answer_id, ALICE, True)
    assert (again.previous, again.up) == (1, 1)
    assert FeedbackStore(path).stored_answer(answer_id).kind == "find-sources"
    (tmp_path / "feedback.sqlite3.key").unlink()
    with caplog.at_level(logging.WARNING, logger="bot.feedback"):
        assert FeedbackStore(path).vote(answer_id, ALICE, True).up == 2
    assert "could vote once more" in caplog.text


def test_the_vote_window_closes_and_unvoted_answers_are_forgotten(tmp_path):
    """After 30 days a vote gets VoteWindowClosed; an old answer nobody voted on is pruned, a voted one kept."""
    store = FeedbackStore(tmp_path / "feedback.sqlite3")
    old = dt.datetime.now(dt.UTC) - dt.timedelta(days=31)
    voted = store.record_answer(an_answer("voted"), kind="ask", now=old)
    store.vote(voted, ALICE, True, now=old + dt.timedelta(days=1))
    unvoted = store.record_answer(an_answer("unvoted"), kind="ask", now=old)
    with pytest.raises(VoteWindowClosed, match="closed: answers take votes for 30 days"):
        store.vote(voted, BOB, True)
    FeedbackStore(store.path).record_answer(an_answer("new"), kind="ask")  # a new process prunes
    with pytest.raises(VoteWindowClosed, match="no longer on record"):
        store.stored_answer(unvoted)
    assert [v.question for v in store.voted_answers()] == ["voted"]


def test_the_stored_answer_comes_back_as_it_was_sent(tmp_path):
    """Quote, highlight, attribution, corroboration and alternatives survive the round trip through JSON."""
    store = FeedbackStore(tmp_path / "feedback.sqlite3")
    original = an_answer()
    back = store.stored_answer(store.record_answer(original, kind="ask")).answer
    assert back.to_json() == original.to_json()
    assert answer_from_json(Answer("nothing", None).to_json()) == Answer("nothing", None)


def test_a_damaged_database_is_a_sentence_not_a_traceback(tmp_path):
    """A file that is not SQLite, or a folder that cannot be created, raises FeedbackError naming the file."""
    bad = tmp_path / "feedback.sqlite3"
    bad.write_bytes(b"this is not a database" * 100)
    with pytest.raises(FeedbackError, match=r"feedback\.sqlite3 cannot be"):
        FeedbackStore(bad).record_answer(an_answer(), kind="ask")
    blocked = tmp_path / "file"
    blocked.write_text("x")
    with pytest.raises(FeedbackError, match="cannot be opened"):
        FeedbackStore(blocked / "feedback.sqlite3").record_answer(an_answer(), kind="ask")


WRITER = textwrap.dedent(
    """
    import sys
    from bot.feedback import FeedbackStore
    store = FeedbackStore(sys.argv[1], busy_seconds=30)
    ids = sys.argv[2].split(",")
    first = int(sys.argv[3])
    for member in range(first, first + 40):
        for answer_id in ids:
            store.vote(answer_id, member, member % 2 == 0)
            store.vote(answer_id, member, member % 3 == 0)  # and change it at once
        store.record_answer(store.stored_answer(ids[0]).answer, kind="ask")
    """
)


def test_two_processes_writing_at_once_lose_nothing(tmp_path):
    """Two bot processes sharing FEEDBACK_DB vote 2 x 40 members x 3 answers (each vote changed once) at once:
    every member counts once with their last vote, and neither process fails on a locked database."""
    path = tmp_path / "feedback.sqlite3"
    store = FeedbackStore(path)
    ids = [store.record_answer(an_answer(f"q{i}"), kind="ask") for i in range(3)]
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", WRITER, str(path), ",".join(ids), str(first)],
            cwd=ROOT,
            stderr=subprocess.PIPE,
        )
        for first in (1000, 2000)
    ]
    for proc in procs:
        _, err = proc.communicate(timeout=300)
        assert proc.returncode == 0, err.decode()
    members = [*range(1000, 1040), *range(2000, 2040)]
    expected_up = sum(1 for m in members if m % 3 == 0)
    tallies = {v.id: (v.up, v.down) for v in store.voted_answers()}
    assert tallies == {i: (expected_up, len(members) - expected_up) for i in ids}
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert conn.execute("SELECT COUNT(*) FROM answers").fetchone()[0] == 3 + 80


def test_the_export_is_an_eval_set_that_talksbot_eval_reads_and_scores(tmp_path, seed_engine):
    """Voted up: a question whose answer is the quoted paragraph (a unique verbatim snippet), right at rank 1
    when evaluated. Voted down: commented out for review, so it cannot count as an answer."""
    store = FeedbackStore(tmp_path / "feedback.sqlite3")
    good = seed_engine.answer("Does Moscow insist that Kyiv stay neutral?")
    bad = seed_engine.answer("What did the Russians propose at the talks?")
    nothing = seed_engine.answer("What is a good recipe for apple pie?")
    assert good.hit is not None and bad.hit is not None and nothing.hit is None
    for answer, ups, downs in ((good, 2, 1), (bad, 0, 2), (nothing, 1, 0)):
        answer_id = store.record_answer(answer, kind="ask")
        for member in range(ups):
            store.vote(answer_id, member, True)
        for member in range(ups, ups + downs):
            store.vote(answer_id, member, False)
    out = tmp_path / "from-votes.yaml"
    report = write_eval_questions(store.voted_answers(), seed_engine.documents_dir, out)
    assert (report.confirmed, report.to_review) == (2, 1)
    eval_set = load_eval_set(out)
    by_question = {q.q: q for q in eval_set.questions}
    assert set(by_question) == {good.question, nothing.question}
    [expected] = by_question[good.question].answers
    article = (seed_engine.documents_dir / expected.doc).read_text(encoding="utf-8")
    assert expected.doc == REUTERS and article.count(expected.contains) == 1
    assert 4 <= len(expected.contains.split()) <= 12 and expected.contains in good.hit.quote
    assert by_question[nothing.question].answers == ()
    text = out.read_text(encoding="utf-8")
    quoted_bad = yaml.safe_dump(bad.question, default_style='"', allow_unicode=True).strip()
    assert f"#     q: {quoted_bad}" in text
    assert "👍 2 👎 1" in text and "TO REVIEW" in text
    [result] = evaluate(eval_set, seed_engine.embedder)
    assert result.accuracy_at_1 == 1.0 and result.no_answer_accuracy == 1.0


def test_an_export_whose_article_is_gone_asks_for_review(tmp_path, seed_docs, fake_embedder):
    """A voted-up answer whose article was removed since is exported commented out, saying why."""
    store = FeedbackStore(tmp_path / "feedback.sqlite3")
    gone = DocumentInfo("removed.md", "Gone", "Wire")
    answer_id = store.record_answer(Answer("q?", Hit(gone, "Some quoted words here.", 0, 23, 0.7, (0, 23))), kind="ask")
    store.vote(answer_id, ALICE, True)
    report = write_eval_questions(store.voted_answers(), seed_docs, tmp_path / "out.yaml")
    assert (report.confirmed, report.to_review) == (0, 1)
    text = (tmp_path / "out.yaml").read_text(encoding="utf-8")
    assert "no longer in the documents folder" in text and load_eval_set(tmp_path / "out.yaml").questions == ()


def test_no_votes_yet_creates_no_database(tmp_path):
    """Listing votes before any answer was recorded says nothing and creates no file."""
    assert FeedbackStore(tmp_path / "f.sqlite3").voted_answers() == []
    assert not (tmp_path / "f.sqlite3").exists()


def test_the_store_file_is_outside_the_index(tmp_path):
    """The default FEEDBACK_DB is not inside INDEX_DIR, whose generations a rebuild replaces."""
    from bot.settings import Settings

    settings = Settings.load(env={}, env_file=None)
    assert Path(".talksbot/index") not in settings.feedback_db.parents
