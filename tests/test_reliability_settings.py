"""Settings a careless admin might write: each is refused with a sentence naming it (exit 2), or never read.

Through the real `talksbot` command: the bot's commands (`run`, `sync-commands`) check every
setting; `index` and `ask` check only what they use, so a bad bot setting never stops them.
"""

from __future__ import annotations

import os

import pytest
from reliability_helpers import (
    GOOD_ANSWER,
    GOOD_QUESTION,
    assert_one_line_error,
    copy_seed,
    in_process_cli,
    run_cli,
)

from bot.settings import BOT_ONLY, DOCUMENTED, Settings, SettingsError

# Each value was accepted before and then crashed, misbehaved or was blamed on something else.
BAD_VALUES = {
    "ASK_COOLDOWN_RATE": ["0.5", "0", "-1", "nan", "inf", "1e3", "3.0", "1001", "three"],
    "ASK_COOLDOWN_SECONDS": ["nan", "inf", "-inf", "0", "-1", "1e9", "0.01", "ten"],
    "TORCH_THREADS": ["100000", "0", "-2", "1.5", "nan", "inf", "all"],
    "DISCORD_GUILD_ID": ["-3", "1.0", "nan", "1e18", str(2**64), "abc"],
    "ADMIN_ROLE_IDS": ["1,-2", "1, 2.5", "inf", "x"],
    "SHARD_COUNT": ["0", "1e9", "nan", "2.5", "100000"],
    "MIN_SCORE": ["nan", "inf", "-0.1", "2", "high"],
    "WATCH_DOCUMENTS": ["maybe", "2"],
    "LOG_LEVEL": ["LOUD"],
    # The settings of issues 12, 13 and 14 joined the same table when they were merged.
    "FEED_POLL_MINUTES": ["nan", "inf", "0", "-5", "0.01", "1e6", "hourly"],
    "FETCH_TIMEOUT_SECONDS": ["nan", "inf", "0", "0.5", "3600", "soon"],
    "FEED_MIN_SIMILARITY": ["nan", "-0.1", "1.5", "close"],
    "ANNOUNCE_CHANNEL_ID": ["-1", "1.5", "nan", "channel"],
    "ALLOW_PRIVATE_URLS": ["sometimes"],
    "CONFIDENT_SCORE": ["nan", "inf", "2", "sure"],
    "RERANK_WEIGHT": ["nan", "-0.5", "1.5", "half"],
    "FEEDBACK_DB": ["votes\x00.sqlite3"],
}


@pytest.mark.parametrize(
    ("name", "raw"), [(name, raw) for name, values in BAD_VALUES.items() for raw in values], ids=repr
)
def test_every_absurd_value_is_refused_with_a_sentence_naming_the_setting(name, raw):
    """NaN, infinity, fractions for counts, zero, negatives and absurd sizes: SettingsError naming the setting."""
    with pytest.raises(SettingsError) as caught:
        Settings.load(env={name: raw}, env_file=None)
    message = str(caught.value)
    assert message.startswith(f"{name} must be") and repr(raw) in message and message.endswith(".")


def test_sensible_values_are_accepted_as_the_types_the_bot_uses():
    """Good values load as the types the bot uses: whole counts, finite seconds, ids."""
    settings = Settings.load(
        env={
            "ASK_COOLDOWN_RATE": "5",
            "ASK_COOLDOWN_SECONDS": "2.5",
            "TORCH_THREADS": "1",
            "DISCORD_GUILD_ID": "123456789012345678",
            "ADMIN_ROLE_IDS": "1, 2;3",
            "SHARD_COUNT": "4",
            "SHARD_IDS": "0, 3",
        },
        env_file=None,
    )
    assert (settings.ask_cooldown_rate, settings.ask_cooldown_seconds, settings.torch_threads) == (5, 2.5, 1)
    assert settings.guild_id == 123456789012345678 and settings.admin_role_ids == {1, 2, 3}
    assert settings.shard_ids == (0, 3)


def test_every_bad_setting_is_named_at_once():
    """Two bad values: one error that names both, so the admin fixes them in one go."""
    with pytest.raises(SettingsError, match=r"ASK_COOLDOWN_SECONDS.*ASK_COOLDOWN_RATE"):
        Settings.load(env={"ASK_COOLDOWN_RATE": "0.5", "ASK_COOLDOWN_SECONDS": "nan"}, env_file=None)


def test_bot_only_settings_are_documented_and_not_read_by_the_terminal_commands():
    """Settings.load(bot=False) neither reads nor checks the bot-only settings (and those exist and are documented)."""
    assert set(DOCUMENTED) >= BOT_ONLY
    bad = {name: "nan" for name in BOT_ONLY if name != "DISCORD_TOKEN"}
    loaded = Settings.load(env=bad, env_file=None, bot=False)
    assert loaded.ask_cooldown_rate == Settings().ask_cooldown_rate


