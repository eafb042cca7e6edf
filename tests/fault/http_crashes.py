"""Crash injection over HTTP: a real server killed while clients retry with their keys.

The fund is served by gunicorn (2 workers, as deployed) and then by `carebooks serve`.
Two clients work it the way an API client should (docs/api.md, "Retrying"): every POST
carries an `Idempotency-Key`, and is sent again with the same key and body until it gets
a final answer — a 2xx or a 4xx; a dropped connection, a 5xx and a 409
`idempotency_in_progress` are retried. One client asks, approves and pays (member and
treasurer); the other records donations.

Meanwhile the server is killed with SIGKILL:

- from inside, at the moments of tests/fault/armed.py (between the claim of a key and its
  step, around commits, in the middle of an append, after an append);
- from outside, a worker at a random moment (`timer`);
- the whole server (master and workers, or `carebooks serve`) at a random moment, then
  started again (`server`): the new server must free the keys its dead predecessors held.

At the end, the proof: every key got a final answer, each a 2xx, within a bounded number
of attempts (the worst is printed); sent once more, each key replays exactly that answer;
every acknowledged operation is in the database and the books exactly once, and nothing
else is; `carebooks check` passes and no key is left in progress.

`make soak` runs this with 1,000 kills per database; the test suite with 200.
"""

from __future__ import annotations

import argparse
import collections
import datetime as dt
import os
import random
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from bench.harness import ROOT, Client, Gunicorn, carebooks, free_port, fund_env

BANK = "Assets:Fund:Bank"
ARMED_CONFIG = ROOT / "tests" / "fault" / "gunicorn_armed.py"
GIVE_UP = 400      # attempts of one key before the run fails (the bound printed is lower)
GIVE_UP_SECONDS = 90.0  # nor may one key take longer (a key held forever answers 409s)


@dataclass
class Op:
    """One intended action: a key, what it sends, and what came back."""

    kind: str
    path: str
    body: dict
    token: str
    key: str = field(default_factory=lambda: uuid.uuid4().hex)
    attempts: int = 0
    last: str = ""  # what the last attempt got, for a failure's message
    status: int | None = None
    answer: object = None


@dataclass
class Run:
    """What happened in one database's run."""

    ops: list[Op] = field(default_factory=list)
    kills: collections.Counter = field(default_factory=collections.Counter)
    outside: collections.Counter = field(default_factory=collections.Counter)
    answered: int = 0  # keys that got their final answer so far
    restarts: int = 0
    seconds: float = 0.0

    @property
    def killed(self) -> int:
        return sum(self.kills.values())

    def worst(self) -> int:
        return max((op.attempts for op in self.ops), default=0)


# --- the clients ---------------------------------------------------------------------

class Server:
    """The server under test: gunicorn (2 armed workers) or `carebooks serve` (armed),
    started again after a whole-server kill, on the same port."""

    def __init__(self, kind: str, env: dict, log_dir: Path):
        self.kind, self.env, self.log_dir = kind, env, log_dir
        self.port = free_port()
        self.gunicorn: Gunicorn | None = None
        self.proc: subprocess.Popen | None = None
        self.lock = threading.Lock()  # one (re)start at a time

    def revive(self) -> bool:
        """Start the server again if it died (as systemd would); whether it had."""
        with self.lock:
            if self.alive():
                return False
            self.start()
            return True

    def restart(self) -> None:
        """SIGKILL the whole server, then start it again."""
        with self.lock:
            self.kill_all()
            self.start()

    def start(self) -> None:
        if self.kind == "gunicorn":
            self.gunicorn = Gunicorn(self.env, self.log_dir, workers=2, port=self.port,
                                     access_log_on=False,
                                     extra=("--config", str(ARMED_CONFIG)))
            self.gunicorn.start(timeout=60, warm=False)  # a worker may die warming
            return
        command = [sys.executable, "-m", "tests.fault.armed", "serve", "--port",
                   str(self.port)]
        with open(self.log_dir / "serve.log", "ab") as log:
            self.proc = self._spawn(command, log)
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                if self.proc.poll() is not None:  # killed while it started: start again
                    self.proc = self._spawn(command, log)
                try:
                    if Client(self.port, timeout=2).get("/api/v1/openapi.json")[0] == 200:
                        return
                except OSError:
                    pass
                time.sleep(0.1)
        raise RuntimeError("carebooks serve did not answer in 60 s")

    def _spawn(self, command: list[str], log) -> subprocess.Popen:
        return subprocess.Popen(command, cwd=ROOT, env=self.env, stdout=subprocess.DEVNULL,
                                stderr=log, start_new_session=True)

    def alive(self) -> bool:
        """Whether the server runs (gunicorn's master replaces dead workers itself)."""
        return (self.gunicorn.proc if self.gunicorn else self.proc).poll() is None

    def pid(self) -> int:
        return (self.gunicorn.proc if self.gunicorn else self.proc).pid

    def workers(self) -> list[int]:
        if self.gunicorn:
            return self.gunicorn.worker_pids()
        return [self.proc.pid] if self.proc and self.proc.poll() is None else []

    def kill_all(self) -> None:
        """SIGKILL the whole server: master and workers, or the one process."""
        try:
            os.killpg(self.pid(), signal.SIGKILL)
        except ProcessLookupError:
            pass
        (self.gunicorn.proc if self.gunicorn else self.proc).wait(10)

    def stop(self) -> None:
        if self.gunicorn:
            self.gunicorn.stop(grace=10)
        elif self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.kill_all()


