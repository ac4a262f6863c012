"""Article links: checked, made safe to place inside Markdown ``[text](url)``, and who they point to.

An article's ``url`` comes from whoever wrote its front matter (an upload, soon a fetched
page), so it is parsed rather than pattern-matched: an ``http``/``https`` scheme, a real host
name (IDNA-encoded, so a look-alike letter shows as ``xn--``) or an IPv4 address (shown as the
site itself, so it vouches for no outlet; an IPv6 address needs brackets, which Markdown reads, and
is refused), no user name or password (the
``https://reuters.com@evil.example/`` trick), a valid port, and at most 2,048 characters, the
longest link Discord accepts in an embed. Every character that could end a Markdown link or
start markup (brackets, parentheses, ``*``, ``|``, quotes, spaces, non-ASCII) is
percent-encoded, which names the same resource, so the result can be placed in ``[..](..)``
and cannot smuggle a second link or any formatting.

``clean_url`` is used when an article is loaded (a bad link is a skip reason) and again when a
link is rendered (an index built before these checks may still hold one).
"""

from __future__ import annotations

import ipaddress
import re
from urllib.parse import quote, urlsplit

__all__ = ["MAX_URL_CHARS", "BadUrl", "clean_url", "link_site", "safe_url"]

# Discord's limit for an embed's url (and the longest link most browsers and servers handle well).
MAX_URL_CHARS = 2_048
# Unreserved characters and the delimiters a path, query or fragment needs; everything else is
# percent-encoded. Left out on purpose: ( ) [ ] * ' | < > " ` { } \ ^ and spaces, which Markdown reads.
_SAFE = "-._~!$&+,;=:@/?%"
_LABEL = re.compile(r"(?!-)[a-z0-9-]{1,63}(?<!-)")
_LONE_PERCENT = re.compile(r"%(?![0-9A-Fa-f]{2})")
# Second-level labels under which a country's sites register (bbc.co.uk, pravda.com.ua): the
# registrable name is then the label before them. A heuristic in place of the Public Suffix List.
_SECOND_LEVEL = frozenset({"ac", "co", "com", "edu", "gov", "gv", "in", "ltd", "ne", "net", "or", "org", "plc"})


class BadUrl(ValueError):
    """A link that cannot be shown; the message says why, in words."""


def clean_url(raw: str) -> str:
    """The link made safe to place in ``[text](url)``, or BadUrl saying what is wrong with it."""
    text = raw.strip()
    if not text:
        raise BadUrl("url is empty")
    if any(c.isspace() or not c.isprintable() for c in text):
        raise BadUrl("url contains spaces or invisible characters")
    if len(text) > 4 * MAX_URL_CHARS:  # no need to parse a megabyte to refuse it
        raise BadUrl(f"url is {len(text):,} characters long (at most {MAX_URL_CHARS:,})")
    try:
        parts = urlsplit(text)
        port = parts.port
    except ValueError as err:
        raise BadUrl(f"url cannot be parsed ({err})") from None
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https"):
        raise BadUrl("url must start with http:// or https://")
    if parts.username is not None or parts.password is not None or "@" in parts.netloc:
        raise BadUrl("url must not contain a user name or password (an address before '@' hides the real site)")
    host = _ascii_host(parts.hostname or "")
    netloc = host
    if port is not None:
        netloc += f":{port}"
    path = _encode(parts.path) or "/"
    url = f"{scheme}://{netloc}{path}"
    if parts.query or text.endswith("?"):
        url += "?" + _encode(parts.query)
    if parts.fragment:
        url += "#" + _encode(parts.fragment)
    if len(url) > MAX_URL_CHARS:
        encoded = " once encoded" if len(url) > len(text) else ""
        raise BadUrl(f"url is {len(url):,} characters long{encoded} (at most {MAX_URL_CHARS:,}, Discord's limit)")
    return url


def safe_url(raw: str) -> str:
    """``clean_url`` or "" (no link) for an empty or unusable one: for rendering whatever the index holds."""
    try:
        return clean_url(raw) if raw else ""
    except BadUrl:
        return ""


def link_site(url: str) -> str:
    """The site a link leads to, as a reader should see it: 'evil.example' for https://reuters.com.evil.example/x.

    The registrable name (the label before the public suffix) with its suffix, ASCII only;
    "" when the link is unusable.
    """
    clean = safe_url(url)
    if not clean:
        return ""
    host = urlsplit(clean).hostname or ""
    if _is_ip(host):
        return host  # an address is its own site: it names no outlet
    labels = host.split(".")
    keep = 3 if len(labels) >= 3 and labels[-2] in _SECOND_LEVEL and len(labels[-1]) == 2 else 2
    return ".".join(labels[-keep:])


def _ascii_host(host: str) -> str:
    """The host name as checked ASCII (IDNA for other scripts); BadUrl when it is not a real host."""
    host = host.rstrip(".")
    if not host:
        raise BadUrl("url has no host name")
    if _is_ip(host):
        address = ipaddress.ip_address(host)
        if address.version == 6:
            raise BadUrl("url must name a site or an IPv4 address, not an IPv6 address (its brackets break links)")
        return str(address)
    try:
        ascii_host = host.encode("idna").decode("ascii").lower()
    except UnicodeError:
        raise BadUrl(f"url has an invalid host name ({host[:80]!r})") from None
    labels = ascii_host.split(".")
    if len(labels) < 2 or not all(_LABEL.fullmatch(label) for label in labels) or len(ascii_host) > 253:
        raise BadUrl(f"url has an invalid host name ({host[:80]!r})")
    if labels[-1].isdigit():
        raise BadUrl(f"url has an invalid host name ({host[:80]!r})")
    return ascii_host


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def _encode(part: str) -> str:
    """Percent-encode what Markdown or a URL parser would misread; keep valid %XX escapes as they are."""
    return quote(_LONE_PERCENT.sub("%25", part), safe=_SAFE)
