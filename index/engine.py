"""The engine a face talks to: one documents folder, one index folder, one embedder.

It answers questions from the live index generation, reindexes, and swaps to a newly published
generation without a restart: a search in flight finishes on the snapshot it started with,
the next one uses the new snapshot. Everything here blocks; async callers use worker threads.

With ``index.models`` and ``index.errors`` this is the engine's public surface: the faces in
bot/ import these (through the ``index`` package) and nothing else of the engine.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from .embedder import DEFAULT_MODEL, Embedder, SentenceTransformerEmbedder
from .errors import IndexBusy, IndexCorrupt, IndexIncompatible, IndexMissing, IndexStoreError
from .models import Answer, DocumentInfo, IndexStats, SyncReport
from .query_encoder import ENCODER_DIR, ExportedQueries, QueryEncoder, export_query_encoder, is_current
from .reranker import Reranker, load_reranker
from .search import SearchConfig, Searcher
from .store import BuildConfig, IndexStore, ProgressFactory, Snapshot

__all__ = ["Engine", "IndexStats", "ProgressFactory"]

log = logging.getLogger(__name__)


class Engine:
    """Answers and reindexing over one index folder; thread-safe."""

    def __init__(
        self,
        documents_dir: Path | str,
        index_dir: Path | str,
        *,
        model: str = DEFAULT_MODEL,
        embedder: Embedder | None = None,
        search_config: SearchConfig | None = None,
        passage_context: str = "lead-in",
        threads: int | None = None,
        rerank_model: str | None = None,
        reranker: Reranker | None = None,
    ) -> None:
        self.documents_dir = Path(documents_dir)
        self.store = IndexStore(index_dir)
        self.embedder: Embedder = embedder or SentenceTransformerEmbedder(model, threads=threads)
        # The second stage changes answers, not the index: it is not in the manifest but in /about.
        if reranker is None and rerank_model:
            reranker = load_reranker(rerank_model, threads=threads)
        self.reranker = reranker
        self.search_config = search_config or SearchConfig()
        self.passage_context = passage_context
        self._searcher: Searcher | None = None
        # What encodes questions: the model's ONNX export when there is a good one, else the model.
        self._questions: Embedder | None = None
        self._swap_lock = threading.Lock()
        self._checked_at = 0.0

    @property
    def config(self) -> BuildConfig:
        """The build config this engine's index must match."""
        return BuildConfig(model=self.embedder.model_id, passage_context=self.passage_context)

    # ----- building

    def ensure_index(
        self,
        *,
        progress: ProgressFactory | None = None,
        on_build: Callable[[str], None] | None = None,
    ) -> SyncReport | None:
        """Build (or repair) the index when there is none usable; None when it was already fine."""
        reason: str | None = None
        snapshot: Snapshot | None = None
        try:
            snapshot = self.store.open(self.config)
            reason = snapshot.warning
        except IndexMissing:
            reason = f"no index yet in {self.store.directory}: building it from {self.documents_dir}"
        except (IndexIncompatible, IndexCorrupt) as err:
            reason = f"{err} Rebuilding it now."
        if reason is None and snapshot is not None:
            self._install(snapshot)
            return None
        if on_build:
            on_build(reason or "building the index")
        try:
            return self.reindex(progress=progress)
        except IndexStoreError as err:
            if snapshot is None:
                raise
            # The repair failed (a read-only folder, a full disk), but the previous generation answers.
            log.warning("could not repair the index (%s); answering from %s", err, snapshot.generation)
            self._install(snapshot)
            return None

    def reindex(
        self,
        *,
        rebuild: bool = False,
        wait: bool = True,
        on_wait: Callable[[], None] | None = None,
        progress: ProgressFactory | None = None,
    ) -> SyncReport:
        """Bring the index up to date with the documents folder and start answering from it."""
        report = self.store.sync(
            self.documents_dir,
            self.embedder,
            self.config,
            rebuild=rebuild,
            wait=wait,
            on_wait=on_wait,
            progress=progress,
        )
        self._export_query_encoder()
        current = self._searcher
        # Nothing answering yet (the terminal's `index`): the first question opens the index, not this.
        if current is not None and (report.published or current.snapshot.generation != report.generation):
            self._install(self.store.open(self.config))
        return report

    def _export_query_encoder(self) -> None:
        """Export the model for encoding questions without torch, unless a good export is there (query_encoder.py)."""
        directory = self.store.directory / ENCODER_DIR
        embedder = self.embedder
        if not isinstance(embedder, SentenceTransformerEmbedder) or is_current(directory, embedder.model_id):
            return  # another embedder (a test's fake) has nothing to export
        try:
            with self.store.writer_lock(wait=False):
                if not is_current(directory, embedder.model_id):
                    export_query_encoder(embedder, directory)
        except IndexBusy:
            return  # another process is writing: the next reindex exports
        self._questions = None

    def _question_encoder(self) -> Embedder:
        """The export when it is there and sound, else the model itself (opened once)."""
        if self._questions is None:
            encoder = None
            if isinstance(self.embedder, SentenceTransformerEmbedder):
                encoder = QueryEncoder.open(self.store.directory / ENCODER_DIR, self.embedder.model_id)
            self._questions = ExportedQueries(self.embedder, encoder) if encoder else self.embedder
        return self._questions

    @property
    def question_encoder(self) -> Embedder:
        """What encodes questions: the model's ONNX export when there is a sound one, else the model."""
        return self._question_encoder()

    def _install(self, snapshot: Snapshot) -> None:
        """Make a snapshot the one answers come from (one reference swap)."""
        with self._swap_lock:
            exported = is_current(self.store.directory / ENCODER_DIR, self.embedder.model_id)
            if self._questions is self.embedder and exported:
                self._questions = None  # exported since (by `talksbot index`, say): use it
            self._searcher = Searcher(snapshot, self._question_encoder(), self.search_config, reranker=self.reranker)
            self._checked_at = time.monotonic()
        log.info("answering from index %s", snapshot.generation)

    # ----- answering

    def searcher(self, *, max_age: float = 2.0) -> Searcher:
        """The current searcher; picks up a generation another process published (checked every max_age s)."""
        current = self._searcher
        if current is None:
            self._install(self.store.open(self.config))
            current = self._searcher
        elif time.monotonic() - self._checked_at > max_age:
            self._checked_at = time.monotonic()
            live = self.store.current_generation()
            if live and live != current.snapshot.generation:
                try:
                    self._install(self.store.open(self.config))
                except (IndexCorrupt, IndexIncompatible) as err:
                    log.warning("kept answering from %s: %s", current.snapshot.generation, err)
                current = self._searcher
        assert current is not None
        return current

    def answer(self, question: str, *, since: dt.date | None = None, alternatives: int | None = None) -> Answer:
        """Answer one question from the live index."""
        return self.searcher().answer(question, since=since, alternatives=alternatives)

    def warm_up(self) -> None:
        """Load the models that answer questions and run them once, so the first real question pays for neither."""
        self._question_encoder().embed_queries(["warm up"])
        if self.reranker is not None:
            self.reranker.score("warm up", ["warm up"])

    def stats(self) -> IndexStats:
        """Counts and build time of the live index."""
        snap = self.searcher().snapshot
        return IndexStats(
            documents=len(snap.documents),
            passages=snap.passage_total,
            generation=snap.generation,
            built_at=snap.built_at,
            model=snap.model,
            reranker=self.reranker.name if self.reranker else "",
        )

    def sources(self) -> list[tuple[DocumentInfo, int]]:
        """Every indexed article with its passage count, newest first (undated last)."""
        snap = self.searcher().snapshot
        rows = [(info, snap.passage_counts.get(db_id, 0)) for db_id, info in snap.documents.items()]
        rows.sort(key=lambda r: r[0].title.casefold())
        rows.sort(key=lambda r: r[0].published or dt.date.min, reverse=True)
        return rows

    def document_passage_count(self, doc_id: str) -> int:
        """Passages indexed for one article (0 if it is not indexed)."""
        snap = self.searcher().snapshot
        for db_id, info in snap.documents.items():
            if info.id == doc_id:
                return snap.passage_counts.get(db_id, 0)
        return 0

    def closeness(self, texts: Sequence[str], *, neighbours: int = 3) -> list[float | None]:
        """How close each text is to what is indexed: the mean cosine of its nearest passages (None: nothing indexed).

        The feed poller's on-topic judgement (bot/ingest.py) compares this with FEED_MIN_SIMILARITY.
        """
        try:
            snap = self.searcher().snapshot
        except IndexMissing:
            return [None for _ in texts]
        if not texts or snap.passage_total == 0:
            return [None for _ in texts]
        vectors = self.embedder.embed_queries(list(texts))
        out: list[float | None] = []
        for vector in vectors:
            scores = [score for _id, score in snap.dense_search(vector, neighbours)]
            out.append(sum(scores) / len(scores) if scores else None)
        return out
