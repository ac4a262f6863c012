"""`talksbot` as real subprocesses against a standalone fake Discord: the multi-process tests' door.

Each process runs the installed console script's entry point through
``tests/fakediscord/launch.py``, which only points discord.py's two URLs at the fake. Settings
come from the environment (the developer's own settings are stripped), output goes to a log
file per process, and a test can crash a process (SIGKILL) or stop it as Ctrl-C would (SIGINT).
bench/sharding.py uses the same door.
"""

from __future__ import annotations

import contextlib
import re
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import IO, Any

from fakediscord import DiscordHarness, FakeDiscord
from reliability_helpers import cli_env

LAUNCHER = Path(__file__).resolve().parent / "fakediscord" / "launch.py"
# Log lines that mean something went wrong in a bot process (discord.py's format: "... ERROR    name message").
_PROBLEM = re.compile(r"Traceback \(most recent call last\)|\bERROR\b|\bCRITICAL\b")
# discord.py colours its log lines inside Docker even when they go to a file; the codes would hide "ERROR".
_ANSI = re.compile(r"\x1b\[[0-9;]*m")


def talksbot_env(fake: FakeDiscord, documents: Path, index: Path, **settings: str) -> dict[str, str]:
    """The environment of a `talksbot` process using the fake: its URLs and token, the folders, ``settings``."""
    return cli_env(
        {
            **fake.launch_env(),
            "DISCORD_TOKEN": fake.token,
            "DOCUMENTS_DIR": str(documents),
            "INDEX_DIR": str(index),
            **settings,
        }
    )


def talksbot_command(*args: str) -> list[str]:
    """The command line running ``talksbot ARGS`` against the fake named in the environment."""
    return [sys.executable, str(LAUNCHER), "talksbot", *args]


class BotProcess:
    """One `talksbot run` subprocess; stdout and stderr go to ``<cwd>/<name>.log``."""

    def __init__(self, name: str, env: dict[str, str], cwd: Path, args: Sequence[str] = ("run",)) -> None:
        """Configure; :meth:`start` spawns it."""
        self.name = name
        self.env = env
        self.cwd = cwd
        self.args = list(args)
        self.log_path = cwd / f"{name}.log"
        self.proc: subprocess.Popen[bytes] | None = None
        self._log: IO[bytes] | None = None

    def __repr__(self) -> str:
        """Name, pid and state for assertion messages."""
        pid = self.proc.pid if self.proc else None
        return f"<BotProcess {self.name} pid={pid} returncode={self.returncode}>"

    def start(self) -> BotProcess:
        """Spawn the process (its log is appended to, so a restart keeps the earlier run's lines)."""
        self._log = self.log_path.open("ab")
        self.proc = subprocess.Popen(
            talksbot_command(*self.args), cwd=self.cwd, env=self.env, stdout=self._log, stderr=subprocess.STDOUT
        )
        return self

    @property
    def returncode(self) -> int | None:
        """The exit code, or None while it runs."""
        return None if self.proc is None else self.proc.poll()

    @property
    def running(self) -> bool:
        """Started and not exited."""
        return self.proc is not None and self.proc.poll() is None

    def kill(self) -> None:
        """SIGKILL: the process dies at once, as in a crash or a lost host (no clean shutdown)."""
        if self.running:
            assert self.proc is not None
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(30)
        self._close_log()

    def stop(self, timeout: float = 60) -> int | None:
        """SIGINT (Ctrl-C), then wait for the bot's own clean shutdown; SIGKILL if it hangs. The exit code."""
        if self.running:
            assert self.proc is not None
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()  # our own child, by its handle
                self.proc.wait(30)
        self._close_log()
        return self.returncode

    def _close_log(self) -> None:
        if self._log is not None:
            self._log.close()
            self._log = None

    def log(self) -> str:
        """Everything the process printed so far."""
        return self.log_path.read_text(encoding="utf-8", errors="replace") if self.log_path.exists() else ""

    def problems(self) -> list[str]:
        """Log lines reporting an error or a traceback."""
        return [line for line in _ANSI.sub("", self.log()).splitlines() if _PROBLEM.search(line)]


def wait_for(
    h: DiscordHarness,
    predicate: Callable[[], Any],
    processes: Sequence[BotProcess],
    timeout: float,
    what: str,
) -> Any:
    """Wait on the fake's loop until ``predicate()``; fail at once, with its log, if a process exits meanwhile."""
    deadline = time.monotonic() + timeout
    while True:
        with contextlib.suppress(TimeoutError):
            return h.call(h.fake.wait_until(predicate, min(2.0, max(0.1, deadline - time.monotonic())), what))
        for p in processes:
            if not p.running:
                raise AssertionError(f"{p!r} exited while waiting for {what}:\n{p.log()[-4000:]}")
        if time.monotonic() >= deadline:
            logs = "\n".join(f"--- {p.name}\n{p.log()[-2000:]}" for p in processes)
            raise TimeoutError(f"{what} not reached within {timeout}s\n{logs}")
