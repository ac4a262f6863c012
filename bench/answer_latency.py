"""Answer latency on small corpora: in process (Engine.answer) and in batch (`talksbot ask --json`), against the floor.

Corpora: the two shipped articles (documents/, where the issue measured 1.84x in batch) and the
extended evaluation corpus (documents/ + tests/eval/corpus/), each indexed with the real bundled
model. Questions: tests/eval/questions.yaml, cycled to --questions (default 242).

Floor, measured in the same run and interleaved question by question with the subject: the
engine's own question encoder (the ONNX export it made when indexing; sentence-transformers if
there is none) encoding the question, plus an exact FAISS search (IndexFlatIP) over the same
passage vectors for as many candidates as the engine asks for, on one thread or on all cores,
whichever is faster in this run. Target: p50 <= 1.3x floor, in process and in batch.

Batch: `talksbot ask --json` reads the questions from stdin and writes one line each; the time
per question is the median gap between consecutive lines (the process's start-up is not in
it). Its floor is taken in this process right before and after, over the same index.

Also printed, to say where the time goes: the answer pipeline with the question vector already
computed (everything but the model), and, for comparison with earlier runs, the same questions
encoded by sentence-transformers (torch) at its default threads and at one.

Run: .venv/bin/python bench/answer_latency.py [--quick] [--questions N]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

import common as c
import numpy as np

TARGET_RATIO = 1.3


class _PrecomputedQueries:
    """The engine's question encoder, but questions come back from a table: times the pipeline without the model."""

    def __init__(self, embedder, vectors: dict[str, np.ndarray]) -> None:  # type: ignore[no-untyped-def]
        self._embedder = embedder
        self._vectors = vectors

    def __getattr__(self, name: str):  # type: ignore[no-untyped-def]
        return getattr(self._embedder, name)

    def embed_queries(self, texts):  # type: ignore[no-untyped-def]
        return np.stack([self._vectors[t] for t in texts])


def floors(engine):  # type: ignore[no-untyped-def]
    """The floor subjects: the engine's question encoder + exact search, on one thread and on all cores."""
    import faiss

    flat, k = c.floor_index(engine)
    encoder = engine.question_encoder
    cores = faiss.omp_get_max_threads()

    def at(threads: int):  # type: ignore[no-untyped-def]
        def go(q: object) -> None:
            vector = encoder.embed_queries([q])
            faiss.omp_set_num_threads(threads)
            try:
                flat.search(vector, k)
            finally:
                faiss.omp_set_num_threads(cores)

        return go

    return {"floor, 1 thread": at(1), f"floor, {cores} threads": at(cores)}


def best_floor(times: dict[str, list[float]]) -> str:
    """The floor subject with the lowest median in this run."""
    return min((n for n in times if n.startswith("floor")), key=lambda n: c.p50(times[n]))


def in_process(report: c.Report, label: str, engine, questions: list[str]) -> None:  # type: ignore[no-untyped-def]
    """Engine.answer against its floor, interleaved; the pipeline without the model; rows for the report."""
    from index.search import Searcher

    encoder = engine.question_encoder
    cached = {q: encoder.embed_queries([q])[0] for q in set(questions)}
    no_model = Searcher(engine.searcher().snapshot, _PrecomputedQueries(encoder, cached), engine.search_config)
    subjects = {"answer": lambda q: engine.answer(q), "pipeline": lambda q: no_model.answer(q), **floors(engine)}
    for q in questions[:10]:  # warm-up: first calls allocate
        for f in subjects.values():
            f(q)
    t = c.interleaved(questions, subjects)
    for name in subjects:
        print(c.summary(f"[{label}] {name}", t[name]))
    floor = best_floor(t)
    ratio = c.p50(t["answer"]) / c.p50(t[floor])
    report.add(
        f"answer p50 in process, {label}",
        c.p50(t["answer"]) * 1e3,
        "ms",
        floor=c.p50(t[floor]) * 1e3,
        ratio=ratio,
        target=f"<= {TARGET_RATIO}x floor",
        met=ratio <= TARGET_RATIO,
        note=f"{floor}; questions by {type(encoder).__name__}",
    )
    report.add(
        f"answer p95 in process, {label}",
        c.p95(t["answer"]) * 1e3,
        "ms",
        floor=c.p95(t[floor]) * 1e3,
        ratio=c.p95(t["answer"]) / c.p95(t[floor]),
    )
    report.add(f"  pipeline without the model p50, {label}", c.p50(t["pipeline"]) * 1e3, "ms")
    cpu = []
    for q in questions:
        t0 = time.thread_time()
        no_model.answer(q)
        cpu.append(time.thread_time() - t0)
    report.add(
        f"  pipeline without the model, CPU p50, {label}",
        c.p50(cpu) * 1e3,
        "ms",
        note="thread CPU time: robust to a busy machine",
    )


