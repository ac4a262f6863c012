"""The lexicon: FTS5's own bm25 top k, score for score, from the derived postings file; kept up to date and repaired."""

from __future__ import annotations

import random
import sqlite3
from pathlib import Path

import numpy as np
import pytest

from index.questions import lexical_query
from index.store import BuildConfig, IndexStore, lexicon, record, snapshot
from tests.conftest import FakeEmbedder

WORDS = (
    "talks ceasefire prisoners exchange istanbul russia ukraine delegation memorandum withdrawal troops regions "
    "kremlin peskov medinsky umerov fidan turkey sanctions energy strikes nuclear plant zaporizhzhia children "
    "talk talked talking negotiators negotiations security guarantees summit envoy grain corridor black sea"
).split()
QUESTIONS = [
    "What did Russia demand before a ceasefire in Istanbul?",
    "whos medinsky",
    "peskov?",
    "did the talks on the nuclear plant in zaporizhzhia go anywhere",
    "prisoners exchange talks talked talking",  # three words, one stem: FTS5 counts each phrase
    "security guarantees and a summit with the envoy",
    "words nobody wrote anywhere xyzzy",
    "russia ukraine talks",  # only common words
]


def _corpus(folder: Path, articles: int, seed: int = 3) -> None:
    """Articles of random domain words: some words in most passages, some in few."""
    rng = random.Random(seed)
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(articles):
        paragraphs = []
        for _ in range(rng.randint(2, 5)):
            # A Zipf-like draw: the first words of the list are far more common than the last.
            words = [WORDS[min(int(rng.paretovariate(0.8)) - 1, len(WORDS) - 1)] for _ in range(rng.randint(8, 30))]
            paragraphs.append(" ".join(words).capitalize() + ".")
        (folder / f"a{i:04d}.md").write_text(f"---\ntitle: A{i}\nsource: Wire\n---\n" + "\n\n".join(paragraphs))


def _fts5(db: Path, match: str, k: int) -> list[tuple[int, float]]:
    conn = sqlite3.connect(f"{db.resolve().as_uri()}?mode=ro", uri=True)
    try:
        return record.lexical_search(conn, match, k)
    finally:
        conn.close()


def _lexicon_top(snapshot_dir: Path, manifest: dict, question: str, k: int) -> list[tuple[int, float]]:
    lex = lexicon.Lexicon.open(snapshot_dir / lexicon.LEXICON_NAME, manifest["lexicon"])
    tokenizer = lexicon.FtsTokenizer()
    words = lexicon.phrases_of(lexical_query(question))
    assert words is not None
    return lex.top([t[0] for t in tokenizer.tokens(words) if t], k)


