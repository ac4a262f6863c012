"""Fetching a page or a feed from a link, guarded so that a link cannot reach the host's own network.

Why not requests, httpx or urllib3: each resolves the host name itself when it connects, after
any check we could make, so a DNS answer that changes in between (DNS rebinding) would reach an
address nobody checked. Here the standard library's ``http.client`` talks over a socket this
module opened itself, to an address ``addresses.resolve_checked`` has just allowed; TLS is then
verified against the host *name* (SNI and certificate), as a browser would. Every redirect is a
new link, checked from scratch. Proxies from the environment are not used.

Limits (``FetchLimits``): a connect timeout, a total time limit enforced by a watchdog that shuts
the socket (a server dripping one byte a second cannot hold a worker), at most 5 redirects, a size
cap on the bytes received and again after decompression (``body.Decompressor``), HTML and XML
content types only. The decoded text comes from ``Fetched.text()`` (charset rules in body.py).

``resolver`` and ``connector`` are constructor seams: tests pass fakes to play a public name that
resolves to the local test server, or a name whose DNS answer changes between two lookups.
"""

from __future__ import annotations

import contextlib
import http.client
import os
import socket
import ssl
import threading
import time
import urllib.parse
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from .addresses import Resolver, Target, check_url, resolve_checked, system_resolver
from .body import FEED_TYPES, PAGE_TYPES, Decompressor, decode_text, media_type, sniff_markup
from .errors import FetchFailed, WebError

__all__ = ["USER_AGENT", "Connector", "FetchLimits", "Fetched", "Fetcher"]

USER_AGENT = "talksbot/0.1 (news article indexer)"
MiB = 1024 * 1024
_READ_CHUNK = 64 * 1024
_REDIRECTS = frozenset({301, 302, 303, 307, 308})
_TRANSIENT_STATUSES = frozenset({408, 425, 429, 500, 502, 503, 504})
_ACCEPT = {
    "page": "text/html,application/xhtml+xml;q=0.9,application/xml;q=0.5",
    "feed": "application/rss+xml,application/atom+xml,application/rdf+xml;q=0.9,application/xml;q=0.8,"
    "text/xml;q=0.8,text/html;q=0.1",
}

#: (address, port), timeout -> a connected socket; the seam tests replace.
Connector = Callable[[tuple[str, int], float], socket.socket]


@dataclass(frozen=True, slots=True)
class FetchLimits:
    """How long and how much one fetch may take."""

    connect_seconds: float = 10.0
    total_seconds: float = 30.0
    max_bytes: int = 5 * MiB
    max_redirects: int = 5


@dataclass(frozen=True, slots=True)
class Fetched:
    """What a server answered, decompressed and within the limits."""

    url: str  # the link asked for
    final_url: str  # where the content came from, after redirects
    status: int  # 200, or 304 when a conditional request found nothing new
    media_type: str  # "text/html"; "" when the server sent none (then the content was sniffed)
    charset: str | None  # from the Content-Type header, if any
    body: bytes = b""
    etag: str | None = None
    last_modified: str | None = None
    redirects: tuple[str, ...] = field(default_factory=tuple)

    def text(self) -> str:
        """The body decoded by the browser rules: BOM, header charset, <meta charset>, UTF-8, windows-1252."""
        return decode_text(self.body, self.charset)[0]


def _plain_connector(address: tuple[str, int], timeout: float) -> socket.socket:
    return socket.create_connection(address, timeout=timeout)


