"""Extracting articles from the page shapes news sites use: attribution only as stated, paragraphs as shown."""

from __future__ import annotations

import datetime as dt

import pytest
from web_server import SITE

from index import parse_article
from index.web import NotAnArticle
from index.web.articles import article_file_name, article_markdown
from index.web.body import decode_text
from index.web.extract import extract_article

BASE = "http://news.example"
BOILERPLATE = (
    "cookie",
    "Accept all",
    "Share on",
    "Copy link",
    "Photo:",
    "Delegations arrive at the Dolmabahçe Palace",  # a caption
    "Related",
    "Who is Vladimir Medinsky?",  # a related link
    "newsletter",
    "Sign up",
    "Most read",
    "Galatasaray",
    "All rights reserved",
    "Privacy policy",
    "Advertisement",
    "Subscribe",
    "Comments",
    "Nothing will come of this",  # a reader's comment
)


def extract(name: str, header_charset: str | None = None):
    """Extract a page of tests/web/site as if fetched from news.example."""
    text, _ = decode_text((SITE / "news" / name).read_bytes(), header_charset)
    return extract_article(text, url=f"{BASE}/news/{name}")


def no_boilerplate(paragraphs) -> None:
    body = "\n".join(paragraphs)
    found = [b for b in BOILERPLATE if b.lower() in body.lower()]
    assert found == [], found


def test_json_ld_news_article_gives_every_field_and_the_paragraphs_verbatim():
    """JSON-LD NewsArticle: headline, publisher, author, datePublished (as written), canonical; entities decoded."""
    article = extract("prisoner-exchange-jsonld.html")
    assert article.title == "Russia and Ukraine agree 1,000-for-1,000 prisoner exchange in Istanbul"
    assert (article.source, article.author, article.published) == ("Marmara Herald", "Ayşe Demir", dt.date(2025, 5, 16))
    assert article.url == "https://www.marmaraherald.example/world/2025/05/16/prisoner-exchange-istanbul"
    assert article.paragraphs == (
        "Russian and Ukrainian negotiators meeting in Istanbul on Friday agreed to exchange 1,000 prisoners of war "
        "each, the largest swap since the full-scale invasion began, but failed to agree on a ceasefire.",
        "The talks at the Dolmabahçe Palace lasted less than two hours and were the first direct contacts between "
        "the two delegations since the spring of 2022. Turkish Foreign Minister Hakan Fidan opened the meeting and "
        "urged both sides to “seize this window” for peace.",
        "Ukraine’s defence minister Rustem Umerov, who led Kyiv’s delegation, told reporters that the exchange would "
        "take place “in the near future” and that the two sides had also discussed a possible meeting between the "
        "presidents.",
        "## No agreement on a truce",
        'Vladimir Medinsky, the Kremlin aide heading the Russian team, said Moscow was "satisfied" with the outcome '
        "& ready to continue contacts. Each side would present its vision of a future ceasefire in detail, he added.",
        "A Ukrainian source said the Russian side had put forward demands that were “non-starters”, including the "
        "withdrawal of Ukrainian troops from territory Kyiv still controls.",
        "European leaders meeting in Tirana on Friday accused Moscow of stalling and said they would coordinate new "
        "sanctions with Washington if Russia did not accept an unconditional 30-day ceasefire.",
    )
    no_boilerplate(article.paragraphs)


def test_opengraph_only_page_keeps_an_author_url_out_of_the_author_field():
    """og:site_name, article:published_time and og:url are used; article:author holding a URL is not a name."""
    article = extract("opengraph-only.html")
    assert article.title == "Second round in Istanbul ends with memorandums but no truce"
    assert (article.source, article.author, article.published) == ("Kyiv Ledger", "", dt.date(2025, 6, 2))
    assert article.url == "https://kyivledger.example/politics/second-round-memorandums"
    assert article.paragraphs[0].startswith("The second round of direct talks between Russia and Ukraine")
    assert article.paragraphs[-1].endswith("another round could follow, but no date was set.")
    assert len(article.paragraphs) == 5
    no_boilerplate(article.paragraphs)


def test_a_byline_and_a_date_only_in_the_text_become_author_and_date_not_paragraphs():
    """No metadata at all: 'By X and Y' and 'June 3, 2025' opening the article are its author and date."""
    article = extract("byline-in-text.html")
    assert article.author == "Olena Kovalenko, Mark Ellis" and article.published == dt.date(2025, 6, 3)
    assert article.source == ""  # the page names no outlet; the host name is not one
    assert article.paragraphs[0].startswith("Turkish President Tayyip Erdogan said on Tuesday")
    assert not any(p.startswith(("By ", "June 3")) for p in article.paragraphs)
    assert '"Our greatest wish is to bring Mr. Putin and Mr. Zelensky together' in article.paragraphs[1]


