"""Crash injection: a child process works the fund and is killed with SIGKILL at a seeded
point; then the app starts again, recovers, and `carebooks check` must pass.

Each life is a `fork` of this process (so a life costs milliseconds, not an interpreter
start). The child runs money operations — a member asks, a treasurer approves, pays,
records a donation, moves money between the fund's accounts, pays a running cost, refunds
part of a donation, records a payment that came back — and writes each one it was told succeeded ("acknowledged") to a
journal, fsynced, before going on. It dies at one of these points, chosen by the seed:

    before-commit   just before a database commit (any: the request, the money step, ...)
    after-commit    just after a database commit — including the money step's, before its
                    entry reaches the books
    mid-append      in the middle of appending an entry: part of the bytes are written
                    (a torn last entry), then the process dies
    after-append    after the entry's fsync, before the outbox row is marked done
    timer           at a random moment, from outside (the parent kills it)

After each kill the parent drops what it had in memory, opens the books again from disk,
runs the check (no `--repair`: recovery must happen on its own) and proves: the check
passes; every acknowledged operation is in the database and the books, once; every
carebooks-id stands in the month files exactly once; every outbox entry is in the books
and the books hold nothing the outbox does not know.

`make soak` runs this module with 1,000 kills per database and prints the counts.
"""

from __future__ import annotations

import argparse
import collections
import contextlib
import datetime as dt
import os
import random
import re
import signal
import sys
import tempfile
import time
import traceback
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

POINTS = ("before-commit", "after-commit", "mid-append", "after-append", "timer")
OPS_PER_LIFE = 6
# Every money step the lives take, each counted in the soak's table.
OP_KINDS = ("submit", "approve", "pay", "donate", "transfer", "cost", "return", "refund")
ID_LINE = re.compile(rb'carebooks-id: "([^"]+)"')


@dataclass(frozen=True)
class Plan:
    """Where one life dies."""

    point: str
    nth: int           # the nth commit / append of the life
    fraction: float    # how much of the entry a torn append writes
    delay: float       # seconds, for the timer


@dataclass
class Tally:
    """What the lives did, for the report."""

    lives: int = 0
    kills: collections.Counter = field(default_factory=collections.Counter)
    survived: int = 0
    acknowledged: collections.Counter = field(default_factory=collections.Counter)
    torn_mended: int = 0
    settled: int = 0

    @property
    def killed(self) -> int:
        return sum(self.kills.values())


def plan_for(rng: random.Random) -> Plan:
    point = rng.choice(POINTS)
    nth = rng.randint(1, 14) if point.endswith("commit") else rng.randint(1, 4)
    return Plan(point, nth, rng.random(), rng.uniform(0.0, 0.08))


# --- the child -----------------------------------------------------------------------

def _die() -> None:
    os.kill(os.getpid(), signal.SIGKILL)


def is_books_file(fd: int) -> bool:
    """Whether `fd` is open on a file of the books (not a temporary file)."""
    try:
        name = os.readlink(f"/proc/self/fd/{fd}")
    except OSError:
        return False
    return name.endswith(".beancount") and "/." not in name  # not a temporary file


def _arm(plan: Plan) -> None:
    """Install the kill point in this (child) process."""
    from sqlalchemy.orm import Session

    from ledger.files import FileIO

    seen = [0]
    if plan.point in ("before-commit", "after-commit"):
        real_commit = Session.commit

        def commit(self):
            seen[0] += 1
            if plan.point == "before-commit" and seen[0] == plan.nth:
                _die()
            real_commit(self)
            if plan.point == "after-commit" and seen[0] == plan.nth:
                _die()

        Session.commit = commit
    elif plan.point == "mid-append":
        real_write = FileIO.write

        def write(self, fd, data):
            if is_books_file(fd):
                seen[0] += 1
                if seen[0] == plan.nth and len(data) > 1:
                    os.write(fd, data[:1 + int(plan.fraction * (len(data) - 2))])
                    _die()
            real_write(self, fd, data)

        FileIO.write = write
    elif plan.point == "after-append":
        real_fsync = FileIO.fsync

        def fsync(self, fd):
            real_fsync(self, fd)
            if is_books_file(fd):
                seen[0] += 1
                if seen[0] == plan.nth:
                    _die()

        FileIO.fsync = fsync


