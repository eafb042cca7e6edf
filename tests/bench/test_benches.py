"""The benchmarks in bench/ still run and still prove what they claim to (a short run of
each; the figures themselves are for docs/performance.md, never asserted here)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _run(*args: str, timeout: int = 300) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=timeout)


def test_api_cpu_prints_a_figure_for_every_call():
    proc = _run("bench/api_cpu.py", "--sqlite", "--rounds", "3", "--warmup", "1",
                "--reads", "20")
    assert proc.returncode == 0, proc.stderr
    for call in ("GET /api/v1/summary", "POST /requests ", "POST /donations",
                 "POST /requests/<code>/approve", "POST /requests/<code>/payments"):
        line = next(ln for ln in proc.stdout.splitlines() if ln.startswith(call))
        assert float(re.findall(r"\d+\.\d+", line)[0]) > 0, line


@pytest.mark.slow
def test_http_load_finds_every_acknowledged_write_once_and_check_passing():
    proc = _run("bench/http_load.py", "--sqlite", "--seconds", "3")
    out = proc.stdout
    assert "Traceback" not in proc.stderr, proc.stderr
    assert "PASS  0 errors (0)" in out, out
    assert "PASS  carebooks check passes (exit 0)" in out, out
    assert "PASS  0 lost, 0 duplicated, 0 extra" in out, out
    acked = int(re.search(r"acknowledged money writes: (\d+)", out).group(1))
    assert acked > 0, out
    # the speed targets decide the exit status: 0 when both are met, 1 when not
    met = "FAIL" not in out
    assert proc.returncode == (0 if met else 1), out
