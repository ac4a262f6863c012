"""Choosing the two cut-offs (MIN_SCORE, CONFIDENT_SCORE) from an evaluation run without any, cross-validated.

An answer's relevance decides its band: below ``min_score`` "nothing relevant", from it up to
``confident_score`` a likely answer (confidence "low"), above it a confident one ("high").

- ``min_score`` keeps "nothing relevant" for questions off the corpus's subject: it maximises the
  worse of (answerable questions that get an answer) and (off-topic questions refused). Without
  questions marked ``off_topic`` every unanswerable question counts as off-topic.
- ``confident_score`` is the lowest cut from which up every higher cut keeps the targets: at least
  95 % of high-confidence answers right and at most 5 % of unanswerable questions answered with high
  confidence. Where no cut keeps them, no answer is confident.

Both are fit on all the questions (the suggestion) and, to say what to expect on new questions,
in leave-one-out cross-validation: each question is banded by cut-offs fit without it.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from .eval_set import EvalSet, EvalSetError
from .run import CorpusResult, QuestionResult, Variant

__all__ = [
    "HIGH_RIGHT_TARGET",
    "RIGHT_EITHER_TARGET",
    "UNANSWERABLE_HIGH_TARGET",
    "BandFigures",
    "Calibration",
    "Cutoffs",
    "calibrate",
    "check_calibratable",
    "without_threshold",
]

HIGH_RIGHT_TARGET = 0.95
RIGHT_EITHER_TARGET = 0.95
UNANSWERABLE_HIGH_TARGET = 0.05


@dataclass(frozen=True, slots=True)
class BandFigures:
    """What a pair of cut-offs does to a set of questions (one corpus, or all)."""

    answerable: int
    unanswerable: int
    accuracy_at_1: float  # answerable questions answered right, in either band
    no_answer_accuracy: float  # unanswerable questions answered "nothing relevant"
    off_topic_refused: float
    high_answers: int
    high_right: float  # of the high-confidence answers, the share that are right (1.0 when there are none)
    unanswerable_high: float
    low_answers: int
    low_right: float

    def to_json(self) -> dict[str, object]:
        """JSON-ready figures."""
        return {k: round(v, 4) if isinstance(v, float) else v for k, v in dataclasses.asdict(self).items()}


@dataclass(frozen=True, slots=True)
class Cutoffs:
    """A pair of cut-offs and their figures, over all corpora and per corpus."""

    min_score: float
    confident_score: float
    overall: BandFigures
    per_corpus: dict[str, BandFigures]

    def to_json(self) -> dict[str, object]:
        """JSON-ready figures."""
        return {
            "min_score": _rounded(self.min_score),
            "confident_score": _rounded(self.confident_score),
            **self.overall.to_json(),
            "per_corpus": {name: f.to_json() for name, f in self.per_corpus.items()},
        }


@dataclass(frozen=True, slots=True)
class Calibration:
    """The cut-offs now, the ones suggested, and what leave-one-out cross-validation expects of the method."""

    current: Cutoffs
    suggested: Cutoffs
    # Each question banded by cut-offs fit on all the others (min/confident_score: the median fold's).
    cross_validated: Cutoffs
    min_score_range: tuple[float, float]
    confident_score_range: tuple[float, float]
    answerable: int
    unanswerable: int
    off_topic: int

    def to_json(self) -> dict[str, object]:
        """JSON-ready figures."""
        return {
            "current": self.current.to_json(),
            "suggested": self.suggested.to_json(),
            "cross_validated": self.cross_validated.to_json()
            | {
                "min_score_range": [_rounded(x) for x in self.min_score_range],
                "confident_score_range": [_rounded(x) for x in self.confident_score_range],
            },
            "targets": {
                "high_right": HIGH_RIGHT_TARGET,
                "right_either": RIGHT_EITHER_TARGET,
                "unanswerable_high": UNANSWERABLE_HIGH_TARGET,
            },
            "answerable": self.answerable,
            "unanswerable": self.unanswerable,
            "off_topic": self.off_topic,
        }


def _rounded(x: float) -> float | None:
    return None if math.isinf(x) or math.isnan(x) else round(x, 4)


def check_calibratable(eval_set: EvalSet, corpora: Iterable[str] | None = None) -> None:
    """Raise EvalSetError before any work when these corpora's questions cannot calibrate the cut-offs."""
    wanted = set(corpora) if corpora else set(eval_set.corpora)
    questions = [q for q in eval_set.questions if q.corpus in wanted]
    answerable = sum(1 for q in questions if q.answers)
    _require_both_kinds(answerable, len(questions) - answerable)


def _require_both_kinds(answerable: int, unanswerable: int) -> None:
    if not answerable or not unanswerable:
        raise EvalSetError(
            "Calibrating the threshold needs both answerable questions and questions whose answer is "
            f"'nothing relevant'; this set has {answerable} and {unanswerable}."
        )


def without_threshold(variant: Variant) -> Variant:
    """The variant with its cut-offs off: every question gets its best passage and score."""
    return dataclasses.replace(
        variant, name=f"{variant.name}, no threshold", search=variant.search.with_min_score(-math.inf)
    )


