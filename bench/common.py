"""Shared pieces of the benchmark scripts: scratch folders, statistics, corpora, result rows.

Every script prints its figures and ends with one ``BENCH-JSON {...}`` line that
``bench/run_all.py`` collects into the final table. Nothing here asserts: a missed target
is a figure, not a failure.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import platform
import random
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
WORK = ROOT / "bench" / ".work"
for _path in (str(ROOT), str(ROOT / "tests")):
    if _path not in sys.path:
        sys.path.insert(0, _path)

from index.documents import ARTICLE_SUFFIXES, read_article  # noqa: E402
from index.embedder import EmbeddedPassage, PassageInput, normalize  # noqa: E402
from index.evaluation import load_eval_set  # noqa: E402
from index.passages import approximate_token_count  # noqa: E402
from index.sentences import split_sentences  # noqa: E402

QUESTIONS_FILE = ROOT / "tests" / "eval" / "questions.yaml"
EXTENDED_FOLDERS = (ROOT / "documents", ROOT / "tests" / "eval" / "corpus")
RESULT_PREFIX = "BENCH-JSON "


# --------------------------------------------------------------------------- scratch space


@contextlib.contextmanager
def scratch(prefix: str) -> Iterator[Path]:
    """A fresh folder under bench/.work/ (git-ignored), removed afterwards whatever happens."""
    WORK.mkdir(parents=True, exist_ok=True)
    path = Path(tempfile.mkdtemp(prefix=f"{prefix}-", dir=WORK))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)
        with contextlib.suppress(OSError):
            WORK.rmdir()  # only when empty: another script may be using it


# --------------------------------------------------------------------------- statistics


def pct(samples: Sequence[float], q: float) -> float:
    """The q-th percentile (linear interpolation); NaN for no samples."""
    return float(np.percentile(np.asarray(samples, dtype=np.float64), q)) if len(samples) else float("nan")


def p50(samples: Sequence[float]) -> float:
    """Median."""
    return pct(samples, 50)


def p95(samples: Sequence[float]) -> float:
    """95th percentile."""
    return pct(samples, 95)


def ms(seconds: float) -> str:
    """Seconds as milliseconds for printing."""
    return f"{seconds * 1e3:.1f} ms"


def summary(name: str, samples: Sequence[float]) -> str:
    """One line: n, p50, p95, min, max in milliseconds."""
    a = np.asarray(samples, dtype=np.float64) * 1e3
    return (
        f"{name:<42} n={len(a):<4d} p50={np.median(a):8.1f} ms  p95={np.percentile(a, 95):8.1f} ms  "
        f"min={a.min():7.1f}  max={a.max():8.1f}"
    )


def interleaved(items: Sequence[object], subjects: dict[str, Callable[[object], object]]) -> dict[str, list[float]]:
    """Time each subject once per item, rotating their order, so machine noise hits all alike."""
    names = list(subjects)
    out: dict[str, list[float]] = {n: [] for n in names}
    for i, item in enumerate(items):
        for j in range(len(names)):
            name = names[(i + j) % len(names)]
            t0 = time.perf_counter()
            subjects[name](item)
            out[name].append(time.perf_counter() - t0)
    return out


def loadavg() -> float:
    """The 1-minute load average (how busy the machine was)."""
    try:
        return float(Path("/proc/loadavg").read_text().split()[0])
    except OSError:
        return float("nan")


def rss_mib() -> tuple[float, float]:
    """(current RSS, peak RSS) of this process in MiB, from /proc/self/status."""
    values = {}
    with contextlib.suppress(OSError):
        for line in Path("/proc/self/status").read_text().splitlines():
            key, _, rest = line.partition(":")
            if key in ("VmRSS", "VmHWM"):
                values[key] = int(rest.split()[0]) / 1024
    return values.get("VmRSS", float("nan")), values.get("VmHWM", float("nan"))


# --------------------------------------------------------------------------- machine


def machine_info() -> dict[str, str]:
    """CPU, core count and the versions that decide the figures."""
    from importlib import metadata

    cpu = "unknown"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    info = {
        "nproc": str(os.cpu_count()),
        "affinity": str(len(os.sched_getaffinity(0))) if hasattr(os, "sched_getaffinity") else "?",
        "cpu": cpu,
        "python": platform.python_version(),
    }
    for dist in ("torch", "faiss-cpu", "sentence-transformers", "transformers", "numpy", "discord.py"):
        with contextlib.suppress(metadata.PackageNotFoundError):
            info[dist] = metadata.version(dist)
    with contextlib.suppress(OSError):
        mem = Path("/proc/meminfo").read_text().splitlines()[0].split()[1]
        info["memory"] = f"{int(mem) / 1024 / 1024:.1f} GiB"
    return info


# --------------------------------------------------------------------------- results


@dataclass
class Row:
    """One figure: what was measured, its value, the floor it is compared with, and the target."""

    bench: str
    metric: str
    value: float
    unit: str
    floor: float | None = None
    ratio: float | None = None
    target: str = ""
    met: bool | None = None
    note: str = ""


@dataclass
class Report:
    """The rows one script produces; ``emit`` prints them as a table and as one JSON line."""

    bench: str
    quick: bool = False
    rows: list[Row] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    started: float = field(default_factory=time.perf_counter)
    load_start: float = field(default_factory=loadavg)

    def add(self, metric: str, value: float, unit: str, **kwargs: object) -> Row:
        """Record one figure."""
        row = Row(self.bench, metric, float(value), unit, **kwargs)  # type: ignore[arg-type]
        self.rows.append(row)
        return row

    def note(self, text: str) -> None:
        """A sentence worth carrying into the final report (a cause, a caveat)."""
        self.notes.append(text)
        print(f"note: {text}", flush=True)

    def emit(self) -> None:
        """Print the rows as Markdown, then the machine-readable line for run_all."""
        seconds = time.perf_counter() - self.started
        print()
        print(
            f"### {self.bench}{' (quick)' if self.quick else ''}: {seconds:.0f} s, "
            f"load {self.load_start:.1f}->{loadavg():.1f}"
        )
        print(markdown_table(self.rows))
        payload = {
            "bench": self.bench,
            "quick": self.quick,
            "seconds": round(seconds, 1),
            "load": [self.load_start, loadavg()],
            "rows": [asdict(r) for r in self.rows],
            "notes": self.notes,
        }
        print(RESULT_PREFIX + json.dumps(payload), flush=True)


def fmt_value(value: float | None, unit: str) -> str:
    """A figure with its unit, rounded for reading."""
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return "-"
    if unit == "ms":
        return f"{value:.1f} ms"
    if unit == "s":
        return f"{value:.2f} s"
    if unit == "x":
        return f"{value:.2f}x"
    if unit == "%":
        return f"{value:.2f} %"
    if unit in ("MiB", "passages/s"):
        return f"{value:,.0f} {unit}"
    if unit == "":
        return f"{value:.3f}"
    return f"{value:,.3g} {unit}"


def markdown_table(rows: Sequence[Row], with_bench: bool = False) -> str:
    """Rows as a Markdown table."""
    head = ["metric", "value", "floor", "ratio", "target", "met"]
    if with_bench:
        head.insert(0, "bench")
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in rows:
        ratio = "-" if r.ratio is None else (f"{r.ratio:.3f}" if r.ratio < 0.1 else f"{r.ratio:.2f}x")
        met = "" if r.met is None else ("yes" if r.met else "**no**")
        cells = [r.metric, fmt_value(r.value, r.unit), fmt_value(r.floor, r.unit), ratio, r.target, met]
        if with_bench:
            cells.insert(0, r.bench)
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def print_header(title: str, quick: bool) -> None:
    """Title, machine and load, so a pasted output explains itself."""
    info = machine_info()
    print(f"## {title}{' (quick)' if quick else ''}")
    print(
        f"machine: {info['nproc']} cpus ({info['cpu']}), python {info['python']}, torch {info.get('torch')}, "
        f"faiss {info.get('faiss-cpu')}; load {loadavg():.2f}; {dt.datetime.now().isoformat(timespec='seconds')}",
        flush=True,
    )


# --------------------------------------------------------------------------- corpora


def article_files(folders: Sequence[Path] = EXTENDED_FOLDERS) -> list[Path]:
    """The article files of some folders (the extended evaluation corpus by default)."""
    out = []
    for folder in folders:
        out += sorted(
            p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in ARTICLE_SUFFIXES and p.name[0] != "."
        )
    return out


def copy_extended_corpus(target: Path) -> int:
    """Copy documents/ plus tests/eval/corpus/ (the extended evaluation corpus) into ``target``."""
    target.mkdir(parents=True, exist_ok=True)
    files = article_files()
    for path in files:
        shutil.copyfile(path, target / path.name)
    return len(files)


def eval_questions() -> list[str]:
    """Every question of the evaluation set, in file order."""
    return [q.q for q in load_eval_set(QUESTIONS_FILE).questions]


def cycled(items: Sequence[str], n: int) -> list[str]:
    """``n`` items, cycling through ``items``."""
    return [items[i % len(items)] for i in range(n)]


def corpus_sentences() -> list[str]:
    """Real news sentences (from the extended corpus), one line each, at least five words."""
    out: list[str] = []
    for path in article_files():
        body = read_article(path, doc_id=path.name).body
        for s, e in split_sentences(body):
            sentence = " ".join(body[s:e].split())
            if len(sentence.split()) >= 5 and not sentence.startswith(("*", "(", "By ")):
                out.append(sentence)
    return list(dict.fromkeys(out))


_SOURCES = ("Reuters", "Associated Press", "Bosphorus Daily", "Kyiv Wire", "The Istanbul Desk", "Euronews")
_AUTHORS = ("Tom Balmforth", "Elif Kaya", "Olena Marchenko", "James Reed", "Aylin Demir", "")


def write_synthetic_articles(
    target: Path,
    count: int,
    *,
    seed: int = 7,
    paragraphs: tuple[int, int] = (4, 9),
    sentences: tuple[int, int] = (2, 4),
    start: int = 0,
) -> list[Path]:
    """Write ``count`` realistic multi-paragraph articles made of the real corpus's sentences, reshuffled.

    Deterministic for a seed: article ``i`` is the same whatever ``count`` is, so a run can
    add article ``count`` to an index of the first ``count`` articles.
    """
    pool = corpus_sentences()
    target.mkdir(parents=True, exist_ok=True)
    paths = []
    for i in range(start, start + count):
        rng = random.Random(seed * 1_000_003 + i)
        paras = []
        for _ in range(rng.randint(*paragraphs)):
            paras.append(" ".join(rng.sample(pool, rng.randint(*sentences))))
        headline = " ".join(rng.choice(pool).split()[:12]).rstrip(".,;:")
        day = dt.date(2025, 5, 1) + dt.timedelta(days=rng.randrange(120))
        author = rng.choice(_AUTHORS)
        front = [
            "---",
            f"title: {json.dumps(f'{headline} ({i})')}",
            f"source: {rng.choice(_SOURCES)}",
            f"author: {json.dumps(author)}",
            f"published: {day.isoformat()}",
            "---",
        ]
        body = "\n\n".join(paras)
        path = target / f"synthetic-{i:05d}.md"
        path.write_text("\n".join(front) + "\n" + body + "\n", encoding="utf-8")
        paths.append(path)
    return paths


# --------------------------------------------------------------------------- embedders


class RandomEmbedder:
    """A model-free embedder of random unit vectors (``dimension`` wide) with a chosen ``model_id``.

    With the real model's ``model_id`` it builds an index the real model then opens as its
    own (same build config), without anyone loading the model: for sizing memory, not quality.
    """

    def __init__(self, model_id: str, dimension: int = 384, seed: int = 0) -> None:
        self._model_id = model_id
        self._dimension = dimension
        self._rng = np.random.default_rng(seed)

    @property
    def model_id(self) -> str:
        """As given."""
        return self._model_id

    @property
    def dimension(self) -> int:
        """As given."""
        return self._dimension

    def count_tokens(self, text: str) -> int:
        """The splitter's model-free approximation."""
        return approximate_token_count(text)

    def _unit(self, n: int) -> np.ndarray:
        return normalize(self._rng.standard_normal((n, self._dimension), dtype=np.float32))

    def embed_queries(self, texts: Sequence[str]) -> np.ndarray:
        """Random unit vectors."""
        return self._unit(len(texts))

    def embed_passages(self, passages: Sequence[PassageInput], *, progress=None) -> list[EmbeddedPassage]:  # type: ignore[no-untyped-def]
        """A random vector per passage and per sentence."""
        out = []
        for p in passages:
            out.append(EmbeddedPassage(self._unit(1)[0], self._unit(max(1, len(p.sentences)))))
        if progress:
            progress(len(passages))
        return out


