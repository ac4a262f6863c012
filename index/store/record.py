"""The SQLite record: the source of truth for documents, passages and their vectors.

One file per generation (``index.sqlite3``): the documents with their content hashes and
bodies, the passages as ``(start, end)`` spans of those bodies with their embeddings (float32)
and sentence embeddings (float16), and an FTS5 table for bm25. Published files are opened
read-only and immutable; a reindex writes a copy in a staging folder.

Passage ids come from AUTOINCREMENT and are never reused, so the FAISS index can be updated by
id (index/store/vectors.py) and rebuilt from the stored embeddings alone.
"""

from __future__ import annotations

import datetime as dt
import json
import shutil
import sqlite3
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..embedder import EmbeddedPassage
from ..errors import IndexCorrupt
from ..models import Document, DocumentInfo, Passage
from .contract import StoredPassage

__all__ = [
    "SQLITE_NAME",
    "EmbeddedDocument",
    "WriteResult",
    "all_embeddings",
    "content_hashes",
    "counts",
    "open_readonly",
    "read_documents",
    "write_record",
]

SQLITE_NAME = "index.sqlite3"

SCHEMA = """
CREATE TABLE documents (
    id INTEGER PRIMARY KEY,
    path TEXT NOT NULL UNIQUE,
    title TEXT NOT NULL,
    source TEXT NOT NULL,
    author TEXT NOT NULL,
    published TEXT,
    url TEXT NOT NULL,
    body TEXT NOT NULL,
    body_offset INTEGER NOT NULL,
    content_hash TEXT NOT NULL,
    indexed_at TEXT NOT NULL
);
CREATE TABLE passages (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    document_id INTEGER NOT NULL REFERENCES documents(id) ON DELETE CASCADE,
    ordinal INTEGER NOT NULL,
    start INTEGER NOT NULL,
    "end" INTEGER NOT NULL,
    text TEXT NOT NULL,
    sentences TEXT NOT NULL,
    has_lead_in INTEGER NOT NULL,
    embedding BLOB NOT NULL,
    sentence_embeddings BLOB NOT NULL
);
CREATE INDEX passages_by_document ON passages(document_id);
CREATE VIRTUAL TABLE passages_fts USING fts5(text, tokenize = 'porter unicode61 remove_diacritics 2');
"""


@dataclass(frozen=True, slots=True)
class EmbeddedDocument:
    """A new or changed document, split into passages, with one embedding per passage."""

    document: Document
    passages: Sequence[Passage]
    vectors: Sequence[EmbeddedPassage]


@dataclass(slots=True)
class WriteResult:
    """What writing the record changed, for the FAISS update and the report."""

    removed_ids: list[int]
    added: list[tuple[int, np.ndarray]]
    added_texts: list[tuple[int, str]]  # for the lexicon (index/store/lexicon.py)
    documents: int
    passages: int
    dimension: int


# --------------------------------------------------------------------------- reading


def open_readonly(path: Path) -> sqlite3.Connection:
    """Open a published database read-only; immutable, since published files never change."""
    if not path.is_file():
        raise IndexCorrupt(f"The index database {path} is missing.")
    try:
        conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro&immutable=1", uri=True, check_same_thread=False)
        conn.execute("SELECT 1 FROM documents LIMIT 1").fetchall()
    except sqlite3.DatabaseError as err:
        raise IndexCorrupt(f"The index database {path} is damaged ({err}).") from None
    return conn


def counts(db_path: Path) -> tuple[int, int]:
    """(documents, passages) in a generation's database."""
    conn = open_readonly(db_path)
    try:
        return (
            conn.execute("SELECT COUNT(*) FROM documents").fetchone()[0],
            conn.execute("SELECT COUNT(*) FROM passages").fetchone()[0],
        )
    finally:
        conn.close()


def content_hashes(db_path: Path) -> dict[str, str]:
    """Document path -> content hash, as indexed in a generation."""
    conn = open_readonly(db_path)
    try:
        return dict(conn.execute("SELECT path, content_hash FROM documents").fetchall())
    finally:
        conn.close()


