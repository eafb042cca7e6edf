"""CPU per API call, in process: what one summary read and each kind of write costs the
server, without HTTP, threads or other load (docs/performance.md, "Where the time still
goes").

    .venv/bin/python bench/api_cpu.py                 # PostgreSQL (its Unix socket), 200 rounds
    .venv/bin/python bench/api_cpu.py --sqlite
    .venv/bin/python bench/api_cpu.py --profile out.prof   # cProfile (CPU time) of the rounds

A fresh fund (`carebooks init`, a treasurer, a member, a token each, the opening donation);
then rounds of: a member submits a request, a treasurer records a donation, approves the
request and pays it, every POST with its own `Idempotency-Key`, through the Flask test
client. Each call is timed with `time.process_time` (this process's CPU, system time
included: the database's own CPU is not). The first rounds warm up and are not counted.
Then the month's summary and the transparency page are each read N times with their
answers kept.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import shutil
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.harness import carebooks, fund_env, second_factor  # noqa: E402
from bench.http_load import (BANK, PASSWORD, create_database, default_admin_url,  # noqa: E402
                             donation_body, drop_database)

KINDS = ("submit", "donation", "approve", "pay", "summary")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=200)
    parser.add_argument("--warmup", type=int, default=20)
    parser.add_argument("--reads", type=int, default=2000)
    parser.add_argument("--sqlite", action="store_true")
    parser.add_argument("--database-url", default=os.environ.get(
        "CAREBOOKS_BENCH_ADMIN_URL", default_admin_url()))
    parser.add_argument("--database-name", default="carebooks_bench_cpu")
    parser.add_argument("--profile", help="write a cProfile (CPU time) of the rounds here")
    parser.add_argument("--profile-reads", help="write a cProfile of the WSGI page reads here")
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="carebooks-cpu-"))
    url = None if args.sqlite else create_database(args.database_url, args.database_name)
    try:
        env = fund_env(work / "instance", url)
        carebooks(env, "init", "--name", "Bench Mutual Aid", "--currency", "USD")
        tokens = {}
        for role, email in (("treasurer", "t@example.org"), ("member", "m@example.org")):
            carebooks(env, "user", "add", email, "--role", role, "--password-stdin",
                      stdin=PASSWORD + "\n")
            if role == "treasurer":
                second_factor(env, email)  # a token that moves money needs one
            tokens[role] = carebooks(env, "token", "create", email).stdout.strip()
        os.environ.update(env)
        for name in ("DATABASE_URL", "REDIS_URL"):
            if name not in env:
                os.environ.pop(name, None)
        return run(args, tokens, "SQLite" if args.sqlite else "PostgreSQL")
    finally:
        if url:
            drop_database(args.database_url, args.database_name)
        shutil.rmtree(work, ignore_errors=True)


def run(args, tokens: dict[str, str], database: str) -> int:
    from app.wsgi import app  # after the environment names the fund

    client = app.test_client()
    statements = _count_statements()
    today = dt.date.today()
    request_body = {"amount": "1.00", "category": "rent",
                    "needed_by": (today + dt.timedelta(days=7)).isoformat(),
                    "payout_method": "bank", "story": "The rent is due on Friday."}

    def post(role: str, path: str, body: dict) -> dict:
        response = client.post(path, json=body, headers={
            "Authorization": f"Bearer {tokens[role]}", "Idempotency-Key": uuid.uuid4().hex})
        if response.status_code not in (200, 201):
            raise RuntimeError(f"{path}: {response.status_code} {response.get_data()!r}")
        return response.get_json()

    month = today.strftime("%Y-%m")
    post("treasurer", "/api/v1/donations", donation_body("100000.00"))
    spent: dict[str, list[float]] = {k: [] for k in KINDS}
    sent: dict[str, list[int]] = {k: [] for k in KINDS}

    def timed(kind: str, role: str, path: str, body: dict) -> dict:
        before = statements[0]
        start = time.process_time()
        data = post(role, path, body)
        spent[kind].append(time.process_time() - start)
        sent[kind].append(statements[0] - before)
        return data

    def one_round() -> None:
        code = timed("submit", "member", "/api/v1/requests", request_body)["code"]
        timed("donation", "treasurer", "/api/v1/donations", donation_body("20.00"))
        timed("approve", "treasurer", f"/api/v1/requests/{code}/approve", {})
        timed("pay", "treasurer", f"/api/v1/requests/{code}/payments",
              {"amount": "1.00", "account": BANK})
        before = statements[0]
        start = time.process_time()
        if client.get(f"/api/v1/summary?month={month}").status_code != 200:
            raise RuntimeError("summary: not 200")
        spent["summary"].append(time.process_time() - start)
        sent["summary"].append(statements[0] - before)

    for _ in range(args.warmup):
        one_round()
    for values in (*spent.values(), *sent.values()):
        values.clear()
    profile = None
    if args.profile:
        import cProfile
        profile = cProfile.Profile(time.process_time)
        profile.enable()
    for _ in range(args.rounds):
        one_round()
    if profile is not None:
        profile.disable()
        profile.dump_stats(args.profile)

    client.get(f"/api/v1/summary?month={month}")  # worked out once, then kept
    before = statements[0]
    start = time.process_time()
    for _ in range(args.reads):
        response = client.get(f"/api/v1/summary?month={month}")
    read_ms = (time.process_time() - start) / args.reads * 1000
    read_sql = (statements[0] - before) / args.reads
    if response.status_code != 200:
        raise RuntimeError(f"summary: {response.status_code}")

    client.get("/")  # rendered once, then kept
    before = statements[0]
    start = time.process_time()
    for _ in range(args.reads):
        page = client.get("/")
    page_ms = (time.process_time() - start) / args.reads * 1000
    page_sql = (statements[0] - before) / args.reads
    if page.status_code != 200:
        raise RuntimeError(f"page: {page.status_code}")

    raw_ms = _raw_page_ms(app, args.reads, getattr(args, "profile_reads", None))

    print(f"CPU per API call, in process ({database}; {args.rounds} rounds after "
          f"{args.warmup} warm-up; Flask test client, no HTTP)")
    print(f"{'call':34s} {'mean ms':>8s} {'p50 ms':>8s} {'SQL':>5s}")
    print(f"{'GET /api/v1/summary (answer kept)':34s} {read_ms:8.2f} {'':>8s} "
          f"{read_sql:5.1f}")
    print(f"{'GET / (answer kept)':34s} {page_ms:8.2f} {'':>8s} {page_sql:5.1f}")
    print(f"{'GET / (kept, WSGI call only)':34s} {raw_ms:8.3f}")
    paths = {"submit": "POST /requests", "donation": "POST /donations",
             "approve": "POST /requests/<code>/approve",
             "pay": "POST /requests/<code>/payments",
             "summary": "GET /api/v1/summary (after a write)"}
    for kind in KINDS:
        ms = [v * 1000 for v in spent[kind]]
        print(f"{paths[kind]:34s} {statistics.mean(ms):8.2f} {statistics.median(ms):8.2f} "
              f"{statistics.mean(sent[kind]):5.1f}")
    return 0


def _raw_page_ms(app, reads: int, profile_to: str | None = None) -> float:
    """CPU per stranger's page read through the app's WSGI callable alone, as gunicorn
    calls it (no test client building the request: that costs more than the read)."""
    environ = {"REQUEST_METHOD": "GET", "PATH_INFO": "/", "QUERY_STRING": "",
               "SERVER_NAME": "127.0.0.1", "SERVER_PORT": "80", "SERVER_PROTOCOL": "HTTP/1.1",
               "wsgi.url_scheme": "http", "HTTP_HOST": "127.0.0.1",
               "HTTP_ACCEPT_LANGUAGE": "en", "wsgi.input": None, "wsgi.errors": sys.stderr}
    seen = []

    def start_response(status, headers, exc_info=None):
        seen.append(status)

    b"".join(app.wsgi_app(dict(environ), start_response))
    profile = None
    if profile_to:
        import cProfile
        profile = cProfile.Profile(time.process_time)
        profile.enable()
    start = time.process_time()
    for _ in range(reads):
        b"".join(app.wsgi_app(dict(environ), start_response))
    ms = (time.process_time() - start) / reads * 1000
    if profile is not None:
        profile.disable()
        profile.dump_stats(profile_to)
    if set(seen) != {"200 OK"}:
        raise RuntimeError(f"page: {set(seen)}")
    return ms


def _count_statements() -> list[int]:
    """A counter of the SQL statements every engine sends (BEGIN and COMMIT included,
    as SQLAlchemy sends them): each is a round trip to the database and CPU on both
    sides."""
    from sqlalchemy import event
    from sqlalchemy.engine import Engine

    count = [0]

    def one(*_args) -> None:
        count[0] += 1

    event.listen(Engine, "before_cursor_execute", one)
    event.listen(Engine, "begin", one)
    event.listen(Engine, "commit", one)
    return count


if __name__ == "__main__":
    sys.exit(main())
