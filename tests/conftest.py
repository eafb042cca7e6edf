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


# Cheap Argon2 for the suite. Every fund a test builds hashes five passwords and wraps
# three second-factor secrets, and every sign-in verifies one: at the production cost
# (RFC 9106's low-memory profile, about 0.3 s each on this machine) that was most of a
# fixture's time. Hashing cost is not what these tests test; a stored hash and a wrapped
# secret carry their own parameters, so everything verifies the same way. A test that is
# about the cost itself asks for `production_hashing`.
CHEAP = {"time_cost": 1, "memory_cost": 8, "parallelism": 1}


@pytest.fixture(scope="session", autouse=True)
def cheap_hashing():
    from argon2 import PasswordHasher

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr("app.workflow.passwords._hasher", PasswordHasher(**CHEAP))
        mp.setattr("app.custody.factor.PARAMS",
                   (CHEAP["time_cost"], CHEAP["memory_cost"], CHEAP["parallelism"]))
        yield


@pytest.fixture
def production_hashing(monkeypatch):
    """The hasher and factor cost the app ships with."""
    from argon2 import PasswordHasher
    from argon2.profiles import RFC_9106_LOW_MEMORY as P

    monkeypatch.setattr("app.workflow.passwords._hasher", PasswordHasher())
    monkeypatch.setattr("app.custody.factor.PARAMS",
                        (P.time_cost, P.memory_cost, P.parallelism))
