"""Where a passage comes from, and how much of that the bot can vouch for: one function every face uses.

An article's front matter names its outlet (``source: Reuters``), but whoever wrote the file
chose that name; only its link says where the text can be checked. So the outlet is shown as
*verified* only when the link leads to that outlet's own site: the site of a well-known outlet
must be one of its real domains (reuters.com, never reuters.xyz); for any other outlet, the
site's registrable name must spell the outlet's name (bosphorusdaily.com for "Bosphorus Daily").
Otherwise the outlet is shown with the site the link really leads to, or as unverified when
there is no link, so the bot never lends its voice to a claim it cannot check. Dates, authors
and titles are shown as the article states them: nothing checks those.

``attribute(info)`` returns the pieces, and ``Attribution.citation()`` arranges them as a news
citation ("Tom Balmforth · Reuters, 17 May 2025"), the one form every face shows: what is not known
is said plainly ("Unattributed source, no date"), never guessed.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from dataclasses import dataclass

from index import DocumentInfo, link_site, safe_url

__all__ = ["KNOWN_OUTLET_SITES", "Attribution", "attribute", "date_in_words"]

UNKNOWN_OUTLET = "unknown"
NO_DATE = "no date"
# Spelled out here, not by strftime("%B"): a locale set by the host must not change what the bot writes.
_MONTHS = (
    "January", "February", "March", "April", "May", "June",
    "July", "August", "September", "October", "November", "December",
)  # fmt: skip

# Outlets that report on the talks and are worth impersonating: their own sites, and only those.
# Keys are outlet names as _squash() spells them (lower case, letters and digits, no leading "the").
KNOWN_OUTLET_SITES: dict[str, frozenset[str]] = {
    name: frozenset(sites)
    for names, sites in (
        (("reuters", "thomsonreuters"), ("reuters.com",)),
        (("associatedpress", "ap", "apnews"), ("apnews.com", "ap.org")),
        (("agencefrancepresse", "afp"), ("afp.com",)),
        (("bbc", "bbcnews", "bbcnewsrussian", "bbcnewsukrainian"), ("bbc.co.uk", "bbc.com")),
        (("guardian",), ("theguardian.com",)),
        (("newyorktimes", "nyt", "nytimes"), ("nytimes.com",)),
        (("washingtonpost",), ("washingtonpost.com",)),
        (("wallstreetjournal", "wsj"), ("wsj.com",)),
        (("financialtimes", "ft"), ("ft.com",)),
        (("bloomberg",), ("bloomberg.com",)),
        (("economist",), ("economist.com",)),
        (("cnn",), ("cnn.com",)),
        (("politico", "politicoeurope"), ("politico.com", "politico.eu")),
        (("aljazeera",), ("aljazeera.com", "aljazeera.net")),
        (("euronews",), ("euronews.com",)),
        (("deutschewelle", "dw"), ("dw.com",)),
        (("radiofreeeuroperadioliberty", "rferl", "radiofreeeurope", "radioliberty"), ("rferl.org",)),
        (("kyivindependent",), ("kyivindependent.com",)),
        (("kyivpost",), ("kyivpost.com",)),
        (("ukrainskapravda",), ("pravda.com.ua",)),
        (("ukrinform",), ("ukrinform.net", "ukrinform.ua")),
        (("interfaxukraine",), ("interfax.com.ua",)),
        (("interfax",), ("interfax.ru", "interfax.com")),
        (("tass",), ("tass.com", "tass.ru")),
        (("rianovosti", "ria"), ("ria.ru",)),
        (("meduza",), ("meduza.io",)),
        (("anadoluagency", "anadolu"), ("aa.com.tr",)),
        (("dailysabah",), ("dailysabah.com",)),
        (("hurriyetdailynews",), ("hurriyetdailynews.com",)),
    )
    for name in names
}


@dataclass(frozen=True, slots=True)
class Attribution:
    """The pieces of a source line, ready to arrange: what the article claims and what its link confirms."""

    title: str
    outlet: str  # as the article names it; "unknown" when it names none
    outlet_verified: bool  # the link leads to the outlet's own site
    site: str  # the site the link leads to ("evil.example"); "" without a usable link
    url: str  # the link, safe to place in Markdown; "" when there is none or it is unusable
    author: str
    published: dt.date | None

    @property
    def date(self) -> str:
        """The publication date in words ("17 May 2025"), or 'no date'."""
        return date_in_words(self.published) if self.published else NO_DATE

    @property
    def outlet_label(self) -> str:
        """'Reuters' when the link confirms it; otherwise with the link's real site, or '(unverified)'.

        An article naming no outlet is an 'Unattributed source' (with the site its link leads to, if any).
        """
        if self.outlet == UNKNOWN_OUTLET:
            return f"Unattributed source (link to {self.site})" if self.site else "Unattributed source"
        if self.outlet_verified:
            return self.outlet
        if self.site:
            return f"{self.outlet} (unverified; link to {self.site})"
        return f"{self.outlet} (unverified)"

    def citation(self) -> str:
        """'Tom Balmforth · Reuters, 17 May 2025': who wrote it, for which outlet, when; unknowns said plainly.

        The byline is set off with a middle dot, not a comma, because bylines often hold commas themselves
        ("Olena Kovalenko, Mark Ellis"). Nothing known at all reads "Unattributed source, no date".
        """
        outlet = self.outlet_label
        if not self.author:
            return f"{outlet}, {self.date}"
        if self.outlet == UNKNOWN_OUTLET:
            outlet = "no outlet named" + outlet.removeprefix("Unattributed source")
        return f"{self.author} · {outlet}, {self.date}"


def date_in_words(day: dt.date) -> str:
    """'17 May 2025': a calendar date as a reader writes it (no time zone can shift it, unlike a timestamp)."""
    return f"{day.day} {_MONTHS[day.month - 1]} {day.year}"


def attribute(info: DocumentInfo) -> Attribution:
    """The attribution of one article: the outlet verified against its link's site, the link made safe."""
    url = safe_url(info.url)
    site = link_site(url)
    # "unknown" is how a file says it names no outlet (DESIGN.md); any spelling of it, or nothing, is the same.
    outlet = UNKNOWN_OUTLET if info.source.strip().casefold() in ("", UNKNOWN_OUTLET) else info.source
    return Attribution(
        title=info.title,
        outlet=outlet,
        outlet_verified=bool(site) and outlet != UNKNOWN_OUTLET and _site_belongs_to(site, outlet),
        site=site,
        url=url,
        author=info.author,
        published=info.published,
    )


def _squash(name: str) -> str:
    """'The Kyiv Independent' -> 'kyivindependent': how outlet names and site names are compared."""
    text = unicodedata.normalize("NFKC", name).casefold()
    text = re.sub(r"^the\b", "", text.strip())
    return "".join(c for c in text if c.isalnum())


def _site_belongs_to(site: str, outlet: str) -> bool:
    """True when ``site`` (a registrable domain) is the outlet's own."""
    name = _squash(outlet)
    if not name:
        return False
    known = KNOWN_OUTLET_SITES.get(name)
    if known is not None:
        return site in known
    label = site.split(".")[0]
    return _squash(label) in (name, "the" + name)
