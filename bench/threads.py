"""OpenMP threads and wait policy: question encode latency, batch throughput and exact search, quiet and loaded.

torch (its own libgomp) and faiss (another libgomp) run every operator as an OpenMP parallel
region on all cores by default, and libgomp's default wait policy keeps idle workers
spinning. When other processes compete for the cores, each region's barrier waits for a
worker the scheduler has put aside, and a 15-token question takes hundreds of milliseconds.
This script measures that, each configuration in a fresh process (the policy is read when
libgomp loads):

* default: what talksbot does today (torch and faiss on all cores, default wait policy);
* torch 1 thread: ``torch.set_num_threads(1)`` (TORCH_THREADS=1);
* PASSIVE: ``OMP_WAIT_POLICY=PASSIVE`` in the environment, all cores (idle workers sleep at once);

under three conditions: the machine as it is; with one extra busy process (a competing
CPU-bound program); and, inside the process, a second thread embedding batches the whole time
(a reindex while questions come in; the batch figure is then taken after it stops). The order of
configurations alternates between conditions. Figures: question encode p50/p95
(eval questions, one at a time), passages/s of a batch encode (batch 32), exact IndexFlatIP
single-query p50 over 100,000 vectors.

Run: .venv/bin/python bench/threads.py [--quick]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import textwrap
import time

import common as c

_CHILD = textwrap.dedent(
    """
    import json, sys, time, random
    import numpy as np
    sys.path.insert(0, sys.argv[1])
    import common as c
    threads, n_q, n_p, n_flat, background = (int(x) for x in sys.argv[2:7])
    import torch
    if threads:
        torch.set_num_threads(threads)
    import faiss
    embedder, _ = c.load_model()
    model = embedder.load()
    questions = c.cycled(c.eval_questions(), n_q)
    rng = random.Random(5)
    pool = c.corpus_sentences()
    texts = [" ".join(rng.sample(pool, 3)) for _ in range(n_p)]
    for q in questions[:5]:
        embedder.embed_queries([q])
    if background:  # a reindex embedding in another thread of the same process, as /reindex or --watch do
        import threading
        stop = threading.Event()
        def reindex():
            while not stop.is_set():
                model.encode(texts[:32], batch_size=32, show_progress_bar=False)
        worker = threading.Thread(target=reindex, daemon=True)
        worker.start()
        time.sleep(0.5)
    enc = []
    for q in questions:
        t0 = time.perf_counter()
        embedder.embed_queries([q])
        enc.append(time.perf_counter() - t0)
    if background:
        stop.set()
        worker.join()
    t0 = time.perf_counter()
    model.encode(texts, batch_size=32, show_progress_bar=False)
    batch = time.perf_counter() - t0
    gen = np.random.default_rng(0)
    x = gen.standard_normal((n_flat, 384), dtype=np.float32)
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    flat = faiss.IndexFlatIP(384)
    flat.add(x)
    flat_t = []
    for q in x[:40]:
        t0 = time.perf_counter()
        flat.search(q.reshape(1, -1), 30)
        flat_t.append(time.perf_counter() - t0)
    print("RESULT " + json.dumps({"encode": enc, "batch": batch, "passages": n_p, "flat": flat_t,
                                  "torch_threads": torch.get_num_threads()}))
    """
)

CONFIGS = {
    "default": ({}, 0),
    "torch 1 thread": ({}, 1),
    "OMP_WAIT_POLICY=PASSIVE": ({"OMP_WAIT_POLICY": "PASSIVE"}, 0),
}


def child(env_extra: dict[str, str], threads: int, sizes: tuple[int, int, int], background: bool) -> dict:
    """One configuration in a fresh process."""
    return c.run_child(
        _CHILD,
        [str(c.ROOT / "bench"), str(threads), *map(str, sizes), str(int(background))],
        env=env_extra,
        drop=("OMP_WAIT_POLICY", "OMP_NUM_THREADS", "GOMP_SPINCOUNT"),
    )


def run(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a short smoke run (one pass, small sizes)")
    parser.add_argument("--passes", type=int, default=1, help="passes over the configurations (order reversed each)")
    args = parser.parse_args(argv)
    sizes = (15, 32, 20_000) if args.quick else (50, 64, 100_000)
    passes = args.passes
    c.print_header("OpenMP threads and wait policy", args.quick)
    report = c.Report("threads", quick=args.quick)
    names = list(CONFIGS)
    for condition in ("as is", "+1 busy process", "+reindex thread in-process"):
        hogs = []
        if condition == "+1 busy process":
            hogs = [subprocess.Popen([sys.executable, "-c", "while True: pass"])]
            time.sleep(1.0)
        try:
            got: dict[str, list[dict]] = {n: [] for n in names}
            for p in range(passes):
                flip = (p + len(got) + len(condition)) % 2  # the order alternates between passes and conditions
                for name in reversed(names) if flip else names:
                    env_extra, threads = CONFIGS[name]
                    got[name].append(child(env_extra, threads, sizes, condition.startswith("+reindex")))
        finally:
            for h in hogs:
                h.kill()  # our own child, by its handle
                h.wait()
        print(f"\n[{condition}] load {c.loadavg():.1f}")
        base = None
        for name in names:
            enc = [t for r in got[name] for t in r["encode"]]
            flat = [t for r in got[name] for t in r["flat"]]
            rate = c.p50([r["passages"] / r["batch"] for r in got[name]])
            print(c.summary(f"{name}: question encode", enc) + f"  batch {rate:.0f} passages/s")
            print(c.summary(f"{name}: exact search {sizes[2]:,}", flat))
            if base is None:
                base = c.p50(enc)
            report.add(
                f"{condition}: {name}: encode p50", c.p50(enc) * 1e3, "ms", floor=base * 1e3, ratio=c.p50(enc) / base
            )
            report.add(f"{condition}: {name}: encode p95", c.p95(enc) * 1e3, "ms")
            report.add(f"{condition}: {name}: batch encode", rate, "passages/s")
            report.add(f"{condition}: {name}: exact search {sizes[2]:,} p50", c.p50(flat) * 1e3, "ms")
    report.emit()


if __name__ == "__main__":
    c.main_guard(run)
