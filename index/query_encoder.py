"""Questions encoded by ONNX Runtime: the model's own weights, exported when the index is built.

Importing torch and sentence-transformers takes seconds, and encoding one question needs
neither. So when the index is built, the model's transformer is exported to ONNX
(``export_query_encoder``), checked against sentence-transformers on probe texts (every cosine
at least ``MIN_COSINE``) and kept beside the index generations, in ``INDEX_DIR/query-encoder/``.
Answering then encodes a question with ONNX Runtime and the model's own fast tokenizer
(``QueryEncoder``): same tokens, same weights, same mean pooling, without importing torch.

sentence-transformers stays the reference and the indexer: passages are always embedded by
it, and it answers questions itself whenever the export is missing, belongs to another model
(its fingerprint differs), is damaged, or no longer encodes its recorded probe as it did. The
next ``talksbot index`` exports again.

One thread, no spinning: a question is 10-30 tokens, a second thread barely shortens it, and
a pool of spinning threads would take the core that FAISS or a reindex needs.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import time
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from .embedder import EmbeddedPassage, Embedder, PassageInput, SentenceTransformerEmbedder

__all__ = ["ENCODER_DIR", "MIN_COSINE", "ExportedQueries", "QueryEncoder", "export_query_encoder", "is_current"]

log = logging.getLogger(__name__)

ENCODER_DIR = "query-encoder"
MODEL_FILE = "model.onnx"
TOKENIZER_FILE = "tokenizer.json"
META_FILE = "export.json"
FORMAT = 1
# The export is used only if every probe's vector is this close to sentence-transformers' own.
MIN_COSINE = 0.9999
_INPUTS = ("input_ids", "attention_mask", "token_type_ids")

# Questions and news sentences of every length the bot sees, plus one longer than the model reads
# (truncation) and one with accents and digits: what the export is checked on before it is used.
PROBES = (
    "What did Russia demand before agreeing to a ceasefire?",
    "whos medinsky",
    "peskov?",
    "How long did the first round of talks in Istanbul last?",
    "Did the two sides agree to exchange 1,000 prisoners of war each, and when would it happen?",
    "Ukraine's delegation, led by Defence Minister Rustem Umerov, met Russian negotiators at the "
    "Ciragan Palace on Friday; Turkish Foreign Minister Hakan Fidan opened the session.",
    "Zaporizhzhia, Kherson and Luhansk: the withdrawal demanded — « non-starters » said Kyiv.",
    "Is there a date for the next meeting yet?",
    " ".join(["The talks ended without a ceasefire but with a memorandum on prisoner exchanges."] * 30),
)


class QueryEncoder:
    """An ONNX Runtime session over an exported model, with its tokenizer: unit vectors for questions."""

    def __init__(self, directory: Path, meta: dict) -> None:
        import onnxruntime as ort
        from tokenizers import Tokenizer

        self.directory = directory
        self.model_id = str(meta["model_id"])
        self._lowercase = bool(meta.get("do_lower_case", False))
        self._tokenizer = Tokenizer.from_file(str(directory / TOKENIZER_FILE))
        self._tokenizer.no_padding()
        self._tokenizer.enable_truncation(int(meta["max_seq_length"]))
        options = ort.SessionOptions()
        options.intra_op_num_threads = 1
        options.inter_op_num_threads = 1
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        # One question at a time: no arena kept for batches that never come (tens of MB of resident memory).
        options.enable_cpu_mem_arena = False
        options.log_severity_level = 3
        self._session = ort.InferenceSession(str(directory / MODEL_FILE), options, providers=["CPUExecutionProvider"])
        self._inputs = [i.name for i in self._session.get_inputs()]

    @classmethod
    def open(cls, directory: Path, model_id: str) -> QueryEncoder | None:
        """The export in ``directory`` if it belongs to ``model_id`` and still encodes as recorded; else None."""
        meta = _read_meta(directory, model_id)
        if meta is None:
            return None
        try:
            encoder = cls(directory, meta)
            probe = encoder.embed_queries([PROBES[0]])[0]
        except Exception as err:  # a damaged file, a missing runtime: the reference answers instead
            log.warning("the question encoder in %s cannot be used (%s); using sentence-transformers", directory, err)
            return None
        recorded = np.asarray(meta["probe_vector"], dtype=np.float32)
        if float(probe @ recorded) < MIN_COSINE:
            log.warning("the question encoder in %s no longer matches its export; using the model", directory)
            return None
        return encoder

    def embed_queries(self, texts: Sequence[str]) -> np.ndarray:
        """Normalised vectors, one row per text: mean of the token vectors over the attention mask."""
        rows = []
        for text in texts:
            text = str(text).strip()  # sentence-transformers strips what it tokenizes
            encoding = self._tokenizer.encode(text.lower() if self._lowercase else text)
            feeds = {
                "input_ids": np.asarray([encoding.ids], dtype=np.int64),
                "attention_mask": np.asarray([encoding.attention_mask], dtype=np.int64),
                "token_type_ids": np.asarray([encoding.type_ids], dtype=np.int64),
            }
            tokens = self._session.run(None, {name: feeds[name] for name in self._inputs})[0][0]
            mask = feeds["attention_mask"][0].astype(np.float32)
            rows.append((tokens * mask[:, None]).sum(axis=0) / max(float(mask.sum()), 1e-9))
        vectors = np.asarray(rows, dtype=np.float32).reshape(len(rows), -1)
        norms = np.linalg.norm(vectors, axis=1, keepdims=True)
        return vectors / np.maximum(norms, 1e-12)


class ExportedQueries:
    """An ``Embedder`` whose questions go through the export; passages and tokens stay with the model itself."""

    def __init__(self, embedder: Embedder, encoder: QueryEncoder) -> None:
        self.embedder = embedder
        self.encoder = encoder

    @property
    def model_id(self) -> str:
        """The model's (the export belongs to it)."""
        return self.embedder.model_id

    @property
    def dimension(self) -> int:
        """The model's."""
        return self.embedder.dimension

    def count_tokens(self, text: str) -> int:
        """The model's tokenizer."""
        return self.embedder.count_tokens(text)

    def embed_queries(self, texts: Sequence[str]) -> np.ndarray:
        """Through ONNX Runtime."""
        return self.encoder.embed_queries(texts)

    def embed_passages(
        self, passages: Sequence[PassageInput], *, progress: Callable[[int], None] | None = None
    ) -> list[EmbeddedPassage]:
        """Through the model itself (sentence-transformers is the indexer)."""
        return self.embedder.embed_passages(passages, progress=progress)


