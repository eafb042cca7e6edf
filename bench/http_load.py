"""HTTP benchmark: the app under gunicorn (2 workers) with a mixed load, then `check`.

    make bench-http                                        # PostgreSQL, 20 s of load
    .venv/bin/python bench/http_load.py --seconds 10 --sqlite
    .venv/bin/python bench/http_load.py --compare          # sync vs gthread, 10 s each

It creates a fresh fund in a temporary instance folder with the CLI (`carebooks init`,
`user add`, `token create`) against a fresh PostgreSQL database (`carebooks_bench`,
dropped at the end), starts `gunicorn app.wsgi:app` on 127.0.0.1 and a free port, and
drives it from this process for a bounded time from a bounded number of threads, each
opening one connection per request (the app's keep-alive is off, as deployed):

* summary: community reads of `GET /api/v1/summary` (the public JSON of this month);
* page: the transparency page `GET /` (off by default: `--page-readers N`);
* submit: members asking for aid (`POST /api/v1/requests`);
* approve, pay, donation, and (issue 18) transfer (bank to cash, some with a fee), cost
  (a running cost), refund (part of a donation) and return (a payment that came back):
  treasurers' money writes through the API, each with an Idempotency-Key; every 10th is sent a second time with the same key ("replay": it must
  answer the same, marked `Idempotent-Replayed`, and change nothing).

Then it stops gunicorn, runs `carebooks check`, loads the books with Beancount and proves
that every acknowledged money write's carebooks-id is in the books exactly once and that
nothing else is. The table goes to stdout, progress to stderr. The exit status is 1 if a
target is missed (>= 500 summary reads/s, >= 50 money writes/s, 0 errors) or a check
fails. The file is not called http.py: a module of that name in bench/ would shadow the
standard library's `http` for every script in this folder. See docs/performance.md.
"""

from __future__ import annotations

import argparse
import collections
import json
import datetime as dt
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.harness import (BIN, ROOT as _ROOT, Client, Gunicorn, books_ids,  # noqa: E402
                           carebooks, cpu_times, free_port, fund_env, month_file_errors,
                           second_factor)

MONEY = ("approve", "pay", "donation", "transfer", "cost", "refund", "return")
KINDS = ("summary", "page", "page 304", "submit", *MONEY, "replay")
TARGET_READS, TARGET_WRITES = 500.0, 50.0
TARGET_PAGE = 2000.0   # a link shared widely: `/` read by strangers, with money moving
PASSWORD = "bench horse battery staple"
BANK = "Assets:Fund:Bank"


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


@dataclass
class Tally:
    """Latencies, errors and acknowledged carebooks-ids, shared by the load threads."""

    ms: dict[str, list[float]] = field(default_factory=lambda: collections.defaultdict(list))
    errors: collections.Counter = field(default_factory=collections.Counter)
    samples: dict[str, str] = field(default_factory=dict)
    acked: list[str] = field(default_factory=list)
    reconnects: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def ok(self, kind: str, ms: float, carebooks_id: str | None = None) -> None:
        with self.lock:
            self.ms[kind].append(ms)
            if carebooks_id:
                self.acked.append(carebooks_id)

    def error(self, kind: str, detail: str) -> None:
        with self.lock:
            self.errors[kind] += 1
            self.samples.setdefault(kind, detail[:300])


# --- the fund ----------------------------------------------------------------------------


def default_admin_url() -> str:
    """The local PostgreSQL server as docs/operations.md connects to it: over its Unix
    socket when there is one (a query costs a quarter of the CPU it does over TCP to
    127.0.0.1 here), else 127.0.0.1:5432."""
    if Path("/var/run/postgresql/.s.PGSQL.5432").exists():
        return "postgresql://postgres@/postgres?host=/var/run/postgresql"
    return "postgresql://postgres@127.0.0.1:5432/postgres"


