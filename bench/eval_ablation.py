"""Each retrieval step's effect on the evaluation set, measured in one run.

For every variant (passage context x search knobs) the eval corpora are indexed once and every
question is asked with the threshold off. The table shows accuracy@1 before any threshold, then
accuracy@1 and no-answer accuracy at the default threshold (0.50), and at the best threshold for
that variant (an oracle choice, which flatters every variant equally).
Run: .venv/bin/python bench/eval_ablation.py
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
import tempfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from index.embedder import SentenceTransformerEmbedder  # noqa: E402
from index.engine import Engine  # noqa: E402
from index.evaluation import FEATURES_OFF, load_eval_set  # noqa: E402
from index.evaluation.run import _gather, _is_correct  # noqa: E402
from index.search import SearchConfig  # noqa: E402

_OFF = FEATURES_OFF
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
    "7 + newer wins on ties": ("lead-in", {"recency": False, "meeting_matching": False, "subject_lookup": False}),
    "8 + older articles count less for questions about now": (
        "lead-in",
        {"meeting_matching": False, "subject_lookup": False},
    ),
    "9 + a meeting named by number agrees with the article's title": ("lead-in", {"subject_lookup": False}),
    "10 default (9 + short questions: passages naming all they name count more)": ("lead-in", {}),
}


def run(corpus_names: list[str] | None, only: list[str] | None) -> None:
    eval_set = load_eval_set(ROOT / "tests/eval/questions.yaml")
    embedder = SentenceTransformerEmbedder()
    names = corpus_names or list(eval_set.corpora)
    print("| step | corpus | acc@1, no threshold | acc@1 / no-answer at 0.50 | best threshold: acc@1 / no-answer |")
    print("|---|---|---|---|---|")
    for label, (context, knobs) in VARIANTS.items():
        if only and not any(o in label for o in only):
            continue
        for name in names:
            with tempfile.TemporaryDirectory() as scratch:
                docs = Path(scratch) / "docs"
                docs.mkdir()
                _gather(eval_set.corpora[name], docs)
                cfg = dataclasses.replace(SearchConfig(**knobs), min_score=-10.0, alternative_min_score=-10.0)
                engine = Engine(
                    docs, Path(scratch) / "idx", embedder=embedder, search_config=cfg, passage_context=context
                )
                engine.reindex()
                bodies = {
                    d.id: engine.searcher().snapshot.document_body(d.id)
                    for d in engine.searcher().snapshot.documents.values()
                }
                answerable, unanswerable = [], []
                for q in (q for q in eval_set.questions if q.corpus == name):
                    ans = engine.answer(q.q, alternatives=0)
                    score = ans.hit.score if ans.hit else -10.0
                    if q.answers:
                        answerable.append((score, ans.hit is not None and _is_correct(ans.hit, q, bodies)))
                    else:
                        unanswerable.append(score)
            raw = np.mean([ok for _, ok in answerable])
            best = None
            for t in np.arange(0.20, 0.70, 0.005):
                acc = np.mean([ok and s >= t for s, ok in answerable])
                none = np.mean([s < t for s in unanswerable]) if unanswerable else 1.0
                key = (min(acc, none), acc + none)
                if best is None or key > best[0]:
                    best = (key, t, acc, none)
            _, t, acc, none = best
            at = 0.50
            acc50 = np.mean([ok and sc >= at for sc, ok in answerable])
            none50 = np.mean([sc < at for sc in unanswerable]) if unanswerable else 1.0
            print(
                f"| {label} | {name} | {raw:.3f} | {acc50:.3f} / {none50:.3f} | {t:.2f}: {acc:.3f} / {none:.3f} |",
                flush=True,
            )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", action="append")
    parser.add_argument("--only", action="append", help="run variants whose label contains this")
    args = parser.parse_args()
    run(args.corpus, args.only)
