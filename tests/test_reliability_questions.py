"""Hostile questions through the CLI (single and batch) and /ask: an answer or a clear refusal, never a crash.

Every kind of question is sent three ways: `talksbot ask QUESTION` (one process each; invalid ones
fail before the model loads, so they are cheap), one `talksbot ask --json` batch on stdin holding
every kind followed each time by a good question, and `/ask` in the fake Discord.
"""

from __future__ import annotations

import concurrent.futures
import json
import os
from dataclasses import dataclass

import pytest
from discord_helpers import bot_factory, embed_text, make_settings, plain_quote
from fakediscord import DiscordHarness
from reliability_helpers import (
    GOOD_ANSWER,
    GOOD_QUESTION,
    assert_no_traceback,
    assert_one_line_error,
    copy_seed,
    live_mentions,
    run_cli,
    text,
)

from index.engine import Engine


@dataclass(frozen=True)
class Kind:
    """One kind of hostile question."""

    name: str
    question: str
    valid: bool  # True: answered (or "nothing relevant"); False: refused with a reason
    # Words the quoted answer must contain when the question, under its noise, plainly asks the good question.
    expect: str | None = None


NEUTRAL = "does russia want ukraine to be a neutral state?"

KINDS: tuple[Kind, ...] = (
    Kind("empty", "", False),
    Kind("whitespace only", " \t  \u3000 \u00a0 ", False),
    Kind("zero-width only", "\u200b\u200c\u200d\u2060\ufeff", False),
    Kind("control characters only", "\x01\x02\x07\x08\x1b\x7f", False),
    Kind("NUL characters", "\x00\x00 " + NEUTRAL + " \x00", True, "neutral"),
    Kind("5,000 characters", "why " * 1250, False),
    Kind("only emoji", "🙂🔥🇺🇦👨‍👩‍👧", False),
    Kind("only punctuation", "?!…;:—«»()[]{}", False),
    Kind("combining marks only", "\u0301\u0302\u0303", False),
    Kind("Cyrillic", "Требует ли Москва нейтралитета Украины?", True),
    Kind("Arabic", "هل تطالب موسكو بحياد أوكرانيا؟", True),
    Kind("CJK", "俄罗斯要求乌克兰保持中立吗？", True),
    Kind("@everyone", "@everyone " + NEUTRAL, True, "neutral"),
    Kind("@here", "@here " + NEUTRAL, True, "neutral"),
    Kind("role mention", "<@&123456789012345678> " + NEUTRAL, True, "neutral"),
    Kind("user mentions", "<@456789012345678901> <@!456789012345678901> " + NEUTRAL, True, "neutral"),
    Kind("channel and command mentions", "<#123456789012345678> </ask:123456789012345678> " + NEUTRAL, True),
    Kind("masked link", "[click here](https://evil.example/x) " + NEUTRAL, True, "neutral"),
    Kind("code block", "```py\nimport os; os.system('rm -rf /')\n``` " + NEUTRAL, True),
    Kind("inline code", "`DROP TABLE` " + NEUTRAL, True, "neutral"),
    Kind("spoiler", "||" + NEUTRAL + "||", True, "neutral"),
    Kind("heading", "# " + NEUTRAL, True, "neutral"),
    Kind("bold and italics", "**does** __russia__ *want* ~~ukraine~~ to be ***neutral***?", True),
    Kind("FTS NEAR(", "NEAR(russia ukraine, 5) neutral", True),
    Kind("unbalanced quotes", '"neutral state \' russia "', True),
    Kind("FTS star", "neutral* russ* *", True),
    Kind("FTS operators only", "AND OR NOT", True),
    Kind("FTS column filter", "text: neutral OR passages_fts:russia ^ukraine", True),
    Kind("SQL injection", "'; DROP TABLE passages; -- neutral", True),
    Kind("SQL injection 2", "1' OR '1'='1'); DELETE FROM documents; --", True),
    Kind("very long single word", "x" * 490, True),
    Kind("over-long single word", "y" * 501, False),
    Kind("RTL override", "\u202e" + NEUTRAL + "\u202c", True, "neutral"),
    Kind("RTL override only", "\u202e\u202d\u2066\u2069", False),
    Kind("ANSI escapes", "\x1b[2J\x1b[31m" + NEUTRAL + "\x1b[0m", True, "neutral"),
    Kind("HTML and script", "<script>alert(1)</script><img src=x onerror=alert(2)>", True),
    Kind("format strings", "%s %n %x {0} {question!r} ${HOME} $(id)", True),
    Kind("backslashes", "\\\\ \\n \\x00 \\u0000 neutral\\", True),
    Kind("slash command lookalike", "/reindex /ask neutral", True),
    Kind("unicode line separators", "neutral\u2028state\u2029russia\x85ukraine", True),
    Kind("mathematical letters", "𝕟𝕖𝕦𝕥𝕣𝕒𝕝 𝕤𝕥𝕒𝕥𝕖", True),
    Kind("only digits", "2025 16 05", True),
    Kind("private use and unassigned", "\ue000\U000f0000\U0010fffd\u0378", False),
)

