"""Output that cannot be subverted: one JSON object per line, no terminal escapes, no secrets in logs."""

from __future__ import annotations

import json
import logging
import re

import pytest

from bot.logs import RedactingFormatter
from bot.render_text import printable, render_answer_json, render_answer_text, render_error_json
from bot.uploads import UploadRejected, safe_article_name
from index.models import Answer


@pytest.mark.parametrize("separator", ["\u2028", "\u2029", "\x85", "\n", "\r"])
def test_every_json_answer_is_exactly_one_line(separator):
    """Unicode line and paragraph separators in a question never split a JSON line."""
    for line in (render_answer_json(Answer(f"a{separator}b", None)), render_error_json(f"a{separator}b", "bad")):
        assert len(line.splitlines()) == 1
        assert json.loads(line)["question"] == f"a{separator}b"


def test_terminal_escape_codes_are_not_echoed():
    """A question carrying ANSI escapes is echoed without them (no screen clearing, no title change)."""
    text = render_answer_text(Answer("\x1b[2J\x1b]0;pwned\x07what about pie?", None))
    assert "\x1b" not in text and "\x07" not in text and "what about pie?" in text
    assert printable("a\u202eb\tc") == "a b c"


def test_the_log_formatter_redacts_the_token_and_interaction_tokens():
    """The bot token and the tokens in interaction/webhook URLs never reach a log line."""
    formatter = RedactingFormatter(logging.Formatter("%(message)s"), ["MTAx.super-secret"])
    record = logging.LogRecord(
        "discord.http", logging.DEBUG, __file__, 1,
        "POST https://discord.com/api/v10/interactions/123/aW50ZXJhY3Rpb24.abc-_/callback with MTAx.super-secret",
        None, None,
    )  # fmt: skip
    line = formatter.format(record)
    assert "super-secret" not in line and "aW50ZXJhY3Rpb24" not in line
    assert "/interactions/123/[redacted]/callback" in line


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("Round two (June).md", r"Round two \(June\)\.md"),
        ("notes.TXT", r"notes\.TXT"),
        ("Переговори.md", r"Переговори\.md"),
        ("  spaced  name .md", r"spaced  name~[0-9a-f]{8}\.md"),
        ("Q: what?.md", r"Q- what~[0-9a-f]{8}\.md"),
    ],
)
def test_upload_names_are_made_plain_and_safe(raw, expected):
    """A plain name (letters of any script, digits, spaces) is kept; others are cleaned and tagged with a hash."""
    assert re.fullmatch(expected, safe_article_name(raw)), safe_article_name(raw)


@pytest.mark.parametrize("raw", ["../evil.md", "..\\evil.md", "/etc/passwd.md", "a/b.md", "CON.md", "nul.txt", "x.exe"])
def test_unsafe_upload_names_are_refused(raw):
    """Paths, Windows device names and other suffixes are refused with a reason."""
    with pytest.raises(UploadRejected):
        safe_article_name(raw)
