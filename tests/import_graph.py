"""The import graph of talksbot's own modules (bot/ and index/), and its cycles.

Every ``import`` statement counts, wherever it stands: at the top, inside a function, or under
``if TYPE_CHECKING:``. An import hidden in a function is still a dependency (it only moves the
failure to run time), and a typing-only one still ties two modules together for a reader.
Implicit edges from a module to its own parent package are not counted.

    .venv/bin/python tests/import_graph.py            # "module -> dependencies", then any cycles
    .venv/bin/python tests/import_graph.py --root DIR # another checkout

tests/test_architecture.py holds the rules drawn from it.
"""

from __future__ import annotations

import argparse
import ast
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

PACKAGES = ("bot", "index")
ROOT = Path(__file__).resolve().parents[1]


@dataclass(frozen=True, slots=True)
class ImportEdge:
    """One import statement: who imports what (``names`` for ``from X import a, b``), and where."""

    importer: str
    target: str
    names: tuple[str, ...]
    line: int


def module_files(root: Path = ROOT) -> dict[str, Path]:
    """Dotted module name -> file, for every module of the project's packages."""
    out: dict[str, Path] = {}
    for package in PACKAGES:
        for path in sorted((root / package).rglob("*.py")):
            parts = list(path.relative_to(root).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            out[".".join(parts)] = path
    return out


def _resolve(importer: str, is_package: bool, node: ast.ImportFrom) -> str:
    """The absolute module a ``from ... import`` names (relative imports resolved)."""
    if node.level == 0:
        return node.module or ""
    base = importer.split(".")
    if not is_package:
        base = base[:-1]
    base = base[: len(base) - (node.level - 1)]
    return ".".join(base + ([node.module] if node.module else []))


def import_edges(root: Path = ROOT) -> Iterator[ImportEdge]:
    """Every import of a project module by a project module."""
    modules = module_files(root)
    for name, path in modules.items():
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                for alias in node.names:
                    if alias.name.split(".")[0] in PACKAGES:
                        yield ImportEdge(name, alias.name, (), node.lineno)
            elif isinstance(node, ast.ImportFrom):
                target = _resolve(name, path.name == "__init__.py", node)
                if target.split(".")[0] not in PACKAGES:
                    continue
                names = tuple(a.name for a in node.names)
                # `from pkg import module` depends on the module; `from module import name` on the module.
                submodules = [f"{target}.{n}" for n in names if f"{target}.{n}" in modules]
                for sub in submodules:
                    yield ImportEdge(name, sub, (), node.lineno)
                rest = tuple(n for n in names if f"{target}.{n}" not in modules)
                if rest or not submodules:
                    yield ImportEdge(name, target, rest, node.lineno)


def graph(root: Path = ROOT) -> dict[str, set[str]]:
    """Module -> the project modules it imports (itself excluded)."""
    out: dict[str, set[str]] = {name: set() for name in module_files(root)}
    for edge in import_edges(root):
        if edge.target != edge.importer and edge.target in out:
            out[edge.importer].add(edge.target)
    return out


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected groups of more than one module (Tarjan), each sorted; sorted overall."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    counter = 0

    def visit(node: str) -> None:
        nonlocal counter
        index[node] = low[node] = counter
        counter += 1
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(edges.get(node, ())):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            group = []
            while True:
                top = stack.pop()
                on_stack.discard(top)
                group.append(top)
                if top == node:
                    break
            if len(group) > 1:
                found.append(sorted(group))

    for node in sorted(edges):
        if node not in index:
            visit(node)
    return sorted(found)


def render(edges: dict[str, set[str]]) -> str:
    """One line per module: ``bot.cli -> bot.render_text, bot.settings, index``."""
    lines = [f"{name} -> {', '.join(sorted(deps)) or '(nothing of ours)'}" for name, deps in sorted(edges.items())]
    found = cycles(edges)
    lines.append("")
    lines.append(f"cycles: {len(found)}")
    lines += ["  " + " <-> ".join(group) for group in found]
    return "\n".join(lines)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", type=Path, default=ROOT, help="checkout to read (default: this one)")
    args = parser.parse_args(argv)
    print(render(graph(args.root.resolve())))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
