"""Votes when FEEDBACK_DB cannot be used: the answers matter more than the votes, so they still come."""

from __future__ import annotations

from discord_helpers import buttons, embed_text, plain_quote, start_seed_bot


def test_with_the_feedback_database_broken_answers_still_come_and_a_vote_says_why_not(tmp_path, embedder):
    """FEEDBACK_DB unusable: /ask still answers with its buttons, More sources works, a vote gets a sentence."""
    blocked = tmp_path / "not-a-folder"
    blocked.write_text("a file where the database folder should be")
    h, _engine = start_seed_bot(
        tmp_path, embedder, customize=lambda s, fake: s.replace(feedback_db=blocked / "feedback.sqlite3")
    )
    try:
        t0 = h.now()
        rec = h.slash("ask", {"question": "Does Moscow insist that Kyiv stay neutral?"})
        answer = h.wait_final(rec, timeout=20)
        assert "Ukraine becomes a neutral state" in plain_quote(answer["embeds"][0]["description"])
        shown = buttons(answer)
        more = h.wait_final(h.click(rec, shown["More sources"]["custom_id"]), timeout=10)
        assert more["embeds"]
        reply = h.wait_final(h.click(rec, shown["👍"]["custom_id"]), timeout=10)
        assert reply["ephemeral"] and "couldn't record your vote" in embed_text(reply)
        h.assert_clean(since=t0)
    finally:
        h.close()
