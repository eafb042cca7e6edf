"""Under gunicorn with deploy/gunicorn.conf.py (two workers), one unlock on the Custody
page reaches both workers, and `carebooks lock` locks both (issue 21): the page of shared
memory is made by the master before it forks (docs/privacy.md)."""

from __future__ import annotations

import collections
import http.cookiejar
import re
import urllib.parse
import urllib.request

from bench.harness import Client, Gunicorn, carebooks, fund_env
from tests.app.conftest import PASSWORD, ask
from tests.app.test_custody import SHARE

STORY = "Rent is due and my shift was cut."


class Browser:
    """Cookies and CSRF tokens over plain HTTP."""

    def __init__(self, port: int):
        self.base = f"http://127.0.0.1:{port}"
        self.opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))

    def get(self, path: str) -> str:
        return self.opener.open(self.base + path, timeout=30).read().decode()

    def post(self, page: str, action: str, data: dict) -> str:
        token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', self.get(page)).group(1)
        body = urllib.parse.urlencode({"csrf_token": token, **data}).encode()
        return self.opener.open(self.base + action, body, timeout=30).read().decode()


def _stories(server, token: str, code: str, n: int = 24, most: int = 240) -> dict[int, set[str]]:
    """The story as each worker pid answers it (a new connection per request, one at a
    time so the access log's order is the answers' order): at least `n` requests, and
    more, up to `most`, until both workers have answered (which worker accepts a
    connection is theirs to race for)."""
    before = server.access_log.read_text().count("\n") if server.access_log.exists() else 0
    answers: list[str] = []
    seen: dict[int, set[str]] = collections.defaultdict(set)
    while len(answers) < most:
        client = Client(server.port, token, timeout=30)
        try:
            answers.append(client.get(f"/api/v1/requests/{code}")[2]["story"])
        finally:
            client.close()
        if len(answers) >= n and len(answers) % 8 == 0:
            seen = _by_pid(server, code, before, answers)
            if len(seen) == 2:
                break
    return _by_pid(server, code, before, answers)


def _by_pid(server, code: str, before: int, answers: list[str]) -> dict[int, set[str]]:
    lines = [ln for ln in server.access_log.read_text().splitlines()[before:]
             if f"/api/v1/requests/{code}" in ln]
    seen = collections.defaultdict(set)
    for line, story in zip(lines, answers):
        seen[int(line.split()[0].strip("<>"))].add(story)
    return seen


def test_one_unlock_reaches_both_workers_and_lock_locks_both(fund, database_url, tmp_path):
    code = ask(fund, story=STORY)
    env = fund_env(tmp_path / "instance", database_url)
    out = carebooks(env, "custody", "split", "--shares", "3", "--needed", "2").stdout
    shares = [s for _n, s in SHARE.findall(out)]
    token = fund.tokens["treasurer"]
    server = Gunicorn(env, tmp_path / "gunicorn", workers=2,
                      extra=("--config", "deploy/gunicorn.conf.py"))
    with server:
        locked = _stories(server, token, code)
        assert len(locked) == 2 and all(s == {"locked: 2 treasurers must unlock"}
                                        for s in locked.values()), locked
        b = Browser(server.port)
        b.post("/sign-in", "/sign-in", {"email": "treasurer@example.org", "password": PASSWORD})
        b.post("/sign-in/code", "/sign-in/code", {"code": fund.code("treasurer")})
        page = b.post("/custody", "/custody/unlock", {"u-shares": "\n".join(shares[:2])})
        assert "Unlocked" in page
        unlocked = _stories(server, token, code)
        assert len(unlocked) == 2 and all(s == {STORY} for s in unlocked.values()), unlocked
        carebooks(env, "lock")
        again = _stories(server, token, code)
        assert all(s == {"locked: 2 treasurers must unlock"} for s in again.values()), again
