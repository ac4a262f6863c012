"""Loading and validating articles from the documents folder.

An article is a UTF-8 ``.md`` or ``.txt`` file, optionally opening with YAML front matter
(``title``, ``source``, ``author``, ``published`` as YYYY-MM-DD, ``url``). Without front
matter the title is the first line and the source is "unknown". A value that is not known
stays empty: nothing is guessed.

A file that cannot be read as an article is reported with the reason and skipped; the
rest of the folder is still loaded.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import os
import re
import stat
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from .errors import DocumentError
from .models import Document, DocumentInfo, SkippedFile
from .urls import BadUrl, clean_url

__all__ = [
    "ARTICLE_SUFFIXES",
    "MAX_ARTICLE_BYTES",
    "ScanResult",
    "first_line_title",
    "parse_article",
    "read_article",
    "scan_documents",
]

log = logging.getLogger(__name__)

ARTICLE_SUFFIXES = (".md", ".markdown", ".txt")
# A news article is a few tens of kilobytes; anything this large is not one, and reading it
# would only slow every reindex down.
MAX_ARTICLE_BYTES = 5 * 1024 * 1024
MAX_FRONT_MATTER_BYTES = 64 * 1024
MAX_TITLE_CHARS = 300
# An outlet or a byline is a few words; thousands of characters are a broken front matter, not a name.
MAX_NAME_CHARS = 200
UNKNOWN_SOURCE = "unknown"

# libyaml's C loaders when present: scanning a 1,000-article folder takes 116 ms instead of 537 ms.
_SAFE_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_BASE_LOADER = getattr(yaml, "CBaseLoader", yaml.BaseLoader)
_FRONT_MATTER_OPEN = re.compile(r"\A---[ \t]*\r?\n")
_FRONT_MATTER_CLOSE = re.compile(r"^(?:---|\.\.\.)[ \t]*(?:\r?\n|\Z)", re.MULTILINE)
# Byte-order marks of encodings that are text but not UTF-8 (Notepad's "Unicode" is UTF-16 LE).
_WIDE_BOMS = (
    (b"\xff\xfe\x00\x00", "UTF-32"),
    (b"\x00\x00\xfe\xff", "UTF-32"),
    (b"\xff\xfe", "UTF-16"),
    (b"\xfe\xff", "UTF-16"),
)


@dataclass(slots=True)
class ScanResult:
    """What a scan of the documents folder found: loaded articles and skipped files."""

    documents: list[Document] = field(default_factory=list)
    skipped: list[SkippedFile] = field(default_factory=list)
    # Files loaded with a caveat worth telling the maintainer (e.g. a duplicate title).
    notes: list[str] = field(default_factory=list)


def scan_documents(root: Path) -> ScanResult:
    """Load every article under ``root``; report the files that cannot be read and why."""
    result = ScanResult()
    root = Path(root)
    if not root.is_dir():
        raise DocumentError(root, "the documents folder does not exist or is not a folder")
    resolved_root = root.resolve()
    titles: dict[str, str] = {}
    for path in _candidate_files(root):
        rel = path.relative_to(root).as_posix()
        try:
            rel.encode("utf-8")
        except UnicodeEncodeError:
            shown = rel.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
            result.skipped.append(SkippedFile(shown, "the file name is not valid UTF-8; rename it"))
            continue
        try:
            doc = read_article(path, doc_id=rel, root=resolved_root)
        except DocumentError as err:
            result.skipped.append(SkippedFile(rel, err.reason))
            log.debug("skipped %s: %s", rel, err.reason)
            continue
        except Exception as err:  # one strange file must never stop the whole folder from indexing
            log.exception("unexpected error reading %s", rel)
            result.skipped.append(SkippedFile(rel, f"cannot be read ({type(err).__name__})"))
            continue
        key = doc.info.title.casefold()
        if key in titles:
            note = f"{rel}: same title as {titles[key]} (both are indexed)"
            result.notes.append(note)
        else:
            titles[key] = rel
        result.documents.append(doc)
    return result


def _candidate_files(root: Path) -> Iterator[Path]:
    """Yield article-like paths under root in a stable order, hidden entries excluded."""
    for dirpath, dirnames, filenames in os.walk(root, followlinks=False):
        # Hidden folders (.git, editors' swap folders) are never articles.
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        here = Path(dirpath)
        # A folder named like an article is reported, not silently ignored.
        for d in dirnames:
            if d.lower().endswith(ARTICLE_SUFFIXES):
                yield here / d
        for name in sorted(filenames):
            if name.startswith("."):
                continue
            yield here / name


def read_article(path: Path, *, doc_id: str, root: Path | None = None) -> Document:
    """Read and validate one article file; raise DocumentError with the reason if it is not one."""
    if path.is_symlink():
        target = path.resolve()
        if root is not None and not target.is_relative_to(root):
            raise DocumentError(path, "symbolic link pointing outside the documents folder")
    if path.is_dir():
        raise DocumentError(path, "a folder, not a file")
    if path.suffix.lower() not in ARTICLE_SUFFIXES:
        raise DocumentError(path, f"not an article file (expected {', '.join(ARTICLE_SUFFIXES)})")
    try:
        info = path.stat()
    except OSError as err:
        raise DocumentError(path, f"cannot be read ({err.strerror or err})") from None
    if not stat.S_ISREG(info.st_mode):
        # A named pipe or device would block the reindex forever on read.
        raise DocumentError(path, "not a regular file (a pipe, socket or device)")
    size = info.st_size
    if size > MAX_ARTICLE_BYTES:
        raise DocumentError(
            path, f"too large ({size / 1048576:.1f} MiB; an article is at most {MAX_ARTICLE_BYTES // 1048576} MiB)"
        )
    try:
        raw = path.read_bytes()
    except OSError as err:
        raise DocumentError(path, f"cannot be read ({err.strerror or err})") from None
    return parse_article(raw, doc_id=doc_id, path=path)


def parse_article(raw: bytes, *, doc_id: str, path: Path | str | None = None) -> Document:
    """Parse an article's bytes into a Document; raise DocumentError with the reason if invalid."""
    where = path if path is not None else doc_id
    if not raw.strip():
        raise DocumentError(where, "empty file")
    for bom, encoding in _WIDE_BOMS:
        if raw.startswith(bom):
            raise DocumentError(where, f"{encoding} text, not UTF-8; save it as UTF-8")
    if b"\x00" in raw:
        raise DocumentError(where, "binary file (contains NUL bytes), not text")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as err:
        raise DocumentError(
            where, f"not UTF-8 text (invalid byte 0x{raw[err.start]:02x} at offset {err.start}); save it as UTF-8"
        ) from None
    offset = 0
    if text.startswith("\ufeff"):  # a byte-order mark is an encoding artefact, not content
        offset = 1
    meta, body_offset = _split_front_matter(text, offset, where)
    body = text[body_offset:]
    if not body.strip():
        raise DocumentError(where, "no article text after the front matter" if meta else "empty file")
    if _looks_binary(body):
        raise DocumentError(where, "binary file (mostly control characters), not text")
    info = _document_info(meta, body, doc_id=doc_id, where=where)
    return Document(
        info=info,
        body=body,
        content_hash=hashlib.sha256(raw).hexdigest(),
        body_offset=body_offset,
    )


