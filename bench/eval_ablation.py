"""Each retrieval step's effect on the evaluation set, measured in one run.

For every variant (passage context x search knobs) the eval corpora are indexed once, every
question is asked with the threshold off, and the table shows accuracy@1 before any
threshold plus, for the threshold that maximises the worse of answerable accuracy@1 and
no-answer accuracy, both figures. Run: .venv/bin/python bench/eval_ablation.py
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
from index.evaluation import _gather, _is_correct, load_eval_set  # noqa: E402
from index.search import SearchConfig  # noqa: E402

VARIANTS: dict[str, tuple[str, dict]] = {
    "dense (plain paragraphs)": ("none", dict(hybrid=False, sentence_scoring=False, tie_margin=0.0)),
    "dense + title context": ("title", dict(hybrid=False, sentence_scoring=False, tie_margin=0.0)),
    "dense + sentences": ("none", dict(hybrid=False, sentence_scoring=True, tie_margin=0.0)),
    "dense + bm25": ("none", dict(hybrid=True, sentence_scoring=False, tie_margin=0.0)),
    "dense + sentences + bm25": ("none", dict(hybrid=True, sentence_scoring=True, tie_margin=0.0)),
    "dense + title + sentences + bm25": ("title", dict(hybrid=True, sentence_scoring=True, tie_margin=0.0)),
    "default (all steps, newer wins)": ("none", dict()),
}


def run(corpus_names: list[str] | None, only: list[str] | None) -> None:
    eval_set = load_eval_set(ROOT / "tests/eval/questions.yaml")
    embedder = SentenceTransformerEmbedder()
    names = corpus_names or list(eval_set.corpora)
    print("| variant | corpus | acc@1 (no threshold) | threshold | acc@1 | no-answer |")
    print("|---|---|---|---|---|---|")
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
            print(f"| {label} | {name} | {raw:.3f} | {t:.3f} | {acc:.3f} | {none:.3f} |", flush=True)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", action="append")
    parser.add_argument("--only", action="append", help="run variants whose label contains this")
    args = parser.parse_args()
    run(args.corpus, args.only)
