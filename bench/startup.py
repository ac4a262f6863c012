"""Start-up: `talksbot run` to READY and to the first /ask answer; a cold `talksbot ask` in the terminal.

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
model and encodes one question (what any process had to do before the question encoder was
exported). The bot's peak RSS (VmHWM) is read just after its first answer.

Terminal: a cold `talksbot ask QUESTION` (a new process, the index and its question encoder
built by `talksbot index` beforehand), alternated with its floor `python -c "import
sentence_transformers"`: target <= 0.3x. Its peak RSS too, and whether it prints the same JSON
as when sentence-transformers encodes the question (the export moved away) for a few questions.

Run: .venv/bin/python bench/startup.py [--quick] [--warm N] [--cold N] [--asks N]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import signal
import subprocess
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
            out["peak_mib"] = _peak_mib(proc.pid)
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


def _peak_mib(pid: int) -> float:
    """A running process's peak RSS (VmHWM) in MiB."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return float("nan")


# Runs a command and prints its wall time and peak RSS (this wrapper's only child): one cold process per call.
_TIMED = (
    "import resource, subprocess, sys, time\n"
    "t0 = time.perf_counter()\n"
    "done = subprocess.run(sys.argv[1:], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)\n"
    "seconds = time.perf_counter() - t0\n"
    "print(seconds, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024, done.returncode)\n"
    "print(done.stdout, end='')\n"
)


def timed(cmd: list[str], cwd: Path) -> tuple[float, float, str]:
    """(seconds, peak MiB, stdout) of one fresh process."""
    env = cli_env()
    proc = subprocess.run([sys.executable, "-c", _TIMED, *cmd], cwd=cwd, env=env, capture_output=True, text=True)
    head, _, rest = proc.stdout.partition("\n")
    seconds, peak, code = head.split()
    if code != "0":
        raise RuntimeError(f"{cmd} exited {code}: {proc.stderr[-2000:]}")
    return float(seconds), float(peak), rest


def terminal(report: c.Report, asks: int) -> None:
    """A cold `talksbot ask` against importing sentence-transformers, alternated; same answers as the model's."""
    talksbot = str(Path(sys.executable).with_name("talksbot"))
    with c.scratch("terminal") as tmp:
        docs = tmp / "documents"
        c.copy_extended_corpus(docs)
        folders = ["--documents", str(docs), "--index-dir", str(tmp / "index")]
        subprocess.run([talksbot, "--env-file", os.devnull, "index", "--quiet", *folders], check=True, env=cli_env())
        question = "What did Russia demand before agreeing to a ceasefire?"
        ask = [talksbot, "--env-file", os.devnull, "ask", *folders, question]
        floor_cmd = [sys.executable, "-c", "import sentence_transformers"]
        asked, floor, peaks = [], [], []
        for i in range(asks):
            for which in (0, 1) if i % 2 == 0 else (1, 0):
                if which == 0:
                    seconds, peak, _ = timed(ask, tmp)
                    asked.append(seconds)
                    peaks.append(peak)
                else:
                    floor.append(timed(floor_cmd, tmp)[0])
        print(c.summary("cold `talksbot ask`", asked))
        print(c.summary("python -c 'import sentence_transformers'", floor))
        ratio = c.p50(asked) / c.p50(floor)
        report.add(
            "cold `talksbot ask` p50",
            c.p50(asked),
            "s",
            floor=c.p50(floor),
            ratio=ratio,
            target="<= 0.3x floor",
            met=ratio <= 0.3,
            note=f"floor: python -c 'import sentence_transformers'; {asks} runs each, alternated",
        )
        report.add("  peak RSS of a cold `talksbot ask`", c.p50(peaks), "MiB")
        # Same answers: the export moved away, sentence-transformers encodes the questions.
        questions = c.eval_questions()[:: max(1, len(c.eval_questions()) // 8)]
        json_ask = [talksbot, "--env-file", os.devnull, "ask", "--json", *folders]
        batch = "\n".join(questions) + "\n"
        fast = subprocess.run(json_ask, input=batch, capture_output=True, text=True, env=cli_env()).stdout
        encoder = tmp / "index" / "query-encoder"
        encoder.rename(tmp / "encoder-aside")
        slow = subprocess.run(json_ask, input=batch, capture_output=True, text=True, env=cli_env()).stdout
        same = sum(a == b for a, b in zip(fast.splitlines(), slow.splitlines(), strict=True))
        report.add(
            "  same JSON as sentence-transformers' answers",
            same / len(questions),
            "",
            target="1.000",
            met=same == len(questions),
            note=f"{same}/{len(questions)} questions",
        )


def _line(run: dict[str, float]) -> str:
    """One start's figures: seconds, and the peak RSS in MiB."""
    return ", ".join(f"{k} {v:.0f} MiB" if k == "peak_mib" else f"{k} {v:.2f} s" for k, v in run.items())


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
                print(f"  cold start {i}: " + _line(cold[-1]), flush=True)
            index = tmp / "index-0"
            for i in range(warm_runs):
                floor.append(await floor_start())
                warm.append(await one_start(docs, index, log))
                print(
                    f"  warm start {i}: " + _line(warm[-1]) + f"; floor {floor[-1]:.2f} s",
                    flush=True,
                )
        except BaseException:
            print(log.read_text(encoding="utf-8")[-4000:] if log.exists() else "(no bot log)", file=sys.stderr)
            raise

    def med(runs: list[dict[str, float]], key: str) -> float:
        return c.p50([r[key] for r in runs])

    fl = c.p50(floor)
    report.add("floor: import + load model + encode one question (torch)", fl, "s", note=f"{len(floor)} runs")
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
        report.add(f"{label}: bot's peak RSS at its first answer p50", med(runs, "peak_mib"), "MiB")
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
    parser.add_argument("--asks", type=int, default=None, help="cold terminal asks (default 6, quick 2)")
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
    terminal(report, args.asks or (2 if args.quick else 6))
    report.emit()


if __name__ == "__main__":
    c.main_guard(run)