def send(server: Server, op: Op, stop: threading.Event, run: Run | None = None) -> None:
    """Send `op` until it has a final answer (2xx or 4xx other than a key in progress)."""
    pause, began = 0.01, time.monotonic()
    while not stop.is_set():
        op.attempts += 1
        if op.attempts > GIVE_UP or time.monotonic() - began > GIVE_UP_SECONDS:
            raise AssertionError(f"{op.kind} {op.key}: no final answer in {op.attempts - 1} attempts "
                                 f"and {time.monotonic() - began:.0f} s; "
                                 f"the last: {op.last}")
        try:
            status, _, data, _ = Client(server.port, op.token, timeout=30).post(
                op.path, op.body, key=op.key)
        except (OSError, ValueError) as exc:  # refused while restarting, reset by a kill
            op.last = repr(exc)
            if server.revive() and run is not None:
                run.restarts += 1
            time.sleep(pause)
            pause = min(pause * 2, 0.2)
            continue
        op.last = f"{status} {data}"
        in_progress = status == 409 and isinstance(data, dict) and \
            data.get("error", {}).get("code") == "idempotency_in_progress"
        if 200 <= status < 500 and not in_progress:
            op.status, op.answer = status, data
            if run is not None:
                run.answered += 1
            return
        time.sleep(pause)
        pause = min(pause * 2, 0.2)


def asker(server: Server, tokens: dict, run: Run, stop: threading.Event, rng) -> None:
    """Ask, approve, pay, again and again."""
    while not stop.is_set():
        amount = f"{rng.randint(5, 60)}.{rng.randint(0, 99):02d}"
        ask = Op("submit", "/api/v1/requests", {
            "amount": amount, "category": rng.choice(["rent", "food", "medical"]),
            "payout_method": "bank", "story": "Rent is due on Friday.",
            "needed_by": (dt.date.today() + dt.timedelta(days=5)).isoformat()},
            tokens["member"])
        for op in _chain(server, ask, tokens, amount, run, stop):
            if op.status is None or op.status >= 300:
                return


def _chain(server, ask, tokens, amount, run, stop):
    run.ops.append(ask)
    send(server, ask, stop, run)
    yield ask
    code = ask.answer["code"]
    approve = Op("approve", f"/api/v1/requests/{code}/approve", {}, tokens["treasurer"])
    run.ops.append(approve)
    send(server, approve, stop, run)
    yield approve
    pay = Op("pay", f"/api/v1/requests/{code}/payments", {"amount": amount, "account": BANK},
             tokens["treasurer"])
    run.ops.append(pay)
    send(server, pay, stop, run)
    yield pay


def donor(server: Server, tokens: dict, run: Run, stop: threading.Event, rng) -> None:
    """Record donations, again and again."""
    while not stop.is_set():
        op = Op("donate", "/api/v1/donations", {
            "amount": f"{rng.randint(20, 120)}.00", "fee": f"{rng.randint(0, 3)}.25",
            "account": BANK, "category": "individual", "date": dt.date.today().isoformat(),
            "donor_consents_public": False}, tokens["treasurer2"])
        run.ops.append(op)
        send(server, op, stop, run)
        if op.status is None or op.status >= 300:
            return


# --- the killer ----------------------------------------------------------------------

def armed_kills(log: Path) -> collections.Counter:
    """Deaths the server's own kill points wrote down."""
    if not log.exists():
        return collections.Counter()
    return collections.Counter(line.split()[0] for line in log.read_text().splitlines()
                               if line.strip())


