"""The built index: SQLite as the record, FAISS derived from it, published atomically.

Layout of ``INDEX_DIR``::

    CURRENT              names the live generation ("gen-000007"); replaced atomically
    .lock                held (flock) by the one process writing
    gen-000006/          the previous generation, kept as a fallback
    gen-000007/          index.sqlite3, vectors.faiss, manifest.json: never modified once published
    .staging-*/          a generation being written; removed by the next writer if left by a crash

A reindex copies the live SQLite file into a staging folder, applies only what changed
(new, changed and removed documents), updates the FAISS index by id, writes a manifest,
fsyncs, renames the folder to the next generation and then replaces ``CURRENT``. Until that
last step readers see the previous generation, complete; after it, the new one. A process
killed at any point leaves ``CURRENT`` naming a complete generation.

Passage ids come from SQLite's AUTOINCREMENT and are never reused, so the FAISS index can be
updated with ``remove_ids``/``add_with_ids`` instead of being rebuilt, and rebuilt from the
stored embeddings (without the model) when it is damaged or its kind changes.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import errno
import fcntl
import hashlib
import json
import logging
import math
import os
import platform
import re
import shutil
import sqlite3
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import faiss
import numpy as np

from .documents import ScanResult, SkippedFile, scan_documents
from .embedder import Embedder, PassageInput
from .errors import (
    IndexBusy,
    IndexCorrupt,
    IndexIncompatible,
    IndexMissing,
    IndexStoreError,
    IndexWriteError,
)
from .models import Document, DocumentInfo
from .passages import DEFAULT_MAX_TOKENS, SPLITTER_VERSION, split_passages

__all__ = [
    "BuildConfig",
    "IndexStore",
    "Snapshot",
    "StoredPassage",
    "SyncReport",
]

log = logging.getLogger(__name__)

FORMAT_VERSION = 2
# Below this many passages exact search is fast enough (about 15 ms per question for 100,000
# passages of 384 floats on two cores, bench/memory.py); above it an IVF index takes a few ms.
EXACT_SEARCH_LIMIT = 100_000
SQLITE_NAME = "index.sqlite3"
FAISS_NAME = "vectors.faiss"
MANIFEST_NAME = "manifest.json"
CURRENT_NAME = "CURRENT"
LOCK_NAME = ".lock"
KEEP_GENERATIONS = 2
_GENERATION_NAME = re.compile(r"gen-\d{6}")

ProgressFactory = Callable[[int], Callable[[int], None]]

_SCHEMA = """
CREATE TABLE documents (
    id INTEGER PRIMARY KEY,
    path TEXT NOT NULL UNIQUE,
    title TEXT NOT NULL,
    source TEXT NOT NULL,
    author TEXT NOT NULL,
    published TEXT,
    url TEXT NOT NULL,
    body TEXT NOT NULL,
    body_offset INTEGER NOT NULL,
    content_hash TEXT NOT NULL,
    indexed_at TEXT NOT NULL
);
CREATE TABLE passages (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    document_id INTEGER NOT NULL REFERENCES documents(id) ON DELETE CASCADE,
    ordinal INTEGER NOT NULL,
    start INTEGER NOT NULL,
    "end" INTEGER NOT NULL,
    text TEXT NOT NULL,
    sentences TEXT NOT NULL,
    has_lead_in INTEGER NOT NULL,
    embedding BLOB NOT NULL,
    sentence_embeddings BLOB NOT NULL
);
CREATE INDEX passages_by_document ON passages(document_id);
CREATE VIRTUAL TABLE passages_fts USING fts5(text, tokenize = 'porter unicode61 remove_diacritics 2');
"""


@dataclass(frozen=True, slots=True)
class BuildConfig:
    """Everything that decides the vectors: when any of it changes, the index is rebuilt.

    ``model`` is the embedder's ``model_id`` (name plus a fingerprint of its files), which also
    fixes the dimension; it is known without loading the model, so an up-to-date check is cheap.
    """

    model: str
    splitter_version: int = SPLITTER_VERSION
    max_tokens: int = DEFAULT_MAX_TOKENS
    passage_context: str = "lead-in"

    def differences(self, other: BuildConfig) -> list[str]:
        """Human-readable differences from another config (empty when compatible)."""
        out = []
        for f in dataclasses.fields(self):
            mine, theirs = getattr(self, f.name), getattr(other, f.name)
            if mine != theirs:
                out.append(f"{f.name.replace('_', ' ')} {theirs!r} -> {mine!r}")
        return out


@dataclass(slots=True)
class SyncReport:
    """What a reindex did, for people (CLI, Discord) and scripts (--json)."""

    added: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    skipped: list[SkippedFile] = field(default_factory=list)
    # Files that are broken now but were indexed before: their previous version stays answerable.
    kept_previous: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    passages_added: int = 0
    passages_removed: int = 0
    documents: int = 0
    passages: int = 0
    seconds: float = 0.0
    rebuilt_because: str | None = None
    repaired: str | None = None
    generation: str | None = None
    published: bool = False

    @property
    def has_changes(self) -> bool:
        """True when documents were added, updated or removed (a new generation is due)."""
        return bool(self.added or self.updated or self.removed)

    def to_json(self) -> dict[str, object]:
        """The report as a JSON-ready dict."""
        return {
            "added": self.added,
            "updated": self.updated,
            "removed": self.removed,
            "unchanged": len(self.unchanged),
            "skipped": [{"file": s.path, "reason": s.reason} for s in self.skipped],
            "kept_previous": self.kept_previous,
            "notes": self.notes,
            "passages_added": self.passages_added,
            "passages_removed": self.passages_removed,
            "documents": self.documents,
            "passages": self.passages,
            "seconds": round(self.seconds, 3),
            "rebuilt_because": self.rebuilt_because,
            "repaired": self.repaired,
            "generation": self.generation,
            "published": self.published,
        }


@dataclass(frozen=True, slots=True)
class StoredPassage:
    """A passage as read back from the index, with its vectors."""

    id: int
    document: DocumentInfo
    start: int
    end: int
    text: str
    sentences: tuple[tuple[int, int], ...]
    embedding: np.ndarray
    sentence_embeddings: np.ndarray
    # Embedded with the sentence that introduces its list (see passages.split_passages).
    has_lead_in: bool = False


# --------------------------------------------------------------------------- helpers


def _fsync_path(path: Path) -> None:
    """Flush a file or folder to disk, so a rename that follows cannot outrun its contents."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _sha256(path: Path) -> str:
    """Hex SHA-256 of a file, read in chunks."""
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _write_error(err: BaseException, where: Path) -> IndexStoreError:
    """Turn an OS or SQLite write failure into a sentence a maintainer can act on."""
    if isinstance(err, sqlite3.DatabaseError) and not isinstance(err, sqlite3.OperationalError):
        # Not a write failure: the database we built on is damaged. Starting over is the fix.
        return IndexCorrupt(
            f"The index in {where} is damaged ({err}); the live index is unchanged. "
            "Run `talksbot index --rebuild` to rebuild it from the documents."
        )
    if isinstance(err, OSError) and err.errno == errno.ENOSPC:
        why = "the disk is full"
    elif isinstance(err, OSError) and err.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        why = "permission denied"
    elif isinstance(err, sqlite3.OperationalError) and "full" in str(err).lower():
        why = "the disk is full"
    else:
        why = str(err) or type(err).__name__
    return IndexWriteError(
        f"Could not write the index in {where}: {why}. The previous index is unchanged; "
        "free space or fix the folder's permissions, then run `talksbot index` again."
    )


