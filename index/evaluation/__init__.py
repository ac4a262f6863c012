"""Measuring answer quality on an evaluation set (tests/eval/questions.yaml).

For each corpus the set names, the articles are copied into a scratch folder, indexed with
the engine's own code, and every question of that corpus is asked. A returned passage is
correct when it comes from a listed document and its span overlaps the listed snippet.

Metrics, per corpus:
- accuracy@1: answerable questions whose answer (the best hit) is correct, in either confidence band;
- recall@3 / MRR@5: over the best hit and the alternatives, as the user sees them;
- no-answer accuracy: unanswerable questions answered "nothing relevant"; off-topic refused: the same
  for the questions marked ``off_topic`` (near-topic ones may fairly get a hedged, low-confidence answer);
- high: right: of the answers given with high confidence, the share that are right; unanswerable
  high: unanswerable questions answered with high confidence;
- attributed first: of the right answers to questions that an article naming its outlet also
  answers, the share quoted from such an article (the original first, copies credited);
- highlight: correct best hits whose highlighted sentence contains (overlaps) the expected snippet;
- verbatim: hits whose quote is exactly the file's text at the hit's offsets;
- attributed: hits whose title and source are present and match the file's front matter.

Modules: ``eval_set`` (reading the YAML), ``run`` (asking and judging, the metrics), ``calibration``
(choosing MIN_SCORE and CONFIDENT_SCORE). What ``talksbot eval`` and the benchmarks use is re-exported here.
"""

from .calibration import (
    HIGH_RIGHT_TARGET,
    RIGHT_EITHER_TARGET,
    UNANSWERABLE_HIGH_TARGET,
    BandFigures,
    Calibration,
    Cutoffs,
    calibrate,
    check_calibratable,
    without_threshold,
)
from .eval_set import EvalQuestion, EvalSet, EvalSetError, Expected, load_eval_set
from .run import BASELINE, FEATURES_OFF, CorpusResult, QuestionResult, Variant, evaluate

__all__ = [
    "BASELINE",
    "FEATURES_OFF",
    "HIGH_RIGHT_TARGET",
    "RIGHT_EITHER_TARGET",
    "UNANSWERABLE_HIGH_TARGET",
    "BandFigures",
    "Calibration",
    "CorpusResult",
    "Cutoffs",
    "EvalQuestion",
    "EvalSet",
    "EvalSetError",
    "Expected",
    "QuestionResult",
    "Variant",
    "calibrate",
    "check_calibratable",
    "evaluate",
    "load_eval_set",
    "without_threshold",
]