def kill_until(server: Server, kills: int, log: Path, run: Run, rng,
               failed: threading.Event) -> None:
    """Kill workers and whole servers at random moments until `kills` deaths happened
    (the armed ones count too). Each outside kill waits for a key to be answered since
    the one before, so the clients' work goes on between kills."""
    whole_every = 40 if server.kind == "gunicorn" else 1
    seen = run.answered
    while not failed.is_set():
        run.kills = armed_kills(log) + run.outside
        if run.killed >= kills:
            return
        if server.revive():  # `carebooks serve` died at a kill point
            run.restarts += 1
        if run.answered == seen:
            time.sleep(0.01)
            continue
        seen = run.answered
        time.sleep(rng.uniform(0.0, 0.1))
        if rng.randrange(whole_every) == 0:
            server.restart()
            run.outside["server"] += 1
            run.restarts += 1
            continue
        workers = server.workers()
        if workers:
            try:
                os.kill(rng.choice(workers), signal.SIGKILL)
                run.outside["timer"] += 1
            except ProcessLookupError:
                pass


# --- the proof -----------------------------------------------------------------------

def prove(env: dict, workdir: Path, run: Run) -> list[str]:
    """Everything the module doc promises, once the armed server is stopped; the list of
    what failed (empty when all held). Replays go to a server with no kill points."""
    from tests.fault.crashes import ids_in_files

    problems = []
    unanswered = [op for op in run.ops if op.status is None]
    problems += [f"{op.kind} {op.key}: never answered" for op in unanswered]
    refused = [op for op in run.ops if op.status is not None and op.status >= 300]
    problems += [f"{op.kind} {op.key}: final answer {op.status} {op.answer}" for op in refused]

    books = Path(env["CAREBOOKS_INSTANCE"]) / "books"
    check = carebooks(env, "check", check=False)
    if check.returncode != 0 or "check: OK" not in check.stdout:
        problems.append(f"carebooks check failed:\n{check.stdout}{check.stderr}")
    counts = ids_in_files(books)
    problems += [f"{i} stands {c} times in the books" for i, c in counts.items() if c != 1]
    want = set()
    for op in run.ops:
        if op.status is None or op.status >= 300:
            continue
        if op.kind == "donate":
            want.add(f"donation:{op.answer['code']}")
        elif op.kind == "approve":
            want.add(f"approve:{op.answer['code']}:1")
        elif op.kind == "pay":
            want.add(f"pay:{op.answer['code']}:1")
    got = {i for i in counts if not i.startswith("opening:")}
    problems += [f"acknowledged, not in the books: {i}" for i in sorted(want - got)]
    problems += [f"in the books, never acknowledged: {i}" for i in sorted(got - want)]
    problems += _database_agrees(env, run)
    with Gunicorn(env, workdir / "replay", workers=2, access_log_on=False) as plain:
        problems += _replays(plain.port, run)
    return problems


def _database_agrees(env: dict, run: Run) -> list[str]:
    """Each acknowledged submission and donation is one row, and there are no others; no
    key is left in progress."""
    from sqlalchemy import create_engine, text

    from app.db import make_engine

    engine = make_engine(env["DATABASE_URL"]) if env.get("DATABASE_URL") else create_engine(
        f"sqlite:///{Path(env['CAREBOOKS_INSTANCE']) / 'carebooks.db'}")
    problems = []
    try:
        with engine.connect() as conn:
            requests = {r[0]: r[1] for r in conn.execute(text(
                "SELECT code, status FROM aid_request"))}
            donations = {r[0] for r in conn.execute(text("SELECT code FROM donation"))}
            pending = conn.execute(text(
                "SELECT count(*) FROM idempotency_key WHERE status_code IS NULL")).scalar()
            payments = dict(conn.execute(text(
                "SELECT r.code, count(p.id) FROM aid_request r JOIN payment p "
                "ON p.request_id = r.id GROUP BY r.code")).all())
    finally:
        engine.dispose()
    asked = {op.answer["code"] for op in run.ops if op.kind == "submit" and op.status == 201}
    given = {op.answer["code"] for op in run.ops if op.kind == "donate" and op.status == 201}
    paid = {op.answer["code"] for op in run.ops if op.kind == "pay" and op.status == 201}
    if set(requests) != asked:
        problems.append(f"requests: {len(requests)} in the database, {len(asked)} asked; "
                        f"extra {sorted(set(requests) - asked)[:5]}")
    if donations != given:
        problems.append(f"donations: {len(donations)} in the database, {len(given)} given; "
                        f"extra {sorted(donations - given)[:5]}")
    for code in paid:
        if requests.get(code) != "paid" or payments.get(code) != 1:
            problems.append(f"{code}: {requests.get(code)} with {payments.get(code)} payments")
    if pending:
        problems.append(f"{pending} keys still in progress after check")
    return problems