@pytest.mark.parametrize(
    ("env", "named"),
    [
        ({"ASK_COOLDOWN_RATE": "0.5"}, "ASK_COOLDOWN_RATE"),
        ({"ASK_COOLDOWN_SECONDS": "nan"}, "ASK_COOLDOWN_SECONDS"),
        ({"ASK_COOLDOWN_SECONDS": "inf"}, "ASK_COOLDOWN_SECONDS"),
        ({"ASK_COOLDOWN_RATE": "inf"}, "ASK_COOLDOWN_RATE"),
        ({"SHARD_COUNT": "1e9"}, "SHARD_COUNT"),
    ],
    ids=repr,
)
def test_the_bot_refuses_to_start_with_a_bad_bot_setting(tmp_path, env, named):
    """`talksbot run` with a bad bot setting: exit 2 and one sentence naming it (not a bot that refuses every /ask)."""
    proc = run_cli("run", cwd=tmp_path, env={**env, "DISCORD_TOKEN": ""})
    line = assert_one_line_error(proc, 2)
    assert f"talksbot: {named} must be" in line, line


@pytest.fixture
def cli(monkeypatch, embedder, tmp_path):
    """The real CLI in this process (the session's model), in a folder with the seed articles."""
    copy_seed(tmp_path / "documents")
    monkeypatch.chdir(tmp_path)
    with in_process_cli(monkeypatch, embedder) as call:
        yield call


@pytest.mark.parametrize("raw", ["nan", "inf", "0.5"])
def test_ask_and_index_ignore_a_bad_bot_setting(cli, monkeypatch, raw):
    """ASK_COOLDOWN_RATE=nan/inf/0.5: `talksbot index` and `ask` work (they never use it); no traceback, exit 0."""
    monkeypatch.setenv("ASK_COOLDOWN_RATE", raw)
    monkeypatch.setenv("ASK_COOLDOWN_SECONDS", raw)
    code, out, err = cli(["index"])
    assert code == 0 and "Index updated" in out, err
    code, out, err = cli(["ask", GOOD_QUESTION])
    assert code == 0 and GOOD_ANSWER in out, err
    assert "error" not in err


def test_ask_and_index_ignore_a_bad_bot_setting_in_a_fresh_process(tmp_path):
    """The issue's crash, as a user met it: `ASK_COOLDOWN_RATE=inf talksbot index` exits 0 (it was an OverflowError)."""
    copy_seed(tmp_path / "documents")
    proc = run_cli("index", cwd=tmp_path, env={"ASK_COOLDOWN_RATE": "inf"})
    assert proc.returncode == 0 and b"Index updated" in proc.stdout, proc.stderr


def test_too_many_model_threads_is_a_setting_error_not_a_model_error(cli, monkeypatch):
    """TORCH_THREADS=100000: exit 2 with a sentence about TORCH_THREADS, before any model loads."""
    monkeypatch.setenv("TORCH_THREADS", "100000")
    code, out, err = cli(["index"])
    assert code == 2 and out == ""
    assert err.startswith("talksbot: TORCH_THREADS must be a whole number from 1 to") and "mmap" not in err


@pytest.mark.parametrize("command", [["index"], ["ask", GOOD_QUESTION]])
def test_an_index_dir_that_is_a_file_is_named_as_such(cli, tmp_path, command):
    """INDEX_DIR pointing at a file: exit 2, 'INDEX_DIR … is a file', not 'free space or fix permissions'."""
    (tmp_path / "notes.txt").write_text("not a folder\n")
    for target in ("notes.txt", "notes.txt/index"):
        code, out, err = cli([*command, "--index-dir", target])
        assert code == 2 and out == "" and "INDEX_DIR notes.txt" in err and "file, not a folder" in err, err
        assert "free space" not in err
    assert (tmp_path / "notes.txt").read_text() == "not a folder\n"


def test_the_store_says_a_file_is_in_the_way_when_used_without_the_cli(tmp_path, fake_embedder):
    """The engine on its own (no settings check): a file where the index folder goes is named, not blamed on space."""
    from index import Engine, IndexWriteError

    copy_seed(tmp_path / "documents")
    (tmp_path / "index").write_text("x")
    with pytest.raises(IndexWriteError, match="is a file, not a folder"):
        Engine(tmp_path / "documents", tmp_path / "index", embedder=fake_embedder).reindex()


@pytest.mark.parametrize("inside", ["documents/index", "documents", "documents/sub/index"])
def test_an_index_dir_inside_the_documents_folder_is_refused(cli, tmp_path, monkeypatch, inside):
    """INDEX_DIR inside DOCUMENTS_DIR: exit 2 with a sentence, and the index's files are never listed as articles."""
    monkeypatch.setenv("INDEX_DIR", inside)
    code, out, err = cli(["index"])
    assert code == 2 and out == "" and "is inside DOCUMENTS_DIR" in err, err
    assert "not an article file" not in err
    assert not (tmp_path / "documents" / "index").exists()


def test_a_hidden_index_folder_inside_documents_still_works(cli, tmp_path, monkeypatch):
    """documents/.index is skipped by the scan (hidden), so it is allowed and indexes cleanly."""
    monkeypatch.setenv("INDEX_DIR", os.path.join("documents", ".index"))
    code, out, err = cli(["index"])
    assert code == 0 and "skipped" not in out, (out, err)
