"""Dependencies point one way (bot -> index), through the engine's public surface, with no cycles."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest
from import_graph import ROOT, cycles, graph, import_edges, module_files

import index
import index.web

# What bot/ may import of the engine: the package itself (its __all__ is the public surface), the
# evaluation harness behind `talksbot eval`, and the web-ingestion package behind `talksbot add`/`poll`
# and the feed poller (index.web: fetching links safely, extracting articles, reading feeds; its own
# __all__ is its surface, and it knows nothing of Discord). Everything else in index/ is the engine's own.
PUBLIC_ENGINE_MODULES = {"index", "index.evaluation", "index.web"}
# Attributes of the engine's insides that a face reaching past the service would use.
ENGINE_INSIDES = {"store", "searcher", "snapshot", "embedder"}


def test_importing_the_engine_does_not_import_discord():
    """`import index` (and its modules) leaves discord out of sys.modules."""
    code = (
        "import sys, index, index.engine, index.evaluation, index.store, index.search, index.web;"
        "print(sorted(m for m in sys.modules if m == 'discord' or m.startswith('discord.')))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_the_terminal_commands_do_not_import_discord():
    """The CLI module loads without discord.py, so `talksbot ask` never pays for it."""
    code = "import sys, bot.cli; print('discord' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"


def test_no_module_of_the_engine_imports_the_bot():
    """index/ never imports bot/: dependencies point one way."""
    wrong = [
        f"{e.importer}:{e.line} imports {e.target}"
        for e in import_edges()
        if e.importer.split(".")[0] == "index" and e.target.split(".")[0] == "bot"
    ]
    assert wrong == []


def test_the_bot_uses_only_the_engines_public_surface():
    """bot/ imports `index` (names in its __all__) or `index.evaluation`, never a private module."""
    problems = []
    for edge in import_edges():
        if not edge.importer.startswith("bot") or not edge.target.startswith("index"):
            continue
        if edge.target not in PUBLIC_ENGINE_MODULES:
            problems.append(f"{edge.importer}:{edge.line} imports {edge.target}")
        elif edge.target in ("index", "index.web"):
            surface = index.web.__all__ if edge.target == "index.web" else index.__all__
            where = f"{edge.importer}:{edge.line}"
            problems += [f"{where} imports {edge.target}.{n}" for n in edge.names if n not in surface]
    assert problems == []


def test_the_check_catches_a_private_import(tmp_path: Path):
    """The rule above is not vacuous: a bot module importing index.store is reported."""
    for package in ("bot", "index"):
        (tmp_path / package).mkdir()
        (tmp_path / package / "__init__.py").write_text("")
    (tmp_path / "index" / "store.py").write_text("X = 1\n")
    (tmp_path / "bot" / "face.py").write_text("def f():\n    from index.store import X\n    return X\n")
    edges = [e for e in import_edges(tmp_path) if e.importer == "bot.face"]
    assert [(e.target, e.line) for e in edges] == [("index.store", 2)]


def test_no_import_cycles():
    """No two of our modules import each other, directly or around a loop (imports inside functions count)."""
    assert cycles(graph()) == []


def test_the_cycle_check_finds_a_cycle_hidden_in_a_function(tmp_path: Path):
    """A cycle closed by an import inside a function (how bot.client and bot.cli used to meet) is found."""
    (tmp_path / "bot").mkdir()
    (tmp_path / "index").mkdir()
    (tmp_path / "bot" / "__init__.py").write_text("")
    (tmp_path / "index" / "__init__.py").write_text("")
    (tmp_path / "bot" / "a.py").write_text("from . import b\n")
    (tmp_path / "bot" / "b.py").write_text("def later():\n    from .a import x\n")
    assert cycles(graph(tmp_path)) == [["bot.a", "bot.b"]]


def _bot_sources() -> dict[str, ast.Module]:
    return {
        name: ast.parse(path.read_text(encoding="utf-8"))
        for name, path in module_files().items()
        if name.startswith("bot")
    }


def test_faces_do_not_reach_into_the_engine():
    """No module of bot/ touches the engine's store, searcher, snapshot or embedder; the service is the seam."""
    found = [
        f"{name}:{node.lineno} .{node.attr}"
        for name, tree in _bot_sources().items()
        for node in ast.walk(tree)
        if isinstance(node, ast.Attribute) and node.attr in ENGINE_INSIDES
    ]
    assert found == []


@pytest.mark.parametrize("built", ["Engine", "Service"])
def test_only_the_runner_wires_the_engine_and_the_service(built: str):
    """Engine(...) and Service(...) are constructed in bot/runner.py alone (dependencies are injected)."""
    found = [
        name
        for name, tree in _bot_sources().items()
        for node in ast.walk(tree)
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == built
    ]
    assert found == ["bot.runner"]


def test_every_module_says_what_it_is_for():
    """Each module of bot/ and index/ opens with a docstring."""
    missing = [name for name, path in module_files().items() if not ast.get_docstring(ast.parse(path.read_text()))]
    assert missing == []


def test_the_graph_script_runs():
    """`python tests/import_graph.py` prints the graph and its cycle count (the command the README cites)."""
    out = subprocess.run(
        [sys.executable, str(ROOT / "tests" / "import_graph.py")], capture_output=True, text=True, check=True
    ).stdout
    assert "bot.cli -> " in out and out.rstrip().endswith("cycles: 0")
