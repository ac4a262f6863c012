"""Which links may be fetched: the form of the URL, then every address its host name resolves to.

A link from anyone (a Discord member above all) must not reach the host's own network. The rule
is applied to *addresses*, after DNS resolution, so the spelling of the host does not matter:
``2130706433``, ``0177.0.0.1``, ``0x7f.1``, ``127.1``, ``[::1]``, ``[::ffff:127.0.0.1]`` and a
name whose DNS record points at ``10.0.0.5`` all end up as the address they mean, and that
address is what is checked. The fetcher then connects to exactly the addresses checked here (it
never resolves the name a second time), so a DNS answer that changes between the check and the
connection (DNS rebinding) cannot slip through. Every redirect goes through the same check.

Refused: loopback, private (RFC 1918, unique-local), link-local (which includes the cloud
metadata address 169.254.169.254), multicast, unspecified, reserved and otherwise non-global
ranges (carrier-grade NAT, documentation, benchmarking), IPv4-mapped IPv6 addresses, and IPv6
forms that embed an IPv4 address (6to4, Teredo, NAT64) when the embedded one is refused.
``allow_private`` (``ALLOW_PRIVATE_URLS=1``) lifts the rule for loopback, private and other
non-global unicast ranges, for a trusted intranet and for tests; link-local, multicast and
unspecified addresses stay refused even then.
"""

from __future__ import annotations

import ipaddress
import re
import socket
import urllib.parse
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from .errors import FetchFailed, UrlRefused

__all__ = ["Resolver", "Target", "address_problem", "check_url", "resolve_checked", "system_resolver"]

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
#: host, port -> the addresses it resolves to (as strings); the seam tests replace.
Resolver = Callable[[str, int], Sequence[str]]

ALLOW_HINT = "set ALLOW_PRIVATE_URLS=1 to allow addresses on private networks"
MAX_URL_CHARS = 2048
_NAT64 = (ipaddress.IPv6Network("64:ff9b::/96"), ipaddress.IPv6Network("64:ff9b:1::/48"))
_LOCAL_NAMES = re.compile(r"(?:^|\.)(?:localhost|localhost\.localdomain|ip6-localhost|ip6-loopback)\.?$")


