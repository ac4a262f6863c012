"""Shared helpers for the reliability tests: the real CLI, synthetic articles, rendered-text checks."""

from __future__ import annotations

import contextlib
import ctypes
import gc
import io
import logging
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path

from bot.settings import DOCUMENTED
from tests.conftest import DOCUMENTS

TALKSBOT = Path(sys.executable).with_name("talksbot")

# A question whose answer is in the Reuters seed article, and the words the answer must quote.
GOOD_QUESTION = "Does Moscow insist that Kyiv stay neutral?"
GOOD_ANSWER = "Ukraine becomes a neutral state"

# Mention syntax Discord would turn into a ping or a mention pill, when it is not escaped.
_LIVE_MENTION = re.compile(r"@(?:everyone|here)\b|<@[!&]?\d+>|<#\d+>|</[\w -]+:\d+>")


def cli_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    """The environment for a CLI subprocess: no settings leak in from the developer's shell."""
    env = {k: v for k, v in os.environ.items() if k not in DOCUMENTED}
    env["NO_COLOR"] = "1"
    env.update(extra or {})
    return env


def run_cli(
    *args: str | bytes,
    cwd: Path,
    stdin: bytes | None = None,
    env: dict[str, str] | None = None,
    timeout: float = 300,
) -> subprocess.CompletedProcess:
    """Run the real `talksbot` console script; stdout and stderr come back as bytes."""
    return subprocess.run(
        [str(TALKSBOT), *args],
        cwd=cwd,
        input=stdin,
        capture_output=True,
        env=cli_env(env),
        timeout=timeout,
    )


def text(data: bytes) -> str:
    """CLI output as text; the CLI promises UTF-8, so a decoding error is a failure here."""
    return data.decode("utf-8")


def assert_no_traceback(proc: subprocess.CompletedProcess) -> None:
    """No Python traceback reached the user."""
    for stream in (proc.stdout, proc.stderr):
        assert b"Traceback (most recent call last)" not in stream, stream.decode("utf-8", "replace")


def assert_one_line_error(proc: subprocess.CompletedProcess, code: int) -> str:
    """Exit ``code`` with exactly one 'talksbot: ...' line on stderr and nothing on stdout; returns the line."""
    err = text(proc.stderr)
    assert proc.returncode == code, (proc.returncode, err, proc.stdout[:300])
    assert proc.stdout == b"", proc.stdout[:300]
    lines = err.strip("\n").split("\n")
    assert len(lines) == 1 and lines[0].startswith("talksbot: "), err
    assert_no_traceback(proc)
    return lines[0]


def live_mentions(rendered: str) -> list[str]:
    """Mention syntax in rendered text that Discord would still read as a mention."""
    return _LIVE_MENTION.findall(rendered)


def copy_seed(target: Path) -> Path:
    """A writable copy of documents/ (the two seed articles) at ``target``."""
    shutil.copytree(DOCUMENTS, target)
    return target


_CITIES = (
    "Lviv",
    "Odesa",
    "Kharkiv",
    "Dnipro",
    "Poltava",
    "Sumy",
    "Chernihiv",
    "Vinnytsia",
    "Rivne",
    "Lutsk",
    "Uzhhorod",
    "Mykolaiv",
)
_SUBJECTS = (
    "grain shipments through the Black Sea ports",
    "repairs to the regional power grid",
    "the registry of missing persons",
    "school reconstruction funding",
    "railway timetables for freight",
    "demining of farmland",
    "cross-border ambulance routes",
    "water supply to frontline villages",
)


def synthetic_article(i: int, *, paragraphs: int = 2) -> str:
    """A small, valid article about a fictional technical working group (never about neutrality)."""
    city = _CITIES[i % len(_CITIES)]
    subject = _SUBJECTS[i % len(_SUBJECTS)]
    body = [
        f"Technical working group {i} met in {city} to review {subject}, officials said on Tuesday.",
        f"Members of group {i} agreed to publish a schedule for {subject} before the end of the month.",
        f"A spokesperson for group {i} said inspectors from {city} would visit the sites next week.",
        f"The minutes of group {i} list {i + 3} open questions about {subject} for the next session.",
    ]
    return (
        f"---\ntitle: Working group {i} reviews {subject}\nsource: Synthetic Wire\n"
        f"published: 2025-06-{(i % 28) + 1:02d}\n---\n" + "\n\n".join(body[:paragraphs]) + "\n"
    )


def write_corpus(folder: Path, count: int, *, start: int = 0, paragraphs: int = 2, prefix: str = "wg") -> list[Path]:
    """Write ``count`` synthetic articles into ``folder``; returns their paths."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for i in range(start, start + count):
        path = folder / f"{prefix}-{i:03d}.md"
        path.write_text(synthetic_article(i, paragraphs=paragraphs), encoding="utf-8")
        paths.append(path)
    return paths


def settled_rss_bytes() -> int:
    """RSS after a full garbage collection and glibc's malloc_trim: memory in use, not allocator caches.

    Worker threads each get a malloc arena that keeps freed memory; trimming returns those free
    pages to the system, so what remains is what the process still holds.
    """
    gc.collect()
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    return rss_bytes()


def rss_bytes() -> int:
    """Resident set size of this process (Linux /proc)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise RuntimeError("VmRSS not found")


@contextlib.contextmanager
def in_process_cli(monkeypatch, embedder) -> Iterator:
    """Run ``bot.cli.main`` in this process with the session's model (no second model load).

    Yields ``call(argv) -> (exit code, stdout, stderr)``. Everything else is the real CLI:
    parsing, settings, the engine, error handling and exit codes.
    """
    from bot import cli, runner
    from index.engine import Engine

    for name in ("DOCUMENTS_DIR", "INDEX_DIR", "DISCORD_TOKEN", "EMBEDDING_MODEL", "FEEDBACK_DB"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(
        cli,
        "build_service",
        lambda s: runner.build_service(s, engine=Engine(s.documents_dir, s.index_dir, embedder=embedder)),
    )

    def call(argv: Sequence[str], stdin: str = "") -> tuple[int, str, str]:
        out, err = io.StringIO(), io.StringIO()
        # As in a fresh process, the root logger starts without handlers, so the CLI's own logging
        # setup writes warnings to its stderr (and no handler left behind by another test interferes).
        root = logging.getLogger()
        saved_handlers, saved_level = root.handlers[:], root.level
        root.handlers.clear()
        try:
            with monkeypatch.context() as m:
                m.setattr(sys, "stdout", out)
                m.setattr(sys, "stderr", err)
                m.setattr(sys, "stdin", io.StringIO(stdin))
                code = cli.main(["--env-file", os.devnull, *argv])
        finally:
            root.handlers[:] = saved_handlers
            root.setLevel(saved_level)
        return code, out.getvalue(), err.getvalue()

    yield call
