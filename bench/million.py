"""Search over 1,000,000 384-d unit vectors: exact (IndexFlatIP) vs the approximate index the store builds.

The approximate index is exactly what the store would build for that many passages:
``index.store.vectors.faiss_kind_for(n)`` and ``index.store.vectors.build_faiss_index``. For each data set:
build time, single-query p50/p95 latency (k=10, one query at a time on one thread, as the store
searches) and recall@10 against exact search over --queries queries, then an nprobe sweep of the
same index. The store's IVF keeps its vectors as 8-bit scalar-quantised residuals (SQ8).

Two data sets, because the choice decides the answer:
* uniform: independent uniform unit vectors, queries drawn the same way. They have no
  neighbourhood structure (a query's nearest vector is barely nearer than a random one), the
  degenerate worst case for any approximate index.
* clustered: 50 topics > 2,000 clusters (Gaussian on the sphere, spreads varying), queries =
  data points perturbed by noise. Real sentence embeddings look like this: the figures printed
  for the real model on the evaluation questions (cosine to the nearest sentence vs to a random
  one) show how far above the background a real nearest neighbour stands.

Targets: p50 <= 20 ms and recall@10 >= 0.95. Alternatives (--alt NLIST:NPROBE, repeatable; by
default the same 1,024 lists probing 64 with float32 vectors, IVFFlat, as the store built before it
quantised: four times the memory) are measured on the clustered set.

Run: .venv/bin/python bench/million.py [--quick] [--n N] [--queries N] [--alt 1024:64] [--data clustered]
"""

from __future__ import annotations

import argparse
import gc
import time

import common as c
import numpy as np

DIM = 384
K = 10
TARGET_MS = 20.0
TARGET_RECALL = 0.95


def unit_rows(rng: np.random.Generator, n: int, dim: int = DIM, chunk: int = 100_000) -> np.ndarray:
    """n independent uniform unit vectors, generated in chunks to bound temporary memory."""
    out = np.empty((n, dim), dtype=np.float32)
    for s in range(0, n, chunk):
        block = rng.standard_normal((min(chunk, n - s), dim), dtype=np.float32)
        block /= np.linalg.norm(block, axis=1, keepdims=True)
        out[s : s + len(block)] = block
    return out


def clustered_rows(
    rng: np.random.Generator, n: int, clusters: int = 2000, topics: int = 50
) -> tuple[np.ndarray, np.ndarray]:
    """A mixture of Gaussian clusters on the sphere, grouped into topics (graded similarity); rows and cluster labels.

    Spreads are chosen so that clusters overlap a little, as real topics do: the share of a
    query's true top-10 inside its own cluster is printed as a gauge of how easy the set is.
    """
    topic_centres = unit_rows(rng, topics)
    of_topic = rng.integers(0, topics, clusters)
    centres = topic_centres[of_topic] + rng.standard_normal((clusters, DIM), dtype=np.float32) / np.sqrt(DIM)
    centres /= np.linalg.norm(centres, axis=1, keepdims=True)  # clusters of one topic: cosine about 0.5
    spread = rng.uniform(1.0, 2.0, clusters).astype(np.float32)  # point-centre cosine 0.45-0.71
    labels = rng.integers(0, clusters, n)
    out = np.empty((n, DIM), dtype=np.float32)
    for s in range(0, n, 100_000):
        lab = labels[s : s + 100_000]
        block = centres[lab] + spread[lab, None] * rng.standard_normal((len(lab), DIM), dtype=np.float32) / np.sqrt(DIM)
        out[s : s + len(lab)] = block / np.linalg.norm(block, axis=1, keepdims=True)
    return out, labels


def perturbed_queries(
    rng: np.random.Generator, data: np.ndarray, count: int, noise: float = 1.5
) -> tuple[np.ndarray, np.ndarray]:
    """Queries near data points (a random row plus Gaussian noise: cosine about 0.55 to it, as a real
    question has to its best sentence); returns the queries and the rows they came from."""
    source = rng.choice(len(data), count, replace=False)
    q = data[source] + noise * rng.standard_normal((count, DIM), dtype=np.float32) / np.sqrt(DIM)
    return q / np.linalg.norm(q, axis=1, keepdims=True), source


