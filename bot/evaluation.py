"""`talksbot eval`: the quality table, the misses, and the baseline beside it."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from index.evaluation import BASELINE, CorpusResult, Variant, evaluate, load_eval_set

from .render_text import attribution
from .settings import Settings

__all__ = ["DEFAULT_EVAL_FILE", "render_eval_table", "run_eval_command"]

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


def run_eval_command(args: argparse.Namespace, settings: Settings) -> int:
    """Run the evaluation set with the default pipeline (and the baseline with --baseline); print results."""
    from index.embedder import SentenceTransformerEmbedder

    eval_set = load_eval_set(Path(args.file) if args.file else DEFAULT_EVAL_FILE)
    embedder = SentenceTransformerEmbedder(settings.embedding_model, threads=settings.torch_threads)
    variants = [Variant(name="talksbot")] + ([BASELINE] if args.baseline else [])
    report: dict[str, list[CorpusResult]] = {}
    for variant in variants:
        report[variant.name] = evaluate(
            eval_set,
            embedder,
            variant=variant,
            corpora=args.corpus,
            on_corpus=lambda name, v=variant: print(f"evaluating {v.name} on {name} ...", file=sys.stderr),
        )
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
                },
                ensure_ascii=False,
            )
        )
        return 0
    for name, results in report.items():
        print(render_eval_table(results, title=f"## {name}"))
        print()
    print("Misses (talksbot):")
    print(render_misses(report["talksbot"]))
    return 0
