"""Faults: a reindex killed at random points, and the Discord gateway dropped while an answer is in flight.

The kill loop runs the real `talksbot index --rebuild` on 60 synthetic articles plus one "marker"
article whose answer changes before every run. After each SIGKILL the index must answer the marker
question with the content of the generation ``CURRENT`` names (the new one only if the kill came
after it was published), the writer lock must be free, and the next reindex must complete.
"""

from __future__ import annotations

import fcntl
import os
import random
import signal
import subprocess
import threading
import time
from pathlib import Path

import pytest
from discord_helpers import bot_factory, make_settings, plain_quote
from fakediscord import DiscordHarness
from reliability_helpers import GOOD_ANSWER, GOOD_QUESTION, TALKSBOT, cli_env, copy_seed, write_corpus

from index.engine import Engine
from index.store import CURRENT_NAME, LOCK_NAME, IndexStore

MARKER = "ceasefire-monitoring.md"
MARKER_QUESTION = "In which city will the ceasefire monitoring mission have its headquarters?"
CITIES = (
    "Ankara Izmir Bursa Antalya Konya Trabzon Samsun Edirne Kayseri Eskisehir Malatya Mersin Adana "
    "Gaziantep Sinop Rize Ordu Giresun Bolu Manisa Aydin Mugla Denizli Usak Kutahya Canakkale"
).split()
KILL_RUNS = 20
MODES = ("early", "embedding", "writing", "publishing")


def write_marker(docs: Path, city: str) -> None:
    """The one article whose answer changes from run to run."""
    (docs / MARKER).write_text(
        "---\ntitle: Ceasefire monitoring mission\nsource: Test Wire\npublished: 2025-07-01\n---\n"
        f"The negotiators agreed that the ceasefire monitoring mission will have its headquarters in {city}.\n",
        encoding="utf-8",
    )


def current(index: Path) -> str | None:
    try:
        return (index / CURRENT_NAME).read_text().strip()
    except FileNotFoundError:
        return None


class Reindex:
    """A `talksbot index --rebuild` subprocess whose stderr is watched for the embedding to start."""

    def __init__(self, docs: Path, index: Path) -> None:
        self.started = time.monotonic()
        self.embedding = threading.Event()
        self.embedding_at: float | None = None
        self.ended_at: float | None = None
        self.stderr: list[str] = []
        self.proc = subprocess.Popen(
            [str(TALKSBOT), "index", "--rebuild", "--documents", str(docs), "--index-dir", str(index)],
            cwd=index.parent,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
            env=cli_env(),
        )
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            self.stderr.append(line)
            if line.startswith("Embedding"):
                self.embedding_at = time.monotonic()
                self.embedding.set()
        self.proc.stderr.close()

    def kill(self) -> None:
        if self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGKILL)
        self.proc.wait(30)
        self._reader.join(10)

    def finish(self, timeout: float = 300) -> int:
        code = self.proc.wait(timeout)
        self.ended_at = time.monotonic()
        self._reader.join(10)
        return code


def _wait_for(predicate, timeout: float, poll: float = 0.001) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(poll)
    return False


