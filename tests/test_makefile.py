"""The Makefile as a newcomer uses it: `make ask Q="..."` passes the question through as typed."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from reliability_helpers import cli_env

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def checkout(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder laid out like a checkout (Makefile, documents/) whose .venv/bin is this checkout's venv's.

    The folder's own .venv/.installed is newer than its pyproject.toml, so make never runs the install
    recipe: it would install the folder (which has no code) into the real venv.
    """
    base = tmp_path_factory.mktemp("checkout")
    for name in ("Makefile", "pyproject.toml", "constraints.txt"):
        shutil.copy(ROOT / name, base / name)
    shutil.copytree(ROOT / "documents", base / "documents")
    (base / ".venv").mkdir()
    (base / ".venv" / "bin").symlink_to(ROOT / ".venv" / "bin")
    (base / ".venv" / ".installed").touch()
    return base


def make(checkout: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """Run make in ``checkout``; PYTHON and PIP are disabled, so no recipe can create or change a venv."""
    return subprocess.run(
        ["make", "--no-print-directory", "PYTHON=false", "PIP=false", *args],
        cwd=checkout,
        env=cli_env(),
        capture_output=True,
        text=True,
        timeout=600,
    )


def test_make_ask_keeps_dollars_quotes_and_backquotes_as_typed(checkout):
    """A question with $5, quotes and a backquoted command reaches talksbot intact and runs nothing."""
    question = """Did the $5 "deal" include Joe's `touch pwned` $(touch pwned2) $HOME?"""
    proc = make(checkout, "ask", f"Q={question}")
    assert proc.returncode == 0, proc.stderr
    assert f"Nothing relevant in the 2 indexed articles for: {question}" in proc.stdout, proc.stdout
    assert not (checkout / "pwned").exists() and not (checkout / "pwned2").exists()


def test_make_ask_without_a_question_says_how_to_ask(checkout):
    """`make ask` alone prints the usage line and fails with exit 2 from the recipe, nothing else."""
    proc = make(checkout, "ask")
    assert proc.returncode != 0
    assert 'usage: make ask Q="your question"' in proc.stderr
    assert "Traceback" not in proc.stderr


def test_make_clean_keeps_the_articles_and_the_votes(checkout, tmp_path):
    """`make clean` removes the venv and the built index, never documents/ or .talksbot/feedback.sqlite3."""
    folder = tmp_path / "clean"
    folder.mkdir()
    shutil.copy2(ROOT / "Makefile", folder / "Makefile")
    (folder / "documents").mkdir()
    (folder / "documents" / "a.md").write_text("An article.\n", encoding="utf-8")
    (folder / ".venv").mkdir()  # a stand-in venv: clean must not follow the real one
    (folder / ".talksbot" / "index").mkdir(parents=True)
    (folder / ".talksbot" / "feedback.sqlite3").write_bytes(b"votes")
    proc = make(folder, "clean")
    assert proc.returncode == 0, proc.stderr
    assert not (folder / ".venv").exists() and not (folder / ".talksbot" / "index").exists()
    assert (folder / "documents" / "a.md").exists() and (folder / ".talksbot" / "feedback.sqlite3").exists()
