"""Fetching links safely: the address rule whatever the spelling, redirects, rebinding, limits, hostile servers."""

from __future__ import annotations

import pytest
from web_server import ARTICLE, FakeDNS, LocalSite, RoutingConnector

from index.web import Fetcher, FetchFailed, FetchLimits, UrlRefused, check_url
from index.web.addresses import address_problem
from index.web.body import Decompressor, decode_text

PUBLIC = "93.184.216.34"  # a global unicast address; the routing connector sends it to the local site


@pytest.fixture(scope="module")
def site():
    """The local test site on 127.0.0.1."""
    with LocalSite() as running:
        yield running


@pytest.fixture
def local(site):
    """A fetcher allowed to reach the local site (ALLOW_PRIVATE_URLS=1), with short limits."""
    return Fetcher(allow_private=True, limits=FetchLimits(connect_seconds=2, total_seconds=3, max_bytes=1024 * 1024))


def public_fetcher(site: LocalSite, table: dict | None = None, **limits) -> tuple[Fetcher, FakeDNS, RoutingConnector]:
    """A fetcher under the address rule whose DNS says news.example is public, connected to the local site."""
    dns = FakeDNS(table or {"news.example": [PUBLIC]})
    connector = RoutingConnector(site.port)
    fetcher = Fetcher(
        allow_private=False,
        resolver=dns,
        connector=connector,
        limits=FetchLimits(connect_seconds=2, total_seconds=limits.get("total", 3), max_bytes=1024 * 1024),
    )
    return fetcher, dns, connector


# --------------------------------------------------------------------------- the address rule, every spelling


@pytest.mark.parametrize(
    ("url", "why"),
    [
        ("http://127.0.0.1/", "loopback"),
        ("http://localhost:8080/", "names this machine"),
        ("http://LOCALHOST./admin", "names this machine"),
        ("http://api.localhost/", "names this machine"),
        ("http://2130706433/", "loopback"),  # decimal
        ("http://0177.0.0.1/", "loopback"),  # octal
        ("http://0x7f.0.0.1/", "loopback"),  # hex
        ("http://0x7f000001/", "loopback"),  # one hex number
        ("http://127.1/", "loopback"),  # short form
        ("http://[::1]/", "loopback"),
        ("http://[::ffff:127.0.0.1]/", "IPv4-mapped"),
        ("http://[::ffff:7f00:1]/", "IPv4-mapped"),
        ("http://0.0.0.0:22/", "unspecified"),
        ("http://0/", "unspecified"),
        ("http://10.0.0.5/", "private"),
        ("http://172.16.3.4/", "private"),
        ("http://192.168.1.1/router", "private"),
        ("http://169.254.169.254/latest/meta-data/", "link-local"),  # cloud metadata
        ("http://[fe80::1]/", "link-local"),
        ("http://[fd00::1]/", "private"),  # unique-local
        ("http://100.64.0.1/", "not a public address"),  # carrier-grade NAT
        ("http://224.0.0.1/", "multicast"),
        ("http://[2002:7f00:1::]/", "embeds 127.0.0.1"),  # 6to4
        ("http://[64:ff9b::a00:1]/", "embeds 10.0.0.1"),  # NAT64
        ("http://240.0.0.1/", "reserved"),
    ],
)
def test_an_address_on_the_hosts_network_is_refused_whatever_its_spelling(url, why):
    """Each spelling resolves to the address it means, and that address is refused with a one-line reason."""
    with pytest.raises(UrlRefused) as refused:
        Fetcher(allow_private=False).fetch(url)
    message = str(refused.value)
    assert why in message and "\n" not in message
    if why != "names this machine":
        assert "ALLOW_PRIVATE_URLS=1" in message


@pytest.mark.parametrize(
    ("url", "why"),
    [
        ("file:///etc/passwd", "file: link"),
        ("ftp://example.com/feed.xml", "ftp: link"),
        ("javascript:alert(1)", "javascript: link"),
        ("data:text/html,<p>hi</p>", "data: link"),
        ("gopher://127.0.0.1:25/", "gopher: link"),
        ("http://user:pass@example.com/", "user name or password"),
        ("http://example.com@127.0.0.1/", "user name or password"),
        ("http:///nohost", "no host name"),
        ("http://exa mple.com/", "spaces or control characters"),
        ("http://example.com:99999/", "not a valid URL"),
        ("http://[fe80::1%25eth0]/", "zone"),
        ("//example.com/path", "not a web link"),
        ("", "empty"),
    ],
)
def test_a_link_of_the_wrong_form_is_refused_before_anything_is_sent(url, why):
    """Only http(s), no credentials, a host: anything else is refused with its reason, no DNS, no connection."""
    dns = FakeDNS({})
    with pytest.raises(UrlRefused, match=why):
        Fetcher(resolver=dns).fetch(url)
    assert dns.lookups == []


