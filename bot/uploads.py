"""Accepting an article uploaded from Discord: checks first, a safe name, an atomic write.

Nothing is written unless every check passes: the suffix, the size (1 MiB), UTF-8 text, front
matter or a first-line title, and a file name that cannot leave the documents folder or, unless
asked, replace an article that is already there.

File names keep the letters of every script (``Київ-1.md`` stays ``Київ-1.md``): a plain name
of letters, digits, spaces and ``- _ . , ( ) ' & + !`` is kept exactly as typed. Any other name
(a hidden ``.name``, a slash look-alike, an emoji, a right-to-left override, too long) has the
offending characters replaced and ``~`` plus a hash of the whole original name appended, so two
different names never become one file: kept names cannot contain ``~``, and rewritten names
differ by their hash.
"""

from __future__ import annotations

import hashlib
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
# ext4 and most file systems allow 255 bytes per name; Cyrillic takes two bytes a letter, CJK three.
MAX_NAME_BYTES = 200
_KEPT_PUNCTUATION = frozenset(" -_.,()'&+!")
_HASH_CHARS = 8
_WINDOWS_RESERVED = frozenset(
    ["CON", "PRN", "AUX", "NUL"] + [f"COM{i}" for i in range(1, 10)] + [f"LPT{i}" for i in range(1, 10)]
)


class UploadRejected(TalksbotError):
    """An uploaded file is not accepted; the message says why. Nothing was written."""


@dataclass(frozen=True, slots=True)
class PreparedUpload:
    """A validated upload: where it goes, what it contains, and what it replaces."""

    name: str
    path: Path
    data: bytes
    document: Document
    replaces: bool
    # The title of the article being replaced ("" when nothing is, or the old file was not a readable article).
    replaced_title: str = ""
    renamed: bool = False  # the file name had to be changed to be safe


def safe_article_name(filename: str) -> str:
    """A plain file name from whatever the uploader called the file, or UploadRejected.

    Letters of every script are kept; two different names never give the same result.
    """
    raw = filename.replace("\\", "/")
    if "/" in raw or raw in (".", "..") or "\x00" in raw:
        raise UploadRejected(f"The file name {filename[:80]!r} contains a path; upload a plain file name.")
    name = unicodedata.normalize("NFC", raw)  # the same name typed on macOS or Windows is the same name
    stem, dot, suffix = name.rpartition(".")
    if not dot or f".{suffix.lower()}" not in UPLOAD_SUFFIXES:
        raise UploadRejected("Only .md and .txt files can be added as articles.")
    kept = stem if _is_plain(stem) and _fits(stem, suffix) else _rewritten(stem, suffix, name)
    if kept.split(".")[0].split("~")[0].strip().upper() in _WINDOWS_RESERVED:
        # Harmless here, but the documents folder could no longer be checked out on Windows.
        raise UploadRejected(f"{kept.split('.')[0]} is a reserved device name on Windows; rename the file.")
    return f"{kept}.{suffix}"


def _is_plain(stem: str) -> bool:
    """Letters, marks and digits of any script with a little punctuation, not hidden, not option-like."""
    return (
        bool(stem)
        and all(unicodedata.category(c)[0] in "LMN" or c in _KEPT_PUNCTUATION for c in stem)
        and stem[0] not in " .-"
        and stem[-1] not in " ."
        and any(unicodedata.category(c)[0] in "LN" for c in stem)
    )


def _fits(stem: str, suffix: str) -> bool:
    name = f"{stem}.{suffix}"
    return len(name) <= MAX_NAME_CHARS and len(name.encode("utf-8")) <= MAX_NAME_BYTES


def _rewritten(stem: str, suffix: str, original: str) -> str:
    """The stem with unsafe characters replaced and '~' + a hash of the original name appended."""
    cleaned = "".join(c if unicodedata.category(c)[0] in "LMN" or c in _KEPT_PUNCTUATION else "-" for c in stem)
    cleaned = re.sub(r"-{2,}", "-", cleaned).strip(" .-_")
    if not any(unicodedata.category(c)[0] in "LN" for c in cleaned):
        raise UploadRejected(f"The file name {original[:80]!r} has no letters or digits; rename it.")
    tag = "~" + hashlib.sha256(original.encode("utf-8", "surrogatepass")).hexdigest()[:_HASH_CHARS]
    while cleaned and not _fits(cleaned + tag, suffix):
        cleaned = cleaned[:-1].rstrip(" .-_")
    return cleaned + tag


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
    replaced_title = _title_of(path) if exists and not path.is_symlink() and path.is_file() else ""
    if exists and not overwrite:
        held = f" (it holds {replaced_title!r})" if replaced_title else ""
        raise UploadRejected(
            f"An article named {name} already exists{held}; add it again with overwrite: True to replace it."
        )
    if exists and (path.is_symlink() or not path.is_file()):
        raise UploadRejected(f"{name} exists and is not a regular file; it cannot be replaced.")
    return PreparedUpload(
        name=name,
        path=path,
        data=data,
        document=document,
        replaces=exists,
        replaced_title=replaced_title,
        renamed=name != unicodedata.normalize("NFC", filename),
    )


def _title_of(path: Path) -> str:
    """The title of the article in ``path``, or "" when it cannot be read as one."""
    try:
        return parse_article(path.read_bytes(), doc_id=path.name, path=path).info.title
    except (OSError, DocumentError):
        return ""


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