def read_documents(conn: sqlite3.Connection) -> tuple[dict[int, DocumentInfo], dict[int, int]]:
    """Every document's attribution and passage count, by row id."""
    documents: dict[int, DocumentInfo] = {}
    passage_counts: dict[int, int] = {}
    for row in conn.execute(
        "SELECT d.id, d.path, d.title, d.source, d.author, d.published, d.url, "
        "(SELECT COUNT(*) FROM passages p WHERE p.document_id = d.id) FROM documents d ORDER BY d.path"
    ):
        documents[row[0]] = DocumentInfo(
            id=row[1],
            title=row[2],
            source=row[3],
            author=row[4],
            published=dt.date.fromisoformat(row[5]) if row[5] else None,
            url=row[6],
        )
        passage_counts[row[0]] = row[7]
    return documents, passage_counts


def lexical_search(conn: sqlite3.Connection, match: str, k: int) -> list[tuple[int, float]]:
    """The k best FTS5 matches for an already-sanitised MATCH expression, as (passage id, bm25 > 0)."""
    rows = conn.execute(
        "SELECT rowid, bm25(passages_fts) FROM passages_fts WHERE passages_fts MATCH ? "
        "ORDER BY bm25(passages_fts) LIMIT ?",
        (match, k),
    ).fetchall()
    # FTS5's bm25 is negative, lower is better: flip it so higher is better.
    return [(int(r[0]), -float(r[1])) for r in rows]


def fetch_passages(
    conn: sqlite3.Connection, ids: list[int], dimension: int, documents: dict[int, DocumentInfo]
) -> dict[int, StoredPassage]:
    """Read passages (text, spans, vectors) by id."""
    rows = conn.execute(
        f'SELECT id, document_id, start, "end", text, sentences, embedding, sentence_embeddings, has_lead_in '
        f"FROM passages WHERE id IN ({','.join('?' * len(ids))})",
        ids,
    ).fetchall()
    out: dict[int, StoredPassage] = {}
    for pid, doc_id, start, end, text, sentences, emb, sent_emb, lead_in in rows:
        spans = tuple(tuple(s) for s in json.loads(sentences))
        out[pid] = StoredPassage(
            id=pid,
            document=documents[doc_id],
            start=start,
            end=end,
            text=text,
            sentences=spans,  # type: ignore[arg-type]
            embedding=np.frombuffer(emb, dtype=np.float32),
            sentence_embeddings=np.frombuffer(sent_emb, dtype=np.float16).astype(np.float32).reshape(-1, dimension),
            has_lead_in=bool(lead_in),
        )
    return out


def document_passages(conn: sqlite3.Connection, doc_path: str) -> list[tuple[int, int, str]]:
    """(start, end, text) of a document's passages, in order."""
    return [
        (r[0], r[1], r[2])
        for r in conn.execute(
            'SELECT p.start, p."end", p.text FROM passages p JOIN documents d ON d.id = p.document_id '
            "WHERE d.path = ? ORDER BY p.ordinal",
            (doc_path,),
        )
    ]


def document_passage_ids(conn: sqlite3.Connection, doc_path: str) -> list[int]:
    """Ids of a document's passages, in order (empty when it is not indexed)."""
    return [
        int(r[0])
        for r in conn.execute(
            "SELECT p.id FROM passages p JOIN documents d ON d.id = p.document_id WHERE d.path = ? ORDER BY p.ordinal",
            (doc_path,),
        )
    ]


def document_body(conn: sqlite3.Connection, doc_path: str) -> str | None:
    """A document's body as indexed, or None."""
    row = conn.execute("SELECT body FROM documents WHERE path = ?", (doc_path,)).fetchone()
    return row[0] if row else None


def all_embeddings(conn: sqlite3.Connection, dimension: int, total: int) -> tuple[np.ndarray, np.ndarray]:
    """Every passage id and vector from the record, for rebuilding FAISS without the model."""
    ids = np.empty(total, dtype=np.int64)
    vectors = np.empty((total, dimension), dtype=np.float32)
    for row, (pid, blob) in enumerate(conn.execute("SELECT id, embedding FROM passages ORDER BY id")):
        ids[row] = pid
        vectors[row] = np.frombuffer(blob, dtype=np.float32)
    return ids, vectors


# --------------------------------------------------------------------------- writing


