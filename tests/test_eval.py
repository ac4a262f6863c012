"""`talksbot eval` runs through its entry point, and answer quality never drops below what was measured.

The floors are the figures measured when they were set (README, Answer quality), rounded down a
little; raise them when quality improves, never lower them to make a change pass.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from index.evaluation import CorpusResult, EvalQuestion, EvalSetError, Expected, QuestionResult, calibrate
from index.models import Answer

ROOT = Path(__file__).resolve().parents[1]
TALKSBOT = Path(sys.executable).with_name("talksbot")

FLOORS = {
    "seed": {
        "accuracy_at_1": 0.85,
        "recall_at_3": 0.85,
        "mrr_at_5": 0.85,
        "no_answer_accuracy": 0.75,
        "highlight": 0.92,
        "attributed_first": 0.92,
    },
    "extended": {
        "accuracy_at_1": 0.64,
        "recall_at_3": 0.82,
        "mrr_at_5": 0.72,
        "no_answer_accuracy": 0.63,
        "highlight": 0.90,
        "attributed_first": 1.0,
    },
    "rewrites": {
        "accuracy_at_1": 0.66,
        "recall_at_3": 0.89,
        "mrr_at_5": 0.77,
        "no_answer_accuracy": 0.6,
        "highlight": 0.89,
        "attributed_first": 1.0,
    },
}


@pytest.fixture(scope="module")
def report() -> dict:
    """One run of `talksbot eval --baseline --calibrate --json` over the evaluation set."""
    proc = subprocess.run(
        [str(TALKSBOT), "eval", "--baseline", "--calibrate", "--json"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


@pytest.mark.parametrize("corpus", sorted(FLOORS))
def test_quality_holds_its_floors(report, corpus):
    """acc@1, recall@3, MRR@5, no-answer, highlight and attributed-first stay at or above the measured floors."""
    metrics = next(m for m in report["talksbot"]["metrics"] if m["corpus"] == corpus)
    for name, floor in FLOORS[corpus].items():
        assert metrics[name] >= floor, f"{corpus} {name} fell to {metrics[name]} (floor {floor})"


def test_no_unanswerable_question_gets_a_confident_answer(report):
    """At the default cut-offs no question without an answer in the articles is answered with high confidence."""
    for metrics in report["talksbot"]["metrics"]:
        assert metrics["unanswerable_high"] == 0.0 and metrics["high_right"] == 1.0, metrics["corpus"]


def test_every_quote_is_verbatim_and_every_answer_attributed(report):
    """100% of quotes are the files' exact text; 100% of answers carry title and source from the file."""
    for metrics in report["talksbot"]["metrics"]:
        assert metrics["verbatim"] == 1.0 and metrics["attributed"] == 1.0


def test_the_pipeline_beats_the_plain_dense_baseline(report):
    """Hybrid, sentence-level, date- and type-aware ranking beats dense search over plain paragraphs."""
    ours = {m["corpus"]: m for m in report["talksbot"]["metrics"]}
    base = {m["corpus"]: m for m in report["baseline: dense search over plain paragraphs"]["metrics"]}
    for corpus in ours:
        assert ours[corpus]["accuracy_at_1"] > base[corpus]["accuracy_at_1"]


def test_misses_are_listed_with_what_came_back(report):
    """The report names each miss with its question id and what was returned."""
    misses = report["talksbot"]["misses"]
    assert misses and all({"id", "question", "rank", "got"} <= set(m) for m in misses)


