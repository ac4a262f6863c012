"""An optional second stage: a stronger model re-scores the best candidates of the first (``RERANK_MODEL``).

The bundled all-MiniLM-L6-v2 caps answer quality (docs/quality.md). A host that can download
models can set ``RERANK_MODEL`` to a sentence-transformers model name (from the Hugging Face
cache: nothing is downloaded at run time) or a local folder:

- a **cross-encoder** (``sentence_transformers.CrossEncoder``, e.g. an ms-marco MiniLM) reads the
  question and each passage together and scores their relevance (0 to 1 for one-label models);
- a **bi-encoder** (a folder with ``modules.json``, e.g. all-mpnet-base-v2) scores the cosine of
  its own question and passage vectors: an ensemble with the first stage (a quarter of the similarity).

The search blends it into the similarity part of each candidate's score (index/search.py), so the
cut-offs must be calibrated again with the re-ranker on: ``talksbot eval --calibrate``.
"""

from __future__ import annotations

import json
import logging
import threading
from collections import OrderedDict
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from .embedder import _configure_offline, _first_line, load_on_cpu, normalize
from .errors import RerankerError

__all__ = ["BiEncoderReranker", "CrossEncoderReranker", "Reranker", "load_reranker"]

log = logging.getLogger(__name__)

_CACHED_PASSAGES = 20_000


class Reranker(Protocol):
    """What the search needs from a second-stage model."""

    @property
    def name(self) -> str:
        """The configured model name or folder, as recorded in /about and `talksbot eval`."""
        ...

    @property
    def default_weight(self) -> float:
        """The share of the first stage's similarity its score replaces unless RERANK_WEIGHT says otherwise."""
        ...

    def load(self) -> object:
        """Load the model now (it loads on first use otherwise)."""
        ...

    def score(self, question: str, passages: Sequence[str]) -> np.ndarray:
        """One relevance score per passage for the question (higher is more relevant)."""
        ...


class _Lazy:
    """A sentence-transformers model loaded once, offline, on first use (thread-safe)."""

    kind = "model"
    default_weight = 1.0

    def __init__(self, model: str, *, threads: int | None = None, batch_size: int = 16) -> None:
        _configure_offline()
        self._name = model
        self._threads = threads
        self.batch_size = batch_size
        self._model: Any = None
        self._lock = threading.Lock()

    @property
    def name(self) -> str:
        """The configured model name or folder."""
        return self._name

    def load(self) -> Any:
        """Load the model once; later calls return it at once."""
        if self._model is None:
            with self._lock:
                if self._model is None:
                    self._model = self._load_guarded()
        return self._model

    def _load_guarded(self) -> Any:
        try:
            model = load_on_cpu(self._build, self._threads)
        except Exception as err:
            raise RerankerError(
                f"Cannot load the re-ranking model {self._name!r}: {_first_line(err)}. RERANK_MODEL must name a "
                "sentence-transformers cross-encoder or bi-encoder available offline (a local folder, or a name "
                "already in the Hugging Face cache); leave it empty to answer without a second stage."
            ) from err
        log.info("loaded re-ranking %s %s", self.kind, self._name)
        return model

    def _build(self) -> Any:  # pragma: no cover - overridden
        raise NotImplementedError


class CrossEncoderReranker(_Lazy):
    """A sentence-transformers CrossEncoder scoring (question, passage) pairs on the CPU."""

    kind = "cross-encoder"

    def _build(self) -> Any:
        from sentence_transformers import CrossEncoder

        return CrossEncoder(self._name, device="cpu")

    def score(self, question: str, passages: Sequence[str]) -> np.ndarray:
        """The model's relevance of each passage to the question (a probability for one-label models)."""
        if not passages:
            return np.zeros(0, dtype=np.float32)
        scores = self.load().predict(
            [(question, p) for p in passages], batch_size=self.batch_size, show_progress_bar=False
        )
        return np.asarray(scores, dtype=np.float32).reshape(len(passages), -1)[:, -1]


class BiEncoderReranker(_Lazy):
    """A sentence-transformers bi-encoder (another embedding model) scoring by its own cosine."""

    kind = "bi-encoder"
    # Another embedding model's cosine is on the first stage's scale: an ensemble. A quarter was the best
    # measured share for all-mpnet-base-v2 (0.5 and 1 lost more on the seeds than they won elsewhere).
    default_weight = 0.25

    def _build(self) -> Any:
        from sentence_transformers import SentenceTransformer

        return SentenceTransformer(self._name, device="cpu")

    def __init__(self, model: str, *, threads: int | None = None, batch_size: int = 16) -> None:
        super().__init__(model, threads=threads, batch_size=batch_size)
        # The same passages come back question after question: their vectors are kept (about 3 KB each).
        self._vectors: OrderedDict[str, np.ndarray] = OrderedDict()
        self._cache_lock = threading.Lock()

    def score(self, question: str, passages: Sequence[str]) -> np.ndarray:
        """Cosine between the model's vector of the question and of each passage."""
        if not passages:
            return np.zeros(0, dtype=np.float32)
        with self._cache_lock:
            missing = [p for p in dict.fromkeys(passages) if p not in self._vectors]
        texts = [question, *missing]
        vectors = normalize(
            self.load().encode(texts, batch_size=self.batch_size, show_progress_bar=False, convert_to_numpy=True)
        )
        with self._cache_lock:
            self._vectors.update(zip(missing, vectors[1:], strict=True))
            found = np.stack([self._vectors[p] for p in passages])
            while len(self._vectors) > _CACHED_PASSAGES:
                self._vectors.popitem(last=False)
        return found @ vectors[0]


def load_reranker(model: str, *, threads: int | None = None) -> Reranker:
    """The re-ranker for a model name or folder: a bi-encoder when it has sentence-transformers modules."""
    return (
        BiEncoderReranker(model, threads=threads)
        if _is_bi_encoder(model)
        else CrossEncoderReranker(model, threads=threads)
    )


def _is_bi_encoder(model: str) -> bool:
    """True when the model is a SentenceTransformer (its modules.json lists a pooling layer)."""
    path = Path(model)
    modules: Path | None = path / "modules.json" if path.is_dir() else None
    if modules is None:
        try:
            from huggingface_hub import try_to_load_from_cache

            cached = try_to_load_from_cache(model, "modules.json")
        except Exception:  # not a repository name: the cross-encoder loader will say what is wrong
            cached = None
        modules = Path(cached) if isinstance(cached, str) else None
    if modules is None or not modules.is_file():
        return False
    try:
        entries = json.loads(modules.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return any("Pooling" in str(entry.get("type", "")) for entry in entries if isinstance(entry, dict))
