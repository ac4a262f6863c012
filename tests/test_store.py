"""The index store: save and load, incremental sync, manifest checks, damage, locking, write failures."""

from __future__ import annotations

import errno
import shutil
from pathlib import Path

import faiss
import pytest

from index.errors import IndexBusy, IndexCorrupt, IndexIncompatible, IndexMissing, IndexWriteError
from index.store import CURRENT_NAME, FAISS_NAME, SQLITE_NAME, BuildConfig, IndexStore
from tests.conftest import REUTERS, REWRITE, FakeEmbedder

NEW = (
    "---\ntitle: Second round\nsource: Wire\npublished: 2025-06-02\n---\n"
    "The second round ended with a memorandum swap.\n"
)


@pytest.fixture
def store(tmp_path: Path) -> IndexStore:
    return IndexStore(tmp_path / "index")


def config(embedder: FakeEmbedder) -> BuildConfig:
    return BuildConfig(model=embedder.model_id)


def sync(store: IndexStore, docs: Path, embedder: FakeEmbedder, **kwargs):
    return store.sync(docs, embedder, config(embedder), **kwargs)


def test_opening_before_any_build_says_how_to_build(store):
    """No index yet: a clear error naming the command to run."""
    with pytest.raises(IndexMissing, match="talksbot index"):
        store.open()


def test_a_built_index_reopens_with_the_same_verbatim_passages(store, seed_docs, fake_embedder):
    """Save then load: counts match, and every stored passage is its document's exact text."""
    report = sync(store, seed_docs, fake_embedder)
    assert report.published and sorted(report.added) == [REUTERS, REWRITE]
    snap = store.open(config(fake_embedder))
    assert len(snap.documents) == 2 and snap.passage_total == report.passages > 10
    for doc_id in (REUTERS, REWRITE):
        body = snap.document_body(doc_id)
        for start, end, text in snap.document_passages(doc_id):
            assert body[start:end] == text
    manifest = snap.manifest
    assert manifest["config"]["model"] == fake_embedder.model_id and manifest["dimension"] == 64


def test_an_unchanged_folder_is_not_re_embedded_or_republished(store, seed_docs, fake_embedder):
    """A second sync with nothing changed embeds nothing and keeps the same generation."""
    first = sync(store, seed_docs, fake_embedder)
    embedded = fake_embedder.passages_embedded
    second = sync(store, seed_docs, fake_embedder)
    assert not second.published and second.generation == first.generation
    assert len(second.unchanged) == 2 and fake_embedder.passages_embedded == embedded


def test_add_edit_delete_touch_only_what_changed(store, seed_docs, fake_embedder):
    """New, changed and removed files are handled; unchanged ones are never re-embedded."""
    sync(store, seed_docs, fake_embedder)
    base = fake_embedder.passages_embedded
    (seed_docs / "new.md").write_text(NEW, encoding="utf-8")
    report = sync(store, seed_docs, fake_embedder)
    assert report.added == ["new.md"] and len(report.unchanged) == 2
    assert fake_embedder.passages_embedded - base == report.passages_added == 1

    (seed_docs / "new.md").write_text(NEW.replace("memorandum swap", "prisoner exchange"), encoding="utf-8")
    report = sync(store, seed_docs, fake_embedder)
    assert report.updated == ["new.md"] and report.passages_removed == 1 and report.passages_added == 1
    snap = store.open(config(fake_embedder))
    assert [t for _, _, t in snap.document_passages("new.md")] == ["The second round ended with a prisoner exchange."]

    (seed_docs / "new.md").unlink()
    report = sync(store, seed_docs, fake_embedder)
    assert report.removed == ["new.md"]
    snap = store.open(config(fake_embedder))
    assert snap.document_body("new.md") is None
    assert all(info.id != "new.md" for info in snap.documents.values())


def test_a_file_broken_after_indexing_keeps_its_last_good_version(store, seed_docs, fake_embedder):
    """Nothing indexed is lost to a bad save: the old version stays, the file is reported."""
    sync(store, seed_docs, fake_embedder)
    (seed_docs / REUTERS).write_bytes(b"\x00\x01binary garbage")
    report = sync(store, seed_docs, fake_embedder)
    assert report.kept_previous == [REUTERS] and report.removed == []
    assert [s.path for s in report.skipped] == [REUTERS]
    assert store.open(config(fake_embedder)).document_body(REUTERS)


def test_a_different_model_is_refused_on_open_and_rebuilt_on_sync(store, seed_docs, fake_embedder):
    """The manifest records the model: opening with another says so; syncing rebuilds and says why."""
    sync(store, seed_docs, fake_embedder)
    other = FakeEmbedder(model_id="another-model#2")
    with pytest.raises(IndexIncompatible, match="another-model"):
        store.open(config(other))
    report = sync(store, seed_docs, other)
    assert report.published and "model" in (report.rebuilt_because or "")
    assert other.passages_embedded == report.passages
    assert store.open(config(other)).manifest["config"]["model"] == "another-model#2"