class Journal:
    """What the client saw acknowledged, one fsynced line per operation."""

    def __init__(self, path: Path):
        self.fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)

    def write(self, *words: str) -> None:
        os.write(self.fd, (" ".join(words) + "\n").encode())
        os.fsync(self.fd)


def _next_op(rng: random.Random):
    """Choose an operation from what the fund holds now: (kind, who, fn, args)."""
    from sqlmodel import select

    from app.db import session_scope
    from app.models import AidRequest, Status
    from app.models import Donation
    from app.workflow import donations, movements, requests

    with session_scope() as session:
        submitted = session.exec(select(AidRequest.code).where(
            AidRequest.status == Status.submitted).order_by(AidRequest.id)).first()
        approved = session.exec(select(AidRequest).where(
            AidRequest.status == Status.approved).order_by(AidRequest.id)).first()
        paid = session.exec(select(AidRequest.code).where(
            AidRequest.status == Status.paid).order_by(AidRequest.id.desc())).first()
        gift = session.exec(select(Donation.code).where(
            Donation.refunded < Donation.amount).order_by(Donation.id.desc())).first()
    kinds = ["submit", "donate", "transfer", "cost"] + (["approve"] * 2 if submitted else []) \
        + (["pay"] * 2 if approved else []) + (["return"] if paid else []) \
        + (["refund"] if gift else [])
    kind = rng.choice(kinds)
    amount = f"{rng.randint(5, 60)}.{rng.randint(0, 99):02d}"
    if kind == "submit":
        body = {"amount": amount, "category": "rent", "payout_method": "bank",
                "needed_by": (dt.date.today() + dt.timedelta(days=5)).isoformat(),
                "story": "Rent is due on Friday."}
        return kind, "member", requests.submit, (body,)
    if kind == "approve":
        return kind, "treasurer", requests.approve, (submitted, {})
    if kind == "pay":
        return kind, "treasurer", requests.pay, (approved.code, {
            "amount": str(approved.approved_amount), "account": "Assets:Fund:Bank"})
    if kind == "transfer":   # issue 18: the fund's other money movements, under the knife too
        there = rng.random() < 0.5
        return kind, "treasurer", movements.transfer, ({
            "amount": f"{rng.randint(5, 30)}.00", "fee": rng.choice([None, "0.50"]),
            "from_account": "Assets:Fund:Bank" if there else "Assets:Fund:Cash",
            "to_account": "Assets:Fund:Cash" if there else "Assets:Fund:Bank"},)
    if kind == "cost":
        return kind, "treasurer", movements.cost, ({
            "amount": f"{rng.randint(1, 9)}.00", "account": "Assets:Fund:Bank",
            "kind": rng.choice(["fees", "other"])},)
    if kind == "return":
        return kind, "treasurer", movements.return_payment, (paid, {})
    if kind == "refund":
        return kind, "treasurer", donations.refund, (gift, {"amount": "1.00"})
    body = {"amount": f"{rng.randint(20, 120)}.00", "fee": f"{rng.randint(0, 3)}.25",
            "account": "Assets:Fund:Bank", "category": "individual",
            "date": dt.date.today().isoformat(), "donor_consents_public": False}
    return kind, "treasurer", donations.record, (body,)


def child(app, people: dict, plan: Plan, journal_path: Path, seed: int) -> None:
    """One life: work until the kill point (never returns)."""
    code = 0
    try:
        app.extensions["carebooks.engine"].dispose(close=False)  # the parent's connections
        _arm(plan)
        rng = random.Random(seed)
        journal = Journal(journal_path)
        from app.workflow.errors import WorkflowError

        with app.app_context():
            for n in range(OPS_PER_LIFE):
                kind, who, fn, args = _next_op(rng)
                journal.write("start", str(n), kind, *[a for a in args if isinstance(a, str)])
                try:
                    result = fn(people[who], *args)
                except WorkflowError as exc:
                    journal.write("refused", str(n), kind, exc.code)
                    continue
                journal.write("ack", str(n), kind, result["code"])
    except BaseException:  # noqa: BLE001 - reported to the parent through the journal
        with open(journal_path, "a") as f:
            f.write("crash " + traceback.format_exc().replace("\n", "\\n") + "\n")
        code = 3
    os._exit(code)