def create_database(admin_url: str, name: str) -> str:
    """Drop and create database `name` on the server of `admin_url`; return its URL."""
    import psycopg

    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    from sqlalchemy.engine import make_url
    return make_url(admin_url).set(database=name).render_as_string(hide_password=False)


def drop_database(admin_url: str, name: str) -> None:
    import psycopg

    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def create_fund(env: dict[str, str], members: int, notify: bool = False
                ) -> dict[str, list[str]]:
    """`carebooks init`, two treasurers and `members` members, one API token each; with
    `notify`, every one of them chose to be told by email (English and Spanish)."""
    carebooks(env, "init", "--name", "Bench Mutual Aid", "--currency", "USD")
    tokens: dict[str, list[str]] = {"treasurer": [], "member": []}
    people = [("treasurer", f"treasurer{i}@example.org") for i in (1, 2)] + [
        ("member", f"member{i}@example.org") for i in range(1, members + 1)]
    for role, email in people:
        carebooks(env, "user", "add", email, "--role", role, "--password-stdin",
                  stdin=PASSWORD + "\n")
        if role == "treasurer":
            second_factor(env, email)  # a token that moves money needs one
        tokens[role].append(carebooks(env, "token", "create", email).stdout.strip())
    if notify:
        python(env, f"EMAILS = {[email for _, email in people]!r}\n" + _CHOOSE_EMAIL)
    return tokens


def donation_body(amount: str) -> dict:
    return {"amount": amount, "account": BANK, "date": dt.date.today().isoformat(),
            "category": "individual", "donor_consents_public": False}


# --- notifications (issue 20): everyone chose email; a local SMTP server; the sender -----

_CHOOSE_EMAIL = """
from app import create_app
from app.workflow.notify import set_choice
from app.workflow.people import person_by_email
app = create_app()
with app.app_context():
    for i, email in enumerate(EMAILS):
        set_choice(person_by_email(email).id, "email", ("en", "es")[i % 2])
"""

_NOTICES = """
import json
from sqlmodel import func, select
from app import create_app
from app.db import session_scope
from app.models import Notification
app = create_app()
with app.app_context(), session_scope() as session:
    rows = session.exec(select(Notification.status, func.count()).group_by(
        Notification.status)).all()
print(json.dumps(dict(rows)))
"""


def python(env: dict[str, str], code: str) -> str:
    """Run `code` in a fresh interpreter for the fund `env` names; its stdout."""
    return subprocess.run([sys.executable, "-c", code], env=env, cwd=_ROOT, check=True,
                          capture_output=True, text=True, timeout=120).stdout


@dataclass
class Mail:
    """A local SMTP server (aiosmtpd, which swallows what it is sent) and `carebooks
    notify --loop` sending to it, as a systemd timer or a second process would: off the
    request path, on the same machine."""

    env: dict[str, str]
    every: int
    port: int = field(default_factory=free_port)
    smtp: subprocess.Popen | None = None
    sender: subprocess.Popen | None = None

    def settings(self) -> dict[str, str]:
        return {"CAREBOOKS_SMTP_URL": f"smtp://127.0.0.1:{self.port}",
                "CAREBOOKS_SMTP_FROM": "noreply@bench.example.org",
                "CAREBOOKS_BASE_URL": "https://bench.example.org"}

    def start_smtp(self) -> None:
        self.smtp = subprocess.Popen(
            [sys.executable, "-m", "aiosmtpd", "-n", "-l", f"127.0.0.1:{self.port}",
             "-c", "aiosmtpd.handlers.Sink"], stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL, start_new_session=True)
        deadline = time.monotonic() + 15
        while True:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                return
            except OSError:
                if time.monotonic() > deadline or self.smtp.poll() is not None:
                    raise RuntimeError("the local SMTP server (aiosmtpd) did not start")
                time.sleep(0.1)

    def start_sender(self) -> None:
        self.sender = subprocess.Popen([str(BIN / "carebooks"), "notify", "--loop",
                                        str(self.every)], env=self.env, cwd=_ROOT,
                                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                       start_new_session=True)

    def stop_sender(self) -> None:
        """Stop the looping sender between rounds if it can (SIGINT), then send what is
        left once, as the next timer run would."""
        if self.sender is not None and self.sender.poll() is None:
            self.sender.send_signal(signal.SIGINT)
            try:
                self.sender.wait(30)
            except subprocess.TimeoutExpired:
                self.sender.kill()
                self.sender.wait(5)
        carebooks(self.env, "notify")

    def pids(self) -> dict[str, list[int]]:
        return {"sender": [self.sender.pid] if self.sender else [],
                "smtp": [self.smtp.pid] if self.smtp else []}

    def stop(self) -> None:
        for proc in (self.sender, self.smtp):
            if proc is not None and proc.poll() is None:
                proc.kill()
                proc.wait(5)