@dataclass(frozen=True, slots=True)
class Target:
    """A link that passed the form checks: where to connect and what to ask for."""

    url: str  # as given, without its fragment
    scheme: str  # "http" or "https"
    host: str  # ASCII (IDNA) host name or IP literal, without brackets
    port: int
    path: str  # path and query, as sent in the request line

    @property
    def host_header(self) -> str:
        """The Host header: the name (bracketed when IPv6), with the port when it is not the default."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        default = 443 if self.scheme == "https" else 80
        return host if self.port == default else f"{host}:{self.port}"


def check_url(url: str) -> Target:
    """Parse a link and check its form (scheme, host, port, no credentials); UrlRefused says what is wrong."""
    shown = _shown(url)
    if not isinstance(url, str) or not url.strip():
        raise UrlRefused("The link is empty.")
    url = url.strip()
    if len(url) > MAX_URL_CHARS:
        raise UrlRefused(f"The link is {len(url):,} characters long; at most {MAX_URL_CHARS:,} are accepted.")
    if any(ord(c) < 33 or ord(c) == 127 for c in url):
        raise UrlRefused(f"The link {shown} contains spaces or control characters.")
    try:
        parts = urllib.parse.urlsplit(url)
        port = parts.port
    except ValueError as err:
        raise UrlRefused(f"The link {shown} is not a valid URL ({err}).") from None
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https"):
        what = f"a {scheme}: link" if scheme else "not a web link"
        raise UrlRefused(f"Only http:// and https:// links can be fetched; {shown} is {what}.")
    if parts.username is not None or parts.password is not None or "@" in parts.netloc:
        raise UrlRefused(f"The link {shown} carries a user name or password; links with credentials are refused.")
    host = parts.hostname or ""
    if not host:
        raise UrlRefused(f"The link {shown} has no host name.")
    if "%" in host:
        raise UrlRefused(f"The link {shown} names an IPv6 zone; such addresses are never fetched.")
    try:
        ascii_host = host if _is_ip_literal(host) else host.rstrip(".").encode("idna").decode("ascii")
    except UnicodeError:
        raise UrlRefused(f"The host name in {shown} is not a valid domain name.") from None
    if not ascii_host or not re.fullmatch(r"[a-z0-9.\-_:]+", ascii_host.lower()):
        raise UrlRefused(f"The host name in {shown} is not a valid domain name.")
    if port == 0:
        raise UrlRefused(f"The link {shown} names port 0.")
    path = parts.path or "/"
    if parts.query:
        path += "?" + parts.query
    return Target(
        url=urllib.parse.urlunsplit((scheme, parts.netloc, parts.path, parts.query, "")),
        scheme=scheme,
        host=ascii_host.lower(),
        port=port or (443 if scheme == "https" else 80),
        path=_quote_path(path),
    )


def address_problem(address: str | IPAddress, *, allow_private: bool = False) -> str | None:
    """Why this address may not be fetched ("a loopback address"), or None when it may."""
    ip = ipaddress.ip_address(address) if isinstance(address, str) else address
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.scope_id:
            return "an IPv6 address with a zone"
        if ip.ipv4_mapped is not None:
            if allow_private:
                return address_problem(ip.ipv4_mapped, allow_private=True)
            return "an IPv4-mapped IPv6 address"
        embedded = _embedded_ipv4(ip)
        if embedded is not None:
            inner = address_problem(embedded, allow_private=allow_private)
            if inner is not None:
                return f"an IPv6 address that embeds {embedded}, {inner}"
    if ip.is_unspecified:
        return "the unspecified address"
    if ip.is_multicast:
        return "a multicast address"
    if ip.is_link_local:
        return "a link-local address"
    if allow_private:
        return None
    if ip.is_loopback:
        return "a loopback address"
    if ip.is_reserved:
        return "a reserved address"
    if ip.is_private:
        return "a private address"
    if not ip.is_global:
        return "not a public address"
    return None


def system_resolver(host: str, port: int) -> list[str]:
    """The host's addresses from the system resolver (getaddrinfo), in its order of preference."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP)
    seen: dict[str, None] = {}
    for _family, _type, _proto, _canon, sockaddr in infos:
        seen[str(sockaddr[0])] = None
    return list(seen)


def resolve_checked(target: Target, resolver: Resolver, *, allow_private: bool) -> list[str]:
    """The addresses to connect to, every one of them allowed; UrlRefused names the first that is not."""
    shown = _shown(target.url)
    if not allow_private and _LOCAL_NAMES.search(target.host):
        raise UrlRefused(f"Refused {shown}: {target.host} names this machine ({ALLOW_HINT}).")
    try:
        addresses = list(resolver(target.host, target.port))
    except socket.gaierror as err:
        raise FetchFailed(
            f"Could not find the server for {shown}: the name {target.host} does not resolve.",
            transient=err.errno == socket.EAI_AGAIN,
        ) from None
    except UnicodeError:
        raise UrlRefused(f"The host name in {shown} is not a valid domain name.") from None
    except OSError as err:
        raise FetchFailed(f"Could not look up {target.host} ({err}).", transient=True) from None
    if not addresses:
        raise FetchFailed(f"Could not find the server for {shown}: {target.host} has no address.")
    for address in addresses:
        try:
            problem = address_problem(address, allow_private=allow_private)
        except ValueError:
            problem = "not an IP address"
        if problem is not None:
            where = target.host if target.host == address else f"{target.host} resolves to {address}"
            hint = "" if allow_private else f" ({ALLOW_HINT})"
            raise UrlRefused(f"Refused {shown}: {where}, {problem}{hint}.")
    return addresses


def _embedded_ipv4(ip: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address inside a 6to4, Teredo or NAT64 address, if it is one."""
    if ip.sixtofour is not None:
        return ip.sixtofour
    if ip.teredo is not None:
        return ip.teredo[1]
    if any(ip in net for net in _NAT64):
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return None


def _is_ip_literal(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def _quote_path(path: str) -> str:
    """Percent-encode what may not appear raw in a request line (non-ASCII), leaving valid escapes alone."""
    return urllib.parse.quote(path, safe="/?&=%:;@!$'()*+,~#[]-._")


def _shown(url: object) -> str:
    """A link as shown in a message: quoted, and cut when very long."""
    text = str(url)
    return repr(text if len(text) <= 120 else text[:117] + "...")
