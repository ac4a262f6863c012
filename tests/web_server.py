"""A local web server on 127.0.0.1 for the web-ingestion tests and benchmarks: real pages, real feeds, hostile answers.

``LocalSite`` serves ``tests/web/site/`` (articles written for the tests, each a shape the issue
names), the calibration articles of ``tests/web/topic/`` rendered as pages (``/topic/on/NAME.html``),
feeds built from those (``/feeds/...``), and a set of hostile answers under ``/hostile/...``
(redirect loops, gzip bombs, slow drips, wrong types, broken HTTP). It records every request, so a
test can prove a link was never fetched again. It runs in a daemon thread, binds a free port, and
stops with the context manager.
"""

from __future__ import annotations

import contextlib
import functools
import gzip
import html
import http.server
import socket
import threading
import time
import urllib.parse
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import yaml

from index.web.addresses import system_resolver

WEB = Path(__file__).resolve().parent / "web"
SITE = WEB / "site"
TOPIC = WEB / "topic"

# (status, headers, body) or None when the handler wrote the answer itself.
Answer = tuple[int, dict[str, str], bytes] | None
Route = Callable[["Handler"], Answer]


@dataclass(frozen=True, slots=True)
class Request:
    """A request the site received."""

    path: str
    headers: dict[str, str]


class Handler(http.server.BaseHTTPRequestHandler):
    """Dispatches to the site's routes; static files otherwise."""

    server: _Server
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: object) -> None:
        """Quiet: the tests read ``site.requests`` instead."""

    def do_GET(self) -> None:
        """Serve a route or a file."""
        site = self.server.site
        site.requests.append(Request(self.path, {k.lower(): v for k, v in self.headers.items()}))
        path = urllib.parse.urlsplit(self.path).path
        route = site.routes.get(path)
        try:
            answer = route(self) if route is not None else site.static(path)
        except (BrokenPipeError, ConnectionResetError):
            return
        if answer is None:
            return
        status, headers, body = answer
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        if "Content-Length" not in headers:
            self.send_header("Content-Length", str(len(body)))
        self.send_header("Connection", "close")
        self.end_headers()
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            self.wfile.write(body)
        self.close_connection = True

    def raw(self, data: bytes) -> None:
        """Write bytes straight to the socket (for answers that are not valid HTTP)."""
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            self.wfile.write(data)
            self.wfile.flush()
        self.close_connection = True


class _Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    site: LocalSite