# --- the load ----------------------------------------------------------------------------


def reader(port: int, path: str, kind: str, tally: Tally, stop: threading.Event,
           revalidate: int = 0) -> None:
    """Read `path` as a stranger; with `revalidate` N, every Nth read sends the ETag of
    the last answer in If-None-Match and must get `304 Not Modified` ("<kind> 304"):
    a visitor coming back, or a cache in between asking whether its copy still holds."""
    client = Client(port)
    etag, n = None, 0
    while not stop.is_set():
        n += 1
        conditional = bool(revalidate and etag and n % revalidate == 0)
        try:
            status, headers, data, ms = client.get(  # only its status counts
                path, parse=False, headers={"If-None-Match": etag} if conditional else None)
        except OSError as exc:
            tally.error(kind, repr(exc))
            continue
        if status == 200 and not conditional:
            tally.ok(kind, ms)
            etag = headers.get("etag", etag)
        elif status == 304 and conditional:
            tally.ok(f"{kind} 304", ms)
        else:
            tally.error(kind, f"{status} {data.decode('utf-8', 'replace')[:300]}")
    tally.reconnects += client.reconnects
    client.close()


def member(port: int, token: str, queue: collections.deque, tally: Tally,
           stop: threading.Event, pause: float) -> None:
    client = Client(port, token)
    needed_by = (dt.date.today() + dt.timedelta(days=7)).isoformat()
    body = {"amount": "1.00", "category": "rent", "needed_by": needed_by,
            "payout_method": "bank", "story": "The rent is due on Friday."}
    while not stop.is_set():
        try:
            status, _, data, ms = client.post("/api/v1/requests", body)
        except OSError as exc:
            tally.error("submit", repr(exc))
            continue
        if status == 201:
            tally.ok("submit", ms)
            queue.append(data["code"])
        else:
            tally.error("submit", f"{status} {data}")
        stop.wait(pause)
    tally.reconnects += client.reconnects
    client.close()