def test_a_splitter_change_triggers_a_rebuild(store, seed_docs, fake_embedder):
    """A new splitter version rebuilds everything, saying it was the splitter."""
    sync(store, seed_docs, fake_embedder)
    newer = BuildConfig(model=fake_embedder.model_id, splitter_version=999)
    report = store.sync(seed_docs, fake_embedder, newer)
    assert "splitter version" in (report.rebuilt_because or "")


def test_rebuild_starts_from_scratch(store, seed_docs, fake_embedder):
    """--rebuild re-embeds every document."""
    first = sync(store, seed_docs, fake_embedder)
    report = sync(store, seed_docs, fake_embedder, rebuild=True)
    assert report.published and sorted(report.added) == [REUTERS, REWRITE]
    assert fake_embedder.passages_embedded == 2 * first.passages


def test_a_damaged_vector_file_falls_back_then_is_repaired_without_the_model(store, seed_docs, fake_embedder):
    """A corrupted FAISS file: readers use the previous generation; sync rebuilds vectors from SQLite."""
    sync(store, seed_docs, fake_embedder)
    (seed_docs / "new.md").write_text(NEW, encoding="utf-8")
    sync(store, seed_docs, fake_embedder)
    live = store.directory / store.current_generation()
    data = (live / FAISS_NAME).read_bytes()
    (live / FAISS_NAME).write_bytes(data[: len(data) // 2])

    snap = store.open(config(fake_embedder))
    assert snap.generation != live.name and "damaged" in (snap.warning or "")

    embedded = fake_embedder.passages_embedded
    report = sync(store, seed_docs, fake_embedder)
    assert report.published and "Rebuilt it from the stored embeddings" in (report.repaired or "")
    assert fake_embedder.passages_embedded == embedded
    snap = store.open(config(fake_embedder))
    assert snap.warning is None and snap.document_body("new.md")


def test_a_damaged_database_with_no_fallback_is_rebuilt(store, seed_docs, fake_embedder):
    """A corrupted SQLite file with no previous generation: open fails clearly, sync rebuilds."""
    sync(store, seed_docs, fake_embedder)
    live = store.directory / store.current_generation()
    (live / SQLITE_NAME).write_bytes(b"this is not a database" * 100)
    with pytest.raises(IndexCorrupt):
        store.open(config(fake_embedder))
    report = sync(store, seed_docs, fake_embedder)
    assert report.published and "damaged" in (report.rebuilt_because or "")
    assert len(store.open(config(fake_embedder)).documents) == 2


def test_leftovers_of_a_killed_writer_are_ignored_by_readers_and_cleaned_by_the_next_writer(
    store, seed_docs, fake_embedder
):
    """A half-written staging folder and an unpublished generation never become visible."""
    first = sync(store, seed_docs, fake_embedder)
    (store.directory / ".staging-123-456").mkdir()
    (store.directory / ".staging-123-456" / SQLITE_NAME).write_bytes(b"partial")
    (store.directory / "gen-999999").mkdir()
    assert store.open(config(fake_embedder)).generation == first.generation
    sync(store, seed_docs, fake_embedder)
    assert not list(store.directory.glob(".staging-*")) and not (store.directory / "gen-999999").exists()


def test_a_second_writer_is_refused_while_one_holds_the_lock(store, seed_docs, fake_embedder):
    """Two reindexes at once: the second one (not waiting) gets IndexBusy, and nothing is corrupted."""
    sync(store, seed_docs, fake_embedder)
    with store.writer_lock(), pytest.raises(IndexBusy, match="already running"):
        sync(store, seed_docs, fake_embedder, wait=False)
    assert len(store.open(config(fake_embedder)).documents) == 2


def test_a_full_disk_during_reindex_leaves_the_previous_index_answering(store, seed_docs, fake_embedder, monkeypatch):
    """A write error mid-reindex is reported in a sentence; the live generation is untouched."""
    first = sync(store, seed_docs, fake_embedder)
    (seed_docs / "new.md").write_text(NEW, encoding="utf-8")

    def disk_full(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(faiss, "write_index", disk_full)
    with pytest.raises(IndexWriteError, match="disk is full"):
        sync(store, seed_docs, fake_embedder)
    monkeypatch.undo()
    assert store.current_generation() == first.generation
    assert not list(store.directory.glob(".staging-*"))
    assert store.open(config(fake_embedder)).document_body("new.md") is None
    assert sync(store, seed_docs, fake_embedder).added == ["new.md"]


def test_an_unwritable_index_folder_is_a_clear_error(tmp_path, seed_docs, fake_embedder):
    """An index path that cannot be created is reported with what to do."""
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    store = IndexStore(blocker / "index")
    with pytest.raises(IndexWriteError, match="talksbot index"):
        sync(store, seed_docs, fake_embedder)


def test_only_two_generations_are_kept(store, seed_docs, fake_embedder):
    """Old generations are pruned; the live one and its predecessor stay."""
    for i in range(4):
        (seed_docs / "new.md").write_text(NEW.replace("memorandum", f"memorandum {i}"), encoding="utf-8")
        sync(store, seed_docs, fake_embedder)
    gens = sorted(p.name for p in store.directory.glob("gen-*"))
    assert len(gens) == 2 and gens[-1] == (store.directory / CURRENT_NAME).read_text().strip()


def test_the_vectors_can_be_rebuilt_from_sqlite_alone(store, seed_docs, fake_embedder):
    """Deleting the FAISS file of the live generation is repaired by sync with zero embedding calls."""
    sync(store, seed_docs, fake_embedder)
    live = store.directory / store.current_generation()
    for old in store.directory.glob("gen-*"):
        if old != live:
            shutil.rmtree(old)
    (live / FAISS_NAME).unlink()
    calls = fake_embedder.calls
    report = sync(store, seed_docs, fake_embedder)
    assert report.published and fake_embedder.calls == calls
    assert store.open(config(fake_embedder)).passage_total == report.passages


def test_past_the_exact_search_limit_an_ivf_index_is_chosen_recorded_and_updated_in_place(
    store, tmp_path, fake_embedder, monkeypatch
):
    """Above the size limit the store builds an IVF index (8-bit vectors) by itself, records it, updates it by id."""
    import index.store.vectors as store_module

    monkeypatch.setattr(store_module, "EXACT_SEARCH_LIMIT", 100)
    docs = tmp_path / "many"
    docs.mkdir()
    for i in range(60):
        paragraphs = "\n".join(f"Article {i} paragraph {j} mentions topic{i}x{j} and round {j}." for j in range(5))
        (docs / f"a{i:02d}.md").write_text(f"---\ntitle: Article {i}\nsource: Wire\n---\n{paragraphs}\n")
    report = sync(store, docs, fake_embedder)
    snap = store.open(config(fake_embedder))
    assert report.passages == 300 and snap.manifest["faiss"]["kind"] == "ivf"
    assert snap.manifest["faiss"]["codec"] == "sq8"  # a quarter of float32's memory
    nlist = snap.manifest["faiss"]["nlist"]
    query = fake_embedder.embed_queries(["Article 7 paragraph 3 mentions topic7x3 and round 3."])[0]
    best = snap.fetch([snap.dense_search(query, 5)[0][0]])
    assert "topic7x3" in next(iter(best.values())).text

    (docs / "a07.md").unlink()
    (docs / "new.md").write_text("---\ntitle: New\nsource: Wire\n---\nA brand new paragraph about topicnew.\n")
    report = sync(store, docs, fake_embedder)
    snap = store.open(config(fake_embedder))
    assert report.passages == 296 and snap.passage_total == 296
    assert snap.manifest["faiss"] == {**snap.manifest["faiss"], "kind": "ivf", "nlist": nlist}  # kept, not retrained
    hits = snap.fetch(pid for pid, _ in snap.dense_search(query, 10))
    assert all("topic7x3" not in p.text for p in hits.values())


def test_a_garbled_current_pointer_is_worked_around_then_mended(store, seed_docs, fake_embedder):
    """CURRENT zeroed by a power loss: readers use the newest complete generation; the next sync rewrites it."""
    first = sync(store, seed_docs, fake_embedder)
    (store.directory / CURRENT_NAME).write_bytes(b"\x00" * 16)
    assert store.open(config(fake_embedder)).generation == first.generation
    report = sync(store, seed_docs, fake_embedder)
    assert not report.published and "damaged" in (report.repaired or "")
    assert (store.directory / CURRENT_NAME).read_text().strip() == first.generation


def test_ask_still_answers_from_the_fallback_when_the_repair_cannot_be_written(
    store, seed_docs, fake_embedder, monkeypatch
):
    """Live generation damaged and the folder not writable: answers come from the previous generation."""
    from index.engine import Engine
    from index.errors import IndexWriteError

    sync(store, seed_docs, fake_embedder)
    (seed_docs / "new.md").write_text(NEW, encoding="utf-8")
    sync(store, seed_docs, fake_embedder)
    live = store.directory / store.current_generation()
    (live / FAISS_NAME).write_bytes(b"garbage")
    engine = Engine(seed_docs, store.directory, embedder=fake_embedder)

    def cannot_write(*args, **kwargs):
        raise IndexWriteError("Could not write the index: permission denied.")

    monkeypatch.setattr(engine.store, "sync", cannot_write)
    assert engine.ensure_index() is None
    assert engine.searcher().snapshot.generation != live.name
    assert engine.answer("neutral state weapons of mass destruction").hit is not None
