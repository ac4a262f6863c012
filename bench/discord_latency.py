"""/ask end to end through the fake Discord, against the in-process floor measured in the same run.

The real bot (bot.create_bot, real model, extended evaluation corpus) runs against the fake
Discord of tests/fakediscord through ``DiscordHarness``. For each ask: INTERACTION_CREATE
dispatched (``record.dispatched_at``) -> the followup carrying the answer reaches the fake.
The per-user cooldown is lifted through settings (ASK_COOLDOWN_RATE very large) and asks
rotate over ten members anyway.

Floor (as in bench/answer_latency.py): the engine's own question encoder (the ONNX export)
encoding the question plus an exact IndexFlatIP search on one thread, timed in this process
between asks. Also timed between asks, on the same
question: ``Engine.answer`` in process, so the Discord layer's own cost is e2e minus that.
The fake validates every request against Discord's OpenAPI description on the bot's event
loop; that time is measured (per ask) and shown apart, since real Discord does it elsewhere.
Target: e2e p50 <= floor p50 + 20 ms.

Run: .venv/bin/python bench/discord_latency.py [--quick] [--asks N]
"""

from __future__ import annotations

import argparse
import time
import warnings

import common as c
import numpy as np

TARGET_MS = 20.0


def _time_fake_requests() -> list[tuple[float, float, str]]:
    """Record (start, end, path) of every REST request the fake handles (class-level wrap, bench only)."""
    from fakediscord import FakeDiscord

    spans: list[tuple[float, float, str]] = []
    original = FakeDiscord._api

    async def timed(self, request):  # type: ignore[no-untyped-def]
        t0 = time.monotonic()
        try:
            return await original(self, request)
        finally:
            spans.append((t0, time.monotonic(), request.path))

    FakeDiscord._api = timed  # type: ignore[method-assign]
    return spans


def run(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a short smoke run")
    parser.add_argument("--asks", type=int, default=None, help="asks to send (default 121, quick 12)")
    args = parser.parse_args(argv)
    n = args.asks or (12 if args.quick else 121)
    c.print_header("/ask end to end through the fake Discord", args.quick)
    report = c.Report("discord_latency", quick=args.quick)

    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", category=DeprecationWarning)
        from discord_helpers import bot_factory, make_settings
        from fakediscord import DiscordHarness

    import faiss

    from index.engine import Engine

    spans = _time_fake_requests()
    embedder, _ = c.load_model()
    questions = c.cycled(c.eval_questions(), n)
    with c.scratch("discord") as tmp:
        docs = tmp / "documents"
        c.copy_extended_corpus(docs)
        engine = Engine(docs, tmp / "index", embedder=embedder)
        engine.reindex()
        flat, k = c.floor_index(engine)
        settings = make_settings(docs, tmp / "index", ask_cooldown_rate=1_000_000, ask_cooldown_seconds=1.0)
        # Discord's real heartbeat interval, and a slow lag probe: neither should add work to the loop.
        h = DiscordHarness(bot_factory(settings, engine), heartbeat_interval=41.25, lag_probe_interval=0.5)
        h.start()
        try:
            h.call(h.client.service.wait_ready())
            members = [h.member(name=f"bench{i}") for i in range(10)]

            encoder = engine.question_encoder
            faiss.omp_set_num_threads(1)  # one query: one thread, as the store searches

            def floor(q: str) -> float:
                t0 = time.perf_counter()
                flat.search(encoder.embed_queries([q]), k)
                return time.perf_counter() - t0

            def inproc(q: str) -> float:
                t0 = time.perf_counter()
                engine.answer(q)
                return time.perf_counter() - t0

            def ask(q: str, i: int) -> dict[str, float]:
                rec = h.slash("ask", {"question": q}, member=members[i % len(members)])
                # The answer's arrival: when the fake recorded the followup (its last activity then).
                arrived = h.wait_for(rec, lambda r: r.last_activity if r.followups else None, timeout=60)
                h.wait_final(rec, timeout=10, settle=0.05)  # let the bot finish with it before timing anything else
                fake = sum(min(b, arrived) - a for a, b, _ in spans if a >= rec.created_at and a < arrived)
                return {
                    "e2e": arrived - rec.dispatched_at,
                    "ack": rec.ack_latency or float("nan"),
                    "fake": fake,
                    "gateway": rec.dispatched_at - rec.created_at,
                }

            for q in questions[:5]:  # warm-up: first asks pay for imports and caches
                floor(q)
                inproc(q)
                ask(q, 0)
            t0 = h.now()
            rows: dict[str, list[float]] = {k_: [] for k_ in ("floor", "inproc", "e2e", "ack", "fake", "gateway")}
            for i, q in enumerate(questions):
                order = [0, 1, 2][i % 3 :] + [0, 1, 2][: i % 3]
                for step in order:
                    if step == 0:
                        rows["floor"].append(floor(q))
                    elif step == 1:
                        rows["inproc"].append(inproc(q))
                    else:
                        for key, value in ask(q, i).items():
                            rows[key].append(value)
            lag = h.max_loop_lag(t0, h.now())
            errors = len(h.logged_errors) + len(h.fake.violations) + len(h.fake.events)
        finally:
            h.close()

    for name in ("floor", "inproc", "e2e", "ack", "fake", "gateway"):
        print(c.summary(name, rows[name]))
    e2e, fl, ip, fake = (np.array(rows[k_]) for k_ in ("e2e", "floor", "inproc", "fake"))
    overhead = e2e - ip
    print(c.summary("e2e - in-process answer (paired)", overhead))
    print(c.summary("e2e - fake's own request handling", e2e - fake))
    print(f"max event-loop lag during the asks: {lag * 1e3:.1f} ms; fake errors/violations/logged: {errors}")

    budget = c.p50(fl) * 1e3 + TARGET_MS
    report.add(
        "/ask e2e p50",
        c.p50(e2e) * 1e3,
        "ms",
        floor=c.p50(fl) * 1e3,
        ratio=c.p50(e2e) / c.p50(fl),
        target=f"<= floor + {TARGET_MS:.0f} ms",
        met=c.p50(e2e) * 1e3 <= budget,
        note=f"e2e - floor = {(c.p50(e2e) - c.p50(fl)) * 1e3:.1f} ms",
    )
    report.add("/ask e2e p95", c.p95(e2e) * 1e3, "ms", floor=c.p95(fl) * 1e3, ratio=c.p95(e2e) / c.p95(fl))
    report.add(
        "e2e - floor (p50 difference)",
        (c.p50(e2e) - c.p50(fl)) * 1e3,
        "ms",
        target=f"<= {TARGET_MS:.0f} ms",
        met=(c.p50(e2e) - c.p50(fl)) * 1e3 <= TARGET_MS,
    )
    report.add(
        "in-process Engine.answer p50", c.p50(ip) * 1e3, "ms", floor=c.p50(fl) * 1e3, ratio=c.p50(ip) / c.p50(fl)
    )
    report.add("Discord layer (e2e - Engine.answer, paired) p50", c.p50(overhead) * 1e3, "ms")
    report.add(
        "  of which the fake's request handling p50",
        c.p50(fake) * 1e3,
        "ms",
        note="OpenAPI validation etc. on the bot's loop; absent with real Discord",
    )
    report.add("ack (dispatch -> defer callback) p50", c.p50(rows["ack"]) * 1e3, "ms")
    report.add("max event-loop lag", lag * 1e3, "ms")
    report.emit()


if __name__ == "__main__":
    c.main_guard(run)
