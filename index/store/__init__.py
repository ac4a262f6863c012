"""The built index: SQLite as the record, FAISS derived from it, published atomically.

One job per module:

- ``index_store``  ``IndexStore``: open the live generation, or sync a folder into a new one
- ``indexer``      plan what changed (by content hash) and embed it
- ``record``       the SQLite record: documents, passages, vectors, FTS5
- ``vectors``      the FAISS index: chosen by size, updated by id, rebuilt from the record
- ``generations``  generation folders, ``CURRENT``, the writer lock, the atomic publish
- ``manifest``     what built a generation (``BuildConfig``), checked on load
- ``snapshot``     one published generation open for reading
- ``contract``     ``PassageIndex``: what search needs from a store (the seam for another backend)

This package is the engine's business: faces (bot/) go through ``index.engine.Engine``.
"""

from .contract import PassageIndex, StoredPassage
from .generations import CURRENT_NAME, LOCK_NAME, staging_removed_on_sigterm
from .index_store import IndexStore
from .indexer import ProgressFactory
from .manifest import MANIFEST_NAME, BuildConfig
from .record import SQLITE_NAME
from .snapshot import Snapshot
from .vectors import EXACT_SEARCH_LIMIT, FAISS_NAME

__all__ = [
    "CURRENT_NAME",
    "EXACT_SEARCH_LIMIT",
    "FAISS_NAME",
    "LOCK_NAME",
    "MANIFEST_NAME",
    "SQLITE_NAME",
    "BuildConfig",
    "IndexStore",
    "PassageIndex",
    "ProgressFactory",
    "Snapshot",
    "StoredPassage",
    "staging_removed_on_sigterm",
]
