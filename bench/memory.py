"""Peak RSS of a process serving 100,000 passages with the real model (target <= 1 GiB).

1. Build an index of --passages passages (default 100,000) WITHOUT the model: synthetic
   articles (20 paragraphs each, the extended corpus's real sentences reshuffled) go through
   ``IndexStore.sync`` like any others, but the embedder is a model-free stand-in returning
   random 384-d unit vectors under the real model's ``model_id``, so the real engine opens the
   result as its own (same build config, no rebuild).
2. A fresh subprocess does what the bot's process does: imports discord.py and the engine,
   ``Engine.ensure_index()`` (opens the index), loads the real model, answers questions. It
   reports VmRSS after each stage and its peak (VmHWM, = getrusage ru_maxrss).
3. The same subprocess over the extended evaluation corpus (56 passages) gives the floor:
   what the model and the libraries cost without a big index. The difference is the index's.

Also printed from the subprocess: answer latency over the big index (random vectors, real
text: the lexical side is realistic, the dense side is not) against encode + exact search.

Run: .venv/bin/python bench/memory.py [--quick] [--passages N]
"""

from __future__ import annotations

import argparse
import itertools
import json
import textwrap
import time

import common as c

TARGET_MIB = 1024.0
PARAGRAPHS = 20

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
    from index.search import lexical_query
    import faiss, numpy as np, sqlite3
    stages.append(("discord.py + engine imported", rss()))
    engine = Engine(docs, index)
    built = engine.ensure_index()
    snapshot = engine.searcher().snapshot
    stages.append(("index opened", rss()))
    engine.embedder.embed_queries(["warm up"])
    stages.append(("model loaded", rss()))
    for q in questions:
        engine.answer(q)
    stages.append((f"{len(questions)} questions answered", rss()))
    peak = rss()["VmHWM"]  # what the serving process needed; the measurements below are the bench's own
    # What the answers cost next to the model's floor on this index, and the lexical side alone.
    dim = int(snapshot.manifest["dimension"])
    flat = faiss.IndexFlatIP(dim)
    uri = f"{(Path(snapshot.directory) / 'index.sqlite3').resolve().as_uri()}?mode=ro"
    conn = sqlite3.connect(uri, uri=True)
    vectors = np.empty((snapshot.passage_total, dim), dtype=np.float32)
    for i, (blob,) in enumerate(conn.execute("SELECT embedding FROM passages")):
        vectors[i] = np.frombuffer(blob, dtype=np.float32)
    conn.close()
    flat.add(vectors)
    del vectors
    times, floor, lexical, lexical_cpu, matches = [], [], [], [], []
    for i, q in enumerate(questions):  # interleaved, rotating the order: load that comes and goes hits all
        for step in (0, 1, 2)[i % 3:] + (0, 1, 2)[:i % 3]:
            t0, c0 = time.perf_counter(), time.thread_time()
            if step == 0:
                engine.answer(q)
                times.append(time.perf_counter() - t0)
            elif step == 1:
                flat.search(engine.embedder.embed_queries([q]), 30)
                floor.append(time.perf_counter() - t0)
            else:
                snapshot.lexical_search(lexical_query(q), 30)
                lexical.append(time.perf_counter() - t0)
                lexical_cpu.append(time.thread_time() - c0)
    for q in questions[:10]:
        matches.append(snapshot._conn.execute(
            "SELECT COUNT(*) FROM passages_fts WHERE passages_fts MATCH ?", (lexical_query(q),)).fetchone()[0])
    print("RESULT " + json.dumps({
        "stages": stages,
        "peak_mib": peak,
        "rebuilt": built is not None,
        "passages": snapshot.passage_total,
        "faiss": snapshot.manifest["faiss"].get("kind"),
        "answer": times, "floor": floor, "lexical": lexical, "lexical_cpu": lexical_cpu, "matches": matches,
    }))
    """
)


def serve(docs, index, questions: list[str]) -> dict:  # type: ignore[no-untyped-def]
    """Run the serving subprocess and return what it measured."""
    return c.run_child(_CHILD, [str(docs), str(index), json.dumps(questions)], timeout=1200)


def run(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a short smoke run (5,000 passages)")
    parser.add_argument("--passages", type=int, default=None, help="passages to serve (default 100,000)")
    parser.add_argument("--questions", type=int, default=None, help="questions the subprocess answers (default 60)")
    args = parser.parse_args(argv)
    target_passages = args.passages or (5_000 if args.quick else 100_000)
    questions = c.cycled(c.eval_questions(), args.questions or (10 if args.quick else 60))
    c.print_header(f"peak RSS serving {target_passages:,} passages", args.quick)
    report = c.Report("memory", quick=args.quick)

    from index.embedder import SentenceTransformerEmbedder
    from index.engine import Engine
    from index.store import IndexStore

    model_id = SentenceTransformerEmbedder().model_id  # known without loading the model
    with c.scratch("memory") as tmp:
        docs = tmp / "documents"
        articles = -(-target_passages // PARAGRAPHS)
        t0 = time.perf_counter()
        c.write_synthetic_articles(docs, articles, seed=17, paragraphs=(PARAGRAPHS, PARAGRAPHS), sentences=(2, 3))
        fake = c.RandomEmbedder(model_id)
        config = Engine(docs, tmp / "index", embedder=fake).config
        built = IndexStore(tmp / "index").sync(docs, fake, config)
        print(
            f"built {built.documents:,} articles, {built.passages:,} passages (random vectors) in "
            f"{time.perf_counter() - t0:.0f} s; index folder {_du(tmp / 'index') / 2**20:.0f} MiB",
            flush=True,
        )
        if built.passages < target_passages:
            report.note(f"the splitter made {built.passages:,} passages, fewer than {target_passages:,}")

        big = serve(docs, tmp / "index", questions)
        small_docs = tmp / "small"
        c.copy_extended_corpus(small_docs)
        serve(small_docs, tmp / "small-index", questions[:1])  # builds the small index: not measured
        small = serve(small_docs, tmp / "small-index", questions)

    if big["rebuilt"]:
        report.note("the engine rebuilt the index instead of opening it: its figures include a build")
    for label, res in (("extended corpus", small), (f"{big['passages']:,} passages", big)):
        print(f"{label}: " + ", ".join(f"{name} {s['VmRSS']:.0f}" for name, s in res["stages"]) + " (MiB RSS)")
        print(
            f"  peak (VmHWM) {res['peak_mib']:.0f} MiB, after each stage: "
            + ", ".join(f"{s['VmHWM']:.0f}" for _, s in res["stages"])
            + f"; faiss {res['faiss']}"
        )
    peak = big["peak_mib"]
    report.add(
        f"peak RSS serving {big['passages']:,} passages",
        peak,
        "MiB",
        floor=small["peak_mib"],
        ratio=peak / small["peak_mib"],
        target=f"<= {TARGET_MIB:.0f} MiB",
        met=peak <= TARGET_MIB,
        note=f"faiss {big['faiss']}; floor = same process over the 56-passage corpus",
    )
    stages = dict((name, s["VmRSS"]) for name, s in big["stages"])
    names = [name for name, _ in big["stages"]]
    for before, after in itertools.pairwise(names):
        report.add(f"  RSS added by: {after}", stages[after] - stages[before], "MiB")
    report.add("  index cost (peak - floor's peak)", peak - small["peak_mib"], "MiB")
    for key, label in (("answer", "answer p50"), ("floor", "encode + exact search p50"), ("lexical", "FTS5 bm25 p50")):
        print(c.summary(f"{label} over {big['passages']:,} passages", big[key]))
    report.add(
        f"answer p50 over {big['passages']:,} passages",
        c.p50(big["answer"]) * 1e3,
        "ms",
        floor=c.p50(big["floor"]) * 1e3,
        ratio=c.p50(big["answer"]) / c.p50(big["floor"]),
        note="random vectors; informative only",
    )
    report.add(f"  of which lexical_search p50 ({big['passages']:,} passages)", c.p50(big["lexical"]) * 1e3, "ms")
    report.add(
        "  lexical_search CPU p50 (thread_time)",
        c.p50(big["lexical_cpu"]) * 1e3,
        "ms",
        note=f"rows matching the OR query: median {c.p50(big['matches']):,.0f} of {big['passages']:,}",
    )
    print(c.summary("lexical_search CPU time", big["lexical_cpu"]))
    print(f"rows matching each question's OR query (first 10): {big['matches']}")
    report.emit()


def _du(path) -> int:  # type: ignore[no-untyped-def]
    """Bytes under a folder."""
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


if __name__ == "__main__":
    c.main_guard(run)
