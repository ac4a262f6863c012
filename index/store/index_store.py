"""``IndexStore``: open the live generation for reading, or sync a documents folder into a new one.

Reading falls back to the previous generation when the live one is damaged. Syncing holds the
single-writer lock, picks the generation to build on (or says why it starts from scratch),
plans and embeds what changed (indexer.py), writes the record (record.py) and the vectors
(vectors.py) into a staging folder, and publishes it atomically (generations.py).
"""

from __future__ import annotations

import contextlib
import logging
import sqlite3
import time
from collections.abc import Callable
from pathlib import Path

from ..documents import scan_documents
from ..embedder import Embedder
from ..errors import IndexCorrupt, IndexIncompatible, IndexMissing, IndexStoreError
from ..models import SyncReport
from . import lexicon, record, vectors
from .files import fsync_path, sha256, write_error
from .generations import CURRENT_NAME, GenerationFolder
from .indexer import ProgressFactory, embed_documents, plan_changes
from .manifest import MANIFEST_NAME, BuildConfig, write_manifest
from .snapshot import Snapshot

__all__ = ["IndexStore"]

log = logging.getLogger(__name__)


class IndexStore:
    """An index folder: open the live generation for reading, or bring it up to date with a folder."""

    def __init__(self, directory: Path | str) -> None:
        self.directory = Path(directory)
        self.folder = GenerationFolder(self.directory)

    # ----- reading

    def current_generation(self) -> str | None:
        """The name of the live generation, or None when nothing has been published."""
        return self.folder.current_generation()

    def open(self, expected: BuildConfig | None = None) -> Snapshot:
        """Open the live generation; fall back to the previous one (with a warning) if it is damaged."""
        name = self.current_generation()
        if name is None:
            raise IndexMissing(f"No index in {self.directory} yet; run `talksbot index` to build it.")
        try:
            return self._open_generation(self.directory / name, expected)
        except IndexCorrupt as err:
            previous = self.folder.previous(name)
            if previous is None:
                raise
            try:
                snap = self._open_generation(previous, expected)
            except IndexStoreError:
                raise err from None
            snap.warning = f"{err} Answering from the previous index ({previous.name}) meanwhile."
            log.warning("%s", snap.warning)
            return snap

    def _open_generation(self, directory: Path, expected: BuildConfig | None) -> Snapshot:
        """Open one generation folder, checking its manifest and files."""
        manifest = self.folder.manifest(directory)
        if expected is not None:
            diffs = expected.differences(BuildConfig(**manifest["config"]))
            if diffs:
                raise IndexIncompatible(
                    f"The index in {self.directory} was built differently ({'; '.join(diffs)}); "
                    "run `talksbot index` to rebuild it."
                )
        index = vectors.read_faiss(directory / vectors.FAISS_NAME, manifest)
        db_path = directory / record.SQLITE_NAME
        conn = record.open_readonly(db_path)
        try:
            count = conn.execute("SELECT COUNT(*) FROM passages").fetchone()[0]
        except sqlite3.DatabaseError as err:
            conn.close()
            raise IndexCorrupt(f"The index database {db_path} is damaged ({err}).") from None
        if count != index.ntotal:
            conn.close()
            raise IndexCorrupt(f"The index in {directory} is inconsistent ({count} passages, {index.ntotal} vectors).")
        try:
            return Snapshot(directory, manifest, conn, index)
        except sqlite3.DatabaseError as err:
            conn.close()
            raise IndexCorrupt(f"The index database {db_path} is damaged ({err}).") from None

    # ----- writing

    def writer_lock(self, *, wait: bool = True, on_wait: Callable[[], None] | None = None):  # type: ignore[no-untyped-def]
        """Hold the single-writer lock; wait for it, or raise IndexBusy when ``wait`` is False."""
        return self.folder.writer_lock(wait=wait, on_wait=on_wait)

    def sync(
        self,
        documents_dir: Path | str,
        embedder: Embedder,
        config: BuildConfig,
        *,
        rebuild: bool = False,
        wait: bool = True,
        on_wait: Callable[[], None] | None = None,
        progress: ProgressFactory | None = None,
    ) -> SyncReport:
        """Bring the index up to date with ``documents_dir``: embed only what changed, publish atomically."""
        started = time.perf_counter()
        with self.folder.writer_lock(wait=wait, on_wait=on_wait):
            report = self._sync_locked(Path(documents_dir), embedder, config, rebuild=rebuild, progress=progress)
        report.seconds = time.perf_counter() - started
        return report

    def _sync_locked(
        self,
        documents_dir: Path,
        embedder: Embedder,
        config: BuildConfig,
        *,
        rebuild: bool,
        progress: ProgressFactory | None,
    ) -> SyncReport:
        """The body of sync, run while holding the writer lock."""
        folder = self.folder
        folder.remove_leftovers()
        report = SyncReport()
        base, base_faiss_ok, base_lexicon_ok = self._choose_base(config, rebuild, report)
        base_is_live = base is not None and base.name == self.current_generation()

        scan = scan_documents(documents_dir)
        report.skipped, report.notes = scan.skipped, scan.notes
        try:
            to_embed = plan_changes(scan, base, report)
        except sqlite3.DatabaseError as err:
            raise write_error(err, self.directory) from None
        if base_is_live and base is not None and not report.has_changes and base_faiss_ok and base_lexicon_ok:
            if not folder.current_file_names(base.name):  # a damaged pointer was worked around: mend it
                try:
                    folder.point_current_at(base.name)
                except OSError as err:
                    raise write_error(err, self.directory) from None
                report.repaired = f"{CURRENT_NAME} was damaged; it names {base.name} again."
            report.generation = base.name
            report.documents, report.passages = record.counts(base / record.SQLITE_NAME)
            return report

        try:
            staging = folder.new_staging()  # before embedding: an unwritable folder fails in a second, not a minute
        except OSError as err:
            raise write_error(err, self.directory) from None
        try:
            embedded = embed_documents(to_embed, embedder, config, progress, report.notes)
            self._write_generation(staging, base, (base_faiss_ok, base_lexicon_ok), embedded, config, report)
            report.generation = folder.publish(staging)
        except (OSError, sqlite3.Error) as err:
            folder.discard_staging(staging)
            raise write_error(err, self.directory) from None
        except BaseException:
            folder.discard_staging(staging)
            raise
        report.published = True
        folder.prune()
        return report

    def _choose_base(self, config: BuildConfig, rebuild: bool, report: SyncReport) -> tuple[Path | None, bool, bool]:
        """Pick the generation to build on, and whether its FAISS file and lexicon are intact; say why when
        starting from scratch instead."""
        name = self.current_generation()
        if name is None:
            return None, False, False
        if rebuild:
            report.rebuilt_because = "a rebuild was requested (--rebuild)"
            return None, False, False
        candidates = [self.directory / name]
        previous = self.folder.previous(name)
        if previous is not None:
            candidates.append(previous)
        problems: list[str] = []
        for directory in candidates:
            try:
                manifest = self.folder.manifest(directory)
            except IndexStoreError as err:
                problems.append(str(err))
                continue
            diffs = config.differences(BuildConfig(**manifest["config"]))
            if diffs:
                report.rebuilt_because = f"the index was built differently ({'; '.join(diffs)})"
                return None, False, False
            try:
                self.folder.check_record(directory, manifest)
            except IndexCorrupt as err:
                problems.append(str(err))
                continue
            faiss_ok = True
            try:
                vectors.read_faiss(directory / vectors.FAISS_NAME, manifest)
            except IndexCorrupt as err:
                faiss_ok = False
                report.repaired = f"{err} Rebuilt it from the stored embeddings."
            lexicon_ok = True
            if "lexicon" in manifest:  # older generations have none: the next change writes one
                try:
                    lexicon.Lexicon.open(directory / lexicon.LEXICON_NAME, manifest["lexicon"])
                except IndexCorrupt as err:
                    lexicon_ok = False
                    report.repaired = f"{err} Rebuilt it from the record."
            if directory.name != name:
                report.repaired = f"{' '.join(problems)} Continued from the previous index ({directory.name})."
            return directory, faiss_ok, lexicon_ok
        report.rebuilt_because = f"the previous index is damaged ({' '.join(problems)})"
        return None, False, False

    def _write_generation(
        self,
        staging: Path,
        base: Path | None,
        base_ok: tuple[bool, bool],
        embedded: list[record.EmbeddedDocument],
        config: BuildConfig,
        report: SyncReport,
    ) -> None:
        """Write the SQLite record, the FAISS index and the lexicon of the next generation into ``staging``.

        ``base_ok`` says whether the base's FAISS file and lexicon can be updated (else they are rebuilt).
        """
        base_faiss_ok, base_lexicon_ok = base_ok
        base_manifest: dict | None = None
        if base is not None:
            with contextlib.suppress(IndexStoreError):
                base_manifest = self.folder.manifest(base)
        base_dimension = None
        if base_manifest is not None:
            with contextlib.suppress(KeyError, TypeError, ValueError):
                base_dimension = int(base_manifest["dimension"])
        db_path = staging / record.SQLITE_NAME
        conn, written = record.write_record(
            db_path,
            base / record.SQLITE_NAME if base is not None else None,
            report.removed + report.updated,
            embedded,
            base_dimension=base_dimension,
        )
        try:
            report.passages_removed = len(written.removed_ids)
            report.passages_added = len(written.added)
            report.documents, report.passages = written.documents, written.passages
            faiss_base = (base, base_manifest) if base is not None and base_faiss_ok and base_manifest else None
            index, spec = vectors.next_faiss_index(
                conn, faiss_base, written.removed_ids, written.added, written.dimension, written.passages
            )
            lexicon_base = (base, base_manifest) if base is not None and base_lexicon_ok and base_manifest else None
            lexicon_entry = lexicon.next_lexicon(
                conn, lexicon_base, written.removed_ids, written.added_texts, written.passages, staging
            )
        finally:
            conn.close()
        faiss_entry = vectors.write_faiss(index, staging / vectors.FAISS_NAME, spec)
        write_manifest(
            staging,
            config=config,
            dimension=written.dimension,
            faiss=faiss_entry,
            sqlite={"bytes": db_path.stat().st_size, "sha256": sha256(db_path)},
            counts={"documents": report.documents, "passages": report.passages},
            lexicon=lexicon_entry,
        )
        for name in (record.SQLITE_NAME, vectors.FAISS_NAME, lexicon.LEXICON_NAME, MANIFEST_NAME):
            fsync_path(staging / name)
