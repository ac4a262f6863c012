"""File helpers every part of the store shares: checksums, fsync, and write failures as sentences."""

from __future__ import annotations

import errno
import hashlib
import os
import sqlite3
from pathlib import Path

from ..errors import IndexCorrupt, IndexStoreError, IndexWriteError

__all__ = ["fsync_path", "sha256", "write_error"]


def fsync_path(path: Path) -> None:
    """Flush a file or folder to disk, so a rename that follows cannot outrun its contents."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def sha256(path: Path) -> str:
    """Hex SHA-256 of a file, read in chunks."""
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def write_error(err: BaseException, where: Path) -> IndexStoreError:
    """Turn an OS or SQLite write failure into a sentence a maintainer can act on."""
    if isinstance(err, sqlite3.DatabaseError) and not isinstance(err, sqlite3.OperationalError):
        # Not a write failure: the database we built on is damaged. Starting over is the fix.
        return IndexCorrupt(
            f"The index in {where} is damaged ({err}); the live index is unchanged. "
            "Run `talksbot index --rebuild` to rebuild it from the documents."
        )
    if isinstance(err, FileExistsError | NotADirectoryError):
        # mkdir of the index folder (or a staging folder in it) met a file where a folder must be.
        return IndexWriteError(
            f"Could not write the index in {where}: it (or a folder above it) is a file, not a folder. "
            "Point INDEX_DIR (or --index-dir) at a folder (it is created when missing), then run `talksbot index`."
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
