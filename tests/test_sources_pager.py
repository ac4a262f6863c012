"""/sources with many articles: ten per page, Previous/Next buttons, only the asker turns pages."""

from __future__ import annotations

from discord_helpers import bot_factory, embed_text, make_settings
from fakediscord import DiscordHarness

from index.engine import Engine


def test_sources_pages_through_many_articles(tmp_path, embedder):
    """25 articles: page 1 of 3 with Next; Next shows page 2; another member's click is politely refused."""
    docs = tmp_path / "documents"
    docs.mkdir()
    for i in range(25):
        (docs / f"a{i:02d}.md").write_text(
            f"---\ntitle: Article number {i:02d}\nsource: Wire {i}\npublished: 2025-06-{i + 1:02d}\n---\n"
            f"The delegations met again for round {i} of the talks in Istanbul on that day.\n",
            encoding="utf-8",
        )
    engine = Engine(docs, tmp_path / "index", embedder=embedder)
    with DiscordHarness(bot_factory(make_settings(docs, tmp_path / "index"), engine)) as h:
        h.call(h.client.service.wait_ready())
        asker = h.member(name="asker")
        rec = h.slash("sources", member=asker)
        first = h.wait_final(rec, timeout=20)
        text = embed_text(first)
        assert "Articles I answer from (25)" in text and "page 1 of 3" in text
        assert "Article number 24" in text and "Article number 14" not in text  # newest first, ten per page
        buttons = {c["label"]: c for row in first["components"] for c in row["components"]}
        assert buttons["Previous"].get("disabled") and not buttons["Next"].get("disabled")

        nosy = h.wait_final(h.click(rec, buttons["Next"]["custom_id"], member=h.member(name="nosy")), timeout=10)
        assert nosy["ephemeral"] and "/sources" in nosy["content"]

        h.click(rec, buttons["Next"]["custom_id"], member=asker)
        second = h.wait_for(rec, lambda r: "page 2 of 3" in embed_text(r.final_state() or {}), timeout=10)
        assert second is not None
        page_two = embed_text(rec.final_state())
        assert "Article number 14" in page_two and "Article number 24" not in page_two
        h.assert_clean()
