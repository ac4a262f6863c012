"""Bench-only launcher: the `talksbot` console script, pointed at a local fake Discord.

discord.py builds REST URLs from ``discord.http.Route.BASE`` and opens the gateway at
``DiscordWebSocket.DEFAULT_GATEWAY``; this sets both from TALKSBOT_FAKE_API_BASE and
TALKSBOT_FAKE_GATEWAY, then runs ``bot.cli.main`` with the same arguments the console
script would get. Nothing in the product changes. Used by bench/startup.py:

    TALKSBOT_FAKE_API_BASE=http://127.0.0.1:PORT/api/v10 TALKSBOT_FAKE_GATEWAY=ws://127.0.0.1:PORT/gateway \\
        .venv/bin/python bench/talksbot_fake.py run
"""

from __future__ import annotations

import os
import sys
import warnings

import yarl

with warnings.catch_warnings():
    warnings.filterwarnings("ignore", category=DeprecationWarning)  # discord.py imports audioop
    from discord.gateway import DiscordWebSocket
    from discord.http import Route

Route.BASE = os.environ["TALKSBOT_FAKE_API_BASE"]
DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(os.environ["TALKSBOT_FAKE_GATEWAY"])

from bot.cli import main  # noqa: E402 - after the patch, as the console script would import it

if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
