"""Settings: the environment wins over .env, bad values are named, the token never shows itself."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.client import ShardedTalksBot, TalksBot
from bot.runner import create_bot
from bot.settings import DOCUMENTED, Secret, Settings, SettingsError

ROOT = Path(__file__).resolve().parents[1]


def test_env_file_values_are_read_and_the_environment_wins(tmp_path):
    """.env supplies values; the process environment overrides them."""
    env_file = tmp_path / ".env"
    env_file.write_text("DOCUMENTS_DIR=from-file\nINDEX_DIR=idx-from-file\nASK_COOLDOWN_RATE=5\n")
    settings = Settings.load(env={"INDEX_DIR": "idx-from-env"}, env_file=env_file)
    assert settings.documents_dir == Path("from-file") and settings.index_dir == Path("idx-from-env")
    assert settings.ask_cooldown_rate == 5


def test_defaults_are_safe_without_any_configuration(tmp_path):
    """No .env, no variables: documents/, .talksbot/index, the bundled model, no token, no sharding."""
    settings = Settings.load(env={}, env_file=tmp_path / "missing.env")
    assert settings.documents_dir == Path("documents") and settings.index_dir == Path(".talksbot/index")
    assert settings.embedding_model == "all-MiniLM-L6-v2" and not settings.discord_token
    assert settings.shard_count is None and settings.admin_role_ids == frozenset()


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"DISCORD_GUILD_ID": "abc"}, "DISCORD_GUILD_ID must be a whole number"),
        ({"ADMIN_ROLE_IDS": "1, x"}, "ADMIN_ROLE_IDS must be whole numbers"),
        ({"WATCH_DOCUMENTS": "maybe"}, "WATCH_DOCUMENTS must be 1 or 0"),
        ({"ASK_COOLDOWN_SECONDS": "-1"}, "ASK_COOLDOWN_SECONDS must be a number of seconds"),
        ({"LOG_LEVEL": "LOUD"}, "LOG_LEVEL must be"),
        ({"SHARD_IDS": "0"}, "SHARD_IDS needs SHARD_COUNT"),
        ({"SHARD_COUNT": "2", "SHARD_IDS": "0,2"}, "between 0 and SHARD_COUNT-1"),
        ({"MIN_SCORE": "high"}, "MIN_SCORE must be a number from 0 to 1.5"),
        ({"MIN_SCORE": "-0.1"}, "MIN_SCORE must be a number from 0 to 1.5"),
        ({"MIN_SCORE": "2"}, "MIN_SCORE must be a number from 0 to 1.5"),
        ({"MIN_SCORE": "nan"}, "MIN_SCORE must be a number from 0 to 1.5"),
        ({"CONFIDENT_SCORE": "sure"}, "CONFIDENT_SCORE must be a number from 0 to 1.5"),
        ({"CONFIDENT_SCORE": "0.3"}, r"CONFIDENT_SCORE \(0.3\) must not be below MIN_SCORE \(0.5\)"),
        ({"MIN_SCORE": "0.7", "CONFIDENT_SCORE": "0.6"}, "must not be below MIN_SCORE"),
        ({"RERANK_WEIGHT": "2"}, "RERANK_WEIGHT must be a number from 0 to 1"),
        ({"RERANK_WEIGHT": "half"}, "RERANK_WEIGHT must be a number from 0 to 1"),
    ],
)
def test_a_bad_value_is_named_with_what_is_expected(tmp_path, env, message):
    """Each malformed setting raises SettingsError naming the variable."""
    with pytest.raises(SettingsError, match=message):
        Settings.load(env=env, env_file=tmp_path / "missing.env")


def test_min_score_is_read_and_empty_means_the_calibrated_default(tmp_path):
    """MIN_SCORE sets the threshold; empty leaves the pipeline's own default (0.50) in place."""
    assert Settings.load(env={"MIN_SCORE": "0.62"}, env_file=None).min_score == 0.62
    assert Settings.load(env={"MIN_SCORE": ""}, env_file=tmp_path / "missing.env").min_score is None


def test_confidence_and_second_stage_settings_are_read_and_empty_means_default(tmp_path):
    """CONFIDENT_SCORE, RERANK_MODEL and RERANK_WEIGHT are read; empty keeps the defaults (no second stage)."""
    env = {"CONFIDENT_SCORE": "0.8", "RERANK_MODEL": " /models/ce ", "RERANK_WEIGHT": "0.25"}
    settings = Settings.load(env=env, env_file=None)
    assert (settings.confident_score, settings.rerank_model, settings.rerank_weight) == (0.8, "/models/ce", 0.25)
    empty = Settings.load(env={}, env_file=tmp_path / "missing.env")
    assert (empty.confident_score, empty.rerank_model, empty.rerank_weight) == (None, "", None)


def test_the_token_never_shows_in_repr_or_str():
    """Secret hides its value in repr, str and inside the settings' repr."""
    token = "MTAx.secret-token-value"
    settings = Settings(discord_token=Secret(token))
    assert token not in repr(settings) and token not in str(settings.discord_token)
    assert settings.discord_token.get() == token


def test_every_setting_is_documented_in_env_example():
    """.env.example lists every variable the settings read."""
    example = (ROOT / ".env.example").read_text(encoding="utf-8")
    for name in DOCUMENTED:
        assert f"\n{name}=" in example, name


def test_sharding_settings_choose_the_sharded_client(tmp_path):
    """SHARD_COUNT picks AutoShardedClient; SHARD_IDS gives this process its range; none: one connection."""
    plain = create_bot(Settings(documents_dir=tmp_path, index_dir=tmp_path / "i"))
    assert type(plain) is TalksBot
    settings = Settings.load(env={"SHARD_COUNT": "4", "SHARD_IDS": "2,3"}, env_file=None)
    sharded = create_bot(settings.replace(documents_dir=tmp_path, index_dir=tmp_path / "i"))
    assert isinstance(sharded, ShardedTalksBot)
    assert sharded.shard_count == 4 and sharded.shard_ids == [2, 3]
