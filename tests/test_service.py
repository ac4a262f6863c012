"""The service layer: readiness, one writer at a time, adding an article with nothing lost on failure."""

from __future__ import annotations

import asyncio
import threading

import pytest

from bot.permissions import may_change_index
from bot.runner import build_service
from bot.service import NotReady
from bot.settings import Settings
from bot.uploads import UploadRejected
from index import IndexBusy, IndexWriteError
from index.engine import Engine

ARTICLE = (
    b"---\ntitle: Third round agrees on a humanitarian corridor\nsource: Wire\n---\n"
    b"Both sides agreed on a humanitarian corridor in the third round.\n"
)


@pytest.fixture
def service(seed_docs, tmp_path, fake_embedder):
    """A service over a copy of the seed articles, with the model-free embedder."""
    settings = Settings(documents_dir=seed_docs, index_dir=tmp_path / "index")
    return build_service(settings, engine=Engine(seed_docs, tmp_path / "index", embedder=fake_embedder))


def test_start_builds_the_index_and_makes_the_service_ready(service):
    """Before start nothing is ready; start builds the missing index and reports it; then it answers."""
    assert service.starting and not service.ready
    report = service.start(warm_up=True)
    assert report is not None and report.documents == 2
    assert service.ready and not service.starting
    assert service.answer("corridor or neutrality?").question == "corridor or neutrality?"
    assert service.start(warm_up=False) is None  # already built: nothing to report


def test_a_failed_start_is_told_to_every_later_caller(service, monkeypatch):
    """A start that fails keeps its sentence: check_ready and wait_ready raise NotReady with it."""

    def broken(**kwargs):
        raise IndexWriteError("Could not write the index in /x: permission denied.")

    monkeypatch.setattr(service.engine, "ensure_index", broken)
    with pytest.raises(IndexWriteError):
        service.start()
    with pytest.raises(NotReady, match="permission denied"):
        service.check_ready()
    with pytest.raises(NotReady, match="permission denied"):
        asyncio.run(service.wait_ready(timeout=1))


def test_waiting_for_readiness_holds_no_thread_and_times_out_with_a_sentence(service):
    """wait_ready while start has not run: NotReady 'still loading' after the timeout, the start still pending."""
    with pytest.raises(NotReady, match="still loading"):
        asyncio.run(service.wait_ready(timeout=0.05))
    assert service.starting  # a timeout on one waiter does not cancel the start itself
    service.start(warm_up=False)
    asyncio.run(service.wait_ready(timeout=1))


def test_a_second_writer_is_refused_at_once_when_it_asks_not_to_wait(service):
    """While one reindex runs, reindex(wait=False) raises IndexBusy; the first finishes normally."""
    service.start(warm_up=False)
    inside, release = threading.Event(), threading.Event()
    real_reindex = service.engine.reindex

    def slow_reindex(**kwargs):
        inside.set()
        release.wait(5)
        return real_reindex(**kwargs)

    service.engine.reindex = slow_reindex
    first = threading.Thread(target=service.reindex)
    first.start()
    assert inside.wait(5)
    assert service.reindex_running
    with pytest.raises(IndexBusy):
        service.reindex(wait=False)
    release.set()
    first.join(5)
    assert not service.reindex_running


def test_add_article_saves_indexes_and_answers_from_it(service, seed_docs):
    """An added article is written under a safe name, indexed, and quoted by the next answer."""
    service.start(warm_up=False)
    added = service.add_article("Third round.md", ARTICLE)
    assert added.name == "Third round.md" and not added.replaced and added.passages >= 1
    assert (seed_docs / added.name).read_bytes() == ARTICLE
    answer = service.answer("humanitarian corridor agreed in the third round")
    assert answer.hit is not None and answer.hit.document.id == added.name


def test_add_article_puts_everything_back_when_indexing_fails(service, seed_docs, monkeypatch):
    """Indexing fails after the write: the new file is removed again and the error says it was not added."""
    service.start(warm_up=False)
    before = sorted(p.name for p in seed_docs.iterdir())

    def fail(**kwargs):
        raise IndexWriteError("Could not write the index: the disk is full.")

    monkeypatch.setattr(service.engine, "reindex", fail)
    with pytest.raises(UploadRejected, match="was not added: Could not write"):
        service.add_article("new.md", ARTICLE)
    assert sorted(p.name for p in seed_docs.iterdir()) == before


def test_add_article_refuses_to_replace_unless_asked(service, seed_docs):
    """The same name twice: refused without overwrite, replaced (and said so) with it."""
    service.start(warm_up=False)
    service.add_article("dup.md", ARTICLE)
    with pytest.raises(UploadRejected, match="already exists"):
        service.add_article("dup.md", ARTICLE.replace(b"corridor", b"ceasefire"))
    replaced = service.add_article("dup.md", ARTICLE.replace(b"corridor", b"ceasefire"), overwrite=True)
    assert replaced.replaced and b"ceasefire" in (seed_docs / "dup.md").read_bytes()


@pytest.mark.parametrize(
    ("in_server", "manage", "admin", "roles", "allowed"),
    [
        (True, True, False, [], True),
        (True, False, True, [], True),
        (True, False, False, [7], True),
        (True, False, False, [8], False),
        (True, False, False, [], False),
        (False, True, True, [7], False),
    ],
)
def test_who_may_change_the_index(in_server, manage, admin, roles, allowed):
    """Manage Server, Administrator or an ADMIN_ROLE_IDS role, and only inside a server."""
    assert (
        may_change_index(
            in_server=in_server,
            manage_server=manage,
            administrator=admin,
            role_ids=roles,
            admin_role_ids=frozenset({7}),
        )
        is allowed
    )
