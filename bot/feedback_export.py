"""`talksbot feedback export FILE`: the voted answers as evaluation questions, for a maintainer to review.

The file has the eval set's format (tests/eval/README.md), so reviewed questions can be moved into
tests/eval/questions.yaml as they are, and `talksbot eval FILE` runs it as it stands:

- an answer voted up (more 👍 than 👎) is a question whose accepted answer is the quoted paragraph,
  named by a verbatim snippet of 4 to 12 words from its best sentence that occurs exactly once in
  the article's file; a "nothing relevant" voted up is a question with ``answers: []``;
- an answer voted down (or tied) says the bot was wrong, not what is right: it is written commented
  out, with what the bot answered, for the maintainer to find the right paragraph (or to confirm that
  no article answers) before uncommenting it. Nothing unreviewed can count as a right answer.
"""

from __future__ import annotations

import datetime as dt
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import yaml

from .feedback import VotedAnswer

__all__ = ["ExportReport", "write_eval_questions"]

CORPUS = "feedback"
_WINDOWS = (8, 6, 10, 12, 5, 4)  # snippet lengths in words, most readable first


@dataclass(frozen=True, slots=True)
class ExportReport:
    """What an export wrote."""

    path: Path
    confirmed: int  # questions ready to use (voted up)
    to_review: int  # questions written commented out (voted down, tied, or the article is gone)


def _scalar(text: str) -> str:
    """A YAML double-quoted scalar that reads back as exactly ``text``."""
    return yaml.safe_dump(text, allow_unicode=True, default_style='"', width=1 << 30).rstrip("\n")


def _one_line(text: str, limit: int = 160) -> str:
    """Text for a comment: one line, shortened."""
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1].rstrip() + "…"


def _snippet(quote: str, highlight: Sequence[int], article: str) -> str | None:
    """4-12 words of the quote, inside one paragraph, occurring exactly once in the article's file.

    Windows inside the best sentence are tried first: that is the text the answer was about.
    """
    words = list(re.finditer(r"\S+", quote))
    a, b = (highlight[0], highlight[1]) if len(highlight) == 2 else (0, len(quote))
    inside = [i for i, w in enumerate(words) if w.start() >= a and w.end() <= b]
    for pool in (inside, list(range(len(words)))):
        for n in _WINDOWS:
            for k in range(len(pool) - n + 1):
                first, last = pool[k], pool[k + n - 1]
                if last - first != n - 1:
                    continue  # not consecutive words
                text = quote[words[first].start() : words[last].end()]
                if "\n" not in text and article.count(text) == 1:
                    return text
    return None


def _article_text(documents_dir: Path, doc_id: str) -> str | None:
    """The article's file as it is now, or None when it is gone (or the id points outside the folder)."""
    base = documents_dir.resolve()
    path = (base / doc_id).resolve()
    if not path.is_relative_to(base):
        return None
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return None


def _repo_relative(folder: Path, out: Path) -> str:
    """The corpus folder as the eval loader resolves it: relative to the repository holding ``out``, else absolute."""
    folder = folder.resolve()
    for parent in out.resolve().parents:
        if (parent / "pyproject.toml").is_file():
            return folder.relative_to(parent).as_posix() if folder.is_relative_to(parent) else folder.as_posix()
    return folder.as_posix()


def _describe(voted: VotedAnswer) -> str:
    """The comment line above an entry: votes, where it was asked, what the bot quoted."""
    where = "/ask" if voted.kind == "ask" else "Find sources"
    head = f"👍 {voted.up} 👎 {voted.down} · {where} · asked {voted.asked_at.date().isoformat()}"
    hit = voted.hit
    if hit is None:
        return head + " · the bot said nothing relevant"
    doc = hit["document"]
    return head + f" · the bot quoted {doc.get('id')}: “{_one_line(hit['quote'], 120)}”"


def _entry(voted: VotedAnswer, answers: list[tuple[str, str]] | None) -> list[str]:
    """The YAML lines of one question (``answers`` None: leave the list for the reviewer to fill in)."""
    lines = [
        f"- id: fb-{voted.id}",
        f"  corpus: {CORPUS}",
        f"  q: {_scalar(voted.question)}",
    ]
    if answers is None:
        lines.append("  answers: []  # TO REVIEW: the paragraphs that answer it, or [] if no article does")
    elif not answers:
        lines.append("  answers: []")
    else:
        lines.append("  answers:")
        for doc, contains in answers:
            lines += [f"    - doc: {_scalar(doc)}", f"      contains: {_scalar(contains)}"]
    return lines


def write_eval_questions(
    voted: Sequence[VotedAnswer], documents_dir: Path, out: Path, *, now: dt.datetime | None = None
) -> ExportReport:
    """Write ``out`` (atomically) in the eval set's format; see the module docstring for what goes where."""
    confirmed: list[list[str]] = []
    review: list[list[str]] = []
    for item in voted:
        hit = item.hit
        note = _describe(item)
        if item.up <= item.down:
            review.append([f"# {note}", *_entry(item, None)])
            continue
        if hit is None:
            confirmed.append([f"# {note}", *_entry(item, [])])
            continue
        doc_id = str(hit["document"].get("id") or "")
        article = _article_text(documents_dir, doc_id)
        snippet = _snippet(hit["quote"], hit.get("highlight") or (), article) if article else None
        if snippet is None:
            why = "its article is no longer in the documents folder" if article is None else "no unique snippet"
            review.append([f"# {note} ({why})", *_entry(item, None)])
            continue
        confirmed.append([f"# {note}", *_entry(item, [(doc_id, snippet)])])

    stamp = (now or dt.datetime.now(dt.UTC)).date().isoformat()
    lines = [
        f"# Questions from members' 👍/👎 votes on talksbot's answers (talksbot feedback export, {stamp}).",
        "# The eval set's format: tests/eval/README.md. Review each question before moving it into",
        "# tests/eval/questions.yaml (set its corpus and id there; list every paragraph that answers it).",
        "# Voted up: the quoted paragraph is its answer. Voted down or tied: commented out at the end.",
        "corpora:",
        f"  {CORPUS}: [{_scalar(_repo_relative(documents_dir, out))}]",
        "questions:" if confirmed else "questions: []",
    ]
    for entry in confirmed:
        lines += ["  " + line for line in entry]
    if review:
        lines += [
            "",
            "# ---- To review: members voted these answers down (or the vote is tied). The bot was wrong, or",
            "# ---- could not be checked; find the paragraph that answers each question, or keep answers: []",
            "# ---- if no article does, then uncomment the entry (and add `questions:` above if it is empty).",
        ]
        for entry in review:
            lines += ["#   " + line if not line.startswith("#") else "  " + line for line in entry]
    text = "\n".join(lines) + "\n"
    tmp = out.with_name(f".{out.name}.{os.getpid()}.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, out)
    return ExportReport(out, len(confirmed), len(review))