def _faiss_kind_for(count: int) -> dict[str, int | str]:
    """The FAISS index that suits ``count`` passages: exact below the limit, IVF above."""
    if count < EXACT_SEARCH_LIMIT:
        return {"kind": "flat"}
    # About sqrt(n) lists (a power of two), probing 1/16 of them: measured by bench/million.py on
    # clustered vectors, 1M passages answer in 7 ms at recall@10 0.974 and build in 5 s, where
    # 4*sqrt(n) lists built in 41 s for a recall of 0.956.
    nlist = 1 << max(8, round(math.log2(math.sqrt(count))))
    return {"kind": "ivf", "nlist": nlist, "nprobe": max(16, nlist // 16)}


def build_faiss_index(vectors: np.ndarray, ids: np.ndarray, spec: dict[str, int | str], dimension: int) -> faiss.Index:
    """Build a FAISS index of the given spec over unit vectors (inner product = cosine)."""
    if spec["kind"] == "flat":
        index = faiss.IndexIDMap2(faiss.IndexFlatIP(dimension))
    else:
        quantizer = faiss.IndexFlatIP(dimension)
        ivf = faiss.IndexIVFFlat(quantizer, dimension, int(spec["nlist"]), faiss.METRIC_INNER_PRODUCT)
        rng = np.random.default_rng(0)
        sample_size = min(len(vectors), int(spec["nlist"]) * 64)
        sample = vectors[rng.choice(len(vectors), sample_size, replace=False)] if len(vectors) else vectors
        ivf.train(sample)
        ivf.nprobe = int(spec["nprobe"])
        # remove_ids on an IVF needs to find ids quickly: keep a hash direct map.
        ivf.set_direct_map_type(faiss.DirectMap.Hashtable)
        index = ivf
    if len(vectors):
        index.add_with_ids(np.ascontiguousarray(vectors, dtype=np.float32), ids.astype(np.int64))
    return index


def _to_blob(vector: np.ndarray, dtype: type = np.float32) -> bytes:
    return np.ascontiguousarray(vector, dtype=dtype).tobytes()


# --------------------------------------------------------------------------- reading


class Snapshot:
    """One published generation, open for reading: thread-safe, never modified underneath."""

    def __init__(self, directory: Path, manifest: dict, conn: sqlite3.Connection, index: faiss.Index) -> None:
        self.directory = directory
        self.generation = directory.name
        self.manifest = manifest
        self._conn = conn
        self._index = index
        self._lock = threading.Lock()
        self.documents: dict[int, DocumentInfo] = {}
        self.passage_counts: dict[int, int] = {}
        for row in conn.execute(
            "SELECT d.id, d.path, d.title, d.source, d.author, d.published, d.url, "
            "(SELECT COUNT(*) FROM passages p WHERE p.document_id = d.id) FROM documents d ORDER BY d.path"
        ):
            self.documents[row[0]] = DocumentInfo(
                id=row[1],
                title=row[2],
                source=row[3],
                author=row[4],
                published=dt.date.fromisoformat(row[5]) if row[5] else None,
                url=row[6],
            )
            self.passage_counts[row[0]] = row[7]
        self.warning: str | None = None

    @property
    def config(self) -> BuildConfig:
        """The build config recorded in the manifest."""
        return BuildConfig(**self.manifest["config"])

    @property
    def passage_total(self) -> int:
        """Number of passages in this generation."""
        return int(self._index.ntotal)

    @property
    def built_at(self) -> dt.datetime:
        """When this generation was published (UTC)."""
        return dt.datetime.fromisoformat(self.manifest["created_at"])

    def dense_search(self, query: np.ndarray, k: int) -> list[tuple[int, float]]:
        """The k passages nearest to a unit query vector, as (passage id, cosine)."""
        if self._index.ntotal == 0 or k <= 0:
            return []
        k = min(k, int(self._index.ntotal))
        scores, ids = self._index.search(np.ascontiguousarray(query.reshape(1, -1), dtype=np.float32), k)
        return [(int(i), float(s)) for i, s in zip(ids[0], scores[0], strict=True) if i >= 0]

    def lexical_search(self, match: str, k: int) -> list[tuple[int, float]]:
        """The k best FTS5 matches for an already-sanitised MATCH expression, as (passage id, bm25 > 0)."""
        if not match or k <= 0:
            return []
        with self._lock:
            rows = self._conn.execute(
                "SELECT rowid, bm25(passages_fts) FROM passages_fts WHERE passages_fts MATCH ? "
                "ORDER BY bm25(passages_fts) LIMIT ?",
                (match, k),
            ).fetchall()
        # FTS5's bm25 is negative, lower is better: flip it so higher is better.
        return [(int(r[0]), -float(r[1])) for r in rows]

    def fetch(self, passage_ids: Iterable[int]) -> dict[int, StoredPassage]:
        """Read passages (text, spans, vectors) by id."""
        ids = list(dict.fromkeys(passage_ids))
        if not ids:
            return {}
        dim = int(self.manifest["dimension"])
        out: dict[int, StoredPassage] = {}
        with self._lock:
            rows = self._conn.execute(
                f'SELECT id, document_id, start, "end", text, sentences, embedding, sentence_embeddings, has_lead_in '
                f"FROM passages WHERE id IN ({','.join('?' * len(ids))})",
                ids,
            ).fetchall()
        for pid, doc_id, start, end, text, sentences, emb, sent_emb, lead_in in rows:
            spans = tuple(tuple(s) for s in json.loads(sentences))
            out[pid] = StoredPassage(
                id=pid,
                document=self.documents[doc_id],
                start=start,
                end=end,
                text=text,
                sentences=spans,  # type: ignore[arg-type]
                embedding=np.frombuffer(emb, dtype=np.float32),
                sentence_embeddings=np.frombuffer(sent_emb, dtype=np.float16).astype(np.float32).reshape(-1, dim),
                has_lead_in=bool(lead_in),
            )
        return out

    def document_passages(self, doc_path: str) -> list[tuple[int, int, str]]:
        """(start, end, text) of a document's passages, in order (for tests and tools)."""
        with self._lock:
            return [
                (r[0], r[1], r[2])
                for r in self._conn.execute(
                    'SELECT p.start, p."end", p.text FROM passages p JOIN documents d ON d.id = p.document_id '
                    "WHERE d.path = ? ORDER BY p.ordinal",
                    (doc_path,),
                )
            ]

    def document_body(self, doc_path: str) -> str | None:
        """A document's body as indexed, or None."""
        with self._lock:
            row = self._conn.execute("SELECT body FROM documents WHERE path = ?", (doc_path,)).fetchone()
        return row[0] if row else None

    def close(self) -> None:
        """Release the SQLite connection."""
        with self._lock:
            self._conn.close()


# --------------------------------------------------------------------------- the store


class IndexStore:
    """An index folder: open the live generation for reading, or bring it up to date with a folder."""

    def __init__(self, directory: Path | str) -> None:
        self.directory = Path(directory)

    # ----- reading

    def current_generation(self) -> str | None:
        """The name of the live generation, or None when nothing has been published.

        CURRENT is trusted only when it names an existing ``gen-NNNNNN`` folder. Anything else
        (garbage, zeros left by a power loss, a missing folder) falls back to the newest generation
        whose manifest reads: a damaged pointer must never cost the index.
        """
        try:
            raw = (self.directory / CURRENT_NAME).read_bytes()
        except (FileNotFoundError, NotADirectoryError):
            raw = None
        except OSError as err:
            raise IndexCorrupt(f"Cannot read {self.directory / CURRENT_NAME}: {err.strerror or err}.") from None
        name = raw.decode("ascii", "replace").strip() if raw is not None else ""
        if _GENERATION_NAME.fullmatch(name) and (self.directory / name).is_dir():
            return name
        fallback = self._newest_readable_generation()
        if raw is not None and fallback is not None:
            log.warning(
                "%s is damaged (%r); using %s, the newest complete generation", CURRENT_NAME, name[:40], fallback
            )
        return fallback

    def _generations(self) -> list[Path]:
        """Generation folders, oldest first."""
        try:
            return sorted(p for p in self.directory.glob("gen-*") if _GENERATION_NAME.fullmatch(p.name) and p.is_dir())
        except OSError:
            return []

    def _newest_readable_generation(self) -> str | None:
        """The newest generation folder with a readable manifest (complete by construction)."""
        for directory in reversed(self._generations()):
            try:
                self._read_manifest(directory)
            except IndexStoreError:
                continue
            return directory.name
        return None

    def open(self, expected: BuildConfig | None = None) -> Snapshot:
        """Open the live generation; fall back to the previous one (with a warning) if it is damaged."""
        name = self.current_generation()
        if name is None:
            raise IndexMissing(f"No index in {self.directory} yet; run `talksbot index` to build it.")
        try:
            return self._open_generation(self.directory / name, expected)
        except IndexCorrupt as err:
            previous = self._previous_generation(name)
            if previous is None:
                raise
            try:
                snap = self._open_generation(previous, expected)
            except IndexStoreError:
                raise err from None
            snap.warning = f"{err} Answering from the previous index ({previous.name}) meanwhile."
            log.warning("%s", snap.warning)
            return snap

    def _previous_generation(self, current: str) -> Path | None:
        """The newest published generation older than ``current``, if one is kept."""
        older = [p for p in self._generations() if p.name < current]
        return older[-1] if older else None

    def _open_generation(self, directory: Path, expected: BuildConfig | None) -> Snapshot:
        """Open one generation folder, checking its manifest and files."""
        manifest = self._read_manifest(directory)
        if expected is not None:
            diffs = expected.differences(BuildConfig(**manifest["config"]))
            if diffs:
                raise IndexIncompatible(
                    f"The index in {self.directory} was built differently ({'; '.join(diffs)}); "
                    "run `talksbot index` to rebuild it."
                )
        faiss_path = directory / FAISS_NAME
        index = self._read_faiss(faiss_path, manifest)
        conn = self._open_sqlite_readonly(directory / SQLITE_NAME)
        try:
            count = conn.execute("SELECT COUNT(*) FROM passages").fetchone()[0]
        except sqlite3.DatabaseError as err:
            conn.close()
            raise IndexCorrupt(f"The index database {directory / SQLITE_NAME} is damaged ({err}).") from None
        if count != index.ntotal:
            conn.close()
            raise IndexCorrupt(f"The index in {directory} is inconsistent ({count} passages, {index.ntotal} vectors).")
        try:
            return Snapshot(directory, manifest, conn, index)
        except sqlite3.DatabaseError as err:
            conn.close()
            raise IndexCorrupt(f"The index database {directory / SQLITE_NAME} is damaged ({err}).") from None

    def _read_manifest(self, directory: Path) -> dict:
        """Read and sanity-check a generation's manifest."""
        path = directory / MANIFEST_NAME
        try:
            manifest = json.loads(path.read_text(encoding="utf-8"))
            BuildConfig(**manifest["config"])
            if manifest.get("format") != FORMAT_VERSION:
                raise IndexIncompatible(
                    f"The index in {self.directory} has format {manifest.get('format')}, this talksbot reads "
                    f"format {FORMAT_VERSION}; run `talksbot index` to rebuild it."
                )
        except FileNotFoundError:
            raise IndexCorrupt(f"The index manifest {path} is missing.") from None
        except (OSError, ValueError, KeyError, TypeError) as err:
            raise IndexCorrupt(f"The index manifest {path} is damaged ({type(err).__name__}).") from None
        return manifest

    @staticmethod
    def _read_faiss(path: Path, manifest: dict) -> faiss.Index:
        """Load the FAISS file after checking it is the one the manifest describes."""
        expected = manifest["faiss"]
        try:
            size = path.stat().st_size
        except OSError:
            raise IndexCorrupt(f"The vector file {path} is missing.") from None
        if size != expected["bytes"] or _sha256(path) != expected["sha256"]:
            raise IndexCorrupt(f"The vector file {path} is damaged (its checksum does not match the manifest).")
        try:
            index = faiss.read_index(str(path))
        except RuntimeError as err:
            raise IndexCorrupt(f"The vector file {path} cannot be read ({str(err).splitlines()[0]}).") from None
        if isinstance(index, faiss.IndexIVF):
            index.nprobe = int(expected.get("nprobe", index.nprobe))
        return index

    @staticmethod
    def _open_sqlite_readonly(path: Path) -> sqlite3.Connection:
        """Open a published database read-only; immutable, since published files never change."""
        if not path.is_file():
            raise IndexCorrupt(f"The index database {path} is missing.")
        try:
            conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro&immutable=1", uri=True, check_same_thread=False)
            conn.execute("SELECT 1 FROM documents LIMIT 1").fetchall()
        except sqlite3.DatabaseError as err:
            raise IndexCorrupt(f"The index database {path} is damaged ({err}).") from None
        return conn

    # ----- writing

    @contextlib.contextmanager
    def writer_lock(self, *, wait: bool = True, on_wait: Callable[[], None] | None = None) -> Iterator[None]:
        """Hold the single-writer lock; wait for it, or raise IndexBusy when ``wait`` is False."""
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            fd = os.open(self.directory / LOCK_NAME, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as err:
            raise _write_error(err, self.directory) from None
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                if not wait:
                    raise IndexBusy("A reindex is already running; try again when it has finished.") from None
                if on_wait:
                    on_wait()
                fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)  # closing releases the flock, as does the process dying

    def sync(
        self,
        documents_dir: Path | str,
        embedder: Embedder,
        config: BuildConfig,
        *,
        rebuild: bool = False,
        wait: bool = True,
        on_wait: Callable[[], None] | None = None,
        progress: ProgressFactory | None = None,
    ) -> SyncReport:
        """Bring the index up to date with ``documents_dir``: embed only what changed, publish atomically."""
        started = time.perf_counter()
        with self.writer_lock(wait=wait, on_wait=on_wait):
            report = self._sync_locked(Path(documents_dir), embedder, config, rebuild=rebuild, progress=progress)
        report.seconds = time.perf_counter() - started
        return report

    def _sync_locked(
        self,
        documents_dir: Path,
        embedder: Embedder,
        config: BuildConfig,
        *,
        rebuild: bool,
        progress: ProgressFactory | None,
    ) -> SyncReport:
        """The body of sync, run while holding the writer lock."""
        self._remove_leftovers()
        report = SyncReport()
        base, base_faiss_ok = self._choose_base(config, rebuild, report)
        base_is_live = base is not None and base.name == self.current_generation()

        scan = scan_documents(documents_dir)
        report.skipped, report.notes = scan.skipped, scan.notes
        try:
            to_embed = _plan(scan, base, report)
        except sqlite3.DatabaseError as err:
            raise _write_error(err, self.directory) from None
        if base_is_live and base is not None and not report.has_changes and base_faiss_ok:
            if not self._current_file_names(base.name):  # a damaged pointer was worked around: mend it
                try:
                    self._point_current_at(base.name)
                except OSError as err:
                    raise _write_error(err, self.directory) from None
                report.repaired = f"{CURRENT_NAME} was damaged; it names {base.name} again."
            report.generation = base.name
            report.documents, report.passages = self._counts(base / SQLITE_NAME)
            return report

        staging = self.directory / f".staging-{os.getpid()}-{int(time.time() * 1000)}"
        try:
            staging.mkdir(parents=True)  # before embedding: an unwritable folder fails in a second, not a minute
            embedded = self._embed(to_embed, embedder, config, progress)
            self._write_generation(staging, base, base_faiss_ok, embedded, config, report)
            report.generation = self._publish(staging)
        except (OSError, sqlite3.Error) as err:
            shutil.rmtree(staging, ignore_errors=True)
            raise _write_error(err, self.directory) from None
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
        report.published = True
        self._prune()
        return report

    def _remove_leftovers(self) -> None:
        """Delete what a killed writer left behind: staging folders and unpublished generations."""
        current = self.current_generation()
        for path in self.directory.glob(".staging-*"):
            shutil.rmtree(path, ignore_errors=True)
        if current is None:
            return  # nothing readable is live: keep every folder for whoever investigates
        for path in self._generations():
            if path.name > current:
                shutil.rmtree(path, ignore_errors=True)

    def _choose_base(self, config: BuildConfig, rebuild: bool, report: SyncReport) -> tuple[Path | None, bool]:
        """Pick the generation to build on; say why when starting from scratch instead."""
        name = self.current_generation()
        if name is None:
            return None, False
        if rebuild:
            report.rebuilt_because = "a rebuild was requested (--rebuild)"
            return None, False
        candidates = [self.directory / name]
        previous = self._previous_generation(name)
        if previous is not None:
            candidates.append(previous)
        problems: list[str] = []
        for directory in candidates:
            try:
                manifest = self._read_manifest(directory)
            except IndexStoreError as err:
                problems.append(str(err))
                continue
            diffs = config.differences(BuildConfig(**manifest["config"]))
            if diffs:
                report.rebuilt_because = f"the index was built differently ({'; '.join(diffs)})"
                return None, False
            try:
                self._check_sqlite(directory, manifest)
            except IndexCorrupt as err:
                problems.append(str(err))
                continue
            faiss_ok = True
            try:
                self._read_faiss(directory / FAISS_NAME, manifest)
            except IndexCorrupt as err:
                faiss_ok = False
                report.repaired = f"{err} Rebuilt it from the stored embeddings."
            if directory.name != name:
                report.repaired = f"{' '.join(problems)} Continued from the previous index ({directory.name})."
            return directory, faiss_ok
        report.rebuilt_because = f"the previous index is damaged ({' '.join(problems)})"
        return None, False

    def _check_sqlite(self, directory: Path, manifest: dict) -> None:
        """The record is the file the manifest describes, and opens (IndexCorrupt otherwise)."""
        path = directory / SQLITE_NAME
        expected = manifest.get("sqlite")
        if expected is not None:
            try:
                matches = path.stat().st_size == expected["bytes"] and _sha256(path) == expected["sha256"]
            except OSError:
                matches = False
            if not matches:
                raise IndexCorrupt(f"The index database {path} is damaged (its checksum does not match the manifest).")
        self._open_sqlite_readonly(path).close()

    @staticmethod
    def _counts(db_path: Path) -> tuple[int, int]:
        """(documents, passages) in a generation's database."""
        conn = IndexStore._open_sqlite_readonly(db_path)
        try:
            return (
                conn.execute("SELECT COUNT(*) FROM documents").fetchone()[0],
                conn.execute("SELECT COUNT(*) FROM passages").fetchone()[0],
            )
        finally:
            conn.close()

    @staticmethod
    def _embed(
        documents: Sequence[Document], embedder: Embedder, config: BuildConfig, progress: ProgressFactory | None
    ) -> list[tuple[Document, list, list]]:
        """Split and embed the documents that are new or changed."""
        split = []
        for doc in documents:
            passages = split_passages(
                doc.body, max_tokens=config.max_tokens, count_tokens=embedder.count_tokens, title=doc.info.title
            )
            if config.passage_context != "lead-in":  # the lead-in is recorded only when it was embedded
                passages = [dataclasses.replace(p, context="") for p in passages]
            split.append((doc, passages))
        inputs = [
            PassageInput(
                text=p.text,
                context=_context(doc, p.context, config.passage_context),
                sentences=p.sentences,
            )
            for doc, passages in split
            for p in passages
        ]
        tick = progress(len(inputs)) if progress and inputs else None
        vectors = embedder.embed_passages(inputs, progress=tick) if inputs else []
        out = []
        cursor = 0
        for doc, passages in split:
            out.append((doc, passages, vectors[cursor : cursor + len(passages)]))
            cursor += len(passages)
        return out

    def _write_generation(
        self,
        staging: Path,
        base: Path | None,
        base_faiss_ok: bool,
        embedded: list[tuple[Document, list, list]],
        config: BuildConfig,
        report: SyncReport,
    ) -> None:
        """Write the SQLite record and the FAISS index of the next generation into ``staging``."""
        db_path = staging / SQLITE_NAME
        if base is not None:
            shutil.copyfile(base / SQLITE_NAME, db_path)
        conn = sqlite3.connect(db_path)
        try:
            # Staging is invisible until published and fsynced: no journal needed while writing it.
            conn.execute("PRAGMA journal_mode = OFF")
            conn.execute("PRAGMA synchronous = OFF")
            conn.execute("PRAGMA foreign_keys = ON")
            if base is None:
                conn.executescript(_SCHEMA)
            removed_ids, added = self._apply(conn, embedded, report)
            conn.commit()
            report.documents = conn.execute("SELECT COUNT(*) FROM documents").fetchone()[0]
            report.passages = conn.execute("SELECT COUNT(*) FROM passages").fetchone()[0]
            dimension = self._dimension(conn, base, added)
            index, spec = self._next_faiss(conn, base, base_faiss_ok, removed_ids, added, dimension, report.passages)
        finally:
            conn.close()
        faiss_path = staging / FAISS_NAME
        faiss.write_index(index, str(faiss_path))
        db_path = staging / SQLITE_NAME
        manifest = {
            "format": FORMAT_VERSION,
            "created_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            "config": dataclasses.asdict(config),
            "dimension": dimension,
            "faiss": {**spec, "bytes": faiss_path.stat().st_size, "sha256": _sha256(faiss_path)},
            # Checked before a reindex builds on this generation: a damaged record must not be copied on.
            "sqlite": {"bytes": db_path.stat().st_size, "sha256": _sha256(db_path)},
            "counts": {"documents": report.documents, "passages": report.passages},
            "versions": _versions(),
        }
        (staging / MANIFEST_NAME).write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
        for name in (SQLITE_NAME, FAISS_NAME, MANIFEST_NAME):
            _fsync_path(staging / name)

    @staticmethod
    def _apply(
        conn: sqlite3.Connection, embedded: list[tuple[Document, list, list]], report: SyncReport
    ) -> tuple[list[int], list[tuple[int, np.ndarray]]]:
        """Delete removed and changed documents, insert new versions; return removed and added vectors."""
        removed_ids: list[int] = []
        for path in report.removed + report.updated:
            ids = [
                r[0]
                for r in conn.execute(
                    "SELECT p.id FROM passages p JOIN documents d ON d.id = p.document_id WHERE d.path = ?", (path,)
                )
            ]
            removed_ids.extend(ids)
            conn.executemany("DELETE FROM passages_fts WHERE rowid = ?", [(i,) for i in ids])
            conn.execute("DELETE FROM passages WHERE document_id = (SELECT id FROM documents WHERE path = ?)", (path,))
            conn.execute("DELETE FROM documents WHERE path = ?", (path,))
        report.passages_removed = len(removed_ids)
        now = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
        added: list[tuple[int, np.ndarray]] = []
        for doc, passages, vectors in embedded:
            info = doc.info
            cur = conn.execute(
                "INSERT INTO documents (path, title, source, author, published, url, body, body_offset, "
                "content_hash, indexed_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    info.id,
                    info.title,
                    info.source,
                    info.author,
                    info.published.isoformat() if info.published else None,
                    info.url,
                    doc.body,
                    doc.body_offset,
                    doc.content_hash,
                    now,
                ),
            )
            doc_rowid = cur.lastrowid
            for ordinal, (passage, vec) in enumerate(zip(passages, vectors, strict=True)):
                cur = conn.execute(
                    'INSERT INTO passages (document_id, ordinal, start, "end", text, sentences, has_lead_in, '
                    "embedding, sentence_embeddings) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (
                        doc_rowid,
                        ordinal,
                        passage.start,
                        passage.end,
                        passage.text,
                        json.dumps([list(s) for s in passage.sentences]),
                        int(bool(passage.context)),
                        _to_blob(vec.vector),
                        _to_blob(vec.sentence_vectors, np.float16),
                    ),
                )
                pid = int(cur.lastrowid or 0)
                conn.execute("INSERT INTO passages_fts (rowid, text) VALUES (?, ?)", (pid, passage.text))
                added.append((pid, vec.vector))
        report.passages_added = len(added)
        return removed_ids, added

    def _next_faiss(
        self,
        conn: sqlite3.Connection,
        base: Path | None,
        base_faiss_ok: bool,
        removed_ids: list[int],
        added: list[tuple[int, np.ndarray]],
        dimension: int,
        total: int,
    ) -> tuple[faiss.Index, dict[str, int | str]]:
        """Update the base FAISS index by id when it still suits the size; else rebuild from SQLite."""
        spec = _faiss_kind_for(total)
        if base is not None and base_faiss_ok:
            manifest = self._read_manifest(base)
            old = manifest["faiss"]
            if old.get("kind") == spec["kind"] and (spec["kind"] == "flat" or _close_enough(old, spec)):
                index = self._read_faiss(base / FAISS_NAME, manifest)
                if removed_ids:
                    index.remove_ids(np.array(removed_ids, dtype=np.int64))
                if added:
                    ids = np.array([pid for pid, _ in added], dtype=np.int64)
                    vecs = np.stack([v for _, v in added]).astype(np.float32)
                    index.add_with_ids(vecs, ids)
                if index.ntotal == total:
                    kept = {k: v for k, v in old.items() if k not in ("bytes", "sha256")}
                    return index, kept
                log.warning("vector count drifted (%d != %d); rebuilding vectors from the record", index.ntotal, total)
        ids, vectors = _all_embeddings(conn, dimension, total)
        return build_faiss_index(vectors, ids, spec, dimension), spec

    def _dimension(self, conn: sqlite3.Connection, base: Path | None, added: list[tuple[int, np.ndarray]]) -> int:
        """The vectors' length: from what was just embedded, else from the base manifest or the record."""
        if added:
            return int(added[0][1].shape[0])
        if base is not None:
            with contextlib.suppress(IndexStoreError, KeyError):
                return int(self._read_manifest(base)["dimension"])
        row = conn.execute("SELECT embedding FROM passages LIMIT 1").fetchone()
        return len(row[0]) // 4 if row else 0

    def _publish(self, staging: Path) -> str:
        """Rename staging to the next generation, then point CURRENT at it (the atomic step)."""
        existing = self._generations()
        number = int(existing[-1].name.split("-")[1]) + 1 if existing else 1
        name = f"gen-{number:06d}"
        os.rename(staging, self.directory / name)
        _fsync_path(self.directory)
        self._point_current_at(name)
        log.info("published index generation %s", name)
        return name

    def _point_current_at(self, name: str) -> None:
        """Replace CURRENT in one step (temp file, fsync, rename, fsync the folder)."""
        tmp = self.directory / f"{CURRENT_NAME}.tmp"
        with tmp.open("w", encoding="utf-8") as fh:
            fh.write(name + "\n")
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, self.directory / CURRENT_NAME)
        _fsync_path(self.directory)

    def _current_file_names(self, name: str) -> bool:
        """True when the CURRENT file itself (not a fallback) names this generation."""
        try:
            return (self.directory / CURRENT_NAME).read_bytes().strip() == name.encode()
        except OSError:
            return False

    def _prune(self) -> None:
        """Keep the live generation and the one before it; delete older ones."""
        for old in self._generations()[:-KEEP_GENERATIONS]:
            shutil.rmtree(old, ignore_errors=True)


