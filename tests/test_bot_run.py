"""`talksbot run` and `talksbot sync-commands`: token handling, exit codes, where commands are published."""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
import sys
from pathlib import Path

import discord
import pytest
from discord_helpers import make_settings
from fakediscord import DiscordHarness

from bot.runner import run_bot, sync_commands
from bot.settings import Secret
from tests.conftest import DOCUMENTS

TALKSBOT = Path(sys.executable).with_name("talksbot")
WRONG_TOKEN = "wrong-token-do-not-print-4f7c1e"


def test_run_without_a_token_exits_2_and_says_what_to_do(tmp_path):
    """No DISCORD_TOKEN: one clear line naming the setting and .env, exit 2, no traceback."""
    env = {k: v for k, v in os.environ.items() if k != "DISCORD_TOKEN"}
    proc = subprocess.run([str(TALKSBOT), "run"], cwd=tmp_path, capture_output=True, text=True, env=env, timeout=60)
    assert proc.returncode == 2
    assert "DISCORD_TOKEN is not set" in proc.stderr and ".env" in proc.stderr
    assert "Traceback" not in proc.stderr and proc.stdout == ""


@pytest.fixture
def fake_only():
    """The fake Discord with the two discord.py URLs pointed at it (a throwaway client holds the login)."""
    intents = discord.Intents.none()
    intents.guilds = True
    factory = lambda: discord.Client(intents=intents, guild_ready_timeout=0.1)  # noqa: E731
    with DiscordHarness(factory, wait_for_sync=False) as h:
        yield h


def test_a_rejected_token_exits_2_and_is_never_printed(fake_only, tmp_path, capsys, caplog):
    """Discord answers 401: exit 2 with what to do; the token appears in no output or log."""
    shutil.copytree(DOCUMENTS, tmp_path / "documents")
    settings = make_settings(tmp_path / "documents", tmp_path / "index", discord_token=Secret(WRONG_TOKEN))
    with caplog.at_level(logging.DEBUG):
        code = run_bot(settings)
    out = capsys.readouterr()
    assert code == 2 and "rejected DISCORD_TOKEN" in out.err
    everything = out.out + out.err + caplog.text + repr(settings) + str(settings.discord_token)
    assert WRONG_TOKEN not in everything


def test_sync_commands_publishes_globally_only_on_request(fake_only, tmp_path, capsys):
    """`sync-commands --global` does one global sync and exits; a guild sync goes to that guild only."""
    settings = make_settings(tmp_path / "documents", tmp_path / "index", discord_token=Secret("fake-bot-token"))
    fake = fake_only.fake
    assert sync_commands(settings, guild_id=None) == 0
    assert fake.global_sync_count == 1
    assert {c["name"] for c in fake.global_commands} >= {"ask", "sources", "about", "reindex", "add-article"}
    assert sync_commands(settings, guild_id=fake.guild_id) == 0
    assert fake.global_sync_count == 1 and fake.guild_sync_count >= 1
    out = capsys.readouterr().out
    assert "Published" in out and "globally" in out and "/ask" in out


def test_run_waits_passively_for_openmp_threads_unless_told_otherwise(tmp_path, monkeypatch):
    """`talksbot run` defaults OMP_WAIT_POLICY to PASSIVE (shared cores) and keeps an explicit choice."""
    from bot.cli import main

    monkeypatch.delenv("DISCORD_TOKEN", raising=False)
    monkeypatch.delenv("OMP_WAIT_POLICY", raising=False)
    monkeypatch.chdir(tmp_path)
    assert main(["run"]) == 2  # no token: stops before connecting, after choosing the policy
    assert os.environ["OMP_WAIT_POLICY"] == "PASSIVE"
    monkeypatch.setenv("OMP_WAIT_POLICY", "ACTIVE")
    assert main(["run"]) == 2
    assert os.environ["OMP_WAIT_POLICY"] == "ACTIVE"


def test_starting_the_client_does_not_warn_about_voice_libraries(tmp_path, caplog, monkeypatch):
    """talksbot has no voice: building the client logs nothing about PyNaCl or davey being missing."""
    from bot.runner import create_bot

    # discord.py warns once per process; pretend this is the first client of the process.
    monkeypatch.setattr(discord.VoiceClient, "warn_nacl", True)
    monkeypatch.setattr(discord.VoiceClient, "warn_dave", True)
    with caplog.at_level(logging.WARNING):
        create_bot(make_settings(tmp_path / "documents", tmp_path / "index"))
    assert "PyNaCl" not in caplog.text and "davey" not in caplog.text


@pytest.mark.parametrize(
    ("tty", "no_color", "coloured"), [(True, False, True), (False, False, False), (True, True, False)]
)
def test_bot_logs_are_coloured_only_on_a_terminal(tmp_path, monkeypatch, tty, no_color, coloured):
    """Log lines carry colour codes on a terminal only: never into a pipe or file, never with NO_COLOR."""
    import io

    from bot.logs import bot_logging

    class Stream(io.StringIO):
        def isatty(self) -> bool:
            return tty

    stream = Stream()
    monkeypatch.setattr(sys, "stderr", stream)
    monkeypatch.setattr(discord.utils, "is_docker", lambda: True)  # discord.py colours in containers regardless
    if no_color:
        monkeypatch.setenv("NO_COLOR", "1")
    else:
        monkeypatch.delenv("NO_COLOR", raising=False)
    with bot_logging(make_settings(tmp_path, tmp_path / "index")):
        logging.getLogger("bot.test").warning("hello from the bot")
    assert "hello from the bot" in stream.getvalue()
    assert ("\x1b[" in stream.getvalue()) is coloured