def test_a_broken_eval_file_is_a_clear_error(tmp_path):
    """A malformed questions file: one line saying what is wrong, exit 1, no traceback."""
    bad = tmp_path / "questions.yaml"
    bad.write_text("questions: [\n", encoding="utf-8")
    proc = subprocess.run([str(TALKSBOT), "eval", str(bad)], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 1 and "not valid YAML" in proc.stderr and "Traceback" not in proc.stderr


def test_calibration_reproduces_the_run_and_reports_each_band(report):
    """At today's cut-offs the calibration's figures are the run's own; suggested and cross-validated bands follow."""
    calibration = report["calibration"]
    assert calibration["current"]["min_score"] == 0.5 and calibration["current"]["confident_score"] == 0.85
    for metrics in report["talksbot"]["metrics"]:
        now = calibration["current"]["per_corpus"][metrics["corpus"]]
        assert now["accuracy_at_1"] == metrics["accuracy_at_1"]
        assert now["no_answer_accuracy"] == metrics["no_answer_accuracy"]
        assert now["high_answers"] == metrics["high_answers"]
    assert calibration["answerable"] == 128 and calibration["unanswerable"] == 28 and calibration["off_topic"] == 12
    for figures in (calibration["suggested"], calibration["cross_validated"]):
        assert {"accuracy_at_1", "high_right", "unanswerable_high", "off_topic_refused"} <= set(figures)
    # What holds: no unanswerable question gets a confident answer at the suggested cut-offs.
    assert calibration["suggested"]["unanswerable_high"] <= calibration["targets"]["unanswerable_high"]
    assert calibration["suggested"]["high_right"] >= calibration["targets"]["high_right"]


def _result(corpus: str, relevance: float, *, answerable: bool, correct: bool = False, off: bool = False):
    answers = (Expected(doc="a.md", contains="x"),) if answerable else ()
    question = EvalQuestion(id=f"q{relevance}", corpus=corpus, q="?", answers=answers, off_topic=off)
    return QuestionResult(
        question=question,
        answer=Answer(question="?", hit=None, relevance=relevance),
        rank=1 if correct else None,
        highlight_ok=None,
        verbatim=True,
        attributed=True,
    )


def test_calibrate_keeps_nothing_relevant_for_off_topic_and_confidence_for_what_is_right():
    """MIN_SCORE falls between off-topic and answerable scores; CONFIDENT_SCORE above every wrong answer."""
    results = [
        _result("c", 0.90, answerable=True, correct=True),
        _result("c", 0.85, answerable=True, correct=True),
        _result("c", 0.80, answerable=True),  # wrong: must stay below the confident band
        _result("c", 0.60, answerable=True, correct=True),
        _result("c", 0.55, answerable=False),  # near-topic: a hedged answer is acceptable
        _result("c", 0.30, answerable=False, off=True),
        _result("c", 0.20, answerable=False, off=True),
    ]
    calibration = calibrate([CorpusResult(corpus="c", variant="v", results=results)], 0.5, 0.85)
    suggested = calibration.suggested
    # Cuts at 0.425 and 0.575 both answer every answerable and refuse every off-topic question: the later is taken.
    assert suggested.min_score == pytest.approx(0.575) and suggested.confident_score == pytest.approx(0.825)
    assert suggested.overall.high_answers == 2 and suggested.overall.high_right == 1.0
    assert suggested.overall.accuracy_at_1 == pytest.approx(3 / 4) and suggested.overall.off_topic_refused == 1.0
    assert suggested.overall.unanswerable_high == 0.0 and suggested.overall.low_answers == 2
    assert calibration.current.overall.high_answers == 2  # 0.85 and 0.90


def test_cross_validation_bands_each_question_with_cut_offs_fit_without_it():
    """Leave one out: a wrong answer kept out of the confident band only by its own score is caught."""
    results = [
        _result("c", 0.95, answerable=True, correct=True),
        _result("c", 0.70, answerable=True),
        _result("c", 0.65, answerable=True, correct=True),
        _result("c", 0.20, answerable=False, off=True),
    ]
    calibration = calibrate([CorpusResult(corpus="c", variant="v", results=results)], 0.5, 0.85)
    assert calibration.suggested.overall.high_answers == 1 and calibration.suggested.overall.high_right == 1.0
    # Fit without it, the cut drops under the wrong 0.70 (both remaining answers above 0.425 are right).
    assert calibration.cross_validated.overall.high_answers == 2
    assert calibration.cross_validated.overall.high_right == 0.5
    assert calibration.confident_score_range == (pytest.approx(0.425), pytest.approx(0.825))


def test_calibrate_needs_unanswerable_questions():
    """Without questions whose answer is 'nothing relevant' there is nothing to separate: a clear error."""
    results = [_result("c", 0.7, answerable=True, correct=True)]
    with pytest.raises(EvalSetError, match="needs both answerable questions"):
        calibrate([CorpusResult(corpus="c", variant="v", results=results)], 0.5, 0.85)


def test_calibrating_a_set_without_unanswerable_questions_fails_at_once(tmp_path):
    """`eval --calibrate` on a set with no 'nothing relevant' questions: one line, exit 1, before indexing."""
    questions = tmp_path / "questions.yaml"
    questions.write_text(
        f"corpora:\n  seed: [{ROOT / 'documents'}]\nquestions:\n"
        "  - id: a\n    corpus: seed\n    q: Does Moscow insist that Kyiv stay neutral?\n"
        "    answers:\n      - doc: 2025-05-17-reuters-russia-demands-before-ceasefire.md\n"
        "        contains: Ukraine becomes a neutral state\n",
        encoding="utf-8",
    )
    proc = subprocess.run(
        [str(TALKSBOT), "eval", "--calibrate", str(questions)], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 1 and "needs both answerable questions" in proc.stderr
    assert "evaluating" not in proc.stderr and "Traceback" not in proc.stderr