def test_an_amp_page_points_at_its_canonical_article():
    """AMP: amp-img, amp-ad and share buttons are left out; the url is the canonical (non-AMP) address."""
    article = extract("amp-humanitarian.html")
    assert article.url == f"{BASE}/news/humanitarian-canonical.html" and article.canonical == article.url
    assert (article.source, article.author, article.published) == (
        "The Continental Review",
        "Daniel Hart",
        dt.date(2025, 6, 3),
    )
    assert len(article.paragraphs) == 3 and article.paragraphs[1].startswith("Ukraine's delegation said")
    canonical = extract("humanitarian-canonical.html")
    assert canonical.paragraphs == article.paragraphs  # the same article, read from both pages alike


def test_a_live_blog_is_titled_by_the_blog_not_by_its_latest_update():
    """LiveBlogPosting: the blog's headline (trafilatura alone takes an update's), entries as headed paragraphs."""
    article = extract("liveblog.html")
    assert article.title == "Live: Russia-Ukraine talks resume in Istanbul"
    assert article.source == "Danube Wire" and article.published == dt.date(2025, 6, 2)
    assert article.author == ""  # the JSON-LD author is an organisation ("Danube Wire staff"), not a person
    assert "## Delegations leave the palace" in article.paragraphs
    assert "Russia has said it will present its own memorandum at the meeting." in article.paragraphs
    assert not any("Load more" in p or "Share this post" in p for p in article.paragraphs)


def test_a_paywall_teaser_keeps_only_the_free_paragraphs_and_says_it_is_paywalled():
    """isAccessibleForFree false: the teaser paragraphs, no subscription prompt; the file notes the paywall."""
    article = extract("paywall-teaser.html")
    assert article.paywalled and len(article.paragraphs) == 2
    assert article.author == "Claire Dubois" and article.published == dt.date(2025, 6, 4)
    no_boilerplate(article.paragraphs)
    assert "paywall" in article_markdown(article, origin="x", added=dt.date(2025, 6, 5))


def test_a_page_that_is_not_an_article_is_refused_with_a_reason():
    """A section front (headlines and links only) is not an article: NotAnArticle, one sentence."""
    with pytest.raises(NotAnArticle, match="does not look like an article"):
        extract("index.html")


def test_a_windows_1251_page_declared_only_in_meta_is_read_correctly():
    """No charset in the header: the <meta http-equiv> one is used; Cyrillic text and metadata come out right."""
    article = extract("cp1251-meta.html")
    assert article.title == "Делегації обмінялися меморандумами у Стамбулі"
    assert (article.source, article.author) == ("Дніпровський вісник", "Ірина Шевчук")
    assert (
        article.paragraphs[-1]
        == "Туреччина запропонувала провести наступну зустріч на рівні лідерів «у Стамбулі або Анкарі»."
    )


def test_a_latin_1_page_declared_in_the_header_is_read_correctly():
    """charset=iso-8859-1 in Content-Type only: accents and guillemets decoded."""
    article = extract("latin1-header.html", "iso-8859-1")
    assert article.title == "À Istanbul, un échange de prisonniers mais pas de trêve"
    assert "« inacceptable »" in article.paragraphs[1] and article.author == "Hélène Marchand"


def test_a_date_only_in_the_url_is_not_used():
    """/news/2025/06/05/...: the page states no date, so published stays empty (trafilatura alone would guess)."""
    article = extract("2025/06/05/undated.html")
    assert article.published is None and article.source == "Danube Wire" and article.author == ""


def test_a_feed_given_as_a_page_is_refused():
    """An RSS document is not an article: the refusal says to poll it instead."""
    rss = '<?xml version="1.0"?><rss version="2.0"><channel><title>x</title></channel></rss>'
    with pytest.raises(NotAnArticle, match="news feed"):
        extract_article(rss, url=BASE)


@pytest.mark.parametrize(
    "name",
    [
        "prisoner-exchange-jsonld.html",
        "opengraph-only.html",
        "byline-in-text.html",
        "amp-humanitarian.html",
        "liveblog.html",
        "paywall-teaser.html",
        "cp1251-meta.html",
        "2025/06/05/undated.html",
    ],
)
def test_the_saved_file_reads_back_as_the_same_article(name):
    """The Markdown written for a page loads with the documents loader: same title, attribution and text."""
    article = extract(name)
    markdown = article_markdown(article, origin=f"{BASE}/news/{name}", added=dt.date(2025, 7, 1))
    document = parse_article(markdown.encode("utf-8"), doc_id="x.md")
    info = document.info
    assert info.title == article.title and info.author == article.author and info.url == article.url
    assert info.published == article.published and info.source == (article.source or "unknown")
    assert document.body == "\n".join(article.paragraphs) + "\n"
    file_name = article_file_name(article, set())
    assert file_name.endswith(".md") and len(file_name) <= 93 and "/" not in file_name
    assert file_name.startswith(article.published.isoformat() if article.published else "undated")


