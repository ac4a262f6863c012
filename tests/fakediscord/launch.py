"""Run a console script (e.g. ``talksbot``) in this process with discord.py pointed at a fake Discord.

discord.py builds REST URLs from ``discord.http.Route.BASE`` and opens the gateway at
``DiscordWebSocket.DEFAULT_GATEWAY``; this sets both from FAKEDISCORD_API_BASE and
FAKEDISCORD_GATEWAY (``FakeDiscord.launch_env()`` gives both), then runs the named console
script's entry point with the remaining arguments, exactly as the installed script would.
Nothing in the program under test changes. Used by the multi-process tests and bench/:

    FAKEDISCORD_API_BASE=http://127.0.0.1:PORT/api/v10 FAKEDISCORD_GATEWAY=ws://127.0.0.1:PORT/gateway \\
        .venv/bin/python tests/fakediscord/launch.py talksbot run
"""

from __future__ import annotations

import os
import sys
import warnings
from importlib.metadata import entry_points
from pathlib import Path

# Run as a script, this folder comes first on sys.path, and its models.py, server.py, gateway.py ...
# would shadow any top-level module of those names that the program under test imports.
_HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _HERE]

import yarl  # noqa: E402 - after the path is cleaned

with warnings.catch_warnings():
    warnings.filterwarnings("ignore", category=DeprecationWarning)  # discord.py imports audioop
    from discord.gateway import DiscordWebSocket
    from discord.http import Route


def main(argv: list[str]) -> int:
    """Patch the two URLs, then run console script ``argv[0]`` with ``argv[1:]``."""
    if not argv:
        print("usage: launch.py CONSOLE_SCRIPT [ARGS...]", file=sys.stderr)
        return 2
    found = entry_points(group="console_scripts", name=argv[0])
    if not found:
        print(f"launch.py: no console script named {argv[0]!r} is installed", file=sys.stderr)
        return 2
    Route.BASE = os.environ["FAKEDISCORD_API_BASE"]
    DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(os.environ["FAKEDISCORD_GATEWAY"])
    script = next(iter(found)).load()
    sys.argv = [argv[0], *argv[1:]]  # what the installed script would see
    result = script()
    return result if isinstance(result, int) else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
