"""What a server sent, made safe to read: content types, decompression under a cap, and charsets.

- Only HTML and XML content types are read (an answer without a type is sniffed: it must start
  like markup).
- ``gzip`` and ``deflate`` are decompressed here, chunk by chunk, never producing more than the
  cap allows: a small "gzip bomb" that would expand to gigabytes is cut off at the cap, and the
  memory used stays about the size of the cap. Other encodings are refused (we never ask for them).
- Text is decoded as a browser would: a byte-order mark, then the charset in the Content-Type
  header, then a ``<meta charset>`` (or an XML declaration) near the start, then UTF-8 if the
  bytes are valid UTF-8, and windows-1252 otherwise (the web's legacy default, which can decode
  any byte). Labels follow the WHATWG rules that matter here: ISO-8859-1 and ASCII mean
  windows-1252, a UTF-16 label inside the document itself means UTF-8.
"""

from __future__ import annotations

import codecs
import re
import zlib

from .errors import FetchFailed

__all__ = [
    "FEED_TYPES",
    "PAGE_TYPES",
    "Decompressor",
    "decode_text",
    "media_type",
    "sniff_markup",
]

PAGE_TYPES = frozenset({"text/html", "application/xhtml+xml"})
FEED_TYPES = frozenset(
    {
        "application/rss+xml",
        "application/atom+xml",
        "application/rdf+xml",
        "application/xml",
        "text/xml",
        "application/x-rss+xml",
        "application/feed+xml",
    }
)
_PRESCAN_BYTES = 4096
_META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([A-Za-z0-9._:\-]+)""", re.IGNORECASE)
_XML_ENCODING = re.compile(rb"""^\s*<\?xml[^>]+encoding\s*=\s*["']([A-Za-z0-9._\-]+)["']""", re.IGNORECASE)
_BOMS = ((codecs.BOM_UTF8, "utf-8"), (codecs.BOM_UTF16_LE, "utf-16-le"), (codecs.BOM_UTF16_BE, "utf-16-be"))
# WHATWG: these labels mean windows-1252 in a browser, and pages labelled so are written in it.
_AS_WINDOWS_1252 = frozenset({"latin_1", "iso8859_1", "ascii", "cp1252"})


def media_type(content_type: str | None) -> tuple[str, str | None]:
    """('text/html', 'utf-8') from a Content-Type header; ('', None) when there is none."""
    if not content_type:
        return "", None
    kind, _, params = content_type.partition(";")
    charset = None
    for param in params.split(";"):
        name, _, value = param.partition("=")
        if name.strip().lower() == "charset":
            charset = value.strip().strip("\"'") or None
    return kind.strip().lower(), charset


def sniff_markup(head: bytes) -> bool:
    """True when bytes start like HTML or XML (after a byte-order mark and white space)."""
    for bom, _ in _BOMS:
        if head.startswith(bom):
            head = head[len(bom) :]
            break
    return head.lstrip()[:1] == b"<"


class Decompressor:
    """Decodes a Content-Encoding incrementally, refusing to produce more than ``limit`` bytes."""

    def __init__(self, encoding: str | None, limit: int, shown: str) -> None:
        encoding = (encoding or "identity").strip().lower()
        if encoding in ("", "identity"):
            self._mode = "identity"
        elif encoding in ("gzip", "x-gzip"):
            self._mode = "gzip"
        elif encoding == "deflate":
            self._mode = "deflate"
        else:
            raise FetchFailed(f"The server sent {shown} compressed as {encoding!r}, which talksbot does not read.")
        self.limit = limit
        self.total = 0
        self._shown = shown
        self._d: zlib._Decompress | None = None
        self._started = False

    def _new(self, first: bytes) -> zlib._Decompress:
        if self._mode == "gzip":
            return zlib.decompressobj(16 + zlib.MAX_WBITS)
        # "deflate" is meant to be zlib-wrapped, but some servers send raw deflate: look at the header.
        zlib_header = len(first) >= 2 and first[0] & 0x0F == 8 and (first[0] << 8 | first[1]) % 31 == 0
        return zlib.decompressobj(zlib.MAX_WBITS if zlib_header else -zlib.MAX_WBITS)

    def _count(self, data: bytes) -> bytes:
        self.total += len(data)
        if self.total > self.limit:
            raise FetchFailed(f"{self._shown} is larger than {_size(self.limit)}; it was not read to the end.")
        return data

    def feed(self, chunk: bytes) -> bytes:
        """Decoded bytes for one chunk of the body; FetchFailed once the total passes the limit."""
        if self._mode == "identity":
            return self._count(chunk)
        out: list[bytes] = []
        data = chunk
        while data:
            if self._d is None:
                self._d = self._new(data)
                self._started = True
            try:
                # At most one byte past what the cap allows: enough to know it was exceeded.
                piece = self._d.decompress(data, self.limit - self.total + 1)
            except zlib.error:
                raise FetchFailed(f"{self._shown} is damaged: its compressed data cannot be read.") from None
            out.append(self._count(piece))
            data = self._d.unconsumed_tail
            if self._d.eof:
                rest = self._d.unused_data
                self._d = None
                # Another gzip member may follow; anything else after the end is ignored, as browsers do.
                data = rest if self._mode == "gzip" and rest.startswith(b"\x1f\x8b") else b""
        return b"".join(out)

    def finish(self) -> bytes:
        """The last bytes; FetchFailed when compressed data stopped in the middle."""
        if self._mode == "identity" or self._d is None:
            return b""
        if not self._d.eof:
            raise FetchFailed(f"{self._shown} was cut off: its compressed data ends too early.", transient=True)
        return b""


def decode_text(data: bytes, header_charset: str | None) -> tuple[str, str]:
    """Decode a page or feed as a browser would; returns (text, the encoding used)."""
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            return data[len(bom) :].decode(encoding, errors="replace"), encoding
    for label, inside in ((header_charset, False), (_declared_in_document(data), True)):
        encoding = _encoding_for(label, inside_document=inside)
        if encoding is not None:
            return data.decode(encoding, errors="replace"), encoding
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        return data.decode("cp1252", errors="replace"), "cp1252"


def _declared_in_document(data: bytes) -> str | None:
    head = data[:_PRESCAN_BYTES]
    match = _XML_ENCODING.match(head) or _META_CHARSET.search(head)
    return match.group(1).decode("ascii", errors="replace") if match else None


def _encoding_for(label: str | None, *, inside_document: bool) -> str | None:
    """A Python codec for a charset label, or None when the label is unknown (then the next rule applies)."""
    if not label:
        return None
    try:
        name = codecs.lookup(label.strip().lower()).name
    except LookupError:
        return None
    norm = name.replace("-", "_")
    if norm in _AS_WINDOWS_1252:
        return "cp1252"
    if norm.startswith(("utf_16", "utf_32")):
        # A page that could be read far enough to find this label is not UTF-16.
        return "utf-8" if inside_document else None
    if norm == "utf_8_sig":
        return "utf-8"
    return name


def _size(n: int) -> str:
    return f"{n / 1048576:.0f} MiB" if n >= 1048576 else f"{n // 1024} KiB"
