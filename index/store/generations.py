"""Generation folders and their atomic publish: how a new index goes live without a reader noticing.

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

A staging folder left by a killed writer is removed by the next one. A SIGTERM (a service
manager stopping the bot, `kill`) does not wait for that: with ``staging_removed_on_sigterm``
installed by the entry point, the handler removes this process's staging folders first, then
lets the signal end the process as it would have (the single-writer lock dies with it).
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import shutil
import signal
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from types import FrameType

from ..errors import IndexBusy, IndexCorrupt, IndexStoreError
from ..filelock import holding, open_lock_file
from . import record
from .files import fsync_path, sha256, write_error
from .manifest import read_manifest

__all__ = ["CURRENT_NAME", "KEEP_GENERATIONS", "LOCK_NAME", "GenerationFolder", "staging_removed_on_sigterm"]

log = logging.getLogger(__name__)

CURRENT_NAME = "CURRENT"
LOCK_NAME = ".lock"
BUSY = "A reindex is already running; try again when it has finished."
KEEP_GENERATIONS = 2
_GENERATION_NAME = re.compile(r"gen-\d{6}")

# This process's staging folders still being written, for the SIGTERM handler. Re-entrant: the
# handler runs on the main thread, which may itself be inside new_staging or publish.
_staging_lock = threading.RLock()
_live_staging: set[Path] = set()


class GenerationFolder:
    """An index folder's generations: which is live, the single-writer lock, publishing the next one."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    # ----- which generation is live

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
        fallback = self._newest_readable()
        if raw is not None and fallback is not None:
            log.warning(
                "%s is damaged (%r); using %s, the newest complete generation", CURRENT_NAME, name[:40], fallback
            )
        return fallback

    def generations(self) -> list[Path]:
        """Generation folders, oldest first."""
        try:
            return sorted(p for p in self.directory.glob("gen-*") if _GENERATION_NAME.fullmatch(p.name) and p.is_dir())
        except OSError:
            return []

    def _newest_readable(self) -> str | None:
        """The newest generation folder with a readable manifest (complete by construction)."""
        for directory in reversed(self.generations()):
            try:
                self.manifest(directory)
            except IndexStoreError:
                continue
            return directory.name
        return None

    def previous(self, current: str) -> Path | None:
        """The newest published generation older than ``current``, if one is kept."""
        older = [p for p in self.generations() if p.name < current]
        return older[-1] if older else None

    def current_file_names(self, name: str) -> bool:
        """True when the CURRENT file itself (not a fallback) names this generation."""
        try:
            return (self.directory / CURRENT_NAME).read_bytes().strip() == name.encode()
        except OSError:
            return False

    # ----- checking a generation

    def manifest(self, directory: Path) -> dict:
        """A generation's manifest, checked (IndexCorrupt / IndexIncompatible otherwise)."""
        return read_manifest(directory, self.directory)

    @staticmethod
    def check_record(directory: Path, manifest: dict) -> None:
        """The record is the file the manifest describes, and opens (IndexCorrupt otherwise)."""
        path = directory / record.SQLITE_NAME
        expected = manifest.get("sqlite")
        if expected is not None:
            try:
                matches = path.stat().st_size == expected["bytes"] and sha256(path) == expected["sha256"]
            except OSError:
                matches = False
            if not matches:
                raise IndexCorrupt(f"The index database {path} is damaged (its checksum does not match the manifest).")
        record.open_readonly(path).close()

    # ----- writing

    @contextlib.contextmanager
    def writer_lock(self, *, wait: bool = True, on_wait: Callable[[], None] | None = None) -> Iterator[None]:
        """Hold the single-writer lock; wait for it, or raise IndexBusy when ``wait`` is False."""
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            fd = open_lock_file(self.directory / LOCK_NAME)
        except OSError as err:
            raise write_error(err, self.directory) from None
        with holding(fd, wait=wait, on_wait=on_wait, busy=lambda: IndexBusy(BUSY)):
            yield

    def new_staging(self) -> Path:
        """A fresh, empty staging folder for the next generation (created now, so a bad folder fails early)."""
        staging = self.directory / f".staging-{os.getpid()}-{int(time.time() * 1000)}"
        with _staging_lock:
            staging.mkdir(parents=True)
            _live_staging.add(staging)
        return staging

    @staticmethod
    def discard_staging(staging: Path) -> None:
        """Delete a staging folder that will not be published."""
        with _staging_lock:
            _live_staging.discard(staging)
            shutil.rmtree(staging, ignore_errors=True)

    def publish(self, staging: Path) -> str:
        """Rename staging to the next generation, then point CURRENT at it (the atomic step)."""
        existing = self.generations()
        number = int(existing[-1].name.split("-")[1]) + 1 if existing else 1
        name = f"gen-{number:06d}"
        with _staging_lock:  # a SIGTERM handler on another thread waits for the rename, never halves it
            os.rename(staging, self.directory / name)
            _live_staging.discard(staging)
        fsync_path(self.directory)
        self.point_current_at(name)
        log.info("published index generation %s", name)
        return name

    def point_current_at(self, name: str) -> None:
        """Replace CURRENT in one step (temp file, fsync, rename, fsync the folder)."""
        tmp = self.directory / f"{CURRENT_NAME}.tmp"
        with tmp.open("w", encoding="utf-8") as fh:
            fh.write(name + "\n")
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, self.directory / CURRENT_NAME)
        fsync_path(self.directory)

    def prune(self) -> None:
        """Keep the live generation and the one before it; delete older ones."""
        for old in self.generations()[:-KEEP_GENERATIONS]:
            shutil.rmtree(old, ignore_errors=True)

    def remove_leftovers(self) -> None:
        """Delete what a killed writer left behind: staging folders and unpublished generations."""
        current = self.current_generation()
        for path in self.directory.glob(".staging-*"):
            shutil.rmtree(path, ignore_errors=True)
        if current is None:
            return  # nothing readable is live: keep every folder for whoever investigates
        for path in self.generations():
            if path.name > current:
                shutil.rmtree(path, ignore_errors=True)


@contextlib.contextmanager
def staging_removed_on_sigterm() -> Iterator[None]:
    """While inside, a SIGTERM first removes this process's unfinished staging folders, then ends it as usual.

    Installed by the entry point (the CLI) from the main thread; elsewhere, or when SIGTERM is
    ignored, it does nothing. The previous handler is restored on exit and called by ours.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.getsignal(signal.SIGTERM)
    if previous is signal.SIG_IGN:
        yield
        return

    def on_sigterm(signum: int, frame: FrameType | None) -> None:
        with _staging_lock:  # waits while another thread publishes; re-entered if this thread is
            for path in list(_live_staging):
                shutil.rmtree(path, ignore_errors=True)
            _live_staging.clear()
        if callable(previous):
            previous(signum, frame)
            return
        # The default action: end the process, killed by SIGTERM as the sender expects.
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        os.kill(os.getpid(), signal.SIGTERM)

    signal.signal(signal.SIGTERM, on_sigterm)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous if previous is not None else signal.SIG_DFL)