assert len(KINDS) >= 30


@pytest.fixture(scope="module")
def workdir(tmp_path_factory, embedder):
    """A working folder with the seed articles, indexed in-process with the session model."""
    base = tmp_path_factory.mktemp("questions")
    copy_seed(base / "documents")
    engine = Engine(base / "documents", base / ".talksbot" / "index", embedder=embedder)
    engine.reindex()
    return base


def _hit_is_verbatim(hit: dict, workdir) -> None:
    body = (workdir / "documents" / hit["document"]["id"]).read_text(encoding="utf-8")
    assert hit["quote"] in body
    a, b = hit["highlight"]
    assert 0 <= a < b <= len(hit["quote"])


# --------------------------------------------------------------------------- CLI, one question per process


@pytest.mark.parametrize("kind", [k for k in KINDS if not k.valid and k.question], ids=lambda k: k.name)
def test_an_invalid_single_question_is_refused_in_one_line(workdir, kind):
    """`talksbot ask` with a question that has nothing to search: exit 2, one sentence, no traceback."""
    proc = run_cli("ask", kind.question, cwd=workdir, timeout=60)
    line = assert_one_line_error(proc, 2)
    assert any(word in line for word in ("empty", "too long", "no words")), line


def test_an_empty_single_question_is_refused_in_one_line(workdir):
    """`talksbot ask ""`: exit 2 with one line saying the question is empty."""
    line = assert_one_line_error(run_cli("ask", "", cwd=workdir, timeout=60), 2)
    assert "empty" in line


# Valid hostile questions each load the model (about 6 s), so a few representative ones run here,
# two at a time; the batch and /ask tests below cover every kind.
SINGLE_VALID = {
    "invalid UTF-8 in argv": ["ask", "--json", os.fsdecode(b"\xff\xfe\xed\xa0\x80 " + NEUTRAL.encode())],
    "leading dash after --": ["ask", "--json", "--", "-rf " + NEUTRAL],
    "SQL injection": ["ask", "--json", "'; DROP TABLE passages; -- " + NEUTRAL],
    "ANSI escapes": ["ask", "\x1b[2J\x1b]0;pwned\x07\x1b[31mapple pie recipe with cinnamon\x1b[0m"],
}


@pytest.fixture(scope="module")
def single_runs(workdir):
    """Each SINGLE_VALID command line run once through the real console script."""
    with concurrent.futures.ThreadPoolExecutor(2) as pool:
        procs = list(pool.map(lambda argv: run_cli(*argv, cwd=workdir), SINGLE_VALID.values()))
    return dict(zip(SINGLE_VALID, procs, strict=True))