def treasurer(port: int, token: str, queue: collections.deque, tally: Tally,
              stop: threading.Event) -> None:
    """Loop: a donation, then approve and pay one submitted request if there is one."""
    client = Client(port, token)
    n = 0

    def write(kind: str, path: str, body: dict, want: int, id_of) -> dict | None:
        nonlocal n
        n += 1
        key = uuid.uuid4().hex
        try:
            status, _, data, ms = client.post(path, body, key=key)
        except OSError as exc:
            tally.error(kind, repr(exc))
            return None
        if status != want:
            tally.error(kind, f"{status} {data}")
            return None
        tally.ok(kind, ms, id_of(data))
        if n % 10 == 0:  # the same key again: the first answer, and no second effect
            try:
                status2, headers, data2, ms2 = client.post(path, body, key=key)
            except OSError as exc:
                tally.error("replay", repr(exc))
                return data
            if (status2, data2) == (status, data) and headers.get("idempotent-replayed") == "true":
                tally.ok("replay", ms2)
            else:
                tally.error("replay", f"{status2} {headers.get('idempotent-replayed')} {data2}")
        return data

    rounds = 0
    while not stop.is_set():
        rounds += 1
        gift = write("donation", "/api/v1/donations", donation_body("20.00"), 201,
                     lambda d: f"donation:{d['code']}")
        # the fund's other money movements, a few of each per round of ten
        if rounds % 3 == 0:
            write("transfer", "/api/v1/transfers", {
                "amount": "2.00", **({"fee": "0.10"} if rounds % 2 else {}),
                "from_account": BANK, "to_account": "Assets:Fund:Cash"}, 201,
                lambda d: f"transfer:{d['code']}")
        if rounds % 5 == 0:
            write("cost", "/api/v1/costs", {"amount": "0.50", "account": BANK,
                                            "kind": "other"}, 201,
                  lambda d: f"cost:{d['code']}")
        if gift is not None and rounds % 4 == 0:
            write("refund", f"/api/v1/donations/{gift['code']}/refund", {"amount": "1.00"},
                  200, lambda d: f"refund:{d['code']}:1")
        try:
            code = queue.popleft()
        except IndexError:
            continue
        if stop.is_set():
            queue.appendleft(code)
            break
        if write("approve", f"/api/v1/requests/{code}/approve", {}, 200,
                 lambda d: f"approve:{d['code']}:1") is not None:
            paid = write("pay", f"/api/v1/requests/{code}/payments", {"amount": "1.00",
                                                                     "account": BANK}, 201,
                         lambda d: f"pay:{d['code']}:{len(d['payments'])}")
            if paid is not None and rounds % 5 == 1:   # it bounced
                write("return", f"/api/v1/requests/{code}/returned", {}, 200,
                      lambda d: f"return:{d['code']}:1")
    tally.reconnects += client.reconnects
    client.close()


def drive(port: int, tokens: dict[str, list[str]], args) -> tuple[Tally, float]:
    """Run the mixed load for args.seconds; return the tally and the measured seconds."""
    tally, stop, queue = Tally(), threading.Event(), collections.deque()
    month = dt.date.today().strftime("%Y-%m")
    threads = [threading.Thread(target=reader, args=(port, f"/api/v1/summary?month={month}",
                                                     "summary", tally, stop))
               for _ in range(args.readers)]
    threads += [threading.Thread(target=reader, args=(port, "/", "page", tally, stop,
                                                      args.revalidate))
                for _ in range(args.page_readers)]
    threads += [threading.Thread(target=member, args=(port, tokens["member"][i % len(
        tokens["member"])], queue, tally, stop, args.member_pause)) for i in range(args.members)]
    threads += [threading.Thread(target=treasurer, args=(port, tokens["treasurer"][i % 2],
                                                         queue, tally, stop))
                for i in range(args.treasurers)]
    start = time.perf_counter()
    for t in threads:
        t.start()
    time.sleep(args.seconds)
    stop.set()
    for t in threads:
        t.join(60)
    elapsed = time.perf_counter() - start
    if any(t.is_alive() for t in threads):
        tally.error("client", "a load thread did not stop within 60 s")
    return tally, elapsed


# --- one run -----------------------------------------------------------------------------


