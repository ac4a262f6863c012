"""Adding one article to an index of 1,000 against rebuilding all 1,001, with the real model, in one run.

Corpus: --articles (default 1,000) short synthetic articles (3-6 paragraphs of the extended
corpus's real sentences, reshuffled, fixed seed) plus extra ones written the same way.

1. Build the index of the 1,000 (timed: a full build from nothing).
2. --repeats times: copy one extra article in and ``Engine.reindex()`` (timed: add one; the
   engine also opens the new generation, as /add-article and --watch do), then delete it and
   reindex again (timed: remove one), so every add starts from the same 1,000.
3. Put one extra article back and ``Engine.reindex(rebuild=True)`` over the 1,001 (timed: full
   rebuild). The ratio is median(add one) / full rebuild; target <= 5 %.

Also printed: what the add's time is made of (embedding the new passages, scanning and hashing
the folder, the rest: copying SQLite, FAISS read/update/write, checksums, fsync, reopening).

Run: .venv/bin/python bench/incremental.py [--quick] [--articles N] [--repeats N]
"""

from __future__ import annotations

import argparse
import shutil
import time

import common as c

TARGET_PERCENT = 5.0


def run(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a short smoke run")
    parser.add_argument("--articles", type=int, default=None, help="articles in the index (default 1000, quick 40)")
    parser.add_argument("--repeats", type=int, default=None, help="add/remove rounds (default 5, quick 2)")
    args = parser.parse_args(argv)
    n = args.articles or (40 if args.quick else 1000)
    repeats = args.repeats or (2 if args.quick else 5)
    c.print_header(f"add one article to {n} vs rebuild {n + 1}", args.quick)
    report = c.Report("incremental", quick=args.quick)

    from index.documents import scan_documents
    from index.engine import Engine

    embedder, _ = c.load_model()
    timed = c.TimedEmbedder(embedder)
    shape = dict(seed=13, paragraphs=(3, 6), sentences=(2, 4))
    with c.scratch("incremental") as tmp:
        docs, extra = tmp / "documents", tmp / "extra"
        c.write_synthetic_articles(docs, n, **shape)  # type: ignore[arg-type]
        extras = c.write_synthetic_articles(extra, repeats, start=n, **shape)  # type: ignore[arg-type]
        engine = Engine(docs, tmp / "index", embedder=timed)

        t0 = time.perf_counter()
        first = engine.reindex()
        build_s = time.perf_counter() - t0
        print(f"built {first.documents} articles, {first.passages} passages in {build_s:.1f} s", flush=True)

        add_s, add_sync_s, add_embed_s, remove_s, added_passages = [], [], [], [], []
        for path in extras:
            shutil.copyfile(path, docs / path.name)
            timed.embed_seconds = 0.0
            t0 = time.perf_counter()
            rep = engine.reindex()
            add_s.append(time.perf_counter() - t0)
            add_sync_s.append(rep.seconds)
            add_embed_s.append(timed.embed_seconds)
            added_passages.append(rep.passages_added)
            if rep.added != [path.name]:
                report.note(f"expected to add only {path.name}, sync added {rep.added}: figures are suspect")
            (docs / path.name).unlink()
            t0 = time.perf_counter()
            engine.reindex()
            remove_s.append(time.perf_counter() - t0)
            print(
                f"  add {path.name}: {add_s[-1] * 1e3:.0f} ms (sync {rep.seconds * 1e3:.0f} ms, embedding "
                f"{rep.passages_added} passages {timed.embed_seconds * 1e3:.0f} ms); "
                f"remove {remove_s[-1] * 1e3:.0f} ms",
                flush=True,
            )
        scan_s = []
        for _ in range(3):
            t0 = time.perf_counter()
            scan_documents(docs)
            scan_s.append(time.perf_counter() - t0)

        shutil.copyfile(extras[0], docs / extras[0].name)
        t0 = time.perf_counter()
        full = engine.reindex(rebuild=True)
        rebuild_s = time.perf_counter() - t0
        print(f"rebuilt {full.documents} articles, {full.passages} passages in {rebuild_s:.1f} s", flush=True)

    add = c.p50(add_s)
    percent = 100 * add / rebuild_s
    report.add(
        f"add one article to {n} (Engine.reindex) p50",
        add * 1e3,
        "ms",
        floor=rebuild_s * 1e3,
        ratio=add / rebuild_s,
        target=f"<= {TARGET_PERCENT:.0f} % of full rebuild",
        met=percent <= TARGET_PERCENT,
        note=f"{percent:.2f} % of the rebuild; floor column = full rebuild",
    )
    report.add(
        "add one: ratio to full rebuild",
        percent,
        "%",
        target=f"<= {TARGET_PERCENT:.0f} %",
        met=percent <= TARGET_PERCENT,
    )
    report.add(f"full rebuild of {n + 1} articles ({full.passages} passages)", rebuild_s, "s")
    report.add(f"first build of {n} articles", build_s, "s")
    report.add(
        "  add: embedding the new article",
        c.p50(add_embed_s) * 1e3,
        "ms",
        ratio=c.p50(add_embed_s) / add,
        note=f"{c.p50(added_passages):.0f} passages",
    )
    report.add(f"  add: scanning + hashing {n + 1} files", c.p50(scan_s) * 1e3, "ms", ratio=c.p50(scan_s) / add)
    rest = add - c.p50(add_embed_s) - c.p50(scan_s)
    report.add("  add: the rest (SQLite copy, FAISS, fsync, reopen)", rest * 1e3, "ms", ratio=rest / add)
    report.add("remove one article p50", c.p50(remove_s) * 1e3, "ms", ratio=c.p50(remove_s) / rebuild_s)
    report.emit()


if __name__ == "__main__":
    c.main_guard(run)