def _split_front_matter(text: str, offset: int, where: Path | str) -> tuple[dict[str, object], int]:
    """Return (front matter mapping, offset where the body starts)."""
    rest = text[offset:]
    opening = _FRONT_MATTER_OPEN.match(rest)
    if not opening:
        return {}, offset
    closing = _FRONT_MATTER_CLOSE.search(rest, opening.end())
    if not closing:
        raise DocumentError(where, "broken front matter: an opening '---' line without a closing '---' line")
    block = rest[opening.end() : closing.start()]
    if len(block.encode("utf-8")) > MAX_FRONT_MATTER_BYTES:
        raise DocumentError(where, "broken front matter: larger than 64 KiB")
    return _parse_yaml(block, where), offset + closing.end()


def _parse_yaml(block: str, where: Path | str) -> dict[str, object]:
    """Parse front matter as plain YAML: no aliases, no tags, every scalar a string.

    PyYAML's base loader is used so nothing is guessed: "1e3" stays "1e3" (not 1000.0), an
    impossible date is our error to report, not a crash in the YAML library.
    """
    try:
        for event in yaml.parse(block, Loader=_SAFE_LOADER):
            # Aliases are how "billion laughs" documents blow up; tags are how YAML constructs objects.
            if isinstance(event, yaml.AliasEvent):
                raise DocumentError(where, "broken front matter: YAML aliases (*name) are not allowed")
            tag = getattr(event, "tag", None)  # None unless the document wrote a tag itself
            if tag not in (None, "!"):
                raise DocumentError(where, f"broken front matter: YAML tags ({tag}) are not allowed")
        data = yaml.load(block, Loader=_BASE_LOADER)  # the base loader builds only str, list and dict
    except yaml.YAMLError as err:
        problem = getattr(err, "problem", None) or str(err).splitlines()[0]
        mark = getattr(err, "problem_mark", None)
        at = f" (line {mark.line + 2})" if mark is not None else ""
        raise DocumentError(where, f"broken front matter: {problem}{at}") from None
    except RecursionError:
        raise DocumentError(where, "broken front matter: nested too deeply") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise DocumentError(where, "broken front matter: expected 'key: value' lines")
    return {str(k): v for k, v in data.items()}


