"""In-process answer latency: question in, Answer out (Engine.answer), against the model's floor.

Corpus: the extended evaluation corpus (documents/ + tests/eval/corpus/), indexed with the real
bundled model. Questions: tests/eval/questions.yaml, cycled to --questions (default 242).

Floor, measured in the same run and interleaved question by question with the subject: the same
model encoding the question (``embed_queries``) plus an exact FAISS search (IndexFlatIP) over the
same passage vectors, for as many candidates as the engine asks for. Target: p50 <= 1.3x floor.

Also printed, to say where the time goes: the answer pipeline with the question vector already
computed (everything but the model), and the model's encode at 1 torch thread against the
default (all cores), since the 2-core default is what the bot uses.

Run: .venv/bin/python bench/answer_latency.py [--quick] [--questions N]
"""

from __future__ import annotations

import argparse
import time

import common as c
import numpy as np

TARGET_RATIO = 1.3


class _PrecomputedQueries:
    """The engine's embedder, but questions come back from a table: times the pipeline without the model."""

    def __init__(self, embedder, vectors: dict[str, np.ndarray]) -> None:  # type: ignore[no-untyped-def]
        self._embedder = embedder
        self._vectors = vectors

    def __getattr__(self, name: str):  # type: ignore[no-untyped-def]
        return getattr(self._embedder, name)

    def embed_queries(self, texts):  # type: ignore[no-untyped-def]
        return np.stack([self._vectors[t] for t in texts])


def run(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a short smoke run")
    parser.add_argument("--questions", type=int, default=None, help="questions to ask (default 242, quick 24)")
    args = parser.parse_args(argv)
    n = args.questions or (24 if args.quick else 242)
    c.print_header("answer latency (in process)", args.quick)
    report = c.Report("answer_latency", quick=args.quick)

    import torch

    from index.engine import Engine
    from index.search import Searcher

    embedder, load_s = c.load_model()
    questions = c.cycled(c.eval_questions(), n)
    with c.scratch("answer") as tmp:
        docs = tmp / "documents"
        c.copy_extended_corpus(docs)
        engine = Engine(docs, tmp / "index", embedder=embedder)
        sync = engine.reindex()
        snapshot = engine.searcher().snapshot
        flat, k = c.floor_index(engine)
        print(
            f"corpus: {sync.documents} articles, {sync.passages} passages; model loaded in {load_s:.1f} s; "
            f"{n} questions ({len(set(questions))} distinct); torch threads {torch.get_num_threads()}",
            flush=True,
        )

        def floor(q: object) -> None:
            flat.search(embedder.embed_queries([q]), k)

        def answer(q: object) -> None:
            engine.answer(q)  # type: ignore[arg-type]

        cached = {q: embedder.embed_queries([q])[0] for q in set(questions)}
        no_model = Searcher(snapshot, _PrecomputedQueries(embedder, cached), engine.search_config)

        def pipeline(q: object) -> None:
            no_model.answer(q)  # type: ignore[arg-type]

        for q in questions[:10]:  # warm-up: first calls allocate
            floor(q)
            answer(q)
            pipeline(q)
        t = c.interleaved(questions, {"floor": floor, "answer": answer, "pipeline": pipeline})
        ratios = np.array(t["answer"]) / np.array(t["floor"])
        for name in ("floor", "answer", "pipeline"):
            print(c.summary(name, t[name]))
        print(f"per-question ratio answer/floor: p50 {np.median(ratios):.2f}x, p95 {np.percentile(ratios, 95):.2f}x")

        ratio = c.p50(t["answer"]) / c.p50(t["floor"])
        report.add(
            "answer p50",
            c.p50(t["answer"]) * 1e3,
            "ms",
            floor=c.p50(t["floor"]) * 1e3,
            ratio=ratio,
            target=f"<= {TARGET_RATIO}x floor",
            met=ratio <= TARGET_RATIO,
        )
        report.add(
            "answer p95",
            c.p95(t["answer"]) * 1e3,
            "ms",
            floor=c.p95(t["floor"]) * 1e3,
            ratio=c.p95(t["answer"]) / c.p95(t["floor"]),
        )
        report.add(
            "pipeline without the model p50",
            c.p50(t["pipeline"]) * 1e3,
            "ms",
            note="Searcher.answer with the question vector precomputed",
        )
        # CPU time of the same single-threaded work: what it costs when it does not wait for a core.
        cpu = []
        for q in questions:
            t0 = time.thread_time()
            pipeline(q)
            cpu.append(time.thread_time() - t0)
        print(c.summary("pipeline CPU time (thread_time)", cpu))
        report.add(
            "pipeline without the model, CPU p50",
            c.p50(cpu) * 1e3,
            "ms",
            note="thread CPU time: robust to a busy machine",
        )

        # The thread count: the default uses every core for one 15-token question.
        default_threads = torch.get_num_threads()
        if default_threads > 1:
            sample = questions[: max(20, n // 4)]

            def encode_at(threads: int):  # type: ignore[no-untyped-def]
                def go(q: object) -> None:
                    torch.set_num_threads(threads)
                    embedder.embed_queries([q])

                return go

            try:
                te = c.interleaved(sample, {"default": encode_at(default_threads), "one": encode_at(1)})
            finally:
                torch.set_num_threads(default_threads)
            print(c.summary(f"encode @{default_threads} threads", te["default"]))
            print(c.summary("encode @1 thread", te["one"]))
            report.add(f"encode p50 @{default_threads} threads (default)", c.p50(te["default"]) * 1e3, "ms")
            report.add(
                "encode p50 @1 thread", c.p50(te["one"]) * 1e3, "ms", ratio=c.p50(te["one"]) / c.p50(te["default"])
            )
            if c.p50(te["one"]) < 0.8 * c.p50(te["default"]):
                report.note(
                    f"one question encodes faster on 1 torch thread ({c.ms(c.p50(te['one']))}) than on "
                    f"{default_threads} ({c.ms(c.p50(te['default']))}) at load {c.loadavg():.1f}: OpenMP threads "
                    "spin and wait for each other when the cores are shared"
                )
        share = (c.p50(t["answer"]) - c.p50(t["floor"])) / c.p50(t["answer"])
        print(f"time outside the floor: {share:.0%} of the median answer")
    report.emit()


if __name__ == "__main__":
    c.main_guard(run)