class LocalSite:
    """The test web site on 127.0.0.1 (use as a context manager)."""

    def __init__(self) -> None:
        self.requests: list[Request] = []
        self.routes: dict[str, Route] = {}
        self.content_types: dict[str, str] = {"/news/latin1-header.html": "text/html; charset=iso-8859-1"}
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self.stop_dripping = threading.Event()
        _hostile_routes(self)

    def __enter__(self) -> LocalSite:
        gzip_bomb()  # built once per process, before any client's time limit is running
        self._server = _Server(("127.0.0.1", 0), Handler)
        self._server.site = self
        self._thread = threading.Thread(target=self._server.serve_forever, name="local-site", daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop_dripping.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    @property
    def port(self) -> int:
        """The port it listens on."""
        assert self._server is not None
        return int(self._server.server_address[1])

    def url(self, path: str) -> str:
        """An absolute link to a path of the site."""
        return f"http://127.0.0.1:{self.port}{path}"

    def hits(self, path: str) -> int:
        """How many times a path (without query) was requested."""
        return sum(1 for r in self.requests if urllib.parse.urlsplit(r.path).path == path)

    def route(self, path: str, answer: Route | Answer) -> None:
        """Serve ``path`` with a handler, or with a fixed (status, headers, body)."""
        self.routes[path] = answer if callable(answer) else (lambda _h, a=answer: a)

    def feed(self, path: str, xml: str, content_type: str = "application/rss+xml; charset=utf-8") -> str:
        """Serve a feed document at ``path``; returns its link."""
        self.route(path, (200, {"Content-Type": content_type}, xml.encode("utf-8")))
        return self.url(path)

    def static(self, path: str) -> Answer:
        """A file under tests/web/site, or a calibration article rendered as a page."""
        if path.startswith("/topic/") and path.endswith(".html"):
            source = TOPIC / (path.removeprefix("/topic/").removesuffix(".html") + ".md")
            if source.is_file():
                return 200, {"Content-Type": "text/html; charset=utf-8"}, topic_page(source)
        file = (SITE / path.lstrip("/")).resolve()
        if not file.is_relative_to(SITE) or not file.is_file():
            return 404, {"Content-Type": "text/plain"}, b"not found"
        kind = self.content_types.get(path)
        if kind is None:
            kind = "text/html" if file.suffix == ".html" else "application/xml"
            if file.suffix == ".html" and not file.name.startswith(("cp1251", "latin1")):
                kind += "; charset=utf-8"
        return 200, {"Content-Type": kind}, file.read_bytes()


def topic_page(source: Path) -> bytes:
    """A calibration article (front matter + paragraphs) as a news page with JSON-LD and boilerplate."""
    text = source.read_text(encoding="utf-8")
    _, front, body = text.split("---\n", 2)
    meta = yaml.safe_load(front)
    paragraphs = "\n".join(f"<p>{html.escape(p)}</p>" for p in body.splitlines() if p.strip())
    title = html.escape(meta["title"])
    return f"""<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>{title}</title>
<script type="application/ld+json">{{"@context": "https://schema.org", "@type": "NewsArticle",
"headline": {_json(meta["title"])}, "datePublished": "{meta["published"]}",
"publisher": {{"@type": "Organization", "name": {_json(meta["source"])}}}}}</script></head>
<body><nav><a href="/">Home</a> <a href="/world">World</a> <a href="/sport">Sport</a></nav>
<article><h1>{title}</h1>{paragraphs}</article>
<div class="newsletter">Sign up for our newsletter to get the news every morning.</div>
<footer>&copy; {html.escape(meta["source"])}</footer></body></html>""".encode()


def _json(value: object) -> str:
    import json

    return json.dumps(str(value))


def rss(items: list[dict[str, str]], *, title: str = "Test feed", base: str = "") -> str:
    """An RSS 2.0 document; each item may have title, link, guid, description."""
    parts = []
    for item in items:
        fields = "".join(
            f"<{k}>{html.escape(v)}</{k}>" for k, v in item.items() if k in ("title", "link", "guid", "description")
        )
        parts.append(f"<item>{fields}</item>")
    return (
        f'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>{html.escape(title)}</title>'
        f"<link>{html.escape(base or 'http://example.invalid/')}</link><description>test</description>"
        f"{''.join(parts)}</channel></rss>"
    )


def atom(entries: list[dict[str, str]], *, title: str = "Test Atom feed", base: str | None = None) -> str:
    """An Atom 1.0 document; each entry may have title, link (href, may be relative), id, summary."""
    parts = []
    for e in entries:
        link = f'<link rel="alternate" href="{html.escape(e["link"])}"/>' if e.get("link") else ""
        parts.append(
            f"<entry><title>{html.escape(e.get('title', ''))}</title>{link}<id>{html.escape(e.get('id', ''))}</id>"
            f"<updated>2025-06-02T12:00:00Z</updated><summary>{html.escape(e.get('summary', ''))}</summary></entry>"
        )
    xml_base = f' xml:base="{html.escape(base)}"' if base else ""
    return (
        f'<?xml version="1.0" encoding="utf-8"?><feed xmlns="http://www.w3.org/2005/Atom"{xml_base}>'
        f"<title>{html.escape(title)}</title><id>urn:test:feed</id><updated>2025-06-02T12:00:00Z</updated>"
        f"{''.join(parts)}</feed>"
    )


# --------------------------------------------------------------------------- hostile answers

ARTICLE = "/news/prisoner-exchange-jsonld.html"


def _hostile_routes(site: LocalSite) -> None:
    page = (SITE / ARTICLE.lstrip("/")).read_bytes()
    html_type = {"Content-Type": "text/html; charset=utf-8"}

    def redirect(to: str) -> Answer:
        return 302, {"Location": to}, b""

    site.route("/hostile/redirect-loop", lambda h: redirect("/hostile/redirect-loop"))
    for n in range(1, 8):  # /hostile/chain/N redirects N times, then serves the article
        site.route(f"/hostile/chain/{n}", lambda h, n=n: redirect(f"/hostile/chain/{n - 1}" if n > 1 else ARTICLE))
    site.route(
        "/hostile/redirect", lambda h: redirect(urllib.parse.parse_qs(urllib.parse.urlsplit(h.path).query)["to"][0])
    )
    site.route("/hostile/redirect-nowhere", (302, {}, b""))
    site.route("/hostile/gzip-bomb", lambda h: (200, {**html_type, "Content-Encoding": "gzip"}, gzip_bomb()))
    site.route("/hostile/gzip-page", (200, {**html_type, "Content-Encoding": "gzip"}, gzip.compress(page)))
    site.route("/hostile/bad-gzip", (200, {**html_type, "Content-Encoding": "gzip"}, b"\x1f\x8b\x08\x00garbage" * 50))
    site.route("/hostile/brotli", (200, {**html_type, "Content-Encoding": "br"}, b"\x0b\x02\x80hello\x03"))
    site.route(
        "/hostile/double-gzip",
        (200, {**html_type, "Content-Encoding": "gzip, gzip"}, gzip.compress(gzip.compress(page))),
    )
    site.route("/hostile/image", (200, {"Content-Type": "image/png"}, b"\x89PNG\r\n\x1a\n" + b"\x00" * 100))
    site.route("/hostile/pdf", (200, {"Content-Type": "application/pdf"}, b"%PDF-1.7\n" + b"x" * 100))
    site.route("/hostile/json", (200, {"Content-Type": "application/json"}, b'{"title": "not a page"}'))
    site.route("/hostile/no-type-binary", (200, {}, b"\x00\x01\x02binary" * 20))
    site.route("/hostile/no-type-html", (200, {}, page))
    site.route("/hostile/503", (503, {"Content-Type": "text/html", "Retry-After": "120"}, b"<p>busy</p>"))
    site.route("/hostile/404", (404, {"Content-Type": "text/html"}, b"<p>gone</p>"))
    site.route("/hostile/empty", (200, html_type, b""))
    site.route("/hostile/huge-length", (200, {**html_type, "Content-Length": str(50 * 1024 * 1024)}, b"<html>"))

    def endless(h: Handler) -> Answer:  # no Content-Length, never ends on its own
        h.send_response(200)
        h.send_header("Content-Type", "text/html")
        h.end_headers()
        chunk = b"<p>" + b"x" * 65_000 + b"</p>\n"
        with contextlib.suppress(OSError):
            for _ in range(2000):  # bounded: 130 MB at most, stopped by the client long before
                h.wfile.write(chunk)
        h.close_connection = True
        return None

    def dripping(h: Handler, head: bytes) -> Answer:  # ``head``, then one byte every 0.2 s until the client gives up
        with contextlib.suppress(OSError):
            h.wfile.write(head)
            for _ in range(3000):
                if site.stop_dripping.wait(0.2):
                    break
                h.wfile.write(b"x")
                h.wfile.flush()
        h.close_connection = True
        return None

    body_head = b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\n\r\n"

    def truncated(h: Handler) -> Answer:
        h.send_response(200)
        h.send_header("Content-Type", "text/html")
        h.send_header("Content-Length", "100000")
        h.end_headers()
        h.wfile.write(page[:1000])
        h.close_connection = True
        return None

    def many_headers(h: Handler) -> Answer:
        h.raw(b"HTTP/1.1 200 OK\r\n" + b"".join(f"X-H{i}: v\r\n".encode() for i in range(500)) + b"\r\n")
        return None

    site.route("/hostile/endless", endless)
    site.route("/hostile/drip", lambda h: dripping(h, body_head))  # in the body
    site.route("/hostile/drip-headers", lambda h: dripping(h, b"HTTP/1.1 200 OK\r\n"))  # in the headers
    site.route("/hostile/truncated", truncated)
    site.route("/hostile/many-headers", many_headers)
    site.route("/hostile/not-http", lambda h: h.raw(b"SSH-2.0-OpenSSH_9.2\r\n"))


def _query(h: Handler, name: str) -> str:
    return urllib.parse.parse_qs(urllib.parse.urlsplit(h.path).query)[name][0]


@functools.cache
def gzip_bomb(megabytes: int = 128) -> bytes:
    """A small gzip body that expands to ``megabytes`` MiB of HTML (built without holding the expansion)."""
    packer = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    parts = [packer.compress(b"<html><body><p>")]
    block = b"a" * (1024 * 1024)
    parts += [packer.compress(block) for _ in range(megabytes)]
    parts.append(packer.compress(b"</p></body></html>") + packer.flush())
    return b"".join(parts)


# --------------------------------------------------------------------------- fakes for the fetcher's seams


class FakeDNS:
    """A resolver mapping names to addresses; a name can answer differently on each lookup (rebinding)."""

    def __init__(self, table: dict[str, list[list[str]] | list[str]]) -> None:
        self.table = {k: (v if v and isinstance(v[0], list) else [v]) for k, v in table.items()}
        self.lookups: list[str] = []

    def __call__(self, host: str, port: int) -> list[str]:
        self.lookups.append(host)
        answers = self.table.get(host)
        if not answers and not host.endswith((".example", ".invalid")):
            # IP literals and numeric spellings (2130706433, 0x7f.1) resolve as the system resolves them.
            return system_resolver(host, port)
        if not answers:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        n = sum(1 for h in self.lookups if h == host) - 1
        return list(answers[min(n, len(answers) - 1)])


class RoutingConnector:
    """Connects to the local site whatever (public-looking) address the fetcher chose; records the addresses."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.addresses: list[tuple[str, int]] = []

    def __call__(self, address: tuple[str, int], timeout: float) -> socket.socket:
        self.addresses.append(address)
        return socket.create_connection(("127.0.0.1", self.port), timeout=timeout)


@contextlib.contextmanager
def serving() -> Iterator[LocalSite]:
    """A started LocalSite."""
    with LocalSite() as site:
        yield site


def wait_until(predicate: Callable[[], object], timeout: float = 10.0, interval: float = 0.05) -> object:
    """Poll ``predicate`` until it is truthy (returns it) or the time runs out (returns the last value)."""
    deadline = time.monotonic() + timeout
    value = predicate()
    while not value and time.monotonic() < deadline:
        time.sleep(interval)
        value = predicate()
    return value
