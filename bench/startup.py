"""From `talksbot run` to the gateway's READY, and to the first /ask answer, against the fake Discord.

The fake Discord (tests/fakediscord) runs in this process. The bot is a real subprocess:
tests/fakediscord/launch.py, which points discord.py's two URL constants at the fake and then
runs the `talksbot` console script's entry point (``run``), unchanged. Settings come from the
environment (token, guild, folders); no .env is read.

For each start: t0 = just before the subprocess is spawned; READY = the fake sent READY on
an identified session; first answer = the fake received the followup answering an /ask
dispatched as soon as READY and the command sync were in (the bot defers at once and waits
for its engine to warm up: index opened or built, model loaded).
* cold: no index yet; the bot builds it from the extended corpus (56 passages) while connected.
* warm: the index exists.

Floor, alternated with the warm starts: a bare subprocess that imports the engine, loads the
model and encodes one question (the least any process must do before it can answer).

Run: .venv/bin/python bench/startup.py [--quick] [--warm N] [--cold N]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal
import sys
import time
import warnings
from pathlib import Path

import common as c
from reliability_helpers import cli_env

FLOOR_CODE = (
    "from index.embedder import SentenceTransformerEmbedder\n"
    "SentenceTransformerEmbedder().embed_queries(['What did Russia demand?'])\n"
)


async def one_start(docs: Path, index: Path, log: Path) -> dict[str, float]:
    """Start the bot against a fresh fake; seconds from spawn to READY, to the sync and to the first answer."""
    from bot_processes import talksbot_command, talksbot_env
    from fakediscord import FakeDiscord

    fake = FakeDiscord("bench-token", heartbeat_interval=41.25)
    await fake.start()
    env = talksbot_env(fake, docs, index, DISCORD_GUILD_ID=str(fake.guild_id), LOG_LEVEL="INFO")
    out: dict[str, float] = {}
    with log.open("a", encoding="utf-8") as err:
        t0 = time.monotonic()
        proc = await asyncio.create_subprocess_exec(
            *talksbot_command("--env-file", str(log.parent / "no.env"), "run"),
            cwd=log.parent,
            env=env,
            stdout=err,
            stderr=err,
        )
        try:
            await fake.wait_ready(timeout=120)
            out["ready"] = time.monotonic() - t0
            await fake.wait_for_sync(timeout=60)
            out["synced"] = time.monotonic() - t0
            rec = await fake.slash("ask", {"question": "What did Russia demand before a ceasefire?"})
            await rec.wait_for(lambda r: r.followups, timeout=300)
            out["answer"] = rec.last_activity - t0
            out["ack"] = rec.ack_latency or float("nan")
        finally:
            if proc.returncode is None:
                proc.send_signal(signal.SIGINT)  # Ctrl-C: the bot's own clean shutdown
                try:
                    await asyncio.wait_for(proc.wait(), 20)
                except TimeoutError:
                    proc.kill()  # our own child, by its handle
                    await proc.wait()
            await fake.stop()
    return out


async def floor_start() -> float:
    """Seconds for a bare process to import the engine, load the model and encode one question."""
    t0 = time.monotonic()
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        FLOOR_CODE,
        cwd=c.ROOT,
        env=cli_env(),
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
    )
    await proc.wait()
    return time.monotonic() - t0


async def main_async(cold_runs: int, warm_runs: int, report: c.Report) -> None:
    """Cold starts (each on a fresh index folder), then warm starts alternated with the floor."""
    with c.scratch("startup") as tmp:
        docs = tmp / "documents"
        c.copy_extended_corpus(docs)
        log = tmp / "bot.log"
        cold, warm, floor = [], [], []
        try:
            for i in range(cold_runs):
                cold.append(await one_start(docs, tmp / f"index-{i}", log))
                print(f"  cold start {i}: " + ", ".join(f"{k} {v:.2f} s" for k, v in cold[-1].items()), flush=True)
            index = tmp / "index-0"
            for i in range(warm_runs):
                floor.append(await floor_start())
                warm.append(await one_start(docs, index, log))
                print(
                    f"  warm start {i}: "
                    + ", ".join(f"{k} {v:.2f} s" for k, v in warm[-1].items())
                    + f"; floor {floor[-1]:.2f} s",
                    flush=True,
                )
        except BaseException:
            print(log.read_text(encoding="utf-8")[-4000:] if log.exists() else "(no bot log)", file=sys.stderr)
            raise

    def med(runs: list[dict[str, float]], key: str) -> float:
        return c.p50([r[key] for r in runs])

    fl = c.p50(floor)
    report.add("floor: import + load model + encode one question", fl, "s", note=f"{len(floor)} runs")
    for label, runs in (("warm", warm), ("cold", cold)):
        if not runs:
            continue
        report.add(f"{label}: spawn -> READY p50", med(runs, "ready"), "s", note=f"{len(runs)} runs")
        report.add(f"{label}: spawn -> commands synced p50", med(runs, "synced"), "s")
        report.add(
            f"{label}: spawn -> first /ask answer p50",
            med(runs, "answer"),
            "s",
            floor=fl,
            ratio=med(runs, "answer") / fl,
        )
        report.add(
            f"{label}: first /ask acknowledged (defer) after dispatch p50",
            med(runs, "ack") * 1e3,
            "ms",
            target="< 3000 ms",
            met=med(runs, "ack") < 3.0,
        )


def run(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a short smoke run (one cold, one warm)")
    parser.add_argument("--cold", type=int, default=None, help="cold starts (default 2)")
    parser.add_argument("--warm", type=int, default=None, help="warm starts (default 4)")
    args = parser.parse_args(argv)
    cold = args.cold if args.cold is not None else (1 if args.quick else 2)
    warm = args.warm if args.warm is not None else (1 if args.quick else 4)
    c.print_header("talksbot run: start-up against the fake Discord", args.quick)
    report = c.Report("startup", quick=args.quick)
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", category=DeprecationWarning)
        import fakediscord  # noqa: F401 - loads discord.py once, quietly
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(main_async(max(1, cold), warm, report))
    report.emit()


if __name__ == "__main__":
    c.main_guard(run)