def is_current(directory: Path, model_id: str) -> bool:
    """True when ``directory`` holds a complete export for ``model_id`` (a cheap check: no model loads)."""
    return _read_meta(directory, model_id) is not None


def _read_meta(directory: Path, model_id: str) -> dict | None:
    """The export's record when it is for ``model_id`` and its files are the size recorded."""
    try:
        meta = json.loads((directory / META_FILE).read_text(encoding="utf-8"))
        if meta.get("format") != FORMAT or meta.get("model_id") != model_id:
            return None
        for name, size in meta["files"].items():
            if (directory / name).stat().st_size != size:
                return None
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return None
    return meta


# The last export this process made and checked, by model: another index folder links its files
# instead of exporting again (the test suite builds many small indexes with one model).
_made: dict[str, Path] = {}
# Models whose export failed in this process: not tried again at every reindex (the warning said why).
_failed: set[str] = set()


def export_query_encoder(embedder: SentenceTransformerEmbedder, directory: Path) -> bool:
    """Export the embedder's model to ``directory`` and check it; False (logged) when it cannot be used."""
    if embedder.model_id in _failed:
        return False
    reuse = _made.get(embedder.model_id)
    staging = directory.parent / f".staging-encoder-{os.getpid()}-{int(time.time() * 1000)}"
    try:
        staging.mkdir(parents=True)
        if reuse is not None and is_current(reuse, embedder.model_id):
            for name in (MODEL_FILE, TOKENIZER_FILE, META_FILE):
                _link_or_copy(reuse / name, staging / name)
        else:
            meta = _export(embedder, staging)
            if meta is None:
                _failed.add(embedder.model_id)
                return False
        _replace(staging, directory)
        _made[embedder.model_id] = directory
    except Exception as err:  # the reference path answers: an export is an optimisation, never a failure
        log.warning("could not export the question encoder to %s: %s", directory, err)
        _failed.add(embedder.model_id)
        return False
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return True


