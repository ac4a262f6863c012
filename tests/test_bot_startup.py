"""Start-up: the bot connects and heartbeats while the model and index load; early questions wait, then answer."""

from __future__ import annotations

import shutil
import time

from discord_helpers import bot_factory, make_settings, plain_quote
from fakediscord import DiscordHarness

from index.engine import Engine
from tests.conftest import DOCUMENTS


class SlowStart:
    """The real embedder, but building the index takes 3 s longer (a big corpus, a slow disk)."""

    def __init__(self, real):
        self.real = real

    def __getattr__(self, name):
        return getattr(self.real, name)

    def embed_passages(self, passages, **kwargs):
        time.sleep(3.0)
        return self.real.embed_passages(passages, **kwargs)


def test_the_gateway_is_not_kept_waiting_by_loading(tmp_path, embedder):
    """READY and heartbeats flow while the index builds; an /ask sent meanwhile is deferred at once and answered."""
    shutil.copytree(DOCUMENTS, tmp_path / "documents")
    engine = Engine(tmp_path / "documents", tmp_path / "index", embedder=SlowStart(embedder))
    settings = make_settings(tmp_path / "documents", tmp_path / "index")
    with DiscordHarness(bot_factory(settings, engine)) as h:
        assert h.client.service.starting  # connected and synced before the index exists
        t0 = h.now()
        rec = h.slash("ask", {"question": "does russia want ukraine to be neutral?"})
        final = h.wait_final(rec, timeout=30)
        assert rec.ack_latency < 1.0
        assert "neutral" in plain_quote(final["embeds"][0]["description"])
        assert h.now() - t0 >= 2.5  # it really waited for the build
        assert h.max_heartbeat_gap(t0, h.now()) <= 0.5
        assert h.max_loop_lag(t0, h.now()) < 0.5
        h.assert_clean()


def test_a_healthy_start_says_who_the_bot_is_and_that_it_is_ready(tmp_path, embedder, caplog):
    """The log of a good start names the bot and its server count, the command sync and 'ready to answer'."""
    import logging

    from discord_helpers import start_seed_bot

    with caplog.at_level(logging.INFO):
        harness, _ = start_seed_bot(tmp_path, embedder)
        try:  # the client logs "ready" just after the service reports ready: give it a moment
            deadline = time.monotonic() + 30
            while "ready to answer" not in caplog.text and time.monotonic() < deadline:
                time.sleep(0.05)
        finally:
            harness.close()
    text = caplog.text
    assert "connected to Discord as talksbot" in text and "in 1 server" in text
    # Six commands: the five slash commands and the Find sources message command.
    assert "synced 6 commands to guild" in text and "ready to answer from 2 articles" in text