def _context(doc: Document, lead_in: str, mode: str) -> str:
    """What the model reads before a passage: nothing, the article's title, or a list's lead-in."""
    if mode == "title":
        return doc.info.title
    if mode == "lead-in":
        return lead_in
    return ""


def _close_enough(old: dict, new: dict) -> bool:
    """An IVF index stays usable while its list count is within 2x of what the size calls for."""
    return 0.5 <= int(old.get("nlist", 0)) / int(new["nlist"]) <= 2.0


def _all_embeddings(conn: sqlite3.Connection, dimension: int, total: int) -> tuple[np.ndarray, np.ndarray]:
    """Every passage id and vector from the record, for rebuilding FAISS without the model."""
    ids = np.empty(total, dtype=np.int64)
    vectors = np.empty((total, dimension), dtype=np.float32)
    for row, (pid, blob) in enumerate(conn.execute("SELECT id, embedding FROM passages ORDER BY id")):
        ids[row] = pid
        vectors[row] = np.frombuffer(blob, dtype=np.float32)
    return ids, vectors


def _versions() -> dict[str, str]:
    """Versions of what built the index, recorded for whoever debugs it later."""
    from importlib import metadata

    out = {"python": platform.python_version(), "faiss": faiss.__version__}
    for dist in ("talksbot", "sentence-transformers", "torch", "transformers"):
        with contextlib.suppress(metadata.PackageNotFoundError):
            out[dist] = metadata.version(dist)
    return out


def _plan(scan: ScanResult, base: Path | None, report: SyncReport) -> list[Document]:
    """Compare the folder with the base generation by content hash; fill the report, return what to embed."""
    known: dict[str, str] = {}
    if base is not None:
        conn = IndexStore._open_sqlite_readonly(base / SQLITE_NAME)
        try:
            known = dict(conn.execute("SELECT path, content_hash FROM documents").fetchall())
        finally:
            conn.close()
    to_embed: list[Document] = []
    seen: set[str] = set()
    for doc in scan.documents:
        seen.add(doc.id)
        if doc.id not in known:
            report.added.append(doc.id)
            to_embed.append(doc)
        elif known[doc.id] != doc.content_hash:
            report.updated.append(doc.id)
            to_embed.append(doc)
        else:
            report.unchanged.append(doc.id)
    skipped_paths = {s.path for s in scan.skipped}
    for path in sorted(set(known) - seen):
        # A file that is still there but unreadable now keeps its last good version answerable.
        if path in skipped_paths:
            report.kept_previous.append(path)
        else:
            report.removed.append(path)
    return to_embed