def test_a_file_name_never_repeats_one_already_taken():
    """Two articles with the same date, outlet and title get -2, -3 names."""
    article = extract("opengraph-only.html")
    first = article_file_name(article, set())
    second = article_file_name(article, {first.lower()})
    assert second == first.removesuffix(".md") + "-2.md"


PROSE = (
    "<p>Russian and Ukrainian negotiators met again in Istanbul on Monday and agreed to exchange more prisoners, "
    "officials from both delegations told reporters after the session at the Ciragan Palace.</p>"
    "<p>The talks lasted a little over an hour and ended without agreement on a ceasefire, as both sides "
    "restated positions that remain far apart on territory and on security guarantees for Kyiv.</p>"
)


def test_an_xhtml_page_with_an_xml_declaration_is_read():
    """XHTML served with <?xml ... encoding?> first: read like any page (lxml refuses the declaration on text)."""
    page = (
        '<?xml version="1.0" encoding="utf-8"?>\n<!DOCTYPE html PUBLIC "-//W3C//DTD XHTML 1.0 Strict//EN" '
        '"http://www.w3.org/TR/xhtml1/DTD/xhtml1-strict.dtd"><html xmlns="http://www.w3.org/1999/xhtml"><head>'
        '<title>Talks resume</title><meta property="og:site_name" content="XHTML Post"/></head>'
        f"<body><article><h1>Talks resume</h1>{PROSE}</article></body></html>"
    )
    article = extract_article(page, url=BASE)
    assert article.title == "Talks resume" and article.source == "XHTML Post" and len(article.paragraphs) == 2


def test_todays_date_in_the_site_header_is_not_the_publication_date():
    """A <time> in the site's own header (outside the article) is today's date, not when the article appeared."""
    page = (
        '<html><head><title>Talks resume</title></head><body><header class="masthead"><time datetime="2026-11-30">'
        f"Monday</time></header><article><h1>Talks resume</h1>{PROSE}</article></body></html>"
    )
    assert extract_article(page, url=BASE).published is None


def test_a_date_in_the_articles_own_header_or_a_written_out_json_ld_date_is_used():
    """<article><header><time datetime> is the article's date; JSON-LD 'June 2, 2025' is read too."""
    in_header = (
        "<html><head><title>Talks resume</title></head><body><article><header><h1>Talks resume</h1>"
        f'<time datetime="2025-06-02T10:00:00+03:00">2 June</time></header>{PROSE}</article></body></html>'
    )
    assert extract_article(in_header, url=BASE).published == dt.date(2025, 6, 2)
    written = (
        '<html><head><title>Talks resume</title><script type="application/ld+json">{"@type": "NewsArticle", '
        '"headline": "Talks resume", "datePublished": "June 2, 2025"}</script></head>'
        f"<body><article><h1>Talks resume</h1>{PROSE}</article></body></html>"
    )
    assert extract_article(written, url=BASE).published == dt.date(2025, 6, 2)


def test_json_ld_graph_references_to_the_author_and_publisher_are_followed():
    """A WordPress/Yoast @graph gives author and publisher as {"@id": ...}: the named objects are read."""
    graph = (
        '{"@context": "https://schema.org", "@graph": ['
        '{"@type": "Organization", "@id": "https://p.example/#org", "name": "Pontic Post"},'
        '{"@type": "Person", "@id": "https://p.example/#/person/7", "name": "Irina Volkova"},'
        '{"@type": "WebPage", "@id": "https://p.example/talks/"},'
        '{"@type": "NewsArticle", "headline": "Talks resume", "datePublished": "2025-06-02T09:00:00+00:00",'
        ' "author": {"@id": "https://p.example/#/person/7"}, "publisher": {"@id": "https://p.example/#org"}}]}'
    )
    page = (
        f'<html><head><title>Talks resume</title><script type="application/ld+json">{graph}</script></head>'
        f"<body><article><h1>Talks resume</h1>{PROSE}</article></body></html>"
    )
    article = extract_article(page, url=BASE)
    assert (article.author, article.source, article.published) == ("Irina Volkova", "Pontic Post", dt.date(2025, 6, 2))