@pytest.mark.parametrize("name", ["invalid UTF-8 in argv", "leading dash after --", "SQL injection"])
def test_a_valid_hostile_single_question_answers_with_the_right_quote(workdir, single_runs, name):
    """`talksbot ask` with a hostile but valid question: exit 0 and the passage the question asks for."""
    proc = single_runs[name]
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert_no_traceback(proc)
    data = json.loads(text(proc.stdout))
    assert data["answer"] is not None and GOOD_ANSWER in data["answer"]["quote"], data
    _hit_is_verbatim(data["answer"], workdir)


def test_control_characters_in_a_question_are_not_echoed_to_the_terminal(single_runs):
    """`talksbot ask` with ANSI escapes in an off-topic question: the terminal gets no escape sequence back."""
    proc = single_runs["ANSI escapes"]
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert_no_traceback(proc)
    out = text(proc.stdout)
    assert "Nothing relevant" in out
    # The question is echoed back ("... for: <question>"): it must be the cleaned question, not raw control codes.
    assert not [c for c in out if (ord(c) < 32 and c not in "\n\t") or 0x7F <= ord(c) < 0xA0], repr(out)


# --------------------------------------------------------------------------- CLI batch on stdin

# Raw byte lines only stdin can carry: invalid UTF-8, a CESU-8 surrogate, an overlong encoding, a BOM, CR and
# other separators inside a line (a line ends at \n only).
RAW_LINES: tuple[tuple[str, bytes, bool], ...] = (
    ("invalid UTF-8 bytes", b"\xff\xfe\xc3\x28 " + NEUTRAL.encode(), True),
    ("encoded surrogate", b"\xed\xa0\x80\xed\xb0\x80 " + NEUTRAL.encode(), True),
    ("overlong NUL", b"\xc0\x80 neutral state", True),
    ("invalid bytes only", b"\xff\xfe\xfd", False),
    ("lone BOM", b"\xef\xbb\xbf", False),
    ("BOM then a question", b"\xef\xbb\xbf" + NEUTRAL.encode(), True),
    ("CRLF line ending", NEUTRAL.encode() + b"\r", True),
    ("lone CR inside a line", b"what did russia\rdemand? " + NEUTRAL.encode(), True),
    ("vertical tab and form feed", b"neutral\x0bstate\x0crussia\x1cukraine", True),
)


def test_a_batch_of_every_hostile_kind_gets_one_json_line_each_and_good_questions_still_answer(workdir):
    """`talksbot ask --json` on stdin: one JSON line per input line, errors in place, good questions answered."""
    lines: list[tuple[str, bytes, bool | None]] = []
    for kind in KINDS:
        if "\n" in kind.question:
            continue  # one line per question on stdin; newlines are covered by /ask
        lines.append((kind.name, kind.question.encode("utf-8"), kind.valid))
        lines.append(("good", GOOD_QUESTION.encode(), None))
    for name, raw, valid in RAW_LINES:
        lines.append((name, raw, valid))
        lines.append(("good", GOOD_QUESTION.encode(), None))
    stdin = b"".join(raw + b"\n" for _, raw, _ in lines)
    proc = run_cli("ask", "--json", cwd=workdir, stdin=stdin)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert_no_traceback(proc)
    # JSON Lines: records are separated by "\n" (a U+2028 inside a string is not a separator).
    out = text(proc.stdout).split("\n")
    assert out[-1] == "" and len(out) - 1 == len(lines), (len(out) - 1, len(lines))
    for (name, _, valid), line in zip(lines, out, strict=False):
        obj = json.loads(line)
        assert isinstance(obj.get("question"), str), (name, obj)
        if valid is False:
            assert set(obj) == {"question", "error"} and obj["error"], (name, obj)
        else:
            assert "error" not in obj and set(obj) == {"question", "answer", "alternatives"}, (name, obj)
            for hit in filter(None, [obj["answer"], *obj["alternatives"]]):
                _hit_is_verbatim(hit, workdir)
        if valid is None:  # the good question, right after a hostile one
            assert obj["answer"] is not None and GOOD_ANSWER in obj["answer"]["quote"], (name, obj)
    by_name = {name: json.loads(line) for (name, _, _), line in zip(lines, out, strict=False) if name != "good"}
    for kind in KINDS:
        if kind.expect and kind.name in by_name:
            answer = by_name[kind.name]["answer"]
            assert answer is not None and kind.expect in answer["quote"], (kind.name, by_name[kind.name])