def single_query_times(index, queries: np.ndarray, k: int = K) -> tuple[list[float], np.ndarray]:  # type: ignore[no-untyped-def]
    """Search one query at a time on one thread (as the store does); (seconds per query, result ids)."""
    import faiss

    times, ids = [], np.empty((len(queries), k), dtype=np.int64)
    threads = faiss.omp_get_max_threads()
    faiss.omp_set_num_threads(1)
    try:
        for i, q in enumerate(queries):
            t0 = time.perf_counter()
            _, found = index.search(q.reshape(1, -1), k)
            times.append(time.perf_counter() - t0)
            ids[i] = found[0]
    finally:
        faiss.omp_set_num_threads(threads)
    return times, ids


def recall_at_k(found: np.ndarray, truth: np.ndarray) -> float:
    """Mean share of the true top-k found."""
    return float(np.mean([len(set(f) & set(t)) / len(t) for f, t in zip(found, truth, strict=True)]))


def describe(top: np.ndarray, pairs: np.ndarray) -> str:
    """Cosine of queries to their 1st and 10th nearest vector, in units of a uniform background, and anisotropy."""
    sd = 1 / np.sqrt(DIM)  # cosine spread of independent uniform unit vectors
    return (
        f"cos(query, 1st) {top[:, 0].mean():.3f} = {top[:, 0].mean() / sd:.1f} sd of uniform noise, "
        f"cos(query, 10th) {top[:, K - 1].mean():.3f}; cos between two random data vectors "
        f"{pairs.mean():.3f} +- {pairs.std():.3f} (uniform: 0 +- {sd:.3f})"
    )


def data_pairs(data: np.ndarray, rng: np.random.Generator, count: int = 20_000) -> np.ndarray:
    """Cosines of random pairs of data vectors."""
    a, b = rng.integers(0, len(data), (2, count))
    return np.einsum("ij,ij->i", data[a], data[b])


def real_model_structure() -> str:
    """The same figures for the real model: eval questions against the corpus's sentences."""
    embedder, _ = c.load_model()
    sentences = c.corpus_sentences()
    s = embedder.embed_queries(sentences)
    q = embedder.embed_queries(c.eval_questions())
    top = np.sort(q @ s.T, axis=1)[:, ::-1]
    pairs = (s @ s.T)[np.triu_indices(len(s), 1)]
    return f"{len(sentences)} real sentences, {len(q)} eval questions: " + describe(top, pairs)


