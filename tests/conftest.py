"""Rules for the whole suite.

On CI (the environment variable `CI` is set to anything but "", "0", "false" or "no";
`.ci/run` sets `CI=true`), a skipped test fails the run: CI installs every tool the suite
needs (Chromium, pdftoppm, axe-core, Redis, PostgreSQL), so a skip there means a test that
did not run, and a green run must mean every test ran. Off CI, a test whose tool is
missing skips as usual and the run still passes.

The rule is checked once, in the process that reports (the pytest-xdist controller when
the suite runs in parallel), after every test has reported.
"""

from __future__ import annotations

import os

import pytest


def on_ci() -> bool:
    """True when `CI` is set to a true value, as CI services and `.ci/run` set it."""
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


def pytest_report_header(config: pytest.Config) -> str | None:
    if on_ci():
        return "CI is set: any skipped test fails the run"
    return None


@pytest.hookimpl(trylast=True)
def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """On CI, turn a run that passed with skipped tests into a failed one."""
    if not on_ci() or hasattr(session.config, "workerinput"):  # a pytest-xdist worker
        return
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    skipped = reporter.stats.get("skipped", []) if reporter else []
    if not skipped:
        return
    if reporter:
        reporter.line("")
        reporter.write_sep("=", f"CI: {len(skipped)} skipped test(s) fail this run", red=True)
        for report in skipped:
            reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else ""
            reporter.write_line(f"SKIPPED ON CI {report.nodeid}: {reason}")
    if session.exitstatus == pytest.ExitCode.OK:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
