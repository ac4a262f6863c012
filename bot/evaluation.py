"""`talksbot eval`: the quality table, the misses, and the baseline beside it."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from index import SearchConfig, SentenceTransformerEmbedder
from index.evaluation import (
    BASELINE,
    Calibration,
    CorpusResult,
    Variant,
    calibrate,
    check_calibratable,
    evaluate,
    load_eval_set,
    without_threshold,
)

from .render_text import attribution
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
        rows.append("| " + " | ".join(fmt.format(m[key]) for key, _, fmt in _COLUMNS) + " |")
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
                    f"    got: {hit.score:.3f} {hit.document.id} ({attribution(hit.document)}) «{quote}»{rank}"
                )
    return "\n".join(lines) if lines else "(none)"


def render_calibration(calibration: Calibration) -> str:
    """The threshold now and the one suggested, with acc@1 / no-answer at each, overall and per corpus."""
    corpora = list(calibration.current.per_corpus)
    header = "| MIN_SCORE | acc@1 | no-answer | " + " | ".join(f"{c}: acc@1 / no-answer" for c in corpora) + " |"
    rule = "|" + "---|" * (3 + len(corpora))
    rows = []
    for label, f in (("now", calibration.current), ("suggested", calibration.suggested)):
        cells = [f"{f.min_score:.3f} ({label})", f"{f.accuracy_at_1:.3f}", f"{f.no_answer_accuracy:.3f}"]
        cells += [f"{a:.3f} / {n:.3f}" for a, n in f.per_corpus.values()]
        rows.append("| " + " | ".join(cells) + " |")
    s = calibration.suggested
    advice = (
        f"Suggested MIN_SCORE={s.min_score:.3f}: it maximises the worse of acc@1 and no-answer accuracy over "
        f"{calibration.answerable} answerable and {calibration.unanswerable} unanswerable questions. It is fit "
        "on these questions, so expect a little less on new ones; set it in .env to use it."
    )
    return "\n".join(["## threshold (MIN_SCORE)", "", header, rule, *rows, "", advice])


def run_eval_command(args: argparse.Namespace, settings: Settings) -> int:
    """Run the evaluation set with the default pipeline (and the baseline with --baseline); print results."""
    eval_set = load_eval_set(Path(args.file) if args.file else DEFAULT_EVAL_FILE)
    if args.calibrate:
        check_calibratable(eval_set, args.corpus)  # say so now, not after the whole run
    embedder = SentenceTransformerEmbedder(settings.embedding_model, threads=settings.torch_threads)
    ours = Variant(name="talksbot", search=SearchConfig().with_min_score(settings.min_score))
    variants = [ours] + ([BASELINE] if args.baseline else [])

    def run(variant: Variant) -> list[CorpusResult]:
        return evaluate(
            eval_set,
            embedder,
            variant=variant,
            corpora=args.corpus,
            on_corpus=lambda name: print(f"evaluating {variant.name} on {name} ...", file=sys.stderr),
        )

    report = {variant.name: run(variant) for variant in variants}
    calibration = calibrate(run(without_threshold(ours)), ours.search.min_score) if args.calibrate else None
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
                | ({"calibration": calibration.to_json()} if calibration else {}),
                ensure_ascii=False,
            )
        )
        return 0
    for name, results in report.items():
        print(render_eval_table(results, title=f"## {name}"))
        print()
    if calibration:
        print(render_calibration(calibration))
        print()
    print("Misses (talksbot):")
    print(render_misses(report["talksbot"]))
    return 0