def _replays(port: int, run: Run) -> list[str]:
    """Every key sent once more: the same final answer, marked as replayed."""
    problems = []
    for op in run.ops:
        if op.status is None:
            continue
        status, headers, data, _ = Client(port, op.token, timeout=30).post(op.path, op.body,
                                                                           key=op.key)
        if (status, data) != (op.status, op.answer) or \
                headers.get("idempotent-replayed") != "true":
            problems.append(f"{op.kind} {op.key}: replayed {status} {data}, "
                            f"first {op.status} {op.answer}")
    return problems


# --- one database --------------------------------------------------------------------

def run_database(workdir: Path, database_url: str, *, kills: int, seed: int,
                 serve_share: float = 0.05) -> Run:
    """Serve a fresh fund, kill it `kills` times (gunicorn, then `carebooks serve`) while
    the clients work, and prove. Raises AssertionError listing what did not hold."""
    from tests.app.conftest import make_fund
    from tests.fault.crashes import prepare

    fund = make_fund(workdir, database_url, opening="20000.00")
    prepare(fund)
    fund.app.extensions["carebooks.engine"].dispose()
    log = workdir / "kills.log"
    env = fund_env(workdir / "instance", database_url, CAREBOOKS_KILL_LOG=str(log),
                   CAREBOOKS_KILL_SEED=str(seed), CAREBOOKS_KILL_RATE="0.05",
                   PYTHONPATH=str(ROOT))
    rng = random.Random(seed)
    run = Run()
    start = time.monotonic()
    serve_kills = max(1, int(kills * serve_share))
    for kind in ("gunicorn", "serve"):
        # `carebooks serve` gets its share of kills, even if gunicorn's overshot
        target = kills - serve_kills if kind == "gunicorn" else max(
            kills, run.killed + serve_kills)
        server = Server(kind, env, workdir / kind)
        server.log_dir.mkdir(parents=True, exist_ok=True)
        server.start()
        stop, failed = threading.Event(), threading.Event()
        errors: list[BaseException] = []

        def client(fn, client_seed, server=server, stop=stop, failed=failed, errors=errors):
            try:
                fn(server, fund.tokens, run, stop, random.Random(client_seed))
            except BaseException as exc:  # noqa: BLE001 - reported below
                errors.append(exc)
                failed.set()

        threads = [threading.Thread(target=client, args=(fn, rng.randrange(2**32)))
                   for fn in (asker, donor)]
        for t in threads:
            t.start()
        try:
            kill_until(server, target, log, run, rng, failed)
        finally:
            stop.set()
            for t in threads:
                t.join(120)
        if errors:
            server.kill_all()
            raise errors[0]
        # the last ops of the clients may have been cut by `stop`: finish them now
        for op in run.ops:
            if op.status is None:
                send(server, op, threading.Event(), run)
        server.stop()
        problems = prove(env, workdir, run) if kind == "serve" else []
        if problems:
            raise AssertionError(f"{len(problems)} problems:\n" + "\n".join(problems[:20]))
    run.seconds = time.monotonic() - start
    return run


POINTS = ("after-claim", "before-commit", "after-commit", "mid-append", "after-append",
          "timer", "server")


def table(rows: list[tuple[str, Run]]) -> str:
    """The report: kills by point, operations, the worst number of attempts of a key."""
    head = ["database", *POINTS, "killed", "restarts", "ops", "worst attempts", "seconds"]
    out = [" | ".join(head), " | ".join("-" * len(h) for h in head)]
    for name, run in rows:
        out.append(" | ".join([name, *(str(run.kills[p]) for p in POINTS), str(run.killed),
                               str(run.restarts), str(len(run.ops)), str(run.worst()),
                               f"{run.seconds:.0f}"]))
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    """`make soak` (its HTTP half): many kills per database, then the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kills", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=20261204)
    parser.add_argument("--database", choices=["sqlite", "postgresql", "both"], default="both")
    args = parser.parse_args(argv)
    from tests.fault.crashes import database

    rows = []
    for name in (["sqlite", "postgresql"] if args.database == "both" else [args.database]):
        with tempfile.TemporaryDirectory(prefix="carebooks-http-soak-") as tmp, \
                database(name, Path(tmp)) as url:
            rows.append((name, run_database(Path(tmp), url, kills=args.kills,
                                            seed=args.seed)))
    print(table(rows))
    print("every key answered, each once; nothing lost or written twice; check passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