def _looks_binary(body: str) -> bool:
    """True when a decoded text is mostly control characters (a binary blob that happens to be UTF-8)."""
    sample = body[:4096]
    controls = sum(1 for c in sample if ord(c) < 32 and c not in "\t\n\r\f")
    return controls > max(8, len(sample) // 20)


def _document_info(meta: dict[str, object], body: str, *, doc_id: str, where: Path | str) -> DocumentInfo:
    """Build the attribution from front matter, falling back to the first line for the title."""
    values: dict[str, str] = {}
    for key in ("title", "source", "author", "url"):
        value = meta.get(key)
        if value is None:
            values[key] = ""
        elif isinstance(value, str | int | float) and not isinstance(value, bool):
            values[key] = " ".join(str(value).split())
        else:
            raise DocumentError(where, f"broken front matter: '{key}' must be text, not {type(value).__name__}")
    published = _parse_published(meta.get("published"), where)
    url = _article_url(values["url"], where)
    for key in ("source", "author"):
        if len(values[key]) > MAX_NAME_CHARS:
            length = len(values[key])
            raise DocumentError(
                where, f"broken front matter: '{key}' is {length:,} characters long (at most {MAX_NAME_CHARS})"
            )
    if len(values["title"]) > MAX_TITLE_CHARS:
        raise DocumentError(
            where,
            f"broken front matter: the title is {len(values['title']):,} characters long (at most {MAX_TITLE_CHARS})",
        )
    title = values["title"] or first_line_title(body)
    if not title:
        raise DocumentError(where, "no title: add 'title:' front matter or start the file with a title line")
    if len(title) > MAX_TITLE_CHARS:  # a first line used as title may be a whole paragraph: shorten it
        title = title[: MAX_TITLE_CHARS - 1].rstrip() + "…"
    return DocumentInfo(
        id=doc_id,
        title=title,
        source=values["source"] or UNKNOWN_SOURCE,
        author=values["author"],
        published=published,
        url=url,
    )


def _article_url(raw: str, where: Path | str) -> str:
    """The front matter's url, checked and made safe to link (see index/urls.py), or DocumentError.

    A bad link skips the article with the reason rather than dropping the link quietly: the
    link is half of the attribution, and a maintainer who never sees the problem cannot fix it.
    """
    if not raw:
        return ""
    try:
        return clean_url(raw)
    except BadUrl as err:
        shown = raw if len(raw) <= 80 else raw[:77] + "..."
        raise DocumentError(where, f"broken front matter: {err}, got {shown!r}") from None


def _parse_published(value: object, where: Path | str) -> dt.date | None:
    """Accept YYYY-MM-DD; anything else (or an impossible date) is an error, never a guess."""
    if value is None or value == "":
        return None
    if isinstance(value, str):
        text = value.strip()
        try:
            if re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
                return dt.date.fromisoformat(text)
        except ValueError as err:
            raise DocumentError(where, f"broken front matter: published {text!r} is not a real date ({err})") from None
    raise DocumentError(where, f"broken front matter: published must be a date as YYYY-MM-DD, got {value!r}")


def first_line_title(body: str) -> str:
    """The first non-empty line of a body, without Markdown heading marks, as a title."""
    for line in body.splitlines():
        line = line.strip().lstrip("#").strip()
        if line:
            return " ".join(line.split())
    return ""
