"""Choosing the relevance threshold (MIN_SCORE) from an evaluation run without one."""

from __future__ import annotations

import dataclasses
import itertools
import math
from collections.abc import Iterable
from dataclasses import dataclass

from .eval_set import EvalSet, EvalSetError
from .run import CorpusResult, QuestionResult, Variant

__all__ = ["Calibration", "ThresholdFigures", "calibrate", "check_calibratable", "without_threshold"]


@dataclass(frozen=True, slots=True)
class ThresholdFigures:
    """acc@1 and no-answer accuracy at one threshold: over all corpora, and per corpus."""

    min_score: float
    accuracy_at_1: float
    no_answer_accuracy: float
    per_corpus: dict[str, tuple[float, float]]

    @property
    def worse(self) -> float:
        """The worse of the two: what calibration maximises."""
        return min(self.accuracy_at_1, self.no_answer_accuracy)


@dataclass(frozen=True, slots=True)
class Calibration:
    """The threshold now, the one suggested, and how many questions the suggestion was fit on."""

    current: ThresholdFigures
    suggested: ThresholdFigures
    answerable: int
    unanswerable: int

    def to_json(self) -> dict[str, object]:
        """JSON-ready figures."""

        def figures(f: ThresholdFigures) -> dict[str, object]:
            return {
                "min_score": round(f.min_score, 4),
                "accuracy_at_1": round(f.accuracy_at_1, 4),
                "no_answer_accuracy": round(f.no_answer_accuracy, 4),
                "per_corpus": {
                    name: {"accuracy_at_1": round(a, 4), "no_answer_accuracy": round(n, 4)}
                    for name, (a, n) in f.per_corpus.items()
                },
            }

        return {
            "current": figures(self.current),
            "suggested": figures(self.suggested),
            "answerable": self.answerable,
            "unanswerable": self.unanswerable,
        }


def check_calibratable(eval_set: EvalSet, corpora: Iterable[str] | None = None) -> None:
    """Raise EvalSetError before any work when these corpora's questions cannot calibrate a threshold."""
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
    """The variant with its relevance threshold off: every question gets its best passage and score."""
    return dataclasses.replace(
        variant, name=f"{variant.name}, no threshold", search=variant.search.with_min_score(-math.inf)
    )


def calibrate(results: list[CorpusResult], current: float) -> Calibration:
    """The relevance threshold that maximises the worse of acc@1 and no-answer accuracy.

    ``results`` must come from a run without a threshold (``without_threshold``): then each
    question's best passage and its score are known, and any threshold can be tried after the fact.
    Candidates lie halfway between neighbouring scores; among equally good ones the middle one is
    taken, the farthest from the questions on either side.
    """
    scored = [(r, result.corpus) for result in results for r in result.results]
    answerable = sum(1 for r, _ in scored if r.answerable)
    unanswerable = len(scored) - answerable
    _require_both_kinds(answerable, unanswerable)
    scores = sorted({_relevance(r) for r, _ in scored})
    candidates = [scores[0] - 0.01, *((a + b) / 2 for a, b in itertools.pairwise(scores)), scores[-1] + 0.01]
    figures = [_figures_at(t, scored) for t in candidates]
    best = max((f.worse, f.accuracy_at_1 + f.no_answer_accuracy) for f in figures)
    tied = [f for f in figures if (f.worse, f.accuracy_at_1 + f.no_answer_accuracy) == best]
    return Calibration(
        current=_figures_at(current, scored),
        suggested=tied[len(tied) // 2],
        answerable=answerable,
        unanswerable=unanswerable,
    )


def _figures_at(threshold: float, scored: list[tuple[QuestionResult, str]]) -> ThresholdFigures:
    """acc@1 and no-answer accuracy had the threshold been ``threshold``."""

    def shares(rows: list[QuestionResult]) -> tuple[float, float]:
        ans = [r for r in rows if r.answerable]
        una = [r for r in rows if not r.answerable]
        acc = sum(r.rank == 1 and _relevance(r) >= threshold for r in ans) / len(ans) if ans else 1.0
        none = sum(_relevance(r) < threshold for r in una) / len(una) if una else 1.0
        return acc, none

    corpora = dict.fromkeys(name for _, name in scored)
    acc, none = shares([r for r, _ in scored])
    per_corpus = {name: shares([r for r, c in scored if c == name]) for name in corpora}
    return ThresholdFigures(min_score=threshold, accuracy_at_1=acc, no_answer_accuracy=none, per_corpus=per_corpus)


def _relevance(result: QuestionResult) -> float:
    """The score the threshold is compared with; -inf when there was nothing to score at all."""
    return -math.inf if result.answer.relevance is None else result.answer.relevance
