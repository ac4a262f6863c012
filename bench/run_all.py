"""Run every benchmark in sequence (each in its own process) and print one Markdown table at the end.

    .venv/bin/python bench/run_all.py            # the full run (15-25 minutes on 2 cores)
    .venv/bin/python bench/run_all.py --quick    # a smoke run of every script (a couple of minutes)
    .venv/bin/python bench/run_all.py --only million --only scale

Scripts print figures and never assert: a missed target shows as "no" in the table, not as
a failure. The exit status is 1 only when a script itself failed (crashed or printed no result).
Figures can also be written as JSON (--json FILE) for comparing runs.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import common as c

SCRIPTS = (
    "answer_latency",
    "discord_latency",
    "index_throughput",
    "incremental",
    "million",
    "scale",
    "sharding",
    "startup",
    "threads",
    "web_ingest",
)
HERE = Path(__file__).resolve().parent


def run_script(name: str, quick: bool, extra: list[str]) -> tuple[int, float, dict | None]:
    """Run one script, echoing its output; (exit status, seconds, its BENCH-JSON payload)."""
    cmd = [sys.executable, str(HERE / f"{name}.py"), *(["--quick"] if quick else []), *extra]
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    t0 = time.perf_counter()
    payload = None
    with subprocess.Popen(
        cmd, cwd=c.ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, bufsize=1
    ) as proc:
        assert proc.stdout is not None
        for line in proc.stdout:
            if line.startswith(c.RESULT_PREFIX):
                payload = json.loads(line[len(c.RESULT_PREFIX) :])
            else:
                print(line, end="", flush=True)
    return proc.returncode, time.perf_counter() - t0, payload


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="short smoke runs of every script")
    parser.add_argument("--only", action="append", choices=SCRIPTS, help="run only this script (repeatable)")
    parser.add_argument("--skip", action="append", choices=SCRIPTS, default=[], help="leave this script out")
    parser.add_argument("--json", metavar="FILE", help="also write every figure to FILE as JSON")
    args = parser.parse_args(argv)
    names = [n for n in (args.only or SCRIPTS) if n not in args.skip]

    started = time.perf_counter()
    info = c.machine_info()
    results, failures, timings = [], [], {}
    for name in names:
        print(f"\n{'=' * 20} {name}{' --quick' if args.quick else ''} {'=' * 20}", flush=True)
        code, seconds, payload = run_script(name, args.quick, [])
        timings[name] = seconds
        if code != 0 or payload is None:
            failures.append(f"{name} (exit {code}{', no result line' if payload is None else ''})")
        if payload is not None:
            results.append(payload)

    rows = [c.Row(**r) for p in results for r in p["rows"]]
    total = time.perf_counter() - started
    print(f"\n\n# talksbot benchmarks{' (quick)' if args.quick else ''}\n")
    print(
        f"Machine: {info['nproc']} CPUs ({info['cpu']}), {info.get('memory', '?')} RAM; python {info['python']}, "
        f"torch {info.get('torch')}, faiss-cpu {info.get('faiss-cpu')}, sentence-transformers "
        f"{info.get('sentence-transformers')}, transformers {info.get('transformers')}, numpy {info.get('numpy')}, "
        f"discord.py {info.get('discord.py')}. Total {total / 60:.1f} min."
    )
    print(
        "Load average (1 min) at start -> end of each script: "
        + ", ".join(f"{p['bench']} {p['load'][0]:.1f}->{p['load'][1]:.1f} ({p['seconds']:.0f} s)" for p in results)
    )
    print("\n## Targets\n")
    print(c.markdown_table([r for r in rows if r.target], with_bench=True))
    print("\n## All figures\n")
    print(c.markdown_table(rows, with_bench=True))
    notes = [f"{p['bench']}: {n}" for p in results for n in p["notes"]]
    if notes:
        print("\n## Notes\n")
        print("\n".join(f"- {n}" for n in notes))
    missed = [f"{r.bench}: {r.metric}" for r in rows if r.met is False]
    print(
        f"\nTargets met: {sum(r.met is True for r in rows)}, missed: {len(missed)}"
        + (f" ({'; '.join(missed)})" if missed else "")
    )
    if failures:
        print(f"FAILED scripts: {', '.join(failures)}")
    if args.json:
        Path(args.json).write_text(
            json.dumps(
                {"machine": info, "quick": args.quick, "seconds": total, "results": results, "failures": failures},
                indent=2,
            )
            + "\n",
            encoding="utf-8",
        )
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
