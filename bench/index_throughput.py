"""Indexing throughput of IndexStore.sync (passages/s) against the model's raw encode of the same texts.

Corpus: --articles (default 300) synthetic articles made of the extended corpus's real sentences,
reshuffled with a fixed seed (4-9 paragraphs of 2-4 sentences). The subject is a full
``IndexStore.sync`` into an empty index folder with the real model: scan, split, embed
(passage and sentence vectors), SQLite + FTS5, FAISS, publish.

Floor, measured in the same run and alternated with the subject: the model's
``SentenceTransformer.encode`` of exactly the texts sync embedded (captured from the call),
batch size 32. Target: sync throughput >= 0.9x the floor's.

Also printed: where sync's time goes (embedding vs token counting for the splitter vs the rest)
and, from one profiled embed_passages call, the shares of the model's forward pass, the second
tokenisation (offsets for sentence pooling) and the pooling itself.

Run: .venv/bin/python bench/index_throughput.py [--quick] [--articles N] [--repeats N]
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import shutil
import time

import common as c
import numpy as np

TARGET_RATIO = 0.9


def _profile_shares(embedder, inputs) -> dict[str, float]:  # type: ignore[no-untyped-def]
    """Shares of one embed_passages call: forward pass, offsets tokenisation, pooling (cProfile, cumulative)."""
    prof = cProfile.Profile()
    prof.enable()
    embedder.embed_passages(inputs)
    prof.disable()
    stats = pstats.Stats(prof).stats  # type: ignore[attr-defined]
    total = sum(v[3] for k, v in stats.items() if k[2] == "embed_passages")
    found = {"model forward (encode)": 0.0, "tokenizer calls": 0.0, "sentence pooling (_pool)": 0.0}
    for (filename, _line, func), (_cc, _nc, _tt, ct, _callers) in stats.items():
        if func == "encode" and "sentence_transformers" in filename:
            found["model forward (encode)"] += ct
        elif func == "_pool" and filename.endswith("embedder.py"):
            found["sentence pooling (_pool)"] += ct
        elif func == "__call__" and "tokenization_utils" in filename:
            found["tokenizer calls"] += ct
    return {k: v / total for k, v in found.items()} if total else {}


def run(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a short smoke run")
    parser.add_argument("--articles", type=int, default=None, help="synthetic articles (default 300, quick 20)")
    parser.add_argument("--repeats", type=int, default=None, help="sync/encode pairs (default 3, quick 1)")
    args = parser.parse_args(argv)
    n = args.articles or (20 if args.quick else 300)
    repeats = args.repeats or (1 if args.quick else 3)
    c.print_header("indexing throughput", args.quick)
    report = c.Report("index_throughput", quick=args.quick)

    import torch

    from index.embedder import _compose
    from index.engine import Engine
    from index.store import IndexStore

    embedder, _ = c.load_model()
    model = embedder.load()
    with c.scratch("throughput") as tmp:
        docs = tmp / "documents"
        c.write_synthetic_articles(docs, n, seed=11)
        config = Engine(docs, tmp / "unused", embedder=embedder).config
        # The texts sync will embed, found without the model: the real tokenizer splits, vectors are random.
        capture = c.TimedEmbedder(c.RandomEmbedder(embedder.model_id))
        capture.count_tokens = embedder.count_tokens  # type: ignore[method-assign]
        IndexStore(tmp / "capture").sync(docs, capture, config)
        shutil.rmtree(tmp / "capture")
        inputs = capture.inputs
        texts = [_compose(p) for p in inputs]

        def floor() -> float:
            t0 = time.perf_counter()
            model.encode(texts, batch_size=32, show_progress_bar=False, convert_to_numpy=True)
            return time.perf_counter() - t0

        sync_s, floor_s, embed_s, count_s = [], [], [], []
        passages = 0
        for rep in range(repeats):
            for step in ("sync", "floor") if rep % 2 == 0 else ("floor", "sync"):  # ABBA: drift hits both
                if step == "floor":
                    floor_s.append(floor())
                    continue
                rec = c.TimedEmbedder(embedder)
                target = tmp / f"index-{rep}"
                t0 = time.perf_counter()
                result = IndexStore(target).sync(docs, rec, config)
                sync_s.append(time.perf_counter() - t0)
                embed_s.append(rec.embed_seconds)
                count_s.append(rec.count_seconds)
                passages = result.passages
                if [_compose(p) for p in rec.inputs] != texts:
                    report.note("sync embedded other texts than the capture pass found; the floor is approximate")
                shutil.rmtree(target)
        tokens = [len(t.split()) for t in texts]
        print(f"corpus: {n} articles, {passages} passages, {np.mean(tokens):.0f} words per embedded text on average")
        for i, (s, f) in enumerate(zip(sync_s, floor_s, strict=False)):
            print(
                f"  pair {i}: sync {s:.2f} s ({passages / s:.0f} passages/s), encode {f:.2f} s ({passages / f:.0f}/s),"
                f" ratio {f / s:.2f}x"
            )
        sync_rate, floor_rate = passages / c.p50(sync_s), passages / c.p50(floor_s)
        # Each pair ran back to back, so its ratio saw one machine state: the median of those ratios is
        # the headline (medians of each side taken apart can pair a busy minute with a quiet one).
        pair_ratios = np.array(floor_s) / np.array(sync_s)
        ratio = float(np.median(pair_ratios))
        report.add(
            "IndexStore.sync throughput (median of per-pair ratios)",
            sync_rate,
            "passages/s",
            floor=floor_rate,
            ratio=ratio,
            target=f">= {TARGET_RATIO}x floor",
            met=ratio >= TARGET_RATIO,
            note=f"{passages} passages; pair ratios "
            + ", ".join(f"{r:.2f}" for r in pair_ratios)
            + f"; ratio of medians {sync_rate / floor_rate:.2f}x",
        )
        med = c.p50(sync_s)
        rest = med - c.p50(embed_s) - c.p50(count_s)
        report.add("  sync: embed_passages", c.p50(embed_s), "s", ratio=c.p50(embed_s) / med)
        report.add("  sync: count_tokens (splitter)", c.p50(count_s), "s", ratio=c.p50(count_s) / med)
        report.add("  sync: the rest (scan, SQLite, FAISS, publish)", rest, "s", ratio=rest / med)
        report.add("  encode alone (floor)", c.p50(floor_s), "s", ratio=c.p50(floor_s) / med)
        if not args.quick:
            shares = _profile_shares(embedder, inputs)
            for name, share in shares.items():
                print(f"  profiled embed_passages: {name}: {share:.0%}")
                report.add(f"  embed_passages share: {name}", share * 100, "%")
            # Indexing at one torch thread (what a latency-tuned bot would run with), same texts.
            threads = torch.get_num_threads()
            if threads > 1:
                torch.set_num_threads(1)
                try:
                    t0 = time.perf_counter()
                    model.encode(texts, batch_size=32, show_progress_bar=False, convert_to_numpy=True)
                    one = time.perf_counter() - t0
                finally:
                    torch.set_num_threads(threads)
                report.add(
                    "  encode throughput @1 torch thread",
                    passages / one,
                    "passages/s",
                    floor=floor_rate,
                    ratio=floor_rate and (passages / one) / floor_rate,
                )
    report.emit()


if __name__ == "__main__":
    c.main_guard(run)
