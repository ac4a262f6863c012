"""`talksbot eval`: the quality table, the misses, and the baseline beside it."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from index import SentenceTransformerEmbedder, load_reranker
from index.evaluation import (
    BASELINE,
    HIGH_RIGHT_TARGET,
    RIGHT_EITHER_TARGET,
    UNANSWERABLE_HIGH_TARGET,
    BandFigures,
    Calibration,
    CorpusResult,
    Cutoffs,
    Variant,
    calibrate,
    check_calibratable,
    evaluate,
    load_eval_set,
    without_threshold,
)

from .render_text import attribution
from .runner import search_config
from .settings import Settings

__all__ = ["DEFAULT_EVAL_FILE", "render_calibration", "render_eval_table", "run_eval_command"]

DEFAULT_EVAL_FILE = Path("tests/eval/questions.yaml")
_COLUMNS = (
    ("corpus", "corpus", "{}"),
    ("answerable", "Q", "{}"),
    ("unanswerable", "none", "{}"),
    ("accuracy_at_1", "acc@1", "{:.3f}"),
    ("recall_at_3", "recall@3", "{:.3f}"),
    ("mrr_at_5", "MRR@5", "{:.3f}"),
    ("no_answer_accuracy", "no-answer", "{:.3f}"),
    ("off_topic_refused", "off-topic refused", "{:.3f}"),
    ("high_answers", "high: answers", "{}"),
    ("high_right", "high: right", "{:.3f}"),
    ("unanswerable_high", "unanswerable high", "{:.3f}"),
    ("attributed_first", "attributed first", "{:.0%}"),
    ("highlight", "highlight", "{:.3f}"),
    ("verbatim", "verbatim", "{:.0%}"),
    ("attributed", "attributed", "{:.0%}"),
)


def render_eval_table(results: list[CorpusResult], *, title: str) -> str:
    """A Markdown table of the metrics, one row per corpus."""
    header = "| " + " | ".join(label for _, label, _ in _COLUMNS) + " |"
    rule = "|" + "|".join("---" for _ in _COLUMNS) + "|"
    rows = []
    for result in results:
        m = result.metrics()
        cells = [fmt.format(m[key]) for key, _, fmt in _COLUMNS]
        if not m["high_answers"]:
            cells[[k for k, _, _ in _COLUMNS].index("high_right")] = "—"
        rows.append("| " + " | ".join(cells) + " |")
    return "\n".join([title, "", header, rule, *rows])


def render_misses(results: list[CorpusResult]) -> str:
    """One paragraph per miss: the question, what was expected, what came back."""
    lines = []
    for result in results:
        for miss in result.misses:
            q = miss.question
            lines.append(f"- {q.id} ({result.corpus}): {q.q}")
            if q.answers:
                lines.append(f"    expected: {q.answers[0].doc} «{q.answers[0].contains}»")
            else:
                lines.append("    expected: nothing relevant")
            hit = miss.answer.hit
            if hit is None:
                lines.append("    got: nothing relevant")
            else:
                quote = hit.quote if len(hit.quote) < 100 else hit.quote[:99] + "…"
                rank = f", correct at rank {miss.rank}" if miss.rank else ""
                lines.append(
                    f"    got ({hit.confidence}): {hit.score:.3f} {hit.document.id} ({attribution(hit.document)}) "
                    f"«{quote}»{rank}"
                )
    return "\n".join(lines) if lines else "(none)"


def _band_cells(f: BandFigures) -> list[str]:
    high = f"{f.high_answers}, {f.high_right:.0%} right" if f.high_answers else "0"
    low = f"{f.low_answers}, {f.low_right:.0%} right" if f.low_answers else "0"
    return [
        f"{f.accuracy_at_1:.1%}",
        high,
        f"{f.unanswerable_high:.1%}",
        low,
        f"{f.off_topic_refused:.1%}",
        f"{f.no_answer_accuracy:.1%}",
    ]


def render_calibration(calibration: Calibration) -> str:
    """The cut-offs now, suggested and cross-validated, with the figures per band, overall and per corpus."""
    header = (
        f"| | MIN_SCORE | CONFIDENT_SCORE | right answer, either band (≥ {RIGHT_EITHER_TARGET:.0%}) | "
        f"high: answers, right (≥ {HIGH_RIGHT_TARGET:.0%}) | unanswerable answered high (≤ "
        f"{UNANSWERABLE_HIGH_TARGET:.0%}) | low: answers, right | off-topic refused | unanswerable refused |"
    )
    rule = "|" + "---|" * 9

    def row(label: str, c: Cutoffs, low: str | None = None, high: str | None = None) -> str:
        cells = [label, low or _cut(c.min_score), high or _cut(c.confident_score), *_band_cells(c.overall)]
        return "| " + " | ".join(cells) + " |"

    cv = calibration.cross_validated
    lo, hi = calibration.min_score_range, calibration.confident_score_range
    rows = [
        row("now", calibration.current),
        row("suggested (fit on all questions)", calibration.suggested),
        row("cross-validated (leave-one-out)", cv, f"{_cut(lo[0])}–{_cut(lo[1])}", f"{_cut(hi[0])}–{_cut(hi[1])}"),
    ]
    per_corpus = [
        "| " + " | ".join([f"cross-validated, {name}", "", "", *_band_cells(f)]) + " |"
        for name, f in cv.per_corpus.items()
    ]
    s = calibration.suggested
    advice = (
        f"Suggested MIN_SCORE={_cut(s.min_score)} keeps 'nothing relevant' for questions off the subject (it "
        "maximises the worse of answerable questions answered and off-topic questions refused); "
        f"CONFIDENT_SCORE={_cut(s.confident_score)} is the lowest cut keeping the high band at least "
        f"{HIGH_RIGHT_TARGET:.0%} right with at most {UNANSWERABLE_HIGH_TARGET:.0%} of unanswerable questions in it. "
        f"Fit on {calibration.answerable} answerable and {calibration.unanswerable} unanswerable questions "
        f"({calibration.off_topic} off-topic); the cross-validated row is what to expect on new questions. "
        "Set them in .env to use them."
    )
    return "\n".join(["## cut-offs (MIN_SCORE, CONFIDENT_SCORE)", "", header, rule, *rows, *per_corpus, "", advice])


def _cut(x: float) -> str:
    return "none" if x == float("inf") else ("—" if x != x else f"{x:.3f}")


def run_eval_command(args: argparse.Namespace, settings: Settings) -> int:
    """Run the evaluation set with the configured pipeline (and the baseline with --baseline); print results."""
    eval_set = load_eval_set(Path(args.file) if args.file else DEFAULT_EVAL_FILE)
    if args.calibrate:
        check_calibratable(eval_set, args.corpus)  # say so now, not after the whole run
    embedder = SentenceTransformerEmbedder(settings.embedding_model, threads=settings.torch_threads)
    reranker = load_reranker(settings.rerank_model, threads=settings.torch_threads) if settings.rerank_model else None
    ours = Variant(name="talksbot", search=search_config(settings))
    variants = [ours] + ([BASELINE] if args.baseline else [])

    def run(variant: Variant) -> list[CorpusResult]:
        return evaluate(
            eval_set,
            embedder,
            variant=variant,
            corpora=args.corpus,
            on_corpus=lambda name: print(f"evaluating {variant.name} on {name} ...", file=sys.stderr),
            reranker=None if variant is BASELINE else reranker,
        )

    report = {variant.name: run(variant) for variant in variants}
    calibration = (
        calibrate(run(without_threshold(ours)), ours.search.min_score, ours.search.confident_score)
        if args.calibrate
        else None
    )
    stage = f"{settings.embedding_model}" + (f", re-ranked by {settings.rerank_model}" if settings.rerank_model else "")
    if args.json:
        print(
            json.dumps(
                {
                    name: {
                        "metrics": [r.metrics() for r in results],
                        "misses": [
                            {
                                "id": m.question.id,
                                "question": m.question.q,
                                "rank": m.rank,
                                "got": m.answer.hit.to_json() if m.answer.hit else None,
                            }
                            for r in results
                            for m in r.misses
                        ],
                    }
                    for name, results in report.items()
                }
                | {"model": settings.embedding_model, "rerank_model": settings.rerank_model or None}
                | ({"calibration": calibration.to_json()} if calibration else {}),
                ensure_ascii=False,
            )
        )
        return 0
    for name, results in report.items():
        print(render_eval_table(results, title=f"## {name}" + (f" ({stage})" if name == ours.name else "")))
        print()
    if calibration:
        print(render_calibration(calibration))
        print()
    print("Misses (talksbot):")
    print(render_misses(report["talksbot"]))
    return 0
