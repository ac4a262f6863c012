"""Calibrate the feed poller's on-topic judgement on the articles in this folder; prints the figures.

    .venv/bin/python tests/web/topic/calibrate.py [--json]

on/ holds 16 articles about the Istanbul talks (delegations, memorandums, prisoner and body exchanges,
Turkey's mediation, the leaders' summit question), written for this purpose; off/ holds 16 that are
not, many of them deliberately close: battlefield news from Ukraine, other peace talks (Gaza, Armenia
and Azerbaijan, Transnistria), the Kremlin's domestic agenda, sanctions, Istanbul city news.

For each corpus (seed: the two shipped articles; extended: plus tests/eval/corpus), every article is
scored as the poller scores a feed item (``Engine.closeness`` of ``topic_text(title, text)``), and the
script prints the scores, the accuracy at the shipped FEED_MIN_SIMILARITY, the best threshold, and the
accuracy with example FEED_KEYWORDS added.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
sys.path.insert(0, str(ROOT))

from index.documents import read_article  # noqa: E402
from index.embedder import SentenceTransformerEmbedder  # noqa: E402
from index.engine import Engine  # noqa: E402
from index.web import DEFAULT_MIN_SIMILARITY, keyword_hits, topic_text  # noqa: E402

HERE = Path(__file__).resolve().parent
CORPORA = {"seed": [ROOT / "documents"], "extended": [ROOT / "documents", ROOT / "tests" / "eval" / "corpus"]}
EXAMPLE_KEYWORDS = ("Istanbul", "talks", "negotiat", "delegation", "ceasefire", "memorandum", "prisoner")


def articles(kind: str) -> list[tuple[str, str, str]]:
    """(file name, title, text) of the calibration articles in on/ or off/."""
    out = []
    for path in sorted((HERE / kind).glob("*.md")):
        doc = read_article(path, doc_id=path.name)
        out.append((path.name, doc.info.title, doc.body))
    return out


def score_corpus(name: str, embedder: SentenceTransformerEmbedder) -> dict:
    """Scores of every calibration article against one corpus."""
    with tempfile.TemporaryDirectory() as tmp:
        docs = Path(tmp) / "documents"
        docs.mkdir()
        for folder in CORPORA[name]:
            for path in folder.glob("*.md"):
                shutil.copy(path, docs / path.name)
        engine = Engine(docs, Path(tmp) / "index", embedder=embedder)
        engine.reindex()
        result = {}
        for kind in ("on", "off"):
            items = articles(kind)
            scores = engine.closeness([topic_text(title, text) for _n, title, text in items])
            result[kind] = [
                {"file": n, "score": round(s or 0.0, 4), "keywords": bool(keyword_hits(EXAMPLE_KEYWORDS, t, x))}
                for (n, t, x), s in zip(items, scores, strict=True)
            ]
        return result


def accuracy(result: dict, threshold: float, *, keywords: bool = False) -> tuple[int, int]:
    """(on-topic kept, off-topic skipped) at a threshold, optionally also requiring a keyword."""
    kept = sum(1 for r in result["on"] if r["score"] >= threshold and (r["keywords"] or not keywords))
    skipped = sum(1 for r in result["off"] if r["score"] < threshold or (keywords and not r["keywords"]))
    return kept, skipped


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--json", action="store_true", help="print the scores as JSON")
    args = parser.parse_args()
    embedder = SentenceTransformerEmbedder()
    report = {name: score_corpus(name, embedder) for name in CORPORA}
    if args.json:
        print(json.dumps(report, indent=1))
        return 0
    for name, result in report.items():
        on = sorted(r["score"] for r in result["on"])
        off = sorted(r["score"] for r in result["off"])
        print(f"corpus {name}: on-topic scores {on[0]:.3f}..{on[-1]:.3f}, off-topic {off[0]:.3f}..{off[-1]:.3f}")
        kept, skipped = accuracy(result, DEFAULT_MIN_SIMILARITY)
        shipped = f"FEED_MIN_SIMILARITY={DEFAULT_MIN_SIMILARITY:.2f}"
        print(f"  at {shipped}: {kept}/16 on-topic kept, {skipped}/16 off-topic skipped")
        kept, skipped = accuracy(result, DEFAULT_MIN_SIMILARITY, keywords=True)
        print(f"  with FEED_KEYWORDS={','.join(EXAMPLE_KEYWORDS)}: {kept}/16 kept, {skipped}/16 skipped")
        right = {t / 100: sum(accuracy(result, t / 100)) for t in range(20, 80)}
        best = max(right.values())
        span = [t for t, n in right.items() if n == best]
        print(f"  best thresholds on this corpus: {span[0]:.2f} to {span[-1]:.2f} ({best}/32 right)")
        for r in sorted(result["on"], key=lambda r: r["score"])[:2]:
            print(f"  lowest on-topic:  {r['score']:.3f} {r['file']}")
        for r in sorted(result["off"], key=lambda r: -r["score"])[:2]:
            print(f"  highest off-topic: {r['score']:.3f} {r['file']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