# --------------------------------------------------------------------------- /ask in the fake Discord


@pytest.fixture(scope="module")
def discord_bot(workdir, embedder):
    """The real bot logged into the fake Discord, answering from the module's index."""
    engine = Engine(workdir / "documents", workdir / ".talksbot" / "index", embedder=embedder)
    settings = make_settings(workdir / "documents", workdir / ".talksbot" / "index")
    harness = DiscordHarness(bot_factory(settings, engine)).start()
    harness.call(harness.client.service.wait_ready())
    yield harness
    harness.close()


def discord_kinds() -> list[Kind]:
    """What Discord's client can send as the question option (1 to 500 characters)."""
    out = []
    for kind in KINDS:
        if not kind.question:
            continue  # Discord's client does not send an empty required option
        if len(kind.question) > 500:
            # Cut to what the client allows: 500 characters of words is a question like any other.
            kind = Kind(kind.name + " (cut to 500)", kind.question[:500], True)
        out.append(kind)
    return out


def test_every_hostile_question_in_ask_gets_an_answer_or_a_private_reason(discord_bot):
    """/ask with each hostile kind: a public answer or an ephemeral reason, on time, pinging no one."""
    h = discord_bot
    t0 = h.now()
    asker = h.member(name="mallory")
    for kind in discord_kinds():
        rec = h.slash("ask", {"question": kind.question}, member=asker)
        final = h.wait_final(rec, timeout=20)
        rendered = "\n".join(embed_text(m, raw=True) for m in rec.messages) + "\n" + embed_text(final, raw=True)
        assert final["embeds"], (kind.name, final)
        assert not live_mentions(rendered), (kind.name, live_mentions(rendered))
        assert "Traceback" not in rendered and "Sorry, something went wrong" not in rendered, (kind.name, rendered)
        assert rec.ack_latency is not None and rec.ack_latency < 3.0, (kind.name, rec.ack_latency)
        if kind.valid:
            assert not final["ephemeral"], (kind.name, final)
            if kind.expect:
                quote = plain_quote(final["embeds"][0]["description"])
                assert kind.expect in quote, (kind.name, quote)
        else:
            assert final["ephemeral"], (kind.name, final)
            assert any(w in rendered for w in ("empty", "too long", "no words")), (kind.name, rendered)
    good = h.wait_final(h.slash("ask", {"question": GOOD_QUESTION}, member=asker), timeout=20)
    assert GOOD_ANSWER in plain_quote(good["embeds"][0]["description"])
    h.assert_clean(since=t0)


@pytest.mark.parametrize(
    "since",
    ["@everyone", "<@&123456>", "'; DROP --", "||x||", "\u202e2025-01-1", "\x00", "9999-99-99", "<#1>\n<@2>"],
)
def test_a_hostile_since_option_is_refused_privately_and_pings_no_one(discord_bot, since):
    """/ask since: with markup, mentions or junk: an ephemeral reason, echoed escaped, nothing public."""
    h = discord_bot
    t0 = h.now()
    rec = h.slash("ask", {"question": GOOD_QUESTION, "since": since})
    final = h.wait_final(rec, timeout=10)
    rendered = embed_text(final, raw=True)
    assert final["ephemeral"] and "since" in rendered, rendered
    assert not live_mentions(rendered), rendered
    assert not [m for m in rec.messages if not (m.get("flags", 0) & 64)], "something was posted publicly"
    h.assert_clean(since=t0)