class TimedEmbedder:
    """An embedder wrapper recording what it is asked to embed and how long embedding and token counting take."""

    def __init__(self, embedder) -> None:  # type: ignore[no-untyped-def]
        self._embedder = embedder
        self.inputs: list = []
        self.embed_seconds = 0.0
        self.count_seconds = 0.0

    def __getattr__(self, name: str):  # type: ignore[no-untyped-def]
        return getattr(self._embedder, name)

    @property
    def model_id(self) -> str:
        """The wrapped embedder's."""
        return self._embedder.model_id

    def count_tokens(self, text: str) -> int:
        """Timed pass-through."""
        t0 = time.perf_counter()
        try:
            return self._embedder.count_tokens(text)
        finally:
            self.count_seconds += time.perf_counter() - t0

    def embed_passages(self, passages, *, progress=None):  # type: ignore[no-untyped-def]
        """Timed pass-through; keeps the inputs."""
        self.inputs = list(passages)
        t0 = time.perf_counter()
        try:
            return self._embedder.embed_passages(passages, progress=progress)
        finally:
            self.embed_seconds += time.perf_counter() - t0


def floor_index(engine):  # type: ignore[no-untyped-def]
    """The floor's exact index: IndexFlatIP over the live generation's passage vectors, and the engine's k."""
    import sqlite3

    import faiss

    snapshot = engine.searcher().snapshot
    dim = int(snapshot.manifest["dimension"])
    uri = f"{(Path(snapshot.directory) / 'index.sqlite3').resolve().as_uri()}?mode=ro"
    conn = sqlite3.connect(uri, uri=True)
    try:
        rows = conn.execute("SELECT embedding FROM passages ORDER BY id").fetchall()
    finally:
        conn.close()
    flat = faiss.IndexFlatIP(dim)
    flat.add(np.stack([np.frombuffer(r[0], dtype=np.float32) for r in rows]).reshape(-1, dim))
    return flat, engine.search_config.dense_candidates


