"""Each answer-pipeline step's effect on the evaluation set, old and new figures side by side.

For every variant (passage context x search knobs, optionally a second-stage model) the eval corpora
are indexed once by the product's own harness (index/evaluation) and every question is asked with
the cut-offs off. From those answers, per corpus:
- acc@1 before any cut-off (what the ranking gets right);
- acc@1 / no-answer at the old single threshold (MIN_SCORE 0.50);
- attributed first: of the right answers to questions an attributed article also answers, the
  share quoted from one (before any cut-off);
- at the default cut-offs (MIN_SCORE / CONFIDENT_SCORE): right answers in either band, the high
  band's answers and how many are right, unanswerable questions answered with high confidence;
- the same three, cross-validated (leave-one-out over all corpora's questions, as `eval --calibrate`).

Run: .venv/bin/python bench/eval_ablation.py [--rerank FOLDER_OR_NAME] [--corpus NAME] [--only TEXT]
"""

from __future__ import annotations

import argparse
import dataclasses
import math
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from index import load_reranker  # noqa: E402
from index.embedder import SentenceTransformerEmbedder  # noqa: E402
from index.evaluation import FEATURES_OFF, CorpusResult, Variant, calibrate, evaluate, load_eval_set  # noqa: E402
from index.search import DEFAULT_CONFIDENT_SCORE, DEFAULT_MIN_SCORE, SearchConfig  # noqa: E402

_OFF = FEATURES_OFF
# Steps 1-10 are the pipeline before issue 13 (copies: the newer article within 0.06 was quoted).
_BEFORE = {"original_first": False}
# Each step adds one thing to the one above it; "title context" is the step that was measured and dropped.
VARIANTS: dict[str, tuple[str, dict]] = {
    "1 dense search over paragraphs": ("none", _OFF),
    "2 + list items read with their lead-in": ("lead-in", _OFF),
    "(2b) + article title as context (dropped)": ("title", _OFF),
    "3 + best-sentence scoring": ("lead-in", {**_OFF, "sentence_scoring": True}),
    "4 + bm25 (FTS5) fused": ("lead-in", {**_OFF, "sentence_scoring": True, "hybrid": True}),
    "5 + date agreement": ("lead-in", {**_OFF, "sentence_scoring": True, "hybrid": True, "date_matching": True}),
    "6 + answer shape": (
        "lead-in",
        {**_OFF, "sentence_scoring": True, "hybrid": True, "date_matching": True, "answer_typing": True},
    ),
    "7 + newer wins on ties": (
        "lead-in",
        {**_BEFORE, "recency": False, "meeting_matching": False, "subject_lookup": False},
    ),
    "8 + older articles count less for questions about now": (
        "lead-in",
        {**_BEFORE, "meeting_matching": False, "subject_lookup": False},
    ),
    "9 + a meeting named by number agrees with the article's title": ("lead-in", {**_BEFORE, "subject_lookup": False}),
    "10 + short questions: passages naming all they name count more (the default before issue 13)": (
        "lead-in",
        _BEFORE,
    ),
    "11 default: + the original first (copies of one story: the best-attributed article quoted)": ("lead-in", {}),
}
RERANK_VARIANTS = {
    "12 + second stage {model}, weight 1 (re-ranks the first stage's best 20)": 1.0,
    "12b + {model} as an even ensemble (weight 0.5)": 0.5,
    "12c + {model}, weight 0.25": 0.25,
}


def _relevance(result) -> float:  # type: ignore[no-untyped-def]
    return -math.inf if result.answer.relevance is None else result.answer.relevance


def _row(label: str, name: str, result: CorpusResult, calibration) -> str:  # type: ignore[no-untyped-def]
    answerable = [r for r in result.results if r.answerable]
    unanswerable = [r for r in result.results if not r.answerable]
    raw = sum(r.rank == 1 for r in answerable) / len(answerable)
    at = DEFAULT_MIN_SCORE
    acc_old = sum(r.rank == 1 and _relevance(r) >= at for r in answerable) / len(answerable)
    none_old = sum(_relevance(r) < at for r in unanswerable) / len(unanswerable) if unanswerable else 1.0
    now, cv = calibration.current.per_corpus[name], calibration.cross_validated.per_corpus[name]

    def bands(f) -> str:  # type: ignore[no-untyped-def]
        high = f"{f.high_answers}, {f.high_right:.0%} right" if f.high_answers else "0"
        return f"{f.accuracy_at_1:.3f} / {high} / {f.unanswerable_high:.0%}"

    return (
        f"| {label} | {name} | {raw:.3f} | {acc_old:.3f} / {none_old:.3f} | {result.attributed_first:.0%} "
        f"| {bands(now)} | {bands(cv)} |"
    )


def run(corpus_names: list[str] | None, only: list[str] | None, rerank: str | None) -> None:
    eval_set = load_eval_set(ROOT / "tests/eval/questions.yaml")
    embedder = SentenceTransformerEmbedder()
    reranker = load_reranker(rerank) if rerank else None
    variants = {label: (context, knobs, None) for label, (context, knobs) in VARIANTS.items()}
    if reranker is not None:
        model = Path(rerank).name if rerank else ""
        for label, weight in RERANK_VARIANTS.items():
            variants[label.format(model=model)] = ("lead-in", {"rerank_weight": weight}, reranker)
    print(
        f"| step | corpus | acc@1, no cut-off | acc@1 / no-answer at {DEFAULT_MIN_SCORE:.2f} | attributed first "
        f"| at {DEFAULT_MIN_SCORE:.2f} / {DEFAULT_CONFIDENT_SCORE:.2f}: right, either band / high: answers, right "
        "/ unanswerable high | cross-validated: the same |"
    )
    print("|---|---|---|---|---|---|---|")
    for label, (context, knobs, stage) in variants.items():
        if only and not any(o in label for o in only):
            continue
        config = dataclasses.replace(SearchConfig(**knobs), min_score=-math.inf, alternative_min_score=-math.inf)
        variant = Variant(name=label, search=config, passage_context=context)
        results = evaluate(eval_set, embedder, variant=variant, corpora=corpus_names, reranker=stage)
        calibration = calibrate(results, DEFAULT_MIN_SCORE, DEFAULT_CONFIDENT_SCORE)
        for result in results:
            print(_row(label, result.corpus, result, calibration), flush=True)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", action="append")
    parser.add_argument("--only", action="append", help="run variants whose label contains this")
    parser.add_argument("--rerank", help="also measure this second-stage model (a folder or cached name)")
    args = parser.parse_args()
    run(args.corpus, args.only, args.rerank)
