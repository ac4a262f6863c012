"""When two articles are the same: the same address (in any of its usual spellings) or the same text.

``url_key`` folds what differs between two links to one page without changing the page: the
scheme (http/https), a ``www.`` prefix, letter case in the host, a default port, a fragment, a
trailing slash, tracking parameters (``utm_*``, ``fbclid``, ...) and the order of the others.
``text_key`` folds white space and letter case, so the same article saved twice with other line
breaks is still the same text.
"""

from __future__ import annotations

import hashlib
import unicodedata
import urllib.parse

__all__ = ["text_key", "url_key"]

_TRACKING = frozenset({"fbclid", "gclid", "dclid", "msclkid", "mc_cid", "mc_eid", "ocid", "cmpid", "smid", "ref"})


def url_key(url: str) -> str:
    """A link reduced to what identifies the page ('' for something that is not an http(s) link)."""
    try:
        parts = urllib.parse.urlsplit(url.strip())
        port = parts.port
    except ValueError:
        return ""
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        return ""
    host = parts.hostname.lower().rstrip(".").removeprefix("www.")
    if port not in (None, 80, 443):
        host = f"{host}:{port}"
    path = urllib.parse.unquote(parts.path or "/")
    if len(path) > 1:
        path = path.rstrip("/")
    query = sorted(
        (k, v)
        for k, v in urllib.parse.parse_qsl(parts.query, keep_blank_values=True)
        if not k.lower().startswith("utm_") and k.lower() not in _TRACKING
    )
    return f"{host}{path}" + (f"?{urllib.parse.urlencode(query)}" if query else "")


def text_key(text: str) -> str:
    """A fingerprint of an article's text that ignores white space and letter case."""
    folded = " ".join(unicodedata.normalize("NFC", text).casefold().split())
    return hashlib.sha256(folded.encode("utf-8")).hexdigest()