# --- the parent ----------------------------------------------------------------------

def ids_in_files(books_dir: Path) -> collections.Counter:
    """How often each carebooks-id stands in the month files."""
    counts: collections.Counter = collections.Counter()
    for path in sorted(books_dir.glob("[0-9][0-9][0-9][0-9]/*.beancount")):
        counts.update(m.decode() for m in ID_LINE.findall(path.read_bytes()))
    return counts


def recover_and_prove(app, acks: list[tuple[str, str]], tally: Tally) -> None:
    """Start the app's view of the fund afresh, check, and prove nothing lost or doubled."""
    from sqlmodel import select

    from app.db import session_scope
    from app.fund import books, forget_books
    from app.models import AidRequest, Donation, Outbox, Payment, Status
    from app.workflow.check import run_check

    with app.app_context():
        forget_books()
        report = run_check()
        assert report.ok, f"check failed after a kill:\n{report}"
        text = str(report)
        tally.settled += int(m.group(1)) if (m := re.search(r"outbox: (\d+) pending", text)) \
            else 0
        counts = ids_in_files(Path(books().dir))
        doubled = {i: c for i, c in counts.items() if c != 1}
        assert not doubled, f"ids written more than once: {doubled}"
        with session_scope() as session:
            outbox = {r.carebooks_id: r.status for r in session.exec(select(Outbox)).all()}
            for kind, code in acks:
                if kind == "submit":
                    assert session.exec(select(AidRequest).where(
                        AidRequest.code == code)).first(), f"acknowledged {code} is lost"
                elif kind == "approve":
                    req = session.exec(select(AidRequest).where(
                        AidRequest.code == code)).one()
                    assert req.status in (Status.approved, Status.paid,
                                          Status.partially_paid), (code, req.status)
                    assert counts[f"approve:{code}:1"] == 1
                elif kind == "pay":
                    req = session.exec(select(AidRequest).where(
                        AidRequest.code == code)).one()
                    pays = session.exec(select(Payment).where(
                        Payment.request_id == req.id)).all()
                    # a payment that came back later leaves the request owed again
                    assert req.status in (Status.paid, Status.approved) and pays, \
                        (code, req.status)
                    assert counts[f"pay:{code}:1"] == 1
                elif kind in ("transfer", "cost"):
                    assert counts[f"{kind}:{code}"] == 1, code
                elif kind in ("return", "refund"):
                    assert any(i.startswith(f"{kind}:{code}:") and n == 1
                               for i, n in counts.items()), f"acknowledged {kind} of {code}"
                elif kind == "donate":
                    assert session.exec(select(Donation).where(
                        Donation.code == code)).first(), f"acknowledged {code} is lost"
                    assert counts[f"donation:{code}"] == 1, code
        assert set(outbox.values()) <= {"done"}, outbox
        extra = set(counts) - set(outbox)
        assert all(i.startswith("opening:") for i in extra), f"in the books only: {extra}"
        assert not set(outbox) - set(counts), f"outbox entries missing: {set(outbox) - set(counts)}"


