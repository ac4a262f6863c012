"""`talksbot feedback [--json]` and `talksbot feedback export FILE` through the real CLI."""

from __future__ import annotations

import json

import pytest
from reliability_helpers import assert_one_line_error, in_process_cli, run_cli, text

from bot.feedback import FeedbackStore
from index.evaluation import load_eval_set
from tests.conftest import REUTERS


@pytest.fixture
def voted(tmp_path, seed_docs, seed_engine):
    """A feedback database with one answer voted up twice and down once, and one voted down."""
    store = FeedbackStore(tmp_path / "votes" / "feedback.sqlite3")
    good = store.record_answer(seed_engine.answer("Does Moscow insist that Kyiv stay neutral?"), kind="ask")
    bad = store.record_answer(seed_engine.answer("@everyone \x1b[2J what was agreed?"), kind="find-sources")
    for member, up in ((1, True), (2, True), (3, False)):
        store.vote(good, member, up)
    store.vote(bad, 1, False)
    store.record_answer(seed_engine.answer("no votes on this one"), kind="ask")
    return store.path


def test_feedback_lists_the_voted_answers_and_json_has_the_contract_shape(voted, seed_docs, monkeypatch, embedder):
    """Text: votes, where asked, the question and the quote, no terminal escapes; --json: {"answers": [...]}
    with question, quote, document, up and down; unvoted answers are not listed."""
    with in_process_cli(monkeypatch, embedder) as cli:
        code, out, err = cli(["feedback", "--feedback-db", str(voted), "--documents", str(seed_docs)])
        assert code == 0 and err == ""
        assert out.startswith("2 answers with votes, most recent first")
        assert "👍 2  👎 1  /ask" in out and "Does Moscow insist that Kyiv stay neutral?" in out
        assert "👍 0  👎 1  Find sources" in out and "\x1b" not in out
        assert "no votes on this one" not in out
        code, out, _ = cli(["feedback", "--json", "--feedback-db", str(voted)])
    answers = json.loads(out)["answers"]
    assert code == 0 and len(answers) == 2
    good = next(a for a in answers if a["up"] == 2)
    assert {"question", "quote", "document", "up", "down"} <= set(good)
    assert good["down"] == 1 and good["document"]["id"] == REUTERS and "neutral state" in good["quote"]


def test_export_writes_questions_the_eval_loader_reads_and_refuses_to_overwrite(
    voted, seed_docs, tmp_path, monkeypatch, embedder
):
    """export FILE: a summary line, a file load_eval_set reads (the voted-up question with a Reuters snippet);
    a second export without --overwrite is refused with one line, with it the file is replaced."""
    out_file = tmp_path / "questions-from-votes.yaml"
    args = ["feedback", "export", str(out_file), "--feedback-db", str(voted), "--documents", str(seed_docs)]
    with in_process_cli(monkeypatch, embedder) as cli:
        code, out, err = cli(args)
        assert code == 0, err
        assert out.strip() == (
            f"Wrote 2 questions to {out_file}: 1 voted up (ready to review), "
            "1 voted down or tied (commented out, to fill in)."
        )
        [question] = load_eval_set(out_file).questions
        assert question.q == "Does Moscow insist that Kyiv stay neutral?" and question.answers[0].doc == REUTERS
        code, out, err = cli(args)
        assert code == 1 and out == "" and "already exists; choose another file or pass --overwrite" in err
        code, _, err = cli([*args, "--overwrite"])
        assert code == 0, err


def test_the_console_script_says_what_is_wrong_in_one_line(tmp_path):
    """Through the real `talksbot`: no votes yet; export into a missing folder; a FILE without export (a usage error);
    a damaged database: each is one line, never a traceback."""
    db = tmp_path / "feedback.sqlite3"
    env = {"FEEDBACK_DB": str(db)}
    proc = run_cli("feedback", cwd=tmp_path, env=env)
    assert proc.returncode == 0 and text(proc.stdout).strip() == f"No votes yet in {db}."
    assert not db.exists()
    line = assert_one_line_error(run_cli("feedback", "export", "nowhere/x.yaml", cwd=tmp_path, env=env), 1)
    assert "The folder nowhere does not exist" in line
    stray = run_cli("feedback", "x.yaml", cwd=tmp_path, env=env)  # argparse's usage error, as for every command
    assert stray.returncode == 2 and "invalid choice: 'x.yaml' (choose from 'export')" in text(stray.stderr)
    db.write_bytes(b"not a database at all" * 200)
    line = assert_one_line_error(run_cli("feedback", "--json", cwd=tmp_path, env=env), 1)
    assert "feedback.sqlite3 cannot be" in line
