"""The benchmarks in bench/ still run and still prove what they claim to (a short run of
each, `--quick` where the bench has it; the figures themselves are for docs/performance.md
and docs/reports.md, never asserted here)."""

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


def test_books_bench_quick_run_completes_and_agrees_with_the_loader():
    """bench/books.py --quick: builds a 1k fund, measures posts and cold loads, prints the
    table and the targets. The timings are not judged here; the one correctness line is."""
    proc = _run("bench/books.py", "--quick")
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = proc.stdout
    assert re.search(r"^\s+1k\s+\d+\s", out, re.M), out        # the table's one row
    assert "balances equal: yes" in out, out
    assert "PASS  balances equal to loader.load_file at every size" in out, out
    assert len(re.findall(r"^  (PASS|FAIL)  ", out, re.M)) == 4, out


def test_report_bench_quick_run_completes_and_makes_a_pdf():
    """bench/report.py --quick: a 1k fund's last sealed month as a PDF, next to WeasyPrint
    alone. Only that it ran, made a PDF and printed every row is checked, not the times."""
    proc = _run("bench/report.py", "--quick")
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = proc.stdout
    kib = re.search(r"^fund: \d+ entries over \d+ months; report for \d{4}-\d{2} "
                    r"\((\d+) requests with facts\), en, a4, (\d+) KiB PDF", out, re.M)
    assert kib and int(kib.group(1)) > 0 and int(kib.group(2)) > 0, out
    for row in ("Books.open", "month_figures", "render_html", "WeasyPrint: HTML -> PDF",
                "the report: figures + HTML + PDF", "WeasyPrint alone"):
        assert re.search(rf"^\s*{re.escape(row)}.*\s\d+\.\d{{3}}\s", out, re.M), (row, out)
    assert re.search(r"^target: .*: (PASS|FAIL) \(", out, re.M), out