def pct(values: list[float], p: float) -> float:
    """Nearest-rank percentile."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[max(0, min(len(ordered) - 1, round(p / 100 * len(ordered) + 0.5) - 1))]


def run(args, worker_class: str, threads: int) -> dict:
    """Create a fund, serve it, load it, stop, check it; return the figures."""
    work = Path(tempfile.mkdtemp(prefix="carebooks-http-"))
    dbname = None
    server = None
    mail: Mail | None = None
    notices: dict | None = None
    try:
        if args.sqlite:
            url = None
        else:
            dbname = args.database_name
            url = create_database(args.database_url, dbname)
        env = fund_env(work / "instance", url)
        if args.notify:
            mail = Mail(env, args.notify_every)
            env.update(mail.settings())
            mail.start_smtp()
        log(f"creating the fund in {work} ({'SQLite' if args.sqlite else dbname})")
        tokens = create_fund(env, args.member_people, notify=args.notify)
        server = Gunicorn(env, work, workers=args.workers, worker_class=worker_class,
                          threads=threads, extra=tuple(args.gunicorn_arg),
                          access_log_on=args.access_log)
        log(f"starting: {' '.join(server.command()[1:9])}")
        server.start()
        setup = Client(server.port, tokens["treasurer"][0])
        status, _, data, _ = setup.post("/api/v1/donations", donation_body("100000.00"))
        if status != 201:
            raise RuntimeError(f"the opening donation was refused: {status} {data}")
        setup_ids = {f"donation:{data['code']}"}
        setup.close()
        log(f"load for {args.seconds:.0f} s: {args.readers} summary readers, "
            f"{args.page_readers} page readers, {args.members} members, "
            f"{args.treasurers} treasurers")
        if mail is not None:
            mail.start_sender()
        pids, loadavg = server.worker_pids(), os.getloadavg()[0]
        before = cpu_times(pids, **(mail.pids() if mail else {}))
        tally, elapsed = drive(server.port, tokens, args)
        after = cpu_times(pids, **(mail.pids() if mail else {}))
        served = server.served_by()
        server.stop()
        if mail is not None:
            log("sending what is left (carebooks notify)")
            mail.stop_sender()
            notices = json.loads(python(env, _NOTICES))
        log("stopped gunicorn; carebooks check")
        check = carebooks(env, "check", check=False)
        ids, load_errors, txns = books_ids(work / "instance" / "books")
        parse_errors = {f: e for f, e in month_file_errors(work / "instance" / "books").items()
                        if e}
    finally:
        if server is not None:
            server.stop()
        if mail is not None:
            mail.stop()
        if dbname and not args.keep:
            drop_database(args.database_url, dbname)
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
        else:
            log(f"kept {work}" + (f" and database {dbname}" if dbname else ""))
    acked = collections.Counter(tally.acked)
    expected = set(acked) | setup_ids
    return {
        "worker_class": worker_class, "threads": threads, "elapsed": elapsed, "tally": tally,
        "workers": args.workers, "loadavg": loadavg, "page_readers": args.page_readers,
        "notify_every": args.notify_every,
        "database": ("SQLite" if args.sqlite else "PostgreSQL over its Unix socket"
                     if "host=/" in args.database_url or "host=%2F" in args.database_url
                     else "PostgreSQL over TCP"),
        "cpu": {k: after[k] - before[k] for k in after},
        "served": served, "check": check, "txns": txns, "load_errors": load_errors,
        "notices": notices,
        "parse_errors": parse_errors, "acked": sum(acked.values()),
        "acked_twice": sum(1 for n in acked.values() if n > 1),
        "missing": sorted(i for i in expected if ids[i] == 0),
        "duplicated": sorted(i for i in expected if ids[i] > 1),
        "extra": sorted(i for i in ids if i not in expected),
    }


def table(r: dict) -> None:
    tally, secs = r["tally"], r["elapsed"]
    head = ["kind", "count", "per s", "p50 ms", "p99 ms", "errors"]
    rows = []
    for kind in KINDS:
        lat = tally.ms.get(kind, [])
        if not lat and not tally.errors[kind]:
            continue
        rows.append([kind, str(len(lat)), f"{len(lat) / secs:.1f}", f"{pct(lat, 50):.1f}",
                     f"{pct(lat, 99):.1f}", str(tally.errors[kind])])
    money = sum(len(tally.ms.get(k, [])) for k in MONEY)
    rows.append(["money writes", str(money), f"{money / secs:.1f}", "", "",
                 str(sum(tally.errors[k] for k in MONEY))])
    widths = [max(len(h), *(len(row[i]) for row in rows)) for i, h in enumerate(head)]
    line = lambda cells: "  ".join(  # noqa: E731
        c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(cells, widths)))
    threads = f", {r['threads']} threads each" if r["worker_class"] == "gthread" else ""
    print(f"gunicorn: {r['workers']} workers, {r['worker_class']}{threads}; "
          f"{r['database']}; {secs:.1f} s of load")
    print(line(head))
    print("  ".join("-" * w for w in widths))
    for row in rows:
        print(line(row).rstrip())
    print()


def verdict(r: dict) -> bool:
    tally, secs = r["tally"], r["elapsed"]
    reads = len(tally.ms.get("summary", [])) / secs
    pages = (len(tally.ms.get("page", [])) + len(tally.ms.get("page 304", []))) / secs
    writes = sum(len(tally.ms.get(k, [])) for k in MONEY) / secs
    errors = sum(tally.errors.values())
    for kind, sample in sorted(tally.samples.items()):
        print(f"first {kind} error: {sample}")
    cpu, cores = r["cpu"], os.cpu_count() or 1
    other = cpu["machine"] - cpu["server"] - cpu["client"] - cpu["postgres"]
    mail_cpu = cpu.get("sender", 0.0) + cpu.get("smtp", 0.0)
    other -= mail_cpu
    print(f"CPU during the load, of {cores} cores x {secs:.1f} s = {cores * secs:.1f} s: "
          f"gunicorn workers {cpu['server']:.1f} s, PostgreSQL {cpu['postgres']:.1f} s, "
          f"this load client {cpu['client']:.1f} s"
          + (f", the notification sender {cpu.get('sender', 0.0):.1f} s and the SMTP "
             f"server {cpu.get('smtp', 0.0):.1f} s" if r["notices"] is not None else "")
          + f", everything else {other:.1f} s (load average before the load: "
          f"{r['loadavg']:.2f})")
    notices = r["notices"]
    if notices is not None:
        print(f"notifications (everyone chose email; `carebooks notify --loop "
              f"{r['notify_every']}` to a local SMTP server, then once more after the load): "
              f"{sum(notices.values())} queued, {notices.get('sent', 0)} sent, "
              f"{notices.get('pending', 0)} waiting, {notices.get('failed', 0)} failed")
    if r["served"]:
        print(f"money writes served per worker pid: {dict(r['served'])}")
    print(f"client retries after a reset connection: {tally.reconnects}")
    print("carebooks check (after gunicorn stopped):")
    print("  " + r["check"].stdout.strip().replace("\n", "\n  "))
    if r["check"].stderr.strip():
        print("  " + r["check"].stderr.strip().replace("\n", "\n  "))
    print(f"books (Beancount's loader): {r['txns']} transactions, {len(r['load_errors'])} "
          f"errors; month files with parse errors: {len(r['parse_errors'])}")
    print(f"acknowledged money writes: {r['acked']} (+1 opening donation); in the books "
          f"exactly once: {r['acked'] + 1 - len(r['missing']) - len(r['duplicated'])}; "
          f"lost {len(r['missing'])}, duplicated {len(r['duplicated'])}, "
          f"extra {len(r['extra'])}")
    for name in ("missing", "duplicated", "extra"):
        if r[name]:
            print(f"  {name}: {', '.join(r[name][:10])}")
    for err in r["load_errors"][:5]:
        print(f"  beancount: {err}")
    checks = [
        (f"page reads (200 and 304) >= {TARGET_PAGE:.0f}/s", pages >= TARGET_PAGE,
         f"{pages:.1f}/s"),
    ] if r["page_readers"] else [
        (f"summary reads >= {TARGET_READS:.0f}/s", reads >= TARGET_READS, f"{reads:.1f}/s"),
    ]
    if notices is not None:
        checks.append(("every notification queued was sent",
                       sum(notices.values()) > 0 and notices.get("sent", 0)
                       == sum(notices.values()), f"{notices.get('sent', 0)} of "
                       f"{sum(notices.values())}"))
    checks += [
        (f"money writes >= {TARGET_WRITES:.0f}/s", writes >= TARGET_WRITES, f"{writes:.1f}/s"),
        ("0 errors", errors == 0, f"{errors}"),
        ("carebooks check passes", r["check"].returncode == 0,
         f"exit {r['check'].returncode}"),
        ("books load with 0 errors", not r["load_errors"] and not r["parse_errors"], ""),
        ("0 lost, 0 duplicated, 0 extra",
         not (r["missing"] or r["duplicated"] or r["extra"] or r["acked_twice"]), ""),
    ]
    print("targets:")
    for name, ok, detail in checks:
        print(f"  {'PASS' if ok else 'FAIL'}  {name}" + (f" ({detail})" if detail else ""))
    print()
    return all(ok for _, ok, _ in checks)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=20.0, help="load time (default 20)")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--worker-class", default="gthread", choices=["gthread", "sync"])
    parser.add_argument("--threads", type=int, default=4, help="threads per gthread worker")
    parser.add_argument("--compare", action="store_true",
                        help="run sync, then gthread (--seconds each, default 10)")
    parser.add_argument("--readers", type=int, default=6, help="summary connections")
    parser.add_argument("--page-readers", type=int, default=0, help="`/` page connections")
    parser.add_argument("--viral", action="store_true",
                        help="a link shared widely: 6 `/` page readers, 1 summary reader "
                             "(unless given), every 4th page read conditional")
    parser.add_argument("--revalidate", type=int, default=4,
                        help="every Nth page read sends If-None-Match (0: never)")
    parser.add_argument("--members", type=int, default=2, help="member connections")
    parser.add_argument("--member-people", type=int, default=4, help="members in the fund")
    # 50 ms: the members ask about as often as the treasurers decide (~25 a second here);
    # at 20 ms undecided requests piled up by ~15 a second (docs/performance.md).
    parser.add_argument("--member-pause", type=float, default=0.05,
                        help="seconds a member waits between requests")
    parser.add_argument("--treasurers", type=int, default=3, help="treasurer connections")
    parser.add_argument("--gunicorn-arg", action="append", default=[],
                        help="one more gunicorn argument (repeat)")
    parser.add_argument("--access-log", action="store_true",
                        help="gunicorn's access log on (costs ~3%% CPU): writes per worker pid")
    parser.add_argument("--no-notify", dest="notify", action="store_false",
                        help="nobody chooses email, no SMTP server, no sender (issue 20: "
                             "on by default)")
    parser.add_argument("--notify-every", type=int, default=5,
                        help="seconds between the sender's rounds during the load (default 5)")
    parser.add_argument("--sqlite", action="store_true", help="SQLite instead of PostgreSQL")
    parser.add_argument("--database-url", default=os.environ.get(
        "CAREBOOKS_BENCH_ADMIN_URL", default_admin_url()),
        help="a PostgreSQL server where the bench may create and drop its database")
    parser.add_argument("--database-name", default="carebooks_bench")
    parser.add_argument("--keep", action="store_true", help="keep the folder and database")
    args = parser.parse_args()
    if args.viral:
        args.page_readers = args.page_readers or 6
        if "--readers" not in sys.argv:
            args.readers = 1
    total = args.readers + args.page_readers + args.members + args.treasurers
    if total > 64:
        parser.error("at most 64 connections")
    if args.compare:
        if "--seconds" not in sys.argv:
            args.seconds = 10.0
        results = [run(args, "sync", 1), run(args, "gthread", args.threads)]
    else:
        results = [run(args, args.worker_class, args.threads)]
    ok = True
    for r in results:
        table(r)
        ok = verdict(r) and ok
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