def write_record(
    db_path: Path,
    base_db: Path | None,
    changes: Iterable[str],
    embedded: list[EmbeddedDocument],
    *,
    base_dimension: int | None,
) -> tuple[sqlite3.Connection, WriteResult]:
    """Write the next generation's record at ``db_path``: a copy of ``base_db`` with the changes applied.

    ``changes`` are the paths of removed and updated documents (deleted first); ``embedded`` the
    new versions. Returns the open connection (the FAISS update reads from it; the caller closes it).
    """
    if base_db is not None:
        shutil.copyfile(base_db, db_path)
    conn = sqlite3.connect(db_path)
    try:
        # Staging is invisible until published and fsynced: no journal needed while writing it.
        conn.execute("PRAGMA journal_mode = OFF")
        conn.execute("PRAGMA synchronous = OFF")
        conn.execute("PRAGMA foreign_keys = ON")
        if base_db is None:
            conn.executescript(SCHEMA)
        removed_ids = _delete(conn, changes)
        added, added_texts = _insert(conn, embedded)
        conn.commit()
        documents = conn.execute("SELECT COUNT(*) FROM documents").fetchone()[0]
        passages = conn.execute("SELECT COUNT(*) FROM passages").fetchone()[0]
        if added:
            dimension = int(added[0][1].shape[0])
        elif base_dimension is not None:
            dimension = base_dimension
        else:
            row = conn.execute("SELECT embedding FROM passages LIMIT 1").fetchone()
            dimension = len(row[0]) // 4 if row else 0
    except BaseException:
        conn.close()
        raise
    return conn, WriteResult(removed_ids, added, added_texts, documents, passages, dimension)


def _delete(conn: sqlite3.Connection, paths: Iterable[str]) -> list[int]:
    """Delete documents and their passages; return the removed passage ids."""
    removed_ids: list[int] = []
    for path in paths:
        ids = [
            r[0]
            for r in conn.execute(
                "SELECT p.id FROM passages p JOIN documents d ON d.id = p.document_id WHERE d.path = ?", (path,)
            )
        ]
        removed_ids.extend(ids)
        conn.executemany("DELETE FROM passages_fts WHERE rowid = ?", [(i,) for i in ids])
        conn.execute("DELETE FROM passages WHERE document_id = (SELECT id FROM documents WHERE path = ?)", (path,))
        conn.execute("DELETE FROM documents WHERE path = ?", (path,))
    return removed_ids


def _insert(
    conn: sqlite3.Connection, embedded: list[EmbeddedDocument]
) -> tuple[list[tuple[int, np.ndarray]], list[tuple[int, str]]]:
    """Insert new document versions with their passages; return (passage id, vector) and (passage id, text) of each."""
    now = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    added: list[tuple[int, np.ndarray]] = []
    texts: list[tuple[int, str]] = []
    for item in embedded:
        doc, info = item.document, item.document.info
        cur = conn.execute(
            "INSERT INTO documents (path, title, source, author, published, url, body, body_offset, "
            "content_hash, indexed_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                info.id,
                info.title,
                info.source,
                info.author,
                info.published.isoformat() if info.published else None,
                info.url,
                doc.body,
                doc.body_offset,
                doc.content_hash,
                now,
            ),
        )
        doc_rowid = cur.lastrowid
        for ordinal, (passage, vec) in enumerate(zip(item.passages, item.vectors, strict=True)):
            cur = conn.execute(
                'INSERT INTO passages (document_id, ordinal, start, "end", text, sentences, has_lead_in, '
                "embedding, sentence_embeddings) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    doc_rowid,
                    ordinal,
                    passage.start,
                    passage.end,
                    passage.text,
                    json.dumps([list(s) for s in passage.sentences]),
                    int(bool(passage.context)),
                    _to_blob(vec.vector),
                    _to_blob(vec.sentence_vectors, np.float16),
                ),
            )
            pid = int(cur.lastrowid or 0)
            conn.execute("INSERT INTO passages_fts (rowid, text) VALUES (?, ?)", (pid, passage.text))
            added.append((pid, vec.vector))
            texts.append((pid, passage.text))
    return added, texts


def _to_blob(vector: np.ndarray, dtype: type = np.float32) -> bytes:
    return np.ascontiguousarray(vector, dtype=dtype).tobytes()
