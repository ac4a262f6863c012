"""Loading articles: attribution from front matter only, bad files skipped with the reason."""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

import pytest

from index.documents import MAX_ARTICLE_BYTES, parse_article, scan_documents
from index.errors import DocumentError
from tests.conftest import DOCUMENTS, REUTERS, REWRITE


def write(folder: Path, name: str, content: str | bytes) -> Path:
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8")
    return path


GOOD = "---\ntitle: Good article\nsource: Wire\n---\nThe delegations met in Istanbul on Friday for talks.\n"


def test_seed_articles_carry_only_the_attribution_their_text_gives():
    """The Reuters seed has source, author and date; the rewrite stays unknown and undated, with no URL."""
    scan = scan_documents(DOCUMENTS)
    assert scan.skipped == []
    docs = {d.id: d.info for d in scan.documents}
    reuters, rewrite = docs[REUTERS], docs[REWRITE]
    assert (reuters.source, reuters.author, reuters.published, reuters.url) == (
        "Reuters",
        "Tom Balmforth",
        dt.date(2025, 5, 17),
        "",
    )
    assert (rewrite.source, rewrite.author, rewrite.published, rewrite.url) == ("unknown", "", None, "")
    assert reuters.title and rewrite.title


def test_seed_bodies_are_the_received_text_byte_for_byte():
    """The body after the front matter is exactly the seed file as received (typos and all)."""
    seeds = Path(__file__).resolve().parents[2] / "shared" / "seeds"
    if not seeds.is_dir():
        pytest.skip("../shared/seeds is not beside this checkout")
    bodies = {d.id: d.body for d in scan_documents(DOCUMENTS).documents}
    assert bodies[REUTERS] == (seeds / "001_aa40dd53901de899.txt").read_text(encoding="utf-8")
    assert bodies[REWRITE] == (seeds / "000_2a3384441d849c70.txt").read_text(encoding="utf-8")


def test_plain_text_without_front_matter_takes_its_first_line_as_title(tmp_path):
    """A .txt with no front matter: title from the first line, source 'unknown', nothing else invented."""
    write(tmp_path, "plain.txt", "Talks resume in Istanbul\nThe delegations met again on Monday.\n")
    (doc,) = scan_documents(tmp_path).documents
    assert doc.info.title == "Talks resume in Istanbul"
    assert (doc.info.source, doc.info.author, doc.info.published, doc.info.url) == ("unknown", "", None, "")


def test_byte_order_mark_and_crlf_are_accepted(tmp_path):
    """A Windows-saved article (BOM, CRLF) loads, and its body keeps its line endings."""
    write(tmp_path, "win.md", "\ufeff---\r\ntitle: Windows\r\n---\r\nFirst paragraph here today.\r\n".encode())
    (doc,) = scan_documents(tmp_path).documents
    assert doc.info.title == "Windows"
    assert doc.body == "First paragraph here today.\r\n"


BROKEN = {
    "binary.md": (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "binary file"),
    "latin1.md": ("title line\ncaf\xe9 talks in Istanbul\n".encode("latin-1"), "not UTF-8"),
    "unclosed.md": ("---\ntitle: Never closed\nThe body starts here.\n", "without a closing"),
    "badyaml.md": ("---\ntitle: [unclosed\n---\nBody text here.\n", "broken front matter"),
    "alias.md": ("---\na: &a [x, x]\nb: &b [*a, *a]\ntitle: *b\n---\nBody text here.\n", "aliases"),
    "pytag.md": ("---\ntitle: !!python/object/apply:os.system ['echo hi']\n---\nBody text.\n", "broken front matter"),
    "listtitle.md": ("---\ntitle: [a, b]\n---\nBody text here.\n", "'title' must be text"),
    "baddate.md": ("---\ntitle: T\npublished: May 17\n---\nBody text here.\n", "YYYY-MM-DD"),
    "badurl.md": ("---\ntitle: T\nurl: javascript:alert(1)\n---\nBody text here.\n", "http"),
    "empty.md": ("", "empty file"),
    "blank.txt": ("  \n\n\t\n", "empty file"),
    "frontonly.md": ("---\ntitle: Only metadata\n---\n", "no article text"),
    "notyaml.md": ("---\n- just\n- a list\n---\nBody text here.\n", "key: value"),
    "picture.jpg": (b"\xff\xd8\xff\xe0 not an article", "not an article file"),
}