def test_a_name_that_resolves_to_a_private_address_is_refused_after_dns():
    """A public-looking name whose DNS record is 10.0.0.7 is refused, naming both; nothing is connected."""
    dns = FakeDNS({"intranet.example": ["10.0.0.7"]})
    connections: list = []
    fetcher = Fetcher(resolver=dns, connector=lambda a, t: connections.append(a))
    with pytest.raises(UrlRefused, match=r"intranet\.example resolves to 10\.0\.0\.7, a private address"):
        fetcher.fetch("https://intranet.example/wiki")
    assert connections == []


def test_a_name_with_one_private_address_among_public_ones_is_refused():
    """Every address a name resolves to must be allowed, not just the first."""
    dns = FakeDNS({"mixed.example": [PUBLIC, "127.0.0.1"]})
    with pytest.raises(UrlRefused, match=r"127\.0\.0\.1, a loopback address"):
        Fetcher(resolver=dns, connector=lambda a, t: None).fetch("http://mixed.example/")


def test_the_connection_goes_to_the_address_checked_not_a_second_dns_answer(site):
    """DNS rebinding: the name answers public, then loopback; the fetcher looks up once and connects to the first."""
    fetcher, dns, connector = public_fetcher(site, {"news.example": [[PUBLIC], ["127.0.0.1"]]})
    fetched = fetcher.fetch(f"http://news.example{ARTICLE}")
    assert fetched.status == 200 and b"prisoner" in fetched.body
    assert dns.lookups == ["news.example"]
    assert connector.addresses == [(PUBLIC, 80)]


@pytest.mark.parametrize(
    "target",
    ["http://127.0.0.1:{port}/news/index.html", "http://[::1]/", "http://2130706433/", "http://169.254.169.254/"],
)
def test_a_redirect_to_the_hosts_network_is_refused(site, target):
    """A public page redirecting to a loopback, link-local or decimal-spelled address: refused at that hop."""
    fetcher, _dns, connector = public_fetcher(site)
    to = target.format(port=site.port)
    with pytest.raises(UrlRefused, match=r"loopback|link-local"):
        fetcher.fetch(f"http://news.example/hostile/redirect?to={to}")
    assert len(connector.addresses) == 1  # the first hop only


def test_a_redirect_to_another_scheme_is_refused(site):
    """A redirect to file:// or ftp:// is refused like a link of that scheme."""
    fetcher, *_ = public_fetcher(site)
    with pytest.raises(UrlRefused, match="file: link"):
        fetcher.fetch("http://news.example/hostile/redirect?to=file:///etc/passwd")


def test_allow_private_urls_lifts_the_rule_but_not_for_link_local():
    """ALLOW_PRIVATE_URLS: loopback and private ranges allowed; the metadata address and multicast still refused."""
    assert address_problem("127.0.0.1", allow_private=True) is None
    assert address_problem("10.1.2.3", allow_private=True) is None
    assert address_problem("::ffff:192.168.0.1", allow_private=True) is None
    assert "link-local" in address_problem("169.254.169.254", allow_private=True)
    assert "multicast" in address_problem("239.1.1.1", allow_private=True)
    assert address_problem(PUBLIC) is None and address_problem("2606:4700::1111") is None


# --------------------------------------------------------------------------- redirects and limits


def test_up_to_five_redirects_are_followed_and_the_sixth_is_refused(site, local):
    """A chain of 5 redirects reaches the article; 6 is 'redirects more than 5 times'; a loop stops too."""
    fetched = local.fetch(site.url("/hostile/chain/5"))
    assert fetched.status == 200 and len(fetched.redirects) == 5 and fetched.final_url.endswith(ARTICLE)
    with pytest.raises(FetchFailed, match="redirects more than 5 times"):
        local.fetch(site.url("/hostile/chain/6"))
    with pytest.raises(FetchFailed, match="redirects more than 5 times"):
        local.fetch(site.url("/hostile/redirect-loop"))
    with pytest.raises(FetchFailed, match="without saying where"):
        local.fetch(site.url("/hostile/redirect-nowhere"))


def test_a_gzip_bomb_is_cut_off_at_the_cap(site, local):
    """130 KB of gzip that would expand to 128 MiB: refused as larger than the cap (1 MiB here)."""
    with pytest.raises(FetchFailed, match="larger than 1 MiB"):
        local.fetch(site.url("/hostile/gzip-bomb"))


def test_a_gzipped_page_is_read(site, local):
    """Compression itself is fine: the page arrives decompressed."""
    assert b"Dolmabah" in local.fetch(site.url("/hostile/gzip-page")).body


