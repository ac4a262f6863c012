"""The FAISS index: chosen by size, built from the record, updated by id, loaded only when intact.

Vectors are unit length, so inner product equals cosine similarity: every index here searches
with inner product. Below ``EXACT_SEARCH_LIMIT`` passages the search is exact (``IndexFlatIP``);
above it an IVF index sized by the corpus answers in a few milliseconds, its vectors stored as
8-bit scalar-quantised residuals (``"codec": "sq8"`` in the manifest): a quarter of float32's
memory, 384 MB instead of 1.5 GB at a million passages, for a recall@10 still above 0.95
(bench/million.py). Search only picks candidates: their scores come from the exact float32
vectors in the record. The FAISS file is derived data: it can always be rebuilt from the
embeddings stored in SQLite, without the model.
"""

from __future__ import annotations

import logging
import math
import sqlite3
from pathlib import Path

import faiss
import numpy as np

from ..errors import IndexCorrupt
from . import record
from .files import sha256

__all__ = [
    "EXACT_SEARCH_LIMIT",
    "FAISS_NAME",
    "build_faiss_index",
    "faiss_kind_for",
    "next_faiss_index",
    "read_faiss",
    "search",
]

log = logging.getLogger(__name__)

FAISS_NAME = "vectors.faiss"
# Below this many passages exact search is fast enough (about 15 ms per question for 100,000
# passages of 384 floats on two cores, bench/memory.py); above it an IVF index takes a few ms.
EXACT_SEARCH_LIMIT = 100_000

FaissSpec = dict[str, int | str]


def faiss_kind_for(count: int) -> FaissSpec:
    """The FAISS index that suits ``count`` passages: exact below the limit, IVF above."""
    if count < EXACT_SEARCH_LIMIT:
        return {"kind": "flat"}
    # About sqrt(n) lists (a power of two), probing 1/16 of them: measured by bench/million.py on
    # clustered vectors, 1M passages answer in 7 ms at recall@10 0.974 and build in 5 s, where
    # 4*sqrt(n) lists built in 41 s for a recall of 0.956.
    nlist = 1 << max(8, round(math.log2(math.sqrt(count))))
    return {"kind": "ivf", "nlist": nlist, "nprobe": max(16, nlist // 16), "codec": "sq8"}


def build_faiss_index(vectors: np.ndarray, ids: np.ndarray, spec: FaissSpec, dimension: int) -> faiss.Index:
    """Build a FAISS index of the given spec over unit vectors (inner product = cosine)."""
    if spec["kind"] == "flat":
        index = faiss.IndexIDMap2(faiss.IndexFlatIP(dimension))
    else:
        quantizer = faiss.IndexFlatIP(dimension)
        if spec.get("codec") == "sq8":
            ivf = faiss.IndexIVFScalarQuantizer(
                quantizer, dimension, int(spec["nlist"]), faiss.ScalarQuantizer.QT_8bit, faiss.METRIC_INNER_PRODUCT
            )
        else:  # generations written before the codec was recorded
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


def read_faiss(path: Path, manifest: dict, *, for_update: bool = False) -> faiss.Index:
    """Load the FAISS file after checking it is the one the manifest describes.

    Only an index about to be updated by id keeps its id -> list map: for searching, it is 50 MB
    of hash table per million passages that no search reads.
    """
    expected = manifest["faiss"]
    try:
        size = path.stat().st_size
    except OSError:
        raise IndexCorrupt(f"The vector file {path} is missing.") from None
    if size != expected["bytes"] or sha256(path) != expected["sha256"]:
        raise IndexCorrupt(f"The vector file {path} is damaged (its checksum does not match the manifest).")
    try:
        index = faiss.read_index(str(path))
    except RuntimeError as err:
        raise IndexCorrupt(f"The vector file {path} cannot be read ({str(err).splitlines()[0]}).") from None
    if isinstance(index, faiss.IndexIVF):
        index.nprobe = int(expected.get("nprobe", index.nprobe))
        if not for_update:
            index.set_direct_map_type(faiss.DirectMap.NoMap)
    return index


def write_faiss(index: faiss.Index, path: Path, spec: FaissSpec) -> dict:
    """Write the index; return its manifest entry (kind, size, checksum)."""
    faiss.write_index(index, str(path))
    return {**spec, "bytes": path.stat().st_size, "sha256": sha256(path)}


def search(index: faiss.Index, query: np.ndarray, k: int) -> list[tuple[int, float]]:
    """The k passages nearest to a unit query vector, as (passage id, cosine)."""
    if index.ntotal == 0 or k <= 0:
        return []
    k = min(k, int(index.ntotal))
    # One query gains nothing from FAISS's OpenMP team, and pays for it twice: the team's barrier
    # waits for a core (6 ms instead of 6 us over 21 passages on a busy 2-core host), and its
    # threads keep spinning afterwards on the core the model's next forward pass needs. The
    # setting is per thread in libgomp, so it is set around this search only.
    threads = faiss.omp_get_max_threads()
    faiss.omp_set_num_threads(1)
    try:
        scores, ids = index.search(np.ascontiguousarray(query.reshape(1, -1), dtype=np.float32), k)
    finally:
        faiss.omp_set_num_threads(threads)
    return [(int(i), float(s)) for i, s in zip(ids[0], scores[0], strict=True) if i >= 0]


def next_faiss_index(
    conn: sqlite3.Connection,
    base: tuple[Path, dict] | None,
    removed_ids: list[int],
    added: list[tuple[int, np.ndarray]],
    dimension: int,
    total: int,
) -> tuple[faiss.Index, FaissSpec]:
    """Update the base generation's index by id when it still suits the size; else rebuild from the record.

    ``base`` is the base generation's folder and manifest when its FAISS file is intact.
    """
    spec = faiss_kind_for(total)
    if base is not None:
        directory, manifest = base
        old = manifest["faiss"]
        same_kind = old.get("kind") == spec["kind"] and old.get("codec") == spec.get("codec")
        if same_kind and (spec["kind"] == "flat" or _close_enough(old, spec)):
            index = read_faiss(directory / FAISS_NAME, manifest, for_update=True)
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
    ids, vectors = record.all_embeddings(conn, dimension, total)
    return build_faiss_index(vectors, ids, spec, dimension), spec


def _close_enough(old: dict, new: FaissSpec) -> bool:
    """An IVF index stays usable while its list count is within 2x of what the size calls for."""
    return 0.5 <= int(old.get("nlist", 0)) / int(new["nlist"]) <= 2.0