@pytest.mark.parametrize("name", sorted(BROKEN))
def test_a_broken_file_is_skipped_with_its_reason_and_the_rest_still_load(tmp_path, name):
    """Each kind of broken file is reported by name with a reason; the good article beside it loads."""
    content, reason = BROKEN[name]
    write(tmp_path, "good.md", GOOD)
    write(tmp_path, name, content)
    scan = scan_documents(tmp_path)
    assert [d.id for d in scan.documents] == ["good.md"]
    assert [s.path for s in scan.skipped] == [name]
    assert reason in scan.skipped[0].reason


def test_a_folder_named_like_an_article_is_reported(tmp_path):
    """A directory called 'x.md' is skipped with a reason, not crashed on or silently ignored."""
    write(tmp_path, "good.md", GOOD)
    (tmp_path / "folder.md").mkdir()
    scan = scan_documents(tmp_path)
    assert [s.path for s in scan.skipped] == ["folder.md"]
    assert "folder" in scan.skipped[0].reason


def test_a_symlink_out_of_the_documents_folder_is_refused(tmp_path):
    """A link to a file outside documents/ is never read."""
    docs = tmp_path / "docs"
    write(docs, "good.md", GOOD)
    secret = write(tmp_path, "secret.md", "---\ntitle: Secret\n---\nDo not index this text.\n")
    os.symlink(secret, docs / "link.md")
    scan = scan_documents(docs)
    assert [d.id for d in scan.documents] == ["good.md"]
    assert "outside the documents folder" in scan.skipped[0].reason


def test_an_oversized_file_is_refused_without_reading_it(tmp_path):
    """A file over the size limit is skipped with its size in the reason."""
    write(tmp_path, "good.md", GOOD)
    with (tmp_path / "huge.txt").open("wb") as fh:
        fh.truncate(MAX_ARTICLE_BYTES + 1)
    scan = scan_documents(tmp_path)
    assert [s.path for s in scan.skipped] == ["huge.txt"]
    assert "too large" in scan.skipped[0].reason


def test_hidden_files_and_folders_are_not_articles(tmp_path):
    """Editor swap files and .git folders are passed over silently."""
    write(tmp_path, "good.md", GOOD)
    write(tmp_path, ".draft.md", GOOD)
    write(tmp_path, ".git/notes.md", GOOD)
    scan = scan_documents(tmp_path)
    assert [d.id for d in scan.documents] == ["good.md"]
    assert scan.skipped == []


def test_duplicate_titles_are_both_indexed_with_a_note(tmp_path):
    """Two articles with the same title both load; the second is named in a note."""
    write(tmp_path, "a.md", GOOD)
    write(tmp_path, "b.md", GOOD.replace("Friday", "Monday"))
    scan = scan_documents(tmp_path)
    assert [d.id for d in scan.documents] == ["a.md", "b.md"]
    assert scan.notes and "b.md" in scan.notes[0] and "a.md" in scan.notes[0]


def test_subfolders_are_scanned_and_ids_are_relative_paths(tmp_path):
    """Articles in subfolders are found; their id is the path relative to the documents folder."""
    write(tmp_path, "2025/june/round2.md", GOOD)
    assert [d.id for d in scan_documents(tmp_path).documents] == ["2025/june/round2.md"]


def test_parse_article_reports_the_missing_folder():
    """Scanning a folder that does not exist is a clear error."""
    with pytest.raises(DocumentError, match="does not exist"):
        scan_documents(Path("/nonexistent/talksbot/documents"))


def test_unknown_front_matter_keys_are_ignored_and_values_are_trimmed():
    """Extra keys (like 'fixture') do not break loading; whitespace in values is folded."""
    doc = parse_article(b"---\ntitle: '  Spaced   title '\nfixture: true\n---\nBody text here.\n", doc_id="x.md")
    assert doc.info.title == "Spaced title"
