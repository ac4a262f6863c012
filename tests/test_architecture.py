"""Dependencies point one way: bot -> index. The engine never imports Discord."""

from __future__ import annotations

import subprocess
import sys


def test_importing_the_engine_does_not_import_discord():
    """`import index` (and its modules) leaves discord out of sys.modules."""
    code = (
        "import sys, index, index.engine, index.evaluation, index.store, index.search;"
        "print(sorted(m for m in sys.modules if m == 'discord' or m.startswith('discord.')))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_the_terminal_commands_do_not_import_discord():
    """The CLI module loads without discord.py, so `talksbot ask` never pays for it."""
    code = "import sys, bot.cli; print('discord' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"