def _export(embedder: SentenceTransformerEmbedder, staging: Path) -> dict | None:
    """Write model.onnx, tokenizer.json and export.json into ``staging``; None when the model does not fit."""
    import torch

    model = embedder.load()
    modules = list(model)
    transformer, pooling = modules[0], modules[1] if len(modules) > 1 else None
    if (
        type(transformer).__name__ != "Transformer"
        or getattr(pooling, "pooling_mode", None) != "mean"
        or any(type(m).__name__ != "Normalize" for m in modules[2:])
        or getattr(model, "default_prompt_name", None)
    ):
        log.info("%s is not a plain mean-pooled transformer; questions stay with sentence-transformers", embedder.name)
        return None
    tokenizer_json = Path(embedder.model_path) / TOKENIZER_FILE
    backend = getattr(model.tokenizer, "backend_tokenizer", None)
    if tokenizer_json.is_file():
        shutil.copyfile(tokenizer_json, staging / TOKENIZER_FILE)
    elif backend is not None:
        (staging / TOKENIZER_FILE).write_text(backend.to_str(), encoding="utf-8")
    else:
        log.info("%s has no fast tokenizer; questions stay with sentence-transformers", embedder.name)
        return None
    sample = model.tokenizer(["What did Russia demand?"], return_tensors="pt")
    names = [n for n in _INPUTS if n in sample]
    auto_model = transformer.auto_model

    class _TokenEmbeddings(torch.nn.Module):
        """The transformer with positional inputs, returning its last hidden state (what pooling reads)."""

        def __init__(self) -> None:
            super().__init__()
            self.inner = auto_model

        def forward(self, *args: torch.Tensor) -> torch.Tensor:
            return self.inner(**dict(zip(names, args, strict=True))).last_hidden_state

    axes = {n: {0: "batch", 1: "tokens"} for n in [*names, "token_embeddings"]}
    # The tracer warns about shapes this model does not vary on; the probes below check the result.
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(
            _TokenEmbeddings().eval(),
            tuple(sample[n] for n in names),
            str(staging / MODEL_FILE),
            input_names=names,
            output_names=["token_embeddings"],
            dynamic_axes=axes,
            opset_version=17,
            dynamo=False,  # the TorchScript exporter: no onnxscript, and it handles BERT's graph exactly
        )
    meta = {
        "format": FORMAT,
        "model_id": embedder.model_id,
        "max_seq_length": int(model.max_seq_length or 256),
        "do_lower_case": bool(getattr(transformer, "do_lower_case", False)),
        "files": {},
    }
    reference = embedder.embed_queries(list(PROBES))
    exported = QueryEncoder(staging, meta).embed_queries(list(PROBES))
    cosines = np.einsum("ij,ij->i", reference, exported)
    if float(cosines.min()) < MIN_COSINE:
        log.warning(
            "the ONNX export of %s differs from sentence-transformers (cosine %.6f < %s); not used",
            embedder.name,
            float(cosines.min()),
            MIN_COSINE,
        )
        return None
    meta.update(
        min_cosine=float(cosines.min()),
        probe_vector=[float(x) for x in exported[0]],
        versions=_versions(),
        files={name: (staging / name).stat().st_size for name in (MODEL_FILE, TOKENIZER_FILE)},
    )
    (staging / META_FILE).write_text(json.dumps(meta) + "\n", encoding="utf-8")
    log.info("exported the question encoder (min cosine %.7f over %d probes)", cosines.min(), len(PROBES))
    return meta


def _replace(staging: Path, directory: Path) -> None:
    """Put the staged export in place of ``directory`` (a reader sees the old one or the new one)."""
    old = directory.parent / f".staging-encoder-old-{os.getpid()}"
    if directory.exists():
        os.rename(directory, old)
    os.rename(staging, directory)
    shutil.rmtree(old, ignore_errors=True)


def _link_or_copy(source: Path, target: Path) -> None:
    """A hard link where the file system allows it (no second copy of 90 MB), else a copy."""
    try:
        os.link(source, target)
    except OSError:
        shutil.copyfile(source, target)


def _versions() -> dict[str, str]:
    """Versions that made the export, for whoever debugs it."""
    from importlib import metadata

    out = {}
    for dist in ("torch", "onnx", "onnxruntime", "tokenizers", "sentence-transformers"):
        try:
            out[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            continue
    return out