class Fetcher:
    """Fetches http(s) links under the address rule and the limits; thread-safe, one request at a time each."""

    def __init__(
        self,
        *,
        allow_private: bool = False,
        limits: FetchLimits | None = None,
        resolver: Resolver | None = None,
        connector: Connector | None = None,
        ssl_context: ssl.SSLContext | None = None,
        user_agent: str = USER_AGENT,
    ) -> None:
        self.allow_private = allow_private
        self.limits = limits or FetchLimits()
        self._resolver = resolver or system_resolver
        self._connector = connector or _plain_connector
        self._ssl = ssl_context or ssl.create_default_context()
        self.user_agent = user_agent

    def fetch(
        self,
        url: str,
        *,
        kind: str = "page",
        etag: str | None = None,
        last_modified: str | None = None,
        max_bytes: int | None = None,
    ) -> Fetched:
        """GET a page or a feed, following up to ``max_redirects`` redirects; WebError says why it failed."""
        limits = self.limits
        cap = max_bytes or limits.max_bytes
        deadline = time.monotonic() + limits.total_seconds
        headers = {"Accept": _ACCEPT.get(kind, _ACCEPT["page"])}
        if etag:
            headers["If-None-Match"] = etag
        if last_modified:
            headers["If-Modified-Since"] = last_modified
        current = url
        redirects: list[str] = []
        while True:
            target = check_url(current)
            addresses = self._resolve(target, deadline)
            answer = self._exchange(target, addresses, headers, deadline, cap)
            if isinstance(answer, str):  # a redirect's Location
                if len(redirects) >= limits.max_redirects:
                    raise FetchFailed(f"{_shown(url)} redirects more than {limits.max_redirects} times; gave up.")
                current = urllib.parse.urljoin(target.url, answer)
                redirects.append(current)
                continue
            status, response_headers, body = answer
            kind_seen, charset = media_type(response_headers.get("content-type"))
            return Fetched(
                url=url,
                final_url=target.url,
                status=status,
                media_type=kind_seen,
                charset=charset,
                body=body,
                etag=response_headers.get("etag"),
                last_modified=response_headers.get("last-modified"),
                redirects=tuple(redirects),
            )

    # ----- one hop

    def _resolve(self, target: Target, deadline: float) -> list[str]:
        """Resolve and check the host within the time left (getaddrinfo has no timeout of its own)."""
        box: dict[str, object] = {}

        def lookup() -> None:
            try:
                box["addresses"] = resolve_checked(target, self._resolver, allow_private=self.allow_private)
            except BaseException as err:  # handed to the waiting thread below
                box["error"] = err

        worker = threading.Thread(target=lookup, name="talksbot-dns", daemon=True)
        worker.start()
        worker.join(max(0.0, min(self.limits.connect_seconds, deadline - time.monotonic())))
        if worker.is_alive():
            raise FetchFailed(f"Looking up {target.host} took too long.", transient=True)
        if "error" in box:
            raise box["error"]  # type: ignore[misc]
        return box["addresses"]  # type: ignore[return-value]

    def _connect(self, target: Target, addresses: Sequence[str], deadline: float) -> socket.socket:
        """A TCP socket connected to the first checked address that answers."""
        last: OSError | None = None
        for address in addresses:
            timeout = min(self.limits.connect_seconds, deadline - time.monotonic())
            if timeout <= 0:
                break
            try:
                return self._connector((address, target.port), timeout)
            except OSError as err:
                last = err
        if time.monotonic() >= deadline:
            raise self._too_slow(target)
        reason = f" ({_why(last)})" if last is not None else ""
        raise FetchFailed(f"Could not connect to {target.host_header}{reason}.", transient=True)

    def _secure(self, target: Target, sock: socket.socket) -> socket.socket:
        """TLS over a connected socket, verified against the host name (not the address connected to)."""
        try:
            return self._ssl.wrap_socket(sock, server_hostname=target.host)
        except ssl.SSLCertVerificationError as err:
            raise FetchFailed(
                f"The certificate of {target.host} is not valid ({err.verify_message}); not fetched."
            ) from None
        except ssl.SSLError as err:
            raise FetchFailed(f"The secure connection to {target.host_header} failed ({_why(err)}).") from None

    def _exchange(
        self, target: Target, addresses: Sequence[str], headers: dict[str, str], deadline: float, cap: int
    ) -> str | tuple[int, dict[str, str], bytes]:
        """Send one GET; a redirect's Location, or (status, headers, body)."""
        live = {"sock": self._connect(target, addresses, deadline)}
        expired = threading.Event()
        closing = threading.Lock()
        fd = live["sock"].fileno()  # the TLS socket that may replace it shares this descriptor

        def cut() -> None:  # the total time limit, whatever the socket is doing (TLS handshake included)
            with closing:
                if live.get("closed"):
                    return
                expired.set()
                with contextlib.suppress(OSError):
                    twin = socket.socket(fileno=os.dup(fd))
                    try:
                        twin.shutdown(socket.SHUT_RDWR)  # shuts the connection itself, for every descriptor
                    finally:
                        twin.close()

        watchdog = threading.Timer(max(0.0, deadline - time.monotonic()), cut)
        watchdog.daemon = True
        watchdog.start()
        conn = http.client.HTTPConnection(target.host, target.port)
        response: http.client.HTTPResponse | None = None
        try:
            live["sock"].settimeout(max(0.01, deadline - time.monotonic()))
            if target.scheme == "https":
                live["sock"] = self._secure(target, live["sock"])
            sock = live["sock"]
            conn.sock = sock  # already connected to the checked address: http.client never resolves the name
            conn.putrequest("GET", target.path, skip_host=True, skip_accept_encoding=True)
            conn.putheader("Host", target.host_header)
            conn.putheader("User-Agent", self.user_agent)
            conn.putheader("Accept-Encoding", "gzip, deflate")
            for name, value in headers.items():
                conn.putheader(name, value)
            conn.putheader("Connection", "close")
            conn.endheaders()
            response = conn.getresponse()
            answer = self._read(target, response, headers, sock, deadline, cap)
            if expired.is_set():  # the watchdog shut the socket: what was read may look complete but is not
                raise TimeoutError
            return answer
        except WebError:
            if expired.is_set():
                raise self._too_slow(target) from None
            raise
        except TimeoutError:
            raise self._too_slow(target) from None
        except (http.client.HTTPException, OSError, ValueError) as err:
            if expired.is_set():
                raise self._too_slow(target) from None
            if isinstance(err, http.client.IncompleteRead):
                raise FetchFailed(f"{_shown(target.url)} was cut off before its end.", transient=True) from None
            if isinstance(err, http.client.HTTPException | ValueError):
                raise FetchFailed(f"{target.host_header} did not answer with valid HTTP ({_why(err)}).") from None
            raise FetchFailed(f"The connection to {target.host_header} failed ({_why(err)}).", transient=True) from None
        finally:
            watchdog.cancel()
            with closing:
                live["closed"] = True  # type: ignore[assignment]
            if response is not None:
                response.close()  # it holds its own reference to the socket
            conn.close()
            with contextlib.suppress(OSError):
                live["sock"].close()

    def _read(
        self,
        target: Target,
        response: http.client.HTTPResponse,
        sent: dict[str, str],
        sock: socket.socket,
        deadline: float,
        cap: int,
    ) -> str | tuple[int, dict[str, str], bytes]:
        """Check status and headers, then read the body in chunks under the caps."""
        status = response.status
        headers = {k.lower(): v for k, v in response.getheaders()}
        shown = _shown(target.url)
        if status in _REDIRECTS:
            location = headers.get("location", "").strip()
            if not location:
                raise FetchFailed(f"{shown} redirects without saying where to.")
            return location
        if status == 304 and ("If-None-Match" in sent or "If-Modified-Since" in sent):
            return status, headers, b""
        if status != 200:
            reason = f"{status} {response.reason}".strip()
            raise FetchFailed(f"{shown} answered {reason}.", transient=status in _TRANSIENT_STATUSES)
        kind, _ = media_type(headers.get("content-type"))
        if kind and kind not in PAGE_TYPES and kind not in FEED_TYPES:
            raise FetchFailed(f"{shown} is {kind}, not an HTML page or an XML feed.")
        length = headers.get("content-length", "").strip()
        if length.isdigit() and int(length) > cap:
            raise FetchFailed(f"{shown} is {int(length) / 1048576:.1f} MiB; a page or feed may be at most {_mib(cap)}.")
        encodings = [e.strip() for e in headers.get("content-encoding", "").split(",") if e.strip()]
        if len(encodings) > 1:
            raise FetchFailed(f"{shown} is compressed more than once ({', '.join(encodings)}); not read.")
        decoder = Decompressor(encodings[0] if encodings else None, cap, shown)
        received = 0
        parts: list[bytes] = []
        while True:
            sock.settimeout(max(0.01, deadline - time.monotonic()))
            chunk = response.read1(_READ_CHUNK)
            if not chunk:
                break
            received += len(chunk)
            if received > cap:
                raise FetchFailed(f"{shown} is larger than {_mib(cap)}; it was not read to the end.")
            parts.append(decoder.feed(chunk))
            if time.monotonic() > deadline:
                raise TimeoutError
        if length.isdigit() and received < int(length):
            raise FetchFailed(f"{shown} was cut off before its end ({received} of {length} bytes).", transient=True)
        parts.append(decoder.finish())
        body = b"".join(parts)
        if not kind and not sniff_markup(body[:512]):
            raise FetchFailed(f"{shown} has no content type and does not look like HTML or XML.")
        return status, headers, body

    def _too_slow(self, target: Target) -> FetchFailed:
        return FetchFailed(
            f"{_shown(target.url)} took longer than {self.limits.total_seconds:g} s to answer; gave up.", transient=True
        )


def _mib(n: int) -> str:
    return f"{n / 1048576:g} MiB"


def _why(err: BaseException) -> str:
    text = getattr(err, "strerror", None) or str(err) or type(err).__name__
    return " ".join(str(text).split())[:120]


def _shown(url: str) -> str:
    return url if len(url) <= 120 else url[:117] + "..."