@pytest.mark.parametrize(
    ("path", "reason"),
    [
        ("/hostile/huge-length", "at most 1 MiB"),
        ("/hostile/endless", "larger than 1 MiB"),
        ("/hostile/image", "image/png, not an HTML page"),
        ("/hostile/pdf", "application/pdf, not an HTML page"),
        ("/hostile/json", "application/json, not an HTML page"),
        ("/hostile/no-type-binary", "does not look like HTML"),
        ("/hostile/brotli", "compressed as 'br'"),
        ("/hostile/double-gzip", "compressed more than once"),
        ("/hostile/bad-gzip", "damaged"),
        ("/hostile/404", "answered 404"),
        ("/hostile/many-headers", "did not answer with valid HTTP"),
        ("/hostile/not-http", "did not answer with valid HTTP"),
        ("/hostile/truncated", "cut off"),
    ],
)
def test_a_hostile_answer_fails_with_its_reason(site, local, path, reason):
    """Each hostile answer is one FetchFailed sentence naming the problem."""
    with pytest.raises(FetchFailed, match=reason) as failed:
        local.fetch(site.url(path))
    assert "\n" not in str(failed.value)


def test_a_busy_server_is_a_transient_failure_and_a_missing_page_is_not(site, local):
    """503 may pass (a poller tries again); 404 will not."""
    with pytest.raises(FetchFailed) as busy:
        local.fetch(site.url("/hostile/503"))
    with pytest.raises(FetchFailed) as gone:
        local.fetch(site.url("/hostile/404"))
    assert busy.value.transient and not gone.value.transient


@pytest.mark.parametrize("path", ["/hostile/drip", "/hostile/drip-headers"])
def test_a_server_dripping_bytes_is_cut_at_the_total_time_limit(site, local, path):
    """One byte every 0.2 s in the body or the headers: given up at the total limit (3 s), not hours later."""
    with pytest.raises(FetchFailed, match="took longer than 3 s"):
        local.fetch(site.url(path))


def test_a_closed_port_is_a_transient_connection_failure():
    """Nothing listening: 'could not connect', which a poller tries again later."""
    fetcher = Fetcher(allow_private=True, limits=FetchLimits(connect_seconds=1, total_seconds=2))
    with pytest.raises(FetchFailed, match="Could not connect") as failed:
        fetcher.fetch("http://127.0.0.1:9/")
    assert failed.value.transient


def test_an_unknown_host_name_says_it_does_not_resolve():
    """A name DNS does not know: one sentence, not a socket error."""
    with pytest.raises(FetchFailed, match="does not resolve"):
        Fetcher(resolver=FakeDNS({})).fetch("https://no-such-host.example/")


# --------------------------------------------------------------------------- charsets


@pytest.mark.parametrize(
    ("data", "header", "expected", "encoding"),
    [
        ("Київ".encode("cp1251"), "windows-1251", "Київ", "cp1251"),
        ('<meta charset="windows-1251">Київ'.encode("cp1251"), None, "Київ", "cp1251"),
        (
            b'<meta http-equiv="Content-Type" content="text/html; charset=koi8-r">' + "Мир".encode("koi8_r"),
            None,
            "Мир",
            "koi8_r",
        ),
        ("café".encode("latin-1"), "iso-8859-1", "café", "cp1252"),  # WHATWG: latin-1 means windows-1252
        ("“quotes”".encode("cp1252"), None, "“quotes”", "cp1252"),  # not UTF-8, no label: the legacy default
        ("naïve".encode(), None, "naïve", "utf-8"),
        ("\ufeffBOM wins".encode(), "iso-8859-1", "BOM wins", "utf-8"),
        (b"x", "no-such-charset", "x", "utf-8"),  # an unknown label is ignored
        (b'<meta charset="utf-16">plain', None, "plain", "utf-8"),  # utf-16 inside the page means utf-8
        (
            b'<?xml version="1.0" encoding="ISO-8859-7"?><t>' + "Αθήνα".encode("iso8859_7") + b"</t>",
            None,
            "Αθήνα",
            "iso8859-7",
        ),
    ],
)
def test_text_is_decoded_from_bom_header_meta_then_utf8_then_windows_1252(data, header, expected, encoding):
    """The charset comes from the BOM, the header, the page's own declaration, or a safe fallback."""
    text, used = decode_text(data, header)
    assert expected in text and used.replace("_", "-") == encoding.replace("_", "-")


def test_the_decompressor_never_produces_more_than_its_limit():
    """Even one chunk that inflates enormously yields at most limit + 1 bytes before refusing."""
    import zlib

    packer = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    bomb = packer.compress(b"\0" * (50 * 1024 * 1024)) + packer.flush()
    decoder = Decompressor("gzip", 1000, "the page")
    with pytest.raises(FetchFailed, match="larger than"):
        decoder.feed(bomb)
    assert decoder.total <= 1001


def test_check_url_keeps_the_path_and_query_and_drops_the_fragment():
    """What is requested is the link as given, without its #fragment; non-ASCII paths are percent-encoded."""
    target = check_url("https://News.Example/a%20b/ü?q=1&r=é#part")
    assert target.host == "news.example" and target.port == 443
    assert target.path == "/a%20b/%C3%BC?q=1&r=%C3%A9" and "#" not in target.url