def run_lives(app, people: dict, *, seed: int, kills: int, workdir: Path,
              max_lives: int | None = None) -> Tally:
    """Live and die until `kills` children were killed; return the tally."""
    rng = random.Random(seed)
    tally = Tally()
    max_lives = max_lives or kills * 3
    while tally.killed < kills and tally.lives < max_lives:
        plan = plan_for(rng)
        life_seed = rng.randrange(2**32)
        journal = workdir / f"journal-{tally.lives}.txt"
        torn_before = len(list(_torn_dir(app).glob("*"))) if _torn_dir(app).exists() else 0
        pid = os.fork()
        if pid == 0:
            child(app, people, plan, journal, life_seed)
        if plan.point == "timer":
            time.sleep(plan.delay)
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        _, status = os.waitpid(pid, 0)
        tally.lives += 1
        lines = journal.read_text().splitlines() if journal.exists() else []
        crash = [line for line in lines if line.startswith("crash ")]
        assert not crash, crash[0].replace("\\n", "\n")
        if os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGKILL:
            tally.kills[plan.point] += 1
        else:
            assert os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0, (plan, status)
            tally.survived += 1
        acks = [(w[2], w[3]) for w in (line.split() for line in lines) if w[0] == "ack"]
        tally.acknowledged.update(kind for kind, _ in acks)
        recover_and_prove(app, acks, tally)
        if _torn_dir(app).exists():
            tally.torn_mended += len(list(_torn_dir(app).glob("*"))) - torn_before
        journal.unlink(missing_ok=True)
    return tally


def _torn_dir(app) -> Path:
    return Path(app.config["BOOKS_DIR"]) / ".carebooks" / "torn"


def prepare(fund) -> None:
    """Room for many requests: no cap per member, one approval for every amount."""
    from app.workflow.policy import update_policy

    with fund.ctx():
        update_policy(fund.people["admin"], {"member_cap": "1000000.00",
                                             "request_cap": "1000000.00",
                                             "second_approval_at": "1000000.00"}, [])


def table(rows: list[tuple[str, Tally, float]]) -> str:
    """The soak's report."""
    head = ["database", "lives", *POINTS, "killed", "survived", "acked ops", *OP_KINDS,
            "torn mended", "settled after kill", "seconds"]
    out = [" | ".join(head), " | ".join("-" * len(h) for h in head)]
    for name, t, secs in rows:
        out.append(" | ".join([name, str(t.lives), *(str(t.kills[p]) for p in POINTS),
                               str(t.killed), str(t.survived),
                               str(sum(t.acknowledged.values())),
                               *(str(t.acknowledged[k]) for k in OP_KINDS),
                               str(t.torn_mended), str(t.settled), f"{secs:.0f}"]))
    return "\n".join(out)


@contextlib.contextmanager
def database(name: str, tmp_path: Path) -> Iterator[str]:
    """A fresh database for a soak: a SQLite file in `tmp_path`, or a PostgreSQL schema
    of its own (at CAREBOOKS_TEST_DATABASE_URL or the local server), dropped after."""
    if name == "sqlite":
        yield f"sqlite:///{tmp_path / 'carebooks.db'}"
        return
    import uuid

    from sqlalchemy import create_engine, text

    from tests.app.conftest import PG_ENV

    base = os.environ.get(PG_ENV, "postgresql://postgres@127.0.0.1:5432/test")
    admin = create_engine(base.replace("postgresql://", "postgresql+psycopg://", 1))
    schema = f"soak_{uuid.uuid4().hex[:10]}"
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield f"{base}{'&' if '?' in base else '?'}options=-csearch_path%3D{schema}"
    finally:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def main(argv: list[str] | None = None) -> int:
    """`make soak`: many kills per database, then a table of what happened."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kills", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=20261129)
    parser.add_argument("--database", choices=["sqlite", "postgresql", "both"], default="both")
    args = parser.parse_args(argv)
    from tests.app.conftest import make_fund

    rows = []
    for name in (["sqlite", "postgresql"] if args.database == "both" else [args.database]):
        with tempfile.TemporaryDirectory(prefix="carebooks-soak-") as tmp, \
                database(name, Path(tmp)) as url:
            fund = make_fund(Path(tmp), url, opening="20000.00")
            prepare(fund)
            start = time.monotonic()
            tally = run_lives(fund.app, fund.people, seed=args.seed, kills=args.kills,
                              workdir=Path(tmp))
            rows.append((name, tally, time.monotonic() - start))
            fund.app.extensions["carebooks.engine"].dispose()
    print(table(rows))
    ok = all(t.killed >= args.kills for _, t, _ in rows)
    print("every kill recovered; check passed after each; nothing lost or written twice"
          if ok else "FEWER KILLS THAN ASKED")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
