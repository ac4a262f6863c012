"""The systemd unit shipped in docs/deploy/ is valid and carries the settings the README recommends."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
UNIT = ROOT / "docs" / "deploy" / "talksbot.service"


def _directives() -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for line in UNIT.read_text(encoding="utf-8").splitlines():
        if "=" in line and not line.startswith(("#", "[")):
            key, _, value = line.partition("=")
            out.setdefault(key.strip(), []).append(value.strip())
    return out


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="systemd-analyze is not installed")
def test_the_unit_passes_systemd_analyze_verify(tmp_path):
    """`systemd-analyze verify` accepts the unit (pointed at this checkout's talksbot) without a warning."""
    talksbot = Path(sys.executable).with_name("talksbot")
    text = UNIT.read_text(encoding="utf-8")
    text = text.replace("/opt/talksbot/.venv/bin/talksbot", str(talksbot)).replace("/opt/talksbot", str(ROOT))
    unit = tmp_path / "talksbot.service"
    unit.write_text(text, encoding="utf-8")
    proc = subprocess.run(["systemd-analyze", "verify", "--man=no", str(unit)], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert "talksbot.service" not in proc.stderr, proc.stderr  # unknown keys are only warnings: none allowed


def test_the_unit_restarts_on_failure_and_keeps_state_on_a_persistent_path():
    """Restart on failure (not on a bad token or setting), state under /var/lib, the recommended environment."""
    d = _directives()
    assert d["Restart"] == ["on-failure"] and d["RestartPreventExitStatus"] == ["2"]
    assert d["ExecStart"] == ["/opt/talksbot/.venv/bin/talksbot run"]
    env = dict(e.split("=", 1) for e in d["Environment"])
    assert env["MALLOC_ARENA_MAX"] == "2" and env["OMP_WAIT_POLICY"] == "PASSIVE"
    for name in ("INDEX_DIR", "DOCUMENTS_DIR", "FEEDBACK_DB"):
        assert env[name].startswith("/var/lib/talksbot/")
    assert d["StateDirectory"] == ["talksbot"] and "/var/lib/talksbot" in d["ReadWritePaths"]
