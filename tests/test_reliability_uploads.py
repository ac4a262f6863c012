"""Articles uploaded under Cyrillic and other non-Latin names: kept as named, never merged, never silently replaced.

Through the real bot on the fake Discord (/add-article), plus a property test of the naming
rule itself: two different upload names never become the same file.
"""

from __future__ import annotations

import json
import random
import unicodedata

import pytest
from discord_helpers import embed_text, start_seed_bot
from discord_markdown import reader_text
from fakediscord import PERM_MANAGE_GUILD, DiscordHarness

from bot.uploads import UploadRejected, safe_article_name


def article(title: str, fact: str) -> bytes:
    quoted = json.dumps(title, ensure_ascii=False)  # a JSON string is a YAML double-quoted scalar
    return f"---\ntitle: {quoted}\nsource: Test Wire\npublished: 2025-06-07\n---\n{fact}\n".encode()


KYIV = article("Переговори в Києві", "The Kyiv delegation proposed a joint commission on missing persons in Istanbul.")
ISTANBUL = article("Переговори в Стамбулі", "The Istanbul round ended with an exchange of prisoners of war on Monday.")
ISTANBUL_2 = article(
    "Стамбул: другий раунд", "The second Istanbul round agreed to return the bodies of fallen soldiers."
)


@pytest.fixture(scope="module")
def bot(tmp_path_factory, embedder):
    """The seed articles and the real bot on the fake Discord."""
    base = tmp_path_factory.mktemp("uploads")
    harness, engine = start_seed_bot(base, embedder)
    yield harness, engine, base / "documents"
    harness.close()


def upload(h: DiscordHarness, name: str, data: bytes, *, overwrite: bool | None = None) -> str:
    """/add-article as an admin; the reply's visible text."""
    att = h.host_attachment("upload.bin", data)
    att["filename"] = name
    options: dict = {"file": att}
    if overwrite is not None:
        options["overwrite"] = overwrite
    admin = h.member(name="admin", permissions=str(PERM_MANAGE_GUILD))
    final = h.wait_final(h.slash("add-article", options, member=admin), timeout=60)
    assert final["ephemeral"]
    return reader_text(embed_text(final))


def test_cyrillic_names_are_kept_and_two_articles_stay_two(bot):
    """Київ-1.md and Стамбул-1.md are saved under their own names (not both as 1.md); both answer."""
    h, engine, docs = bot
    t0 = h.now()
    assert "Added Переговори в Києві as `Київ-1.md`" in upload(h, "Київ-1.md", KYIV)
    assert "Added Переговори в Стамбулі as `Стамбул-1.md`" in upload(h, "Стамбул-1.md", ISTANBUL)
    assert (docs / "Київ-1.md").read_bytes() == KYIV and (docs / "Стамбул-1.md").read_bytes() == ISTANBUL
    assert not (docs / "1.md").exists()
    assert engine.answer("Who proposed a joint commission on missing persons?").hit.document.id == "Київ-1.md"
    assert engine.answer("Was there an exchange of prisoners of war on Monday?").hit.document.id == "Стамбул-1.md"
    h.assert_clean(since=t0)


@pytest.mark.parametrize("name", ["Україна 2025.md", "été.md", "переговори.md", "İstanbul görüşmeleri.txt"])
def test_names_in_any_script_are_saved_exactly_as_typed(bot, name):
    """Spaces, accents and whole non-Latin names are kept ('переговори.md' was refused, 'été.md' became 't.md')."""
    h, _engine, docs = bot
    t0 = h.now()
    data = article(f"Article {name}", f"Delegates discussed the file named {len(name)} at the Istanbul talks.")
    reply = upload(h, name, data)
    assert f"as `{name}`" in reply and "renamed" not in reply, reply
    assert (docs / name).read_bytes() == data
    (docs / name).unlink()
    h.assert_clean(since=t0)


def test_an_overwrite_names_the_article_it_replaced_and_touches_no_other(bot):
    """overwrite: True replaces only Стамбул-1.md and the reply names the old title and the new one."""
    h, _engine, docs = bot
    t0 = h.now()
    refused = upload(h, "Стамбул-1.md", ISTANBUL_2)
    assert "already exists" in refused and "Переговори в Стамбулі" in refused and "Added" not in refused
    reply = upload(h, "Стамбул-1.md", ISTANBUL_2, overwrite=True)
    assert "Replaced Переговори в Стамбулі in `Стамбул-1.md` with Стамбул: другий раунд" in reply, reply
    assert (docs / "Стамбул-1.md").read_bytes() == ISTANBUL_2 and (docs / "Київ-1.md").read_bytes() == KYIV
    h.assert_clean(since=t0)


def test_a_name_that_must_change_is_saved_under_a_distinct_name_and_the_reply_says_so(bot):
    """'Q&A: day 2.md' and 'Q&A- day 2.md' are two files; the rewritten one says it was renamed."""
    h, _engine, docs = bot
    t0 = h.now()
    first = upload(h, "Q&A- day 2.md", article("Plain", "The plain file says the talks resumed on Tuesday."))
    second = upload(h, "Q&A: day 2.md", article("Colon", "The colon file says the talks paused on Wednesday."))
    assert "as `Q&A- day 2.md`" in first and "renamed" not in first
    assert "The upload was called Q&A: day 2.md; it was saved under a safe name." in second, second
    saved = sorted(p.name for p in docs.glob("Q&A*"))
    assert len(saved) == 2 and saved[0] == "Q&A- day 2.md" and saved[1].startswith("Q&A- day 2~"), saved
    h.assert_clean(since=t0)


def test_two_different_names_never_become_one_file():
    """Property: 20,000 random names in many scripts, with hostile characters; distinct names, distinct files."""
    rng = random.Random(4)
    hostile = ["Київ", "été", "\u202e", "\u200b", "😀", "١٢", "e\u0301"]
    pieces = [*"abcАБВіїє ЖжéÉ-_.,()'&+!:;?*\"<>|~%#`@$=", *hostile]
    seen: dict[str, str] = {}
    for _ in range(20_000):
        name = "".join(rng.choice(pieces) for _ in range(rng.randint(1, 12))) + rng.choice([".md", ".txt", ".MD"])
        try:
            saved = safe_article_name(name)
        except UploadRejected:
            continue
        key = unicodedata.normalize("NFC", name)
        assert seen.setdefault(saved, key) == key, (saved, seen[saved], key)
        assert "/" not in saved and not saved.startswith((".", "-", " ")) and saved.isprintable()
        assert len(saved) <= 100 and len(saved.encode()) <= 200
    assert len(seen) > 5_000
