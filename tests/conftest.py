"""Shared fixtures: the real bundled model (loaded once per session), a fake embedder, corpora."""

from __future__ import annotations

import hashlib
import re
import shutil
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest

from index.embedder import EmbeddedPassage, PassageInput, SentenceTransformerEmbedder, normalize
from index.engine import Engine
from index.passages import approximate_token_count

ROOT = Path(__file__).resolve().parents[1]
DOCUMENTS = ROOT / "documents"
REUTERS = "2025-05-17-reuters-russia-demands-before-ceasefire.md"
REWRITE = "undated-rewrite-russia-territorial-demands.md"


class FakeEmbedder:
    """A model-free embedder for unit tests of the core: hashed bag of words, counts its work."""

    def __init__(self, dimension: int = 64, model_id: str = "fake-bag-of-words#1") -> None:
        self._dimension = dimension
        self._model_id = model_id
        self.passages_embedded = 0
        self.calls = 0

    @property
    def model_id(self) -> str:
        return self._model_id

    @property
    def dimension(self) -> int:
        return self._dimension

    def count_tokens(self, text: str) -> int:
        return approximate_token_count(text)

    def _vector(self, text: str) -> np.ndarray:
        vec = np.zeros(self._dimension, dtype=np.float32)
        for word in re.findall(r"\w+", text.casefold()):
            digest = hashlib.blake2b(word.encode(), digest_size=8).digest()
            vec[int.from_bytes(digest[:4], "little") % self._dimension] += 1.0
        return normalize(vec)

    def embed_queries(self, texts: Sequence[str]) -> np.ndarray:
        return np.stack([self._vector(t) for t in texts]) if texts else np.zeros((0, self._dimension), np.float32)

    def embed_passages(self, passages: Sequence[PassageInput], *, progress=None) -> list[EmbeddedPassage]:
        self.calls += 1
        self.passages_embedded += len(passages)
        out = []
        for p in passages:
            spans = p.sentences or ((0, len(p.text)),)
            out.append(EmbeddedPassage(self._vector(p.text), np.stack([self._vector(p.text[s:e]) for s, e in spans])))
        if progress:
            progress(len(passages))
        return out


@pytest.fixture(scope="session")
def embedder() -> SentenceTransformerEmbedder:
    """The real bundled all-MiniLM-L6-v2, loaded once for the whole run."""
    model = SentenceTransformerEmbedder()
    model.load()
    return model


@pytest.fixture
def fake_embedder() -> FakeEmbedder:
    """A fresh model-free embedder."""
    return FakeEmbedder()


@pytest.fixture
def seed_docs(tmp_path: Path) -> Path:
    """A writable copy of documents/ (the two seed articles)."""
    target = tmp_path / "documents"
    shutil.copytree(DOCUMENTS, target)
    return target


@pytest.fixture(scope="session")
def seed_engine(tmp_path_factory: pytest.TempPathFactory, embedder: SentenceTransformerEmbedder) -> Engine:
    """An engine over the seed articles with the real model, indexed once per session."""
    base = tmp_path_factory.mktemp("seed")
    docs = base / "documents"
    shutil.copytree(DOCUMENTS, docs)
    engine = Engine(docs, base / "index", embedder=embedder)
    engine.reindex()
    return engine
