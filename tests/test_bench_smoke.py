"""The benchmark scripts still run (quick mode): `make bench` must not rot. No figure is asserted here."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))
from run_all import SCRIPTS  # noqa: E402 - bench/ is not a package; the list of scripts lives there once


@pytest.mark.slow
def test_every_benchmark_script_runs_and_prints_its_figures():
    """bench/run_all.py --quick: every script finishes and the final table lists each of them."""
    proc = subprocess.run(
        # A guard against a hung script, not a speed check: on a busy shared 2-core machine the quick run
        # of every script (three bot processes in sharding.py among them) has taken over 18 minutes.
        [sys.executable, "bench/run_all.py", "--quick"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=1800,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    for script in SCRIPTS:  # each script's rows are in the final table
        assert f"| {script} |" in proc.stdout, script
    assert "Targets met:" in proc.stdout