def run_child(
    code: str,
    args: Sequence[str],
    *,
    env: dict[str, str] | None = None,
    drop: Sequence[str] = (),
    timeout: float = 600,
) -> dict:
    """Run ``python -c code args...`` in a fresh process; return the JSON it prints after 'RESULT '.

    ``drop`` removes variables from the inherited environment before ``env`` is added.
    """
    environment = {k: v for k, v in os.environ.items() if k not in drop}
    environment.update(env or {})
    environment["PYTHONPATH"] = str(ROOT)
    proc = subprocess.run(
        [sys.executable, "-c", code, *args], env=environment, cwd=ROOT, capture_output=True, text=True, timeout=timeout
    )
    for line in proc.stdout.splitlines():
        if line.startswith("RESULT "):
            return json.loads(line[7:])
    raise RuntimeError(f"the measuring subprocess failed ({proc.returncode}):\n{proc.stderr[-3000:]}")


def load_model():  # type: ignore[no-untyped-def]
    """The real bundled model, loaded and warmed up; returns (embedder, seconds to load)."""
    from index.embedder import SentenceTransformerEmbedder

    t0 = time.perf_counter()
    embedder = SentenceTransformerEmbedder()
    embedder.load()
    embedder.embed_queries(["warm up"])
    return embedder, time.perf_counter() - t0


def main_guard(run: Callable[[list[str]], None]) -> None:
    """Run a script's main with sys.argv."""
    run(sys.argv[1:])
