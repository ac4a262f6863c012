"""What built a generation, written beside it and checked before anything reads or extends it.

``manifest.json`` records the build config (model fingerprint, splitter, passage context), the
vector dimension, the FAISS index's kind with its size and checksum, the SQLite file's size and
checksum, the counts, and the versions of what built it. JSON, never pickle: a maintainer can
read it, and loading it cannot run code.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import json
import platform
from dataclasses import dataclass
from pathlib import Path

from ..errors import IndexCorrupt, IndexIncompatible
from ..passages import DEFAULT_MAX_TOKENS, SPLITTER_VERSION

__all__ = ["FORMAT_VERSION", "MANIFEST_NAME", "BuildConfig", "read_manifest", "versions", "write_manifest"]

FORMAT_VERSION = 2
MANIFEST_NAME = "manifest.json"


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


def read_manifest(directory: Path, index_dir: Path) -> dict:
    """Read and sanity-check a generation's manifest (IndexCorrupt / IndexIncompatible otherwise)."""
    path = directory / MANIFEST_NAME
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
        BuildConfig(**manifest["config"])
        if manifest.get("format") != FORMAT_VERSION:
            raise IndexIncompatible(
                f"The index in {index_dir} has format {manifest.get('format')}, this talksbot reads "
                f"format {FORMAT_VERSION}; run `talksbot index` to rebuild it."
            )
    except FileNotFoundError:
        raise IndexCorrupt(f"The index manifest {path} is missing.") from None
    except (OSError, ValueError, KeyError, TypeError) as err:
        raise IndexCorrupt(f"The index manifest {path} is damaged ({type(err).__name__}).") from None
    return manifest


def write_manifest(
    directory: Path,
    *,
    config: BuildConfig,
    dimension: int,
    faiss: dict,
    sqlite: dict,
    counts: dict[str, int],
    lexicon: dict | None = None,
) -> None:
    """Write ``manifest.json`` into a staging folder."""
    manifest = {
        "format": FORMAT_VERSION,
        "created_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "config": dataclasses.asdict(config),
        "dimension": dimension,
        "faiss": faiss,
        # Checked before a reindex builds on this generation: a damaged record must not be copied on.
        "sqlite": sqlite,
        "counts": counts,
        "versions": versions(),
    }
    if lexicon is not None:  # derived from the record like the FAISS file (index/store/lexicon.py)
        manifest["lexicon"] = lexicon
    (directory / MANIFEST_NAME).write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")


def versions() -> dict[str, str]:
    """Versions of what built the index, recorded for whoever debugs it later."""
    from importlib import metadata

    import faiss

    out = {"python": platform.python_version(), "faiss": faiss.__version__}
    for dist in ("talksbot", "sentence-transformers", "torch", "transformers"):
        with contextlib.suppress(metadata.PackageNotFoundError):
            out[dist] = metadata.version(dist)
    return out