def run(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a short smoke run (20,000 vectors)")
    parser.add_argument("--n", type=int, default=None, help="vectors (default 1,000,000)")
    parser.add_argument("--queries", type=int, default=None, help="queries for recall and latency (default 300)")
    parser.add_argument("--exact-queries", type=int, default=None, help="single queries timed on the exact index")
    parser.add_argument("--alt", action="append", default=None, help="another IVF as NLIST:NPROBE (clustered set)")
    parser.add_argument("--no-real", action="store_true", help="skip the real model's structure figures")
    parser.add_argument("--data", action="append", choices=("uniform", "clustered"), help="only this data set")
    args = parser.parse_args(argv)
    n = args.n or (20_000 if args.quick else 1_000_000)
    nq = args.queries or (50 if args.quick else 300)
    n_exact = args.exact_queries or (20 if args.quick else 60)
    c.print_header(f"search over {n:,} vectors of {DIM} floats", args.quick)
    report = c.Report("million", quick=args.quick)

    import faiss

    from index.store.vectors import build_faiss_index, faiss_kind_for

    spec = faiss_kind_for(n)
    if spec["kind"] != "ivf":
        report.note(f"the store keeps exact search for {n:,} vectors ({spec}); approximate figures use IVF anyway")
        spec = {"kind": "ivf", "nlist": 256, "nprobe": 16}
    print(
        f"store's choice for {n:,} passages: {spec}; faiss {faiss.__version__}, "
        f"omp threads {faiss.omp_get_max_threads()}"
    )
    alts = args.alt if args.alt is not None else ([] if args.quick else ["1024:64"])  # IVFFlat for comparison

    if not args.no_real:
        print("real model:", real_model_structure(), flush=True)

    for name in args.data or ("uniform", "clustered"):
        rng = np.random.default_rng(2025)
        t0 = time.perf_counter()
        labels = source = None
        if name == "uniform":
            data = unit_rows(rng, n)
            queries = unit_rows(rng, nq)
        else:
            data, labels = clustered_rows(rng, n, clusters=min(2000, max(20, n // 500)))
            queries, source = perturbed_queries(rng, data, nq)
        print(f"\n[{name}] generated {n:,} vectors in {time.perf_counter() - t0:.1f} s", flush=True)

        exact = faiss.IndexFlatIP(DIM)
        exact.add(data)
        t0 = time.perf_counter()
        truth_scores, truth = exact.search(queries, K)  # batched (BLAS): ground truth
        print(f"[{name}] ground truth for {nq} queries in {time.perf_counter() - t0:.1f} s (batched)")
        print(f"[{name}] structure: {describe(truth_scores, data_pairs(data, rng))}", flush=True)
        if labels is not None:
            own = float(np.mean(labels[truth] == labels[source][:, None]))
            print(f"[{name}] share of the true top-10 in the query's own cluster: {own:.2f}")
            report.add(f"{name}: share of true top-10 in the query's own cluster", own, "")
        exact_t, _ = single_query_times(exact, queries[:n_exact])
        print(c.summary(f"[{name}] exact IndexFlatIP, single query", exact_t), flush=True)
        report.add(
            f"{name}: exact IndexFlatIP p50 (the reference)",
            c.p50(exact_t) * 1e3,
            "ms",
            note=f"{len(exact_t)} single queries",
        )
        del exact
        gc.collect()

        candidates = [("store", spec)] + (
            []
            if name == "uniform"
            else [("alt", {"kind": "ivf", "nlist": int(a.split(":")[0]), "nprobe": int(a.split(":")[1])}) for a in alts]
            # alt: float32 lists (IVFFlat), what the store built before it quantised: the memory/recall trade
        )
        for label, sp in candidates:
            t0 = time.perf_counter()
            index = build_faiss_index(data, np.arange(n, dtype=np.int64), sp, DIM)
            build_s = time.perf_counter() - t0
            times, found = single_query_times(index, queries)
            rec = recall_at_k(found, truth)
            codec = f" {sp['codec'].upper()}" if sp.get("codec") else ""
            tag = f"IVF{sp['nlist']}{codec} nprobe {sp['nprobe']}" + (" (store's choice)" if label == "store" else "")
            print(c.summary(f"[{name}] {tag}", times) + f"  recall@10={rec:.3f}  build {build_s:.0f} s", flush=True)
            met = c.p50(times) * 1e3 <= TARGET_MS and rec >= TARGET_RECALL
            report.add(
                f"{name}: {tag} p50",
                c.p50(times) * 1e3,
                "ms",
                floor=c.p50(exact_t) * 1e3,
                ratio=c.p50(times) / c.p50(exact_t),
                target=f"<= {TARGET_MS:.0f} ms",
                met=c.p50(times) * 1e3 <= TARGET_MS,
            )
            report.add(
                f"{name}: {tag} recall@10",
                rec,
                "",
                target=f">= {TARGET_RECALL}",
                met=rec >= TARGET_RECALL,
                note=f"both targets {'met' if met else 'NOT met'}",
            )
            report.add(f"{name}: {tag} build (train + add)", build_s, "s")
            # The sweep: the same trained index, more or fewer lists probed.
            best = None
            probes = [2**i for i in range(16)]  # 1, 2, 4, ... up to nlist
            for nprobe in probes:
                if nprobe > sp["nlist"]:
                    break
                index.nprobe = nprobe
                times_p, found_p = single_query_times(index, queries)
                rec_p = recall_at_k(found_p, truth)
                ok = c.p50(times_p) * 1e3 <= TARGET_MS and rec_p >= TARGET_RECALL
                print(
                    f"    nprobe {nprobe:5d}: p50 {c.p50(times_p) * 1e3:7.2f} ms  p95 {c.p95(times_p) * 1e3:7.2f} ms"
                    f"  recall@10 {rec_p:.3f}{'  <- meets both' if ok else ''}",
                    flush=True,
                )
                if rec_p >= TARGET_RECALL and best is None:
                    best = (nprobe, c.p50(times_p), rec_p)
                if rec_p >= 0.995 or c.p50(times_p) * 1e3 > 4 * TARGET_MS:
                    break
            if best is not None:
                report.add(
                    f"{name}: IVF{sp['nlist']} smallest nprobe with recall >= {TARGET_RECALL}: {best[0]}",
                    best[1] * 1e3,
                    "ms",
                    target=f"<= {TARGET_MS:.0f} ms",
                    met=best[1] * 1e3 <= TARGET_MS,
                    note=f"recall@10 {best[2]:.3f}",
                )
            else:
                report.add(
                    f"{name}: IVF{sp['nlist']} recall >= {TARGET_RECALL} within the sweep",
                    float("nan"),
                    "ms",
                    met=False,
                    note="not reached before p50 exceeded 4x the target",
                )
            del index
            gc.collect()
        del data
        gc.collect()
    _, peak = c.rss_mib()
    report.add("peak RSS of this benchmark", peak, "MiB")
    report.emit()


if __name__ == "__main__":
    c.main_guard(run)