@pytest.fixture
def built(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """An index of 300 random articles; the lexicon bounds common words from the first term on."""
    # Every term counts as common, so each question goes through the MaxScore bounds, not only full scoring.
    monkeypatch.setattr(lexicon, "_RARE_MIN", 1)
    monkeypatch.setattr(lexicon, "_RARE_SHARE", 0.0)
    docs = tmp_path / "docs"
    _corpus(docs, 300)
    store = IndexStore(tmp_path / "index")
    embedder = FakeEmbedder()
    store.sync(docs, embedder, BuildConfig(model=embedder.model_id))
    return store, docs, embedder


def _assert_same_as_fts5(store: IndexStore, k: int) -> None:
    snap = store.open()
    directory = snap.directory
    for question in QUESTIONS:
        match = lexical_query(question)
        expected = _fts5(directory / record.SQLITE_NAME, match, k)
        got = _lexicon_top(directory, snap.manifest, question, k)
        # Same passages with bit-identical scores; ties may come in another order, as FTS5 promises none.
        assert sorted(got, key=lambda r: (-r[1], r[0])) == sorted(expected, key=lambda r: (-r[1], r[0])), question
    snap.close()


@pytest.mark.parametrize("k", [1, 5, 30, 5000])
def test_the_lexicon_returns_fts5s_own_top_k_score_for_score(built, k):
    """For every question and k (beyond the number of matches too), the lexicon's top k is FTS5's bm25 top k."""
    store, _, _ = built
    _assert_same_as_fts5(store, k)


def test_after_adding_and_removing_articles_the_updated_lexicon_still_matches_fts5(built, tmp_path):
    """An incremental sync updates the lexicon by id: removed passages vanish, new ones count, scores match."""
    store, docs, embedder = built
    gone = {path.name for path in sorted(docs.iterdir())[:40]}
    for name in gone:
        (docs / name).unlink()
    _corpus(tmp_path / "more", 20, seed=9)
    for path in (tmp_path / "more").iterdir():
        path.rename(docs / f"new-{path.name}")
    report = store.sync(docs, embedder, BuildConfig(model=embedder.model_id))
    assert report.published and report.passages_removed and report.passages_added
    _assert_same_as_fts5(store, 30)
    snap = store.open()
    found = {pid for q in QUESTIONS for pid, _ in _lexicon_top(snap.directory, snap.manifest, q, 5000)}
    assert found and not {p.document.id for p in snap.fetch(found).values()} & gone


def test_search_reads_the_lexicon_for_large_corpora_with_the_same_results(built, monkeypatch):
    """Past MIN_PASSAGES the snapshot answers from the lexicon; below, from FTS5; the answers are the same."""
    store, _, _ = built
    probe = store.open()
    monkeypatch.setattr(lexicon, "MIN_PASSAGES", probe.passage_total + 1)
    probe.close()
    slow = store.open()
    assert slow._lexicon is None  # below MIN_PASSAGES: FTS5 directly
    monkeypatch.setattr(lexicon, "MIN_PASSAGES", 10)
    fast = store.open()
    assert fast._lexicon is not None
    for question in [*QUESTIONS, "the word_with_underscore is a phrase for FTS5"]:
        match = lexical_query(question)
        assert fast.lexical_search(match, 30) == slow.lexical_search(match, 30)


def test_a_damaged_lexicon_costs_speed_not_answers_and_the_next_sync_rebuilds_it(built, monkeypatch, caplog):
    """A corrupted lexicon.bin: search falls back to FTS5 (same results, a warning); the next sync repairs it."""
    store, docs, embedder = built
    monkeypatch.setattr(lexicon, "MIN_PASSAGES", 10)
    good = store.open()
    expected = good.lexical_search(lexical_query(QUESTIONS[0]), 30)
    path = good.directory / lexicon.LEXICON_NAME
    good.close()
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.unlink()  # a new file: the damaged bytes must not reach a hard-linked copy
    path.write_bytes(bytes(data))

    damaged = store.open()
    assert damaged._lexicon is None and "lexicon" in caplog.text and "damaged" in caplog.text
    assert damaged.lexical_search(lexical_query(QUESTIONS[0]), 30) == expected

    report = store.sync(docs, embedder, BuildConfig(model=embedder.model_id))
    assert report.published and "lexicon" in (report.repaired or "")
    repaired = store.open()
    assert repaired._lexicon is not None
    assert repaired.lexical_search(lexical_query(QUESTIONS[0]), 30) == expected
    _assert_same_as_fts5(store, 30)


def test_the_tokenizer_is_fts5s_own(tmp_path):
    """Stems, case, diacritics and separators come out exactly as the record's FTS5 table makes them."""
    tokenizer = lexicon.FtsTokenizer()
    assert tokenizer.tokens(["Talks", "talking", "Zaporizhzhia", "Erdoğan", "a_b", "__"]) == [
        ("talk",),
        ("talk",),
        ("zaporizhzhia",),
        ("erdogan",),
        ("a", "b"),
        (),
    ]


@pytest.mark.parametrize("lexical", ["lexicon", "fts5"])
def test_hybrid_search_over_a_large_corpus_returns_both_searches_results(built, monkeypatch, lexical):
    """From CONCURRENT_FROM the lexical search (lexicon or FTS5) runs beside encoding and dense search, same results."""
    store, _, embedder = built
    monkeypatch.setattr(snapshot, "CONCURRENT_FROM", 10)
    monkeypatch.setattr(lexicon, "MIN_PASSAGES", 10 if lexical == "lexicon" else 10**9)
    snap = store.open()
    assert (snap._lexicon is not None) is (lexical == "lexicon")
    encoded: list[str] = []

    def encode(question: str) -> np.ndarray:
        encoded.append(question)
        return embedder.embed_queries([question])[0]

    for question in QUESTIONS:
        query = embedder.embed_queries([question])[0]
        match = lexical_query(question)
        alone = (snap.dense_search(query, 30), snap.lexical_search(match, 30))
        vector, *both = snap.hybrid_search(lambda q=question: encode(q), 30, match, 30)
        assert tuple(both) == alone
        assert np.array_equal(vector, query)
        # Both searches' passages were read on the way: the caller's fetch finds them in memory.
        ids = [pid for found in both for pid, _ in found]
        assert ids and all(pid in snap._recent for pid in ids)
    assert encoded == QUESTIONS  # each question encoded once
    snap.close()
