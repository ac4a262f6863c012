"""`talksbot add` and `talksbot poll` through the real CLI, against pages and feeds on a local 127.0.0.1 site."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time

import pytest
from web_server import LocalSite, atom, rss, wait_until

from index import IndexWriteError
from index.web import MAX_FEED_ITEMS, FeedState, link_key
from tests.conftest import DOCUMENTS
from tests.reliability_helpers import TALKSBOT, cli_env, in_process_cli

SHAPES = {
    "/news/prisoner-exchange-jsonld.html": ("Marmara Herald", "Ayşe Demir", "2025-05-16"),
    "/news/opengraph-only.html": ("Kyiv Ledger", "", "2025-06-02"),
    "/news/byline-in-text.html": ("", "Olena Kovalenko, Mark Ellis", "2025-06-03"),
    "/news/amp-humanitarian.html": ("The Continental Review", "Daniel Hart", "2025-06-03"),
    "/news/liveblog.html": ("Danube Wire", "", "2025-06-02"),
    "/news/paywall-teaser.html": ("The Continental Review", "Claire Dubois", "2025-06-04"),
    "/news/cp1251-meta.html": ("Дніпровський вісник", "Ірина Шевчук", "2025-06-02"),
    "/news/latin1-header.html": ("Le Courrier de l'Est", "Hélène Marchand", "2025-05-16"),
    "/news/2025/06/05/undated.html": ("Danube Wire", "", None),
}
ON = ["01-first-round-ends", "04-memorandum-terms", "11-bodies-exchange"]
OFF = ["02-gaza-talks-doha", "04-istanbul-tourism", "08-football"]


@pytest.fixture(scope="module")
def site():
    """The local test site on 127.0.0.1."""
    with LocalSite() as running:
        yield running


@pytest.fixture
def cli(monkeypatch, embedder, tmp_path):
    """The real CLI in this process (session model), over a copy of the seed articles; links may reach 127.0.0.1."""
    shutil.copytree(DOCUMENTS, tmp_path / "documents")
    monkeypatch.setenv("ALLOW_PRIVATE_URLS", "1")
    monkeypatch.setenv("FETCH_TIMEOUT_SECONDS", "5")
    for name in ("FEEDS", "FEED_KEYWORDS", "FEED_MIN_SIMILARITY"):
        monkeypatch.delenv(name, raising=False)
    folders = ["--documents", str(tmp_path / "documents"), "--index-dir", str(tmp_path / "index")]
    with in_process_cli(monkeypatch, embedder) as call:

        def run(command: str, *args: str, stdin: str = "") -> tuple[int, str, str]:
            return call([command, *args, *folders], stdin)

        run.documents = tmp_path / "documents"  # type: ignore[attr-defined]
        run.index = tmp_path / "index"  # type: ignore[attr-defined]
        yield run


def names(folder) -> set[str]:
    return {p.name for p in folder.iterdir()}


# --------------------------------------------------------------------------- add


def test_add_saves_every_page_shape_with_stated_attribution_and_answers_at_once(cli, site):
    """Nine page shapes and a section front in one `add --json`: nine added with the fields each page states,
    the section front failed with its reason (exit 1), and a question is answered from a new article at once."""
    links = [site.url(p) for p in SHAPES] + [site.url("/news/index.html")]
    code, out, err = cli("add", "--json", *links)
    assert code == 1, err
    result = json.loads(out)
    assert [f["source"] for f in result["failed"]] == [site.url("/news/index.html")]
    assert "does not look like an article" in result["failed"][0]["reason"]
    added = {a["title"]: a for a in result["added"]}
    assert len(added) == 9 and result["unchanged"] == [] and result["index"]["published"]
    assert {(a["source"], a["author"], a["published"]) for a in result["added"]} == set(SHAPES.values())
    jsonld = added["Russia and Ukraine agree 1,000-for-1,000 prisoner exchange in Istanbul"]
    assert jsonld["url"] == "https://www.marmaraherald.example/world/2025/05/16/prisoner-exchange-istanbul"
    assert set(jsonld) == {"path", "title", "source", "author", "published", "url"}
    saved = (cli.documents / jsonld["path"]).read_text(encoding="utf-8")
    assert "“seize this window” for peace." in saved and "Accept all cookies" not in saved
    code, out, _ = cli("ask", "--json", "How many prisoners did each side agree to swap in Istanbul?")
    answer = json.loads(out)["answer"]
    assert code == 0 and answer["document"]["source"] == "Marmara Herald" and "1,000 prisoners" in answer["quote"]


def test_the_same_link_its_canonical_or_the_same_text_again_adds_nothing(cli, site):
    """Again by link (other spelling), the AMP page then its canonical, the same text elsewhere: 'already there'."""
    site.route("/mirror/byline.html", lambda h: site.static("/news/byline-in-text.html"))
    first = [site.url("/news/byline-in-text.html"), site.url("/news/amp-humanitarian.html")]
    code, out, err = cli("add", *first)
    assert code == 0 and out.count("\nadded ") + out.startswith("added ") == 2, out + err
    before = names(cli.documents)
    hits = site.hits("/news/byline-in-text.html")
    code, out, _ = cli(
        "add",
        site.url("/news/byline-in-text.html?utm_source=newsletter#top"),  # the same link, spelled otherwise
        site.url("/news/humanitarian-canonical.html"),  # the AMP page's canonical address
        site.url("/mirror/byline.html"),  # the same text at another address
    )
    assert code == 0, out
    lines = out.strip().splitlines()
    assert [line.split(":")[0] for line in lines[:3]] == ["already there"] * 3
    assert "the same link" in lines[0] and "the same link" in lines[1] and "the same text" in lines[2]
    assert names(cli.documents) == before
    assert site.hits("/news/byline-in-text.html") == hits  # a link already there is not even fetched again


def test_overwrite_replaces_an_article_from_the_same_link(cli, site):
    """--overwrite fetches again and replaces the file in place (same name), reporting it as replaced."""
    url = site.url("/news/opengraph-only.html")
    code, out, _ = cli("add", "--json", url)
    path = json.loads(out)["added"][0]["path"]
    file = cli.documents / path
    fresh = file.read_text(encoding="utf-8")
    file.write_text(fresh.split("---\n")[0] + "---\n" + fresh.split("---\n")[1] + "---\nAn older, shorter copy.\n")
    code, out, _ = cli("add", url)
    assert code == 0 and out.startswith("already there") and "older" in file.read_text(encoding="utf-8")
    code, out, _ = cli("add", "--overwrite", url)
    assert code == 0 and "(replaced)" in out and names(cli.documents) == names(DOCUMENTS) | {path}
    assert file.read_text(encoding="utf-8") == fresh


def test_local_markdown_text_and_html_files_are_added_and_bad_ones_fail_with_a_reason(cli, tmp_path):
    """A .md keeps its bytes and name, a .html is extracted; broken, missing and other files fail each with a reason."""
    incoming = tmp_path / "incoming"
    incoming.mkdir()
    good_md = incoming / "third-round.md"
    good_md.write_text(
        "---\ntitle: Third round ends quickly\nsource: Test Wire\npublished: 2025-07-23\n---\n"
        "The third round of talks in Istanbul lasted forty minutes and produced a new prisoner exchange.\n"
    )
    (incoming / "note.txt").write_text("Memo on talks\nThe delegations agreed to meet again after the summer break.\n")
    shutil.copy(DOCUMENTS.parent / "tests" / "web" / "site" / "news" / "paywall-teaser.html", incoming / "teaser.html")
    (incoming / "broken.md").write_text("---\ntitle: [unclosed\n---\nbody\n")
    (incoming / "scan.pdf").write_bytes(b"%PDF-1.7")
    sources = [
        str(incoming / n) for n in ("third-round.md", "note.txt", "teaser.html", "broken.md", "scan.pdf", "gone.md")
    ]
    code, out, _ = cli("add", "--json", *sources)
    result = json.loads(out)
    assert code == 1
    assert {a["path"] for a in result["added"]} >= {"third-round.md", "note.txt"}
    assert (cli.documents / "third-round.md").read_bytes() == good_md.read_bytes()
    teaser = next(a for a in result["added"] if a["title"] == "What Russia's memorandum really demands")
    assert teaser["url"] == "" and teaser["author"] == "Claire Dubois"  # no address: a local file states none
    reasons = {os.path.basename(f["source"]): f["reason"] for f in result["failed"]}
    assert set(reasons) == {"broken.md", "scan.pdf", "gone.md"}
    assert "broken front matter" in reasons["broken.md"] and "not a .md, .txt or .html" in reasons["scan.pdf"]
    assert "does not exist" in reasons["gone.md"]
    code, out, _ = cli("add", str(good_md))
    assert code == 0 and out.startswith("already there")


def test_a_failed_reindex_puts_the_folder_back_and_loses_nothing(cli, site, monkeypatch):
    """When the reindex fails, the new files are removed, every source says 'not added', old answers remain."""
    assert cli("index")[0] == 0
    before = {p.name: p.read_bytes() for p in cli.documents.iterdir()}
    from index.engine import Engine

    def broken(self, **kwargs):
        raise IndexWriteError("Could not write the index: disk full.")

    monkeypatch.setattr(Engine, "reindex", broken)
    code, out, _ = cli("add", site.url("/news/opengraph-only.html"), site.url("/news/liveblog.html"))
    assert code == 1 and out.count("not added: Could not write the index: disk full.") == 2
    assert {p.name: p.read_bytes() for p in cli.documents.iterdir()} == before
    monkeypatch.undo()
    code, out, _ = cli("ask", "--json", "Does Moscow insist that Kyiv stay neutral?")
    assert "Ukraine becomes a neutral state" in json.loads(out)["answer"]["quote"]


HOSTILE = {
    "/hostile/gzip-bomb": "larger than 5 MiB",
    "/hostile/redirect-loop": "redirects more than 5 times",
    "/hostile/image": "image/png, not an HTML page",
    "/hostile/drip": "took longer than 5 s",
    "/hostile/not-http": "did not answer with valid HTTP",
    "/feeds/not-a-page.xml": "news feed",
}


def test_hostile_links_each_fail_with_one_reason_and_the_good_one_is_still_added(cli, site):
    """A batch with hostile links and one article: each hostile link one 'failed:' line, the article added."""
    site.feed("/feeds/not-a-page.xml", rss([{"title": "x", "link": "http://x.example/", "guid": "1"}]))
    links = [site.url(p) for p in HOSTILE] + [site.url("/news/opengraph-only.html")]
    code, out, err = cli("add", *links)
    assert code == 1 and "Traceback" not in out + err
    failed = [line for line in out.splitlines() if line.startswith("failed: ")]
    assert len(failed) == len(HOSTILE)
    for line, reason in zip(failed, HOSTILE.values(), strict=True):
        assert reason in line, line
    assert "added " in out and "Second round in Istanbul ends" in out


def test_the_address_rule_holds_through_the_console_script(site, tmp_path):
    """Without ALLOW_PRIVATE_URLS the real `talksbot add` refuses 127.0.0.1 in any spelling; nothing is requested."""
    shutil.copytree(DOCUMENTS, tmp_path / "documents")
    port = site.port
    spellings = [
        f"http://127.0.0.1:{port}/news/liveblog.html",
        f"http://2130706433:{port}/",
        f"http://0x7f.1:{port}/",
        f"http://[::ffff:127.0.0.1]:{port}/",
        f"http://localhost:{port}/",
        "file:///etc/passwd",
    ]
    before = len(site.requests)
    proc = subprocess.run(
        [
            str(TALKSBOT),
            "add",
            *spellings,
            "--documents",
            str(tmp_path / "documents"),
            "--index-dir",
            str(tmp_path / "i"),
        ],
        capture_output=True,
        env=cli_env({"ALLOW_PRIVATE_URLS": "0"}),
        timeout=120,
    )
    out = proc.stdout.decode()
    assert proc.returncode == 1 and len(out.strip().splitlines()) == len(spellings), out
    assert all(line.startswith("failed: ") for line in out.strip().splitlines())
    assert out.count("loopback") == 3 and "IPv4-mapped" in out and "names this machine" in out and "file: link" in out
    assert len(site.requests) == before and names(tmp_path / "documents") == names(DOCUMENTS)


def test_usage_errors_exit_2(tmp_path):
    """`add` without a source and `poll` without feeds (and no FEEDS) are usage errors: exit 2, one line."""
    for args in (["add"], ["poll"]):
        proc = subprocess.run(
            [str(TALKSBOT), *args, "--documents", str(tmp_path), "--index-dir", str(tmp_path / "i")],
            capture_output=True,
            env=cli_env({"FEEDS": ""}),
            timeout=120,
        )
        assert proc.returncode == 2 and proc.stdout == b"", proc
        assert b"Traceback" not in proc.stderr


# --------------------------------------------------------------------------- poll


def topic_items(site: LocalSite, names: list[str], kind: str, *, relative: bool = False) -> list[dict[str, str]]:
    items = []
    for name in names:
        path = f"/topic/{kind}/{name}.html"
        items.append({"title": name, "link": path if relative else site.url(path), "guid": f"urn:{kind}:{name}"})
    return items


def test_poll_adds_on_topic_items_skips_the_rest_with_reasons_and_never_fetches_an_item_twice(cli, site):
    """RSS 2.0 with relative links: on-topic items added, off-topic and linkless ones skipped with the reason;
    a second poll (a new process, as after a restart) fetches none of them again and adds nothing."""
    items = topic_items(site, ON, "on", relative=True) + topic_items(site, OFF, "off")
    items.append({"title": "Housekeeping note", "guid": "note-1"})
    feed = site.feed("/feeds/rss.xml", rss(items))
    code, out, err = cli("poll", "--json", feed)
    assert code == 0, out + err
    result = json.loads(out)
    assert result["feeds"][0] == {
        "url": feed,
        "items": 7,
        "added": 3,
        "skipped": 4,
        "failed": 0,
        "seen": 0,
        "deferred": 0,
    }
    assert sorted(a["published"] for a in result["added"]) == ["2025-05-16", "2025-06-03", "2025-06-16"]
    skipped = {s["url"]: s["reason"] for s in result["skipped"]}
    assert all("off topic: similarity" in skipped[site.url(f"/topic/off/{n}.html")] for n in OFF)
    assert (
        "no http(s) link" in skipped[""]
        and {"url": "", "title": "Housekeeping note"}.items()
        <= next(s for s in result["skipped"] if s["url"] == "").items()
    )
    fetched = {p: site.hits(p) for p in (f"/topic/{k}/{n}.html" for k, ns in (("on", ON), ("off", OFF)) for n in ns)}
    assert set(fetched.values()) == {1}
    code, out, _ = cli("poll", "--json", feed)
    again = json.loads(out)
    assert code == 0 and again["added"] == [] and again["feeds"][0]["seen"] == 7
    assert {p: site.hits(p) for p in fetched} == fetched
    code, out, _ = cli("ask", "--json", "How many bodies of soldiers did Ukraine receive?")
    assert json.loads(out)["answer"]["document"]["source"] == "Kyiv Ledger"


def test_poll_reads_atom_with_relative_links_and_applies_feed_keywords(cli, site, monkeypatch):
    """Atom with xml:base-relative links; FEED_KEYWORDS=memorandum keeps only the on-topic item that says it."""
    entries = [{"title": n, "link": f"{n}.html", "id": f"urn:atom:{n}", "summary": "s"} for n in ON]
    feed = site.feed("/feeds/atom.xml", atom(entries, base="/topic/on/"), "application/atom+xml")
    monkeypatch.setenv("FEED_KEYWORDS", "memorandum")
    code, out, _ = cli("poll", "--json", feed)
    result = json.loads(out)
    assert code == 0 and [a["title"] for a in result["added"]] == [
        "Russia's peace memorandum sets tough conditions for a truce"
    ]
    assert sum("mentions none of FEED_KEYWORDS" in s["reason"] for s in result["skipped"]) == 2


def test_one_failing_feed_never_stops_the_others(cli, site):
    """A missing feed, an entity bomb and a web page among feeds: each fails with its reason, the good one is read."""
    good = site.feed("/feeds/good.xml", rss(topic_items(site, ON[:1], "on")))
    bomb = site.feed(
        "/feeds/bomb.xml",
        '<?xml version="1.0"?><!DOCTYPE r [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;">]>'
        '<rss version="2.0"><channel><title>&b;</title></channel></rss>',
    )
    feeds = [site.url("/feeds/missing.xml"), bomb, site.url("/news/liveblog.html"), good]
    code, out, _ = cli("poll", "--json", *feeds)
    result = json.loads(out)
    assert code == 1 and len(result["added"]) == 1
    reasons = {f["url"]: f["reason"] for f in result["failed"]}
    assert "404" in reasons[feeds[0]] and "declares XML entities" in reasons[bomb]
    assert "not an RSS or Atom feed" in reasons[feeds[2]]
    assert [bool(f.get("error")) for f in result["feeds"]] == [True, True, True, False]


def test_a_ten_thousand_item_feed_is_walked_only_to_its_limit_and_a_little_each_poll(cli, site):
    """10,000 items: the feed says so, 25 new items are tried this poll, the rest of the first 200 wait."""
    items = [{"title": f"Brief {i}", "link": site.url(f"/briefs/{i}.html"), "guid": f"b{i}"} for i in range(10_000)]
    feed = site.feed("/feeds/huge.xml", rss(items))
    code, out, _ = cli("poll", "--json", feed)
    result = json.loads(out)["feeds"][0]
    assert code == 1  # the briefs are 404s: failed for good, remembered, never fetched again
    assert result["items"] == 10_000 and result["failed"] == 25 and result["deferred"] == MAX_FEED_ITEMS - 25
    assert sum(site.hits(f"/briefs/{i}.html") for i in range(10_000)) == 25


def test_two_polls_at_once_from_two_processes_add_each_item_once(site, tmp_path):
    """Two `talksbot poll` processes on one index: one waits for the other; every item is added exactly once."""
    shutil.copytree(DOCUMENTS, tmp_path / "documents")
    slow = {}
    for name in ON:  # slow pages, so the first poll is still running when the second starts
        path = f"/slow/{name}.html"
        slow[path] = name

        def answer(h, name=name):
            time.sleep(2.0)
            return site.static(f"/topic/on/{name}.html")

        site.route(path, answer)
    feed = site.feed("/feeds/slow.xml", rss([{"title": n, "link": site.url(p), "guid": p} for p, n in slow.items()]))
    args = [
        str(TALKSBOT),
        "poll",
        "--json",
        feed,
        "--documents",
        str(tmp_path / "documents"),
        "--index-dir",
        str(tmp_path / "index"),
    ]
    env = cli_env({"ALLOW_PRIVATE_URLS": "1", "HF_HUB_OFFLINE": "1"})
    subprocess.run([str(TALKSBOT), "index", *args[4:]], env=env, capture_output=True, timeout=300, check=True)
    first = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    # The first poll fetches under the poll lock: once it asks for a page, it holds the lock for 6 s or more.
    assert wait_until(lambda: sum(site.hits(p) for p in slow) > 0, timeout=120)
    second = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    outs = [p.communicate(timeout=300) for p in (first, second)]
    assert [p.returncode for p in (first, second)] == [0, 0], outs
    reports = [json.loads(o) for o, _e in outs]
    assert sorted(len(r["added"]) for r in reports) == [0, 3]
    assert sorted(r["feeds"][0]["seen"] for r in reports) == [0, 3]
    added_files = names(tmp_path / "documents") - names(DOCUMENTS)
    assert len(added_files) == 3
    assert sum(site.hits(p) for p in slow) == 3  # each page fetched once, by whichever poll got there first
    state = FeedState(tmp_path / "index" / "feeds")
    assert state.seen(link_key(site.url(p)) for p in slow) == {link_key(site.url(p)) for p in slow}
    assert any(b"another process is polling" in e for _o, e in outs)
