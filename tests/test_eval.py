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

ROOT = Path(__file__).resolve().parents[1]
TALKSBOT = Path(sys.executable).with_name("talksbot")

FLOORS = {
    "seed": {
        "accuracy_at_1": 0.85,
        "recall_at_3": 0.87,
        "mrr_at_5": 0.86,
        "no_answer_accuracy": 0.75,
        "highlight": 0.92,
    },
    "extended": {
        "accuracy_at_1": 0.56,
        "recall_at_3": 0.74,
        "mrr_at_5": 0.65,
        "no_answer_accuracy": 0.63,
        "highlight": 0.82,
    },
}


@pytest.fixture(scope="module")
def report() -> dict:
    """One run of `talksbot eval --baseline --json` over the evaluation set."""
    proc = subprocess.run(
        [str(TALKSBOT), "eval", "--baseline", "--json"], cwd=ROOT, capture_output=True, text=True, timeout=900
    )
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


@pytest.mark.parametrize("corpus", sorted(FLOORS))
def test_quality_holds_its_floors(report, corpus):
    """accuracy@1, recall@3, MRR@5, no-answer and highlight accuracy stay at or above the measured floors."""
    metrics = next(m for m in report["talksbot"]["metrics"] if m["corpus"] == corpus)
    for name, floor in FLOORS[corpus].items():
        assert metrics[name] >= floor, f"{corpus} {name} fell to {metrics[name]} (floor {floor})"


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