@dataclass(frozen=True, slots=True)
class _Rows:
    """The questions of a run as arrays: relevance, and what kind each is."""

    score: np.ndarray
    answerable: np.ndarray
    right: np.ndarray
    off_topic: np.ndarray
    corpus: np.ndarray

    @classmethod
    def of(cls, results: Sequence[tuple[QuestionResult, str]]) -> _Rows:
        return cls(
            score=np.array([_relevance(r) for r, _ in results], dtype=float),
            answerable=np.array([r.answerable for r, _ in results], dtype=bool),
            right=np.array([r.answerable and r.rank == 1 for r, _ in results], dtype=bool),
            off_topic=np.array([r.question.off_topic for r, _ in results], dtype=bool),
            corpus=np.array([c for _, c in results], dtype=object),
        )

    def take(self, mask: np.ndarray) -> _Rows:
        return _Rows(*(getattr(self, f.name)[mask] for f in dataclasses.fields(self)))


def calibrate(results: list[CorpusResult], current_min: float, current_confident: float) -> Calibration:
    """Suggest both cut-offs and cross-validate the way they are chosen.

    ``results`` must come from a run without a threshold (``without_threshold``): then each
    question's best passage and its score are known, and any cut-off can be tried after the fact.
    """
    scored = [(r, result.corpus) for result in results for r in result.results]
    rows = _Rows.of(scored)
    _require_both_kinds(int(rows.answerable.sum()), int((~rows.answerable).sum()))
    low, high = _fit(rows)
    folds = []
    for i in range(len(scored)):
        keep = np.ones(len(scored), dtype=bool)
        keep[i] = False
        folds.append(_fit(rows.take(keep)))
    lows, highs = np.array([f[0] for f in folds]), np.array([f[1] for f in folds])
    return Calibration(
        current=_cutoffs(rows, np.full(len(scored), current_min), np.full(len(scored), current_confident)),
        suggested=_cutoffs(rows, np.full(len(scored), low), np.full(len(scored), high)),
        cross_validated=_cutoffs(rows, lows, highs),
        min_score_range=(float(lows.min()), float(lows.max())),
        confident_score_range=(float(highs.min()), float(highs.max())),
        answerable=int(rows.answerable.sum()),
        unanswerable=int((~rows.answerable).sum()),
        off_topic=int(rows.off_topic.sum()),
    )


def _candidates(scores: np.ndarray) -> np.ndarray:
    """Cuts halfway between neighbouring scores, and one below and above them all."""
    finite = np.unique(scores[np.isfinite(scores)])
    if not len(finite):
        return np.array([0.0])
    return np.concatenate([[finite[0] - 0.01], (finite[:-1] + finite[1:]) / 2, [finite[-1] + 0.01]])


def _fit(rows: _Rows) -> tuple[float, float]:
    """(min_score, confident_score) for these questions."""
    cuts = _candidates(rows.score)
    refuse = rows.off_topic if rows.off_topic.any() else ~rows.answerable
    # A fold of a tiny set may lack one kind of question: nothing of that kind to get wrong.
    answerable = rows.score[rows.answerable]
    answered = (answerable[None, :] >= cuts[:, None]).mean(axis=1) if len(answerable) else np.ones(len(cuts))
    refused = (rows.score[refuse][None, :] < cuts[:, None]).mean(axis=1) if refuse.any() else np.ones(len(cuts))
    key = np.minimum(answered, refused) + 1e-6 * (answered + refused)
    tied = np.flatnonzero(np.isclose(key, key.max(), rtol=0, atol=1e-9))
    low = float(cuts[tied[len(tied) // 2]])  # the middle of equally good cuts: farthest from the questions
    high = _fit_confident(rows, cuts[cuts >= low])
    return low, max(high, low)


def _fit_confident(rows: _Rows, cuts: np.ndarray) -> float:
    """The lowest cut from which every higher cut keeps both targets for the high band."""
    unanswerable = ~rows.answerable
    chosen = math.inf
    for cut in cuts[::-1]:
        high = rows.score >= cut
        right = rows.right[high].mean() if high.any() else 1.0
        wrongly = (high & unanswerable).sum() / max(1, unanswerable.sum())
        if right < HIGH_RIGHT_TARGET or wrongly > UNANSWERABLE_HIGH_TARGET:
            break
        chosen = float(cut)
    return chosen


def _cutoffs(rows: _Rows, lows: np.ndarray, highs: np.ndarray) -> Cutoffs:
    """Figures when question i is banded by lows[i] and highs[i], overall and per corpus."""
    per_corpus = {
        str(name): _figures(rows.take(rows.corpus == name), lows[rows.corpus == name], highs[rows.corpus == name])
        for name in dict.fromkeys(rows.corpus.tolist())
    }
    return Cutoffs(
        min_score=float(np.median(lows)),
        confident_score=float(np.median(highs)),
        overall=_figures(rows, lows, highs),
        per_corpus=per_corpus,
    )


def _figures(rows: _Rows, lows: np.ndarray, highs: np.ndarray) -> BandFigures:
    answered = rows.score >= lows
    high = answered & (rows.score >= highs)
    low = answered & ~high
    ans, una = rows.answerable, ~rows.answerable

    def share(flags: np.ndarray, default: float = 1.0) -> float:
        return float(flags.mean()) if len(flags) else default

    return BandFigures(
        answerable=int(ans.sum()),
        unanswerable=int(una.sum()),
        accuracy_at_1=share(rows.right[ans] & answered[ans]),
        no_answer_accuracy=share(~answered[una]),
        off_topic_refused=share(~answered[rows.off_topic]),
        high_answers=int(high.sum()),
        high_right=share(rows.right[high]),
        unanswerable_high=share(high[una], 0.0),
        low_answers=int(low.sum()),
        low_right=share(rows.right[low]),
    )


def _relevance(result: QuestionResult) -> float:
    """The score the cut-offs are compared with; -inf when there was nothing to score at all."""
    return -math.inf if result.answer.relevance is None else result.answer.relevance
