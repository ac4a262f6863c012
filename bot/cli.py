"""The `talksbot` command: index, ask, add, poll, eval, run the Discord bot, sync its commands.

Exit status: 0 on success (whether or not a passage was found), 2 for a usage error, an
invalid question or a bad setting, 1 for any other failure. Errors are one line on stderr;
tracebacks appear only with --debug.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import logging
import os
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import TextIO

from index import (
    MAX_QUESTION_CHARS,
    InvalidQuestion,
    ProgressFactory,
    TalksbotError,
    clean_question,
    staging_removed_on_sigterm,
)

from .logs import quiet_extraction_libraries
from .render_text import (
    render_add_report,
    render_answer_json,
    render_answer_text,
    render_error_json,
    render_feedback_text,
    render_poll_report,
    render_sync_report,
)
from .runner import build_service
from .settings import Settings, SettingsError

__all__ = ["build_parser", "main"]

log = logging.getLogger(__name__)

EXIT_OK, EXIT_FAILURE, EXIT_USAGE = 0, 1, 2
# Batch mode reads one stdin line at most this long: a question is at most 500 characters once its
# spacing is tidied, so this leaves room for padding while one huge line cannot take the memory.
MAX_STDIN_LINE_CHARS = 64 * 1024
# An error line repeats at most this much of the line it refuses (a few over-long questions whole).
MAX_ECHO_CHARS = 2_000


class UsageError(TalksbotError):
    """The command line asks for something that cannot be done as asked."""


def _eprint(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def progress_to(stream: TextIO) -> ProgressFactory:
    """A progress reporter for embedding: a bar on a terminal, a line every 10% otherwise."""

    def start(total: int) -> Callable[[int], None]:
        if stream.isatty():
            from tqdm import tqdm

            bar = tqdm(total=total, unit="passage", desc="Embedding", file=stream, leave=False)

            def tick(n: int) -> None:
                bar.update(n)
                if bar.n >= total:
                    bar.close()

            return tick
        print(f"Embedding {total} passages ...", file=stream, flush=True)
        state = {"done": 0, "next": 0.1}

        def tick_lines(n: int) -> None:
            state["done"] += n
            if state["done"] / total >= state["next"]:
                print(f"  {state['done']}/{total} passages embedded", file=stream, flush=True)
                state["next"] = (int(state["done"] * 10 / total) + 1) / 10

        return tick_lines

    return start


# --------------------------------------------------------------------------- commands


def cmd_index(args: argparse.Namespace, settings: Settings) -> int:
    """talksbot index: bring the index up to date with the documents folder."""
    service = build_service(settings)
    report = service.reindex(
        rebuild=args.rebuild,
        on_wait=lambda: _eprint("talksbot: another reindex is running; waiting for it to finish ..."),
        progress=progress_to(sys.stderr),
    )
    if args.json:
        print(json.dumps(report.to_json(), ensure_ascii=False))
    elif not (args.quiet and not report.published and not report.skipped and not report.notes):
        print(render_sync_report(report))
    return EXIT_OK


def cmd_ask(args: argparse.Namespace, settings: Settings) -> int:
    """talksbot ask: answer one question, or a batch from stdin with --json."""
    since = args.since
    if args.question is not None:
        clean_question(args.question)  # an invalid question fails fast, before anything loads
    elif not args.json:
        raise UsageError("give a QUESTION, or use --json to read questions from stdin, one per line.")
    service = build_service(settings)
    report = service.start(
        warm_up=False,
        progress=progress_to(sys.stderr),
        on_build=lambda reason: _eprint(f"talksbot: {reason} ..."),
    )
    if report is not None:
        _eprint(render_sync_report(report))
    if args.question is not None:
        answer = service.answer(args.question, since=since, alternatives=args.alternatives)
        if args.json:
            print(render_answer_json(answer), flush=True)
        else:
            color = sys.stdout.isatty() and "NO_COLOR" not in os.environ
            # -v also shows the relevance figures (for tuning MIN_SCORE); readers get the confidence words.
            scores = args.verbose or args.debug
            print(render_answer_text(answer, color=color, documents=service.stats().documents, scores=scores))
        return EXIT_OK
    for question, whole in stdin_lines(sys.stdin):
        try:
            if not whole:
                limits = f"over {MAX_STDIN_LINE_CHARS:,} characters; at most {MAX_QUESTION_CHARS}"
                raise InvalidQuestion(f"The question is too long ({limits}).")
            answer = service.answer(question, since=since, alternatives=args.alternatives)
            print(render_answer_json(answer), flush=True)
        except TalksbotError as err:
            print(render_error_json(_echo(question), str(err)), flush=True)
    return EXIT_OK


def cmd_add(args: argparse.Namespace, settings: Settings) -> int:
    """talksbot add: save links and local files as articles, then reindex once."""
    service = build_service(settings)
    report = service.add_sources(args.sources, overwrite=args.overwrite)
    if args.json:
        print(json.dumps(report.to_json(), ensure_ascii=False))
    else:
        print(render_add_report(report, settings.documents_dir, args.sources))
    return EXIT_FAILURE if report.failed else EXIT_OK


def cmd_poll(args: argparse.Namespace, settings: Settings) -> int:
    """talksbot poll: read feeds, add their new on-topic items, reindex once."""
    feeds = args.feeds or list(settings.feeds)
    if not feeds:
        raise UsageError("give one or more FEED links, or set FEEDS in .env.")
    service = build_service(settings)
    built = service.start(warm_up=False, on_build=lambda reason: _eprint(f"talksbot: {reason} ..."))
    if built is not None:  # items are judged against what is indexed: the index must exist first
        _eprint(render_sync_report(built))
    report = service.poll_feeds(
        feeds, on_wait=lambda: _eprint("talksbot: another process is polling the feeds; waiting for it ...")
    )
    if args.json:
        print(json.dumps(report.to_json(), ensure_ascii=False))
    else:
        print(render_poll_report(report, settings.documents_dir))
    return EXIT_FAILURE if report.failed else EXIT_OK


def cmd_feedback(args: argparse.Namespace, settings: Settings) -> int:
    """talksbot feedback: list the voted answers, or export them as evaluation questions."""
    service = build_service(settings)
    if args.action == "export":
        if not args.file:
            raise UsageError("give the file to write: talksbot feedback export FILE")
        report = service.export_feedback(Path(args.file), overwrite=args.overwrite)
        print(
            f"Wrote {report.confirmed + report.to_review} questions to {report.path}: {report.confirmed} voted up "
            f"(ready to review), {report.to_review} voted down or tied (commented out, to fill in)."
        )
        return EXIT_OK
    if args.file or args.overwrite:
        raise UsageError("FILE and --overwrite go with `talksbot feedback export FILE`.")
    voted = service.voted_answers()
    if args.json:
        print(json.dumps({"answers": [v.to_json() for v in voted]}, ensure_ascii=False))
    else:
        print(render_feedback_text(voted, settings.feedback_db))
    return EXIT_OK


def stdin_lines(stream: TextIO) -> Iterator[tuple[str, bool]]:
    """Each line of ``stream`` without its line break, and whether it is whole.

    A line is read at most MAX_STDIN_LINE_CHARS long; the rest of a longer one is read in pieces
    of that size and dropped, so one enormous line costs no more memory than a short one.
    """
    while line := stream.readline(MAX_STDIN_LINE_CHARS + 1):
        if line.endswith("\n") or len(line) <= MAX_STDIN_LINE_CHARS:
            yield line.rstrip("\r\n"), True
            continue
        while (rest := stream.readline(MAX_STDIN_LINE_CHARS)) and not rest.endswith("\n"):
            pass
        yield line, False


def _echo(question: str) -> str:
    """The question as an error line repeats it: cut after MAX_ECHO_CHARS characters."""
    return question if len(question) <= MAX_ECHO_CHARS else question[:MAX_ECHO_CHARS] + "…"


def cmd_run(args: argparse.Namespace, settings: Settings) -> int:
    """talksbot run: start the Discord bot."""
    from .runner import run_bot

    # A server's cores are shared: with OpenMP's default busy-waiting, torch's idle workers spin on
    # cores other work needs (a question took 127 ms at p50 next to a busy process, 11 ms with passive
    # waiting: bench/threads.py). Questions no longer go through OpenMP (ONNX Runtime and single-query
    # FAISS on one thread), but a reindex embeds with torch while the bot answers. Set
    # OMP_WAIT_POLICY=ACTIVE to choose otherwise.
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    level = "DEBUG" if args.debug else "INFO" if args.verbose else None
    return run_bot(
        settings.replace(watch_documents=True if args.watch else None), sync_global=args.sync_global, log_level=level
    )


def cmd_sync_commands(args: argparse.Namespace, settings: Settings) -> int:
    """talksbot sync-commands: publish the slash commands globally or to one guild, then exit."""
    from .runner import sync_commands

    guild = args.guild if args.guild is not None else (None if args.global_ else settings.guild_id)
    return sync_commands(settings, guild_id=guild)


def cmd_eval(args: argparse.Namespace, settings: Settings) -> int:
    """talksbot eval: measure retrieval quality on an evaluation set."""
    from .evaluation import run_eval_command

    return run_eval_command(args, settings)


# --------------------------------------------------------------------------- parser


def _date(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a date as YYYY-MM-DD, got {text!r}") from None


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if not 0 <= value <= 10:
        raise argparse.ArgumentTypeError("expected a number from 0 to 10")
    return value


def build_parser() -> argparse.ArgumentParser:
    """The argument parser, with help text for every command and option."""
    parser = argparse.ArgumentParser(
        prog="talksbot",
        description="Answers questions about the Russia-Ukraine talks in Istanbul with verbatim, attributed "
        "quotes from news articles. Settings come from the environment and .env (see .env.example).",
    )
    parser.add_argument("--env-file", default=".env", help="read settings from this file (default: .env)")
    parser.add_argument(
        "-v",
        "--verbose",
        action="store_true",
        help="log what happens (INFO) to stderr; ask also shows relevance figures",
    )
    parser.add_argument("--debug", action="store_true", help="log everything, show tracebacks of failures")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    def folders(p: argparse.ArgumentParser) -> None:
        p.add_argument("--documents", metavar="DIR", help="articles folder (default: DOCUMENTS_DIR or documents/)")
        p.add_argument("--index-dir", metavar="DIR", help="index folder (default: INDEX_DIR or .talksbot/index)")

    p = sub.add_parser(
        "index",
        help="bring the index up to date with the documents folder",
        description="Embed new and changed articles, drop removed ones, publish atomically.",
    )
    folders(p)
    p.add_argument("--rebuild", action="store_true", help="start from scratch instead of updating")
    p.add_argument("--json", action="store_true", help="print the report as one JSON object")
    p.add_argument("--quiet", action="store_true", help="print nothing when nothing changed")
    p.set_defaults(handler=cmd_index)

    p = sub.add_parser(
        "ask",
        help="answer a question in the terminal",
        description="Answer one question (builds the index first if there is none). With --json and "
        "no QUESTION, read questions from stdin one per line and write one JSON object per line.",
    )
    p.add_argument(
        "question", nargs="?", metavar="QUESTION", help=f"the question (at most {MAX_QUESTION_CHARS} characters)"
    )
    folders(p)
    p.add_argument("--json", action="store_true", help="print JSON (one object per question)")
    p.add_argument("--since", type=_date, metavar="YYYY-MM-DD", help="only articles published on or after this date")
    p.add_argument(
        "--alternatives",
        type=_positive_int,
        default=None,
        metavar="N",
        help="how many other passages to list (0-10, default 3)",
    )
    p.set_defaults(handler=cmd_ask)

    p = sub.add_parser(
        "add",
        help="add articles from links or local files, then reindex",
        description="Fetch each link (or read each local .md, .txt or .html file), save its article in the "
        "documents folder with the attribution the page states, then reindex once. The same link, its "
        "canonical address or the same text again adds nothing. Links to loopback and private-network "
        "addresses are refused unless ALLOW_PRIVATE_URLS=1. Exit 1 when any source failed.",
    )
    p.add_argument("sources", nargs="+", metavar="SOURCE", help="an http(s) link or a .md, .txt or .html file")
    folders(p)
    p.add_argument("--json", action="store_true", help="print the result as one JSON object")
    p.add_argument(
        "--overwrite", action="store_true", help="replace an article already there (same link, text or file name)"
    )
    p.set_defaults(handler=cmd_add)

    p = sub.add_parser(
        "poll",
        help="read news feeds and add their new on-topic articles",
        description="Read each RSS or Atom feed (default: FEEDS), add the items not seen before that are on "
        "the corpus's topic (FEED_MIN_SIMILARITY, FEED_KEYWORDS), then reindex once. Items already seen are "
        "never fetched again. Exit 1 when a feed or an item failed.",
    )
    p.add_argument("feeds", nargs="*", metavar="FEED", help="feed links (default: the FEEDS setting)")
    folders(p)
    p.add_argument("--json", action="store_true", help="print the result as one JSON object")
    p.set_defaults(handler=cmd_poll)

    p = sub.add_parser(
        "eval",
        help="measure answer quality on an evaluation set",
        description="Print accuracy@1, recall@3, MRR@5, no-answer accuracy, the confidence bands, the share of "
        "answers quoted from an attributed article, highlight accuracy, verbatim and attribution shares, and the "
        "misses.",
    )
    p.add_argument("file", nargs="?", metavar="FILE", help="questions YAML (default: tests/eval/questions.yaml)")
    p.add_argument("--json", action="store_true", help="print the results as JSON")
    p.add_argument(
        "--baseline", action="store_true", help="also measure plain dense search over plain paragraphs, for comparison"
    )
    p.add_argument("--corpus", action="append", metavar="NAME", help="only this corpus (repeatable)")
    p.add_argument(
        "--calibrate",
        action="store_true",
        help="also suggest the two cut-offs (MIN_SCORE: nothing relevant below, CONFIDENT_SCORE: confident "
        "above) for EMBEDDING_MODEL and RERANK_MODEL, with leave-one-out cross-validated figures per band",
    )
    p.set_defaults(handler=cmd_eval)

    p = sub.add_parser(
        "feedback",
        help="the 👍/👎 votes on the bot's answers (list, or export as evaluation questions)",
        description="List the answers members voted on in Discord, from FEEDBACK_DB, most recently voted first. "
        "`talksbot feedback export FILE` writes them in the evaluation set's format (tests/eval/README.md): "
        "answers voted up as questions with their quoted paragraph, answers voted down commented out for a "
        "maintainer to fill in.",
    )
    p.add_argument("action", nargs="?", choices=["export"], help="export: write the evaluation questions to FILE")
    p.add_argument("file", nargs="?", metavar="FILE", help="with export: the YAML file to write")
    p.add_argument(
        "--documents", metavar="DIR", help="articles folder the snippets are checked in (default: DOCUMENTS_DIR)"
    )
    p.add_argument("--feedback-db", metavar="FILE", help="the votes database (default: FEEDBACK_DB)")
    p.add_argument("--json", action="store_true", help="print the voted answers as one JSON object")
    p.add_argument("--overwrite", action="store_true", help="with export: replace FILE if it exists")
    p.set_defaults(handler=cmd_feedback)

    p = sub.add_parser(
        "run",
        help="run the Discord bot (needs DISCORD_TOKEN)",
        description="Connect to Discord and answer slash commands until interrupted.",
    )
    folders(p)
    p.add_argument("--watch", action="store_true", help="reindex by itself when files in the documents folder change")
    p.add_argument(
        "--sync-global",
        action="store_true",
        help="also publish the slash commands globally at start (slow to propagate; rate-limited)",
    )
    p.set_defaults(handler=cmd_run, bot_settings=True)

    p = sub.add_parser(
        "sync-commands",
        help="publish the slash commands to Discord and exit",
        description="Publish the slash commands globally (default without DISCORD_GUILD_ID) or to one "
        "guild. Global commands take up to an hour to appear; guild commands appear at once.",
    )
    target = p.add_mutually_exclusive_group()
    target.add_argument("--global", dest="global_", action="store_true", help="publish globally")
    target.add_argument("--guild", type=int, metavar="ID", help="publish to this guild only")
    p.set_defaults(handler=cmd_sync_commands, bot_settings=True)
    return parser


def _configure_logging(verbose: bool, debug: bool) -> None:
    level = logging.DEBUG if debug else logging.INFO if verbose else logging.WARNING
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s", stream=sys.stderr)
    if not debug:
        logging.getLogger("faiss").setLevel(logging.WARNING)
        quiet_extraction_libraries()


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `talksbot` console script."""
    for stream in (sys.stdout, sys.stderr):
        if hasattr(stream, "reconfigure"):
            stream.reconfigure(encoding="utf-8", errors="replace")
    if hasattr(sys.stdin, "reconfigure"):
        sys.stdin.reconfigure(encoding="utf-8", errors="replace")
    parser = build_parser()
    args = parser.parse_args(argv)
    _configure_logging(args.verbose, args.debug)
    started = time.perf_counter()
    try:
        # Only the commands that run the bot read its settings (bot/settings.py says why).
        settings = Settings.load(env_file=args.env_file, bot=getattr(args, "bot_settings", False))
        settings = settings.replace(
            documents_dir=_path(getattr(args, "documents", None)),
            index_dir=_path(getattr(args, "index_dir", None)),
            feedback_db=_path(getattr(args, "feedback_db", None)),
        )
        if hasattr(args, "index_dir"):  # the commands that read the documents folder and the index
            settings.check_folders()
        with staging_removed_on_sigterm():  # `kill` or a service stop mid-reindex leaves no half-built folder
            return int(args.handler(args, settings))
    except (InvalidQuestion, SettingsError, UsageError) as err:
        _eprint(f"talksbot: {err}")
        return EXIT_USAGE
    except TalksbotError as err:
        _eprint(f"talksbot: {err}")
        return EXIT_FAILURE
    except KeyboardInterrupt:
        _eprint("talksbot: interrupted")
        return 130
    except BrokenPipeError:
        # The reader went away (e.g. `| head`): nothing more to say, and nothing lost.
        sys.stderr.close()
        return EXIT_OK
    except Exception as err:
        if args.debug:
            raise
        _eprint(f"talksbot: unexpected error: {type(err).__name__}: {err} (run with --debug for details)")
        return EXIT_FAILURE
    finally:
        log.debug("%s finished in %.2f s", args.command, time.perf_counter() - started)


def _path(value: str | None):  # type: ignore[no-untyped-def]
    from pathlib import Path

    return Path(value) if value else None


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
