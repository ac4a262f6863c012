"""`talksbot run --watch`: the running bot reindexes by itself when articles change."""

from __future__ import annotations

import shutil
import time

from discord_helpers import bot_factory, make_settings, plain_quote
from fakediscord import DiscordHarness
from test_reindex import QUESTION, ROUND_TWO

from index.engine import Engine
from tests.conftest import DOCUMENTS


def test_watch_mode_reindexes_by_itself_when_files_change(tmp_path, embedder):
    """run --watch: a new file in documents/ is indexed without any command, after writes settle."""
    shutil.copytree(DOCUMENTS, tmp_path / "documents")
    engine = Engine(tmp_path / "documents", tmp_path / "index", embedder=embedder)
    settings = make_settings(tmp_path / "documents", tmp_path / "index", watch_documents=True)
    with DiscordHarness(bot_factory(settings, engine)) as h:
        h.call(h.client.service.wait_ready())
        watcher = h.client.watcher
        watcher.settle_seconds = 0.3
        (tmp_path / "documents" / "round-two.md").write_text(ROUND_TWO, encoding="utf-8")
        deadline = time.monotonic() + 30
        while watcher.reindexes == 0 and time.monotonic() < deadline:
            time.sleep(0.1)
        assert watcher.reindexes >= 1
        final = h.wait_final(h.slash("ask", {"question": QUESTION}), timeout=20)
        assert "six thousand" in plain_quote(final["embeds"][0]["description"])
        (tmp_path / "documents" / "round-two.md").unlink()
        deadline = time.monotonic() + 30
        while engine.searcher().snapshot.document_body("round-two.md") is not None and time.monotonic() < deadline:
            time.sleep(0.1)
        assert engine.searcher().snapshot.document_body("round-two.md") is None
        h.assert_clean()