_BATCH_TIMER = """
import sys, time, subprocess
cmd = sys.argv[1:]
proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, bufsize=1)
questions = sys.stdin.read()
proc.stdin.write(questions)
proc.stdin.close()
stamps = []
for line in proc.stdout:
    stamps.append(time.perf_counter())
proc.wait()
print(" ".join(repr(s) for s in stamps))
"""


def batch(report: c.Report, label: str, engine, docs: Path, index: Path, questions: list[str]) -> None:  # type: ignore[no-untyped-def]
    """`talksbot ask --json` over stdin: the median gap between answers, against the floor taken around it."""
    talksbot = str(Path(sys.executable).with_name("talksbot"))
    cmd = [talksbot, "--env-file", os.devnull, "ask", "--json", "--documents", str(docs), "--index-dir", str(index)]
    env = {k: v for k, v in os.environ.items() if k not in ("DOCUMENTS_DIR", "INDEX_DIR", "DISCORD_TOKEN")}
    subjects = floors(engine)
    before = c.interleaved(questions, subjects)
    proc = subprocess.run(
        [sys.executable, "-c", _BATCH_TIMER, *cmd],
        input="\n".join(questions) + "\n",
        capture_output=True,
        text=True,
        env=env,
        timeout=1200,
    )
    stamps = [float(s) for s in proc.stdout.split()]
    after = c.interleaved(questions, subjects)
    gaps = list(np.diff(stamps))
    if len(stamps) != len(questions):
        report.note(f"batch: {len(stamps)} lines for {len(questions)} questions ({proc.stderr[-300:]})")
    t = {name: before[name] + after[name] for name in subjects}
    floor = best_floor(t)
    print(c.summary(f"[{label}] batch: gap between answers", gaps))
    print(c.summary(f"[{label}] batch: {floor}", t[floor]))
    ratio = c.p50(gaps) / c.p50(t[floor])
    report.add(
        f"answer p50 in batch (`ask --json`), {label}",
        c.p50(gaps) * 1e3,
        "ms",
        floor=c.p50(t[floor]) * 1e3,
        ratio=ratio,
        target=f"<= {TARGET_RATIO}x floor",
        met=ratio <= TARGET_RATIO,
        note=f"{floor}, taken in the bench's process before and after the batch",
    )


def torch_encode(report: c.Report, embedder, questions: list[str]) -> None:  # type: ignore[no-untyped-def]
    """sentence-transformers' own encode, at its default threads and at one: the old path, for comparison."""
    import torch

    default_threads = torch.get_num_threads()

    def encode_at(threads: int):  # type: ignore[no-untyped-def]
        def go(q: object) -> None:
            torch.set_num_threads(threads)
            embedder.embed_queries([q])

        return go

    try:
        te = c.interleaved(questions, {"default": encode_at(default_threads), "one": encode_at(1)})
    finally:
        torch.set_num_threads(default_threads)
    print(c.summary(f"torch encode @{default_threads} threads", te["default"]))
    print(c.summary("torch encode @1 thread", te["one"]))
    old = f"  sentence-transformers encode p50 @{default_threads} threads (old path)"
    report.add(old, c.p50(te["default"]) * 1e3, "ms")
    report.add("  sentence-transformers encode p50 @1 thread", c.p50(te["one"]) * 1e3, "ms")


def run(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a short smoke run")
    parser.add_argument("--questions", type=int, default=None, help="questions to ask (default 242, quick 24)")
    args = parser.parse_args(argv)
    n = args.questions or (24 if args.quick else 242)
    c.print_header("answer latency on small corpora (in process and in batch)", args.quick)
    report = c.Report("answer_latency", quick=args.quick)

    from index.engine import Engine

    embedder, load_s = c.load_model()
    questions = c.cycled(c.eval_questions(), n)
    print(f"model loaded in {load_s:.1f} s; {n} questions ({len(set(questions))} distinct)", flush=True)
    with c.scratch("answer") as tmp:
        for label, folders in (("2 shipped articles", (c.ROOT / "documents",)), ("extended corpus", None)):
            docs, index = tmp / label.replace(" ", "-") / "documents", tmp / label.replace(" ", "-") / "index"
            docs.mkdir(parents=True)
            for path in c.article_files(folders) if folders else c.article_files():
                (docs / path.name).write_bytes(path.read_bytes())
            engine = Engine(docs, index, embedder=embedder)
            sync = engine.reindex()
            print(f"[{label}] {sync.documents} articles, {sync.passages} passages", flush=True)
            in_process(report, label, engine, questions)
            if folders:  # the batch measurement: the shipped articles
                batch(report, label, engine, docs, index, questions)
        torch_encode(report, embedder, questions[: max(20, n // 4)])
    report.emit()


if __name__ == "__main__":
    c.main_guard(run)