def _lock_is_free(index: Path) -> bool:
    fd = os.open(index / LOCK_NAME, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        return True
    except BlockingIOError:
        return False
    finally:
        os.close(fd)


@pytest.mark.slow
def test_a_reindex_killed_at_random_points_never_breaks_the_index(tmp_path, embedder):
    """SIGKILL a rebuild anywhere, 20 times: answers always come from a complete index; the next run completes."""
    seed = int(os.environ.get("TALKSBOT_KILL_SEED", "20250516"))
    rng = random.Random(seed)
    docs, index = tmp_path / "documents", tmp_path / "index"
    write_corpus(docs, 60, paragraphs=1)
    write_marker(docs, CITIES[0])
    first = Reindex(docs, index)
    assert first.finish() == 0, "".join(first.stderr)
    # How long the work after the model has loaded takes (embedding, writing, publishing), to spread kills over it.
    assert first.embedding_at is not None and first.ended_at is not None
    work = first.ended_at - first.embedding_at
    published_city = CITIES[0]
    log: list[str] = [f"seed {seed}"]
    config = Engine(docs, index, embedder=embedder).config

    for run in range(1, KILL_RUNS + 1):
        city = CITIES[run % len(CITIES)]
        write_marker(docs, city)
        before = current(index)
        mode = MODES[run % len(MODES)]
        reindex = Reindex(docs, index)
        if mode == "early":  # while taking the lock, clearing leftovers, scanning, loading the model
            time.sleep(rng.uniform(0.05, 2.0))
        elif mode == "embedding":
            reindex.embedding.wait(120)
            time.sleep(rng.uniform(0.0, work))
        elif mode == "writing":  # once the staging folder exists
            reindex.embedding.wait(120)
            _wait_for(lambda r=reindex: any(index.glob(".staging-*")) or r.proc.poll() is not None, 120)
            time.sleep(rng.uniform(0.0, 0.15))
        else:  # once the new generation folder exists: around the CURRENT switch and the pruning
            reindex.embedding.wait(120)
            _wait_for(lambda r=reindex: any(index.glob(".staging-*")) or r.proc.poll() is not None, 120)
            _wait_for(  # the rename to gen-N is followed within milliseconds by the switch of CURRENT
                lambda r=reindex, b=before or "": (
                    any(p.name > b for p in index.glob("gen-*")) or r.proc.poll() is not None
                ),
                120,
                poll=0.0001,
            )
            time.sleep(rng.uniform(0.0, 0.004))
        exited = reindex.proc.poll()
        reindex.kill()
        after = current(index)
        log.append(
            f"run {run}: {mode}, {'exited ' + str(exited) if exited is not None else 'killed'}, {before}->{after}"
        )
        if after != before:
            published_city = city

        # The index answers, from the complete generation CURRENT names.
        snapshot = IndexStore(index).open(config)
        assert snapshot.warning is None, (log, snapshot.warning)
        assert len(snapshot.documents) == 61, log
        snapshot.close()
        answer = Engine(docs, index, embedder=embedder).answer(MARKER_QUESTION)
        assert answer.hit is not None and published_city in answer.hit.quote, (log, answer.hit)
        assert _lock_is_free(index), log

        if run % 2 == 0:  # the next reindex completes (the odd runs leave leftovers to the next subprocess)
            report = IndexStore(index).sync(docs, embedder, config)
            published_city = city
            assert not list(index.glob(".staging-*")), log
            assert not [p for p in index.glob("gen-*") if p.name > current(index)], (log, report.generation)
            assert city in Engine(docs, index, embedder=embedder).answer(MARKER_QUESTION).hit.quote, log

    last = Reindex(docs, index)
    assert last.finish() == 0, (log, "".join(last.stderr))
    assert not list(index.glob(".staging-*")) and not (index / f"{CURRENT_NAME}.tmp").exists(), log
    assert not [p for p in index.glob("gen-*") if p.name > current(index)], log
    final = Engine(docs, index, embedder=embedder).answer(MARKER_QUESTION)
    assert CITIES[KILL_RUNS % len(CITIES)] in final.hit.quote, log
    kinds = {line.split(": ")[1].split(",")[0] for line in log[1:]}
    assert kinds == set(MODES), log
    print("\n".join(log))  # shown with -rP: where each kill landed


# --------------------------------------------------------------------------- the gateway drops mid-answer


@pytest.fixture(scope="module")
def bot(tmp_path_factory, embedder):
    """The real bot on the fake Discord over the seed articles."""
    base = tmp_path_factory.mktemp("faults-bot")
    copy_seed(base / "documents")
    engine = Engine(base / "documents", base / "index", embedder=embedder)
    settings = make_settings(base / "documents", base / "index")
    harness = DiscordHarness(bot_factory(settings, engine)).start()
    harness.call(harness.client.service.wait_ready())
    yield harness, engine
    harness.close()


def test_a_gateway_drop_while_an_answer_is_in_flight_resumes_and_the_answer_arrives(bot, monkeypatch):
    """The connection drops while /ask is searching: the bot RESUMEs, the answer arrives, the next ask works."""
    h, engine = bot
    entered, release = threading.Event(), threading.Event()
    real_answer = engine.answer

    def slow_answer(*args, **kwargs):
        entered.set()
        release.wait(15)
        return real_answer(*args, **kwargs)

    monkeypatch.setattr(engine, "answer", slow_answer)
    t0 = h.now()
    resumes = h.fake.resume_count
    rec = h.slash("ask", {"question": GOOD_QUESTION})
    assert entered.wait(10), "the answer never started"
    assert rec.acknowledged and rec.ack_latency < 3.0
    h.drop_gateway()  # waits until discord.py has RESUMEd
    release.set()
    final = h.wait_final(rec, timeout=20)
    assert GOOD_ANSWER in plain_quote(final["embeds"][0]["description"])
    assert h.fake.resume_count == resumes + 1 and h.fake.connections[-1].how == "resume"
    monkeypatch.setattr(engine, "answer", real_answer)

    async def drop_then_ask():
        await h.fake.drop_gateway()
        # Sent while the socket is down: it reaches the bot only through RESUME's replay, on Discord's clock.
        return await h.fake.slash("ask", {"question": GOOD_QUESTION}, wait_connected=False)

    replayed = h.call(drop_then_ask())
    final = h.wait_final(replayed, timeout=20)
    assert GOOD_ANSWER in plain_quote(final["embeds"][0]["description"])
    assert replayed.ack_latency < 3.0
    after = h.wait_final(h.slash("ask", {"question": GOOD_QUESTION}), timeout=20)
    assert GOOD_ANSWER in plain_quote(after["embeds"][0]["description"])
    now = h.now()
    h.call(h.fake.wait_until(lambda: any(t > now for t in h.fake.heartbeats), 5, "a heartbeat after the resume"))
    h.assert_clean(since=t0)


def test_a_session_invalidated_by_discord_reconnects_and_keeps_answering(bot):
    """Discord invalidates the session (not resumable): the bot identifies again and still answers."""
    h, _ = bot
    t0 = h.now()
    identifies = h.fake.identify_count
    h.call(h.fake.invalidate_session(resumable=False))
    h.call(h.fake.wait_until(lambda: h.fake.identify_count > identifies and h.fake.session is not None, 30, "IDENTIFY"))
    final = h.wait_final(h.slash("ask", {"question": GOOD_QUESTION}), timeout=30)
    assert GOOD_ANSWER in plain_quote(final["embeds"][0]["description"])
    h.assert_clean(since=t0)
