"""Accepting an article uploaded from Discord: checks first, a safe name, an atomic write.

Nothing is written unless every check passes: the suffix, the size (1 MiB), UTF-8 text, front
matter or a first-line title, and a file name that cannot leave the documents folder or, unless
asked, replace an article that is already there.
"""

from __future__ import annotations

import os
import re
import tempfile
import unicodedata
from dataclasses import dataclass
from pathlib import Path

from index import Document, DocumentError, TalksbotError, parse_article

__all__ = [
    "MAX_UPLOAD_BYTES",
    "UPLOAD_SUFFIXES",
    "PreparedUpload",
    "UploadRejected",
    "prepare_upload",
    "safe_article_name",
]

MAX_UPLOAD_BYTES = 1024 * 1024
UPLOAD_SUFFIXES = (".md", ".txt")
MAX_NAME_CHARS = 100
_WINDOWS_RESERVED = frozenset(
    ["CON", "PRN", "AUX", "NUL"] + [f"COM{i}" for i in range(1, 10)] + [f"LPT{i}" for i in range(1, 10)]
)


class UploadRejected(TalksbotError):
    """An uploaded file is not accepted; the message says why. Nothing was written."""


@dataclass(frozen=True, slots=True)
class PreparedUpload:
    """A validated upload: where it goes and what it contains."""

    name: str
    path: Path
    data: bytes
    document: Document
    replaces: bool


def safe_article_name(filename: str) -> str:
    """A plain file name from whatever the uploader called the file, or UploadRejected."""
    raw = filename.replace("\\", "/")
    if "/" in raw or raw in (".", "..") or "\x00" in raw:
        raise UploadRejected(f"The file name {filename[:80]!r} contains a path; upload a plain file name.")
    name = unicodedata.normalize("NFKC", raw)
    stem, dot, suffix = name.rpartition(".")
    if not dot or f".{suffix.lower()}" not in UPLOAD_SUFFIXES:
        raise UploadRejected("Only .md and .txt files can be added as articles.")
    stem = re.sub(r"[^A-Za-z0-9._-]+", "-", stem).strip(".-_")
    if not stem:
        raise UploadRejected(f"The file name {filename[:80]!r} has no usable characters; rename it.")
    if stem.split(".")[0].upper() in _WINDOWS_RESERVED:
        # Harmless here, but the documents folder could no longer be checked out on Windows.
        raise UploadRejected(f"{stem} is a reserved device name on Windows; rename the file.")
    return f"{stem[: MAX_NAME_CHARS - 4]}.{suffix.lower()}"


def check_size(size: int) -> None:
    """Refuse a file over the upload limit before downloading it."""
    if size > MAX_UPLOAD_BYTES:
        raise UploadRejected(f"The file is {size / 1048576:.1f} MiB; articles can be at most 1 MiB.")
    if size == 0:
        raise UploadRejected("The file is empty.")


def prepare_upload(documents_dir: Path, filename: str, data: bytes, *, overwrite: bool) -> PreparedUpload:
    """Validate an upload completely, without writing anything."""
    name = safe_article_name(filename)
    check_size(len(data))
    try:
        document = parse_article(data, doc_id=name, path=name)
    except DocumentError as err:
        raise UploadRejected(f"{name} is not a usable article: {err.reason}.") from None
    root = documents_dir.resolve()
    path = (root / name).resolve()
    if path.parent != root:  # belt and braces: the name above cannot contain a separator
        raise UploadRejected("That file name would leave the documents folder.")
    exists = path.exists() or path.is_symlink()
    if exists and not overwrite:
        raise UploadRejected(
            f"An article named {name} already exists; add it again with overwrite: True to replace it."
        )
    if exists and not path.is_file():
        raise UploadRejected(f"{name} exists and is not a regular file; it cannot be replaced.")
    return PreparedUpload(name=name, path=path, data=data, document=document, replaces=exists)


def write_atomically(path: Path, data: bytes) -> bytes | None:
    """Write ``data`` to ``path`` in one step (temp file, fsync, rename); return the old content, if any."""
    previous = path.read_bytes() if path.is_file() else None
    fd, tmp = tempfile.mkstemp(prefix=".upload-", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return previous


def undo_write(path: Path, previous: bytes | None) -> None:
    """Put back what write_atomically replaced (or remove what it added)."""
    if previous is None:
        path.unlink(missing_ok=True)
    else:
        write_atomically(path, previous)
