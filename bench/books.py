"""Benchmark of the books: post latency and cold load at 1k, 10k and 100k entries.

    make bench-books                      # 1k, 10k, 100k (a few minutes)
    .venv/bin/python bench/books.py --quick          # a smoke run: 1k, 30 posts, one run
    .venv/bin/python bench/books.py --sizes 1000,10000 --keep

For each size it builds a fund's books in the layout the app writes (five years, one
file per month, every month but the last two sealed), then measures, each in a fresh
subprocess:

* post latency: `Books.post` of new entries into the open month, per call, next to the
  floor (the same bytes appended to a scratch file with os.write + os.fsync only);
* cold load: `Books.open` from the snapshot (ours), `beancount.loader.load_file` with
  the pickle cache off, the `bean-check -C` command as a whole process, and Fava's
  `FavaLedger`; ours must give the same balance per account as the loader.

It prints one table to stdout, then the targets with PASS/FAIL (exit status 1 on a
FAIL only with --strict); progress goes to stderr. See docs/performance.md for what the numbers mean.
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import heapq
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
# Beancount's pickle cache would turn the second load into a cache hit; the app never
# uses it (ledger/load.py switches it off), and neither do the loads measured here.
os.environ["BEANCOUNT_DISABLE_LOAD_CACHE"] = "1"

GEN_VERSION = 4            # bump when the generator changes: kept books are rebuilt
START = dt.date(2021, 1, 1)
YEARS = 5
OPEN_MONTHS = 2            # the last two months stay unsealed
CURRENCY = "USD"
CENT = Decimal("0.01")
ZERO = Decimal("0.00")
CASH = ("Assets:Fund:Bank", "Assets:Fund:Cash", "Assets:Fund:PayPal", "Assets:Fund:Venmo")
METHOD_ACCOUNT = {"bank": "Assets:Fund:Bank", "check": "Assets:Fund:Bank",
                  "cash": "Assets:Fund:Cash", "paypal": "Assets:Fund:PayPal",
                  "venmo": "Assets:Fund:Venmo"}
ACCOUNT_METHOD = {"Assets:Fund:Bank": "bank", "Assets:Fund:Cash": "cash",
                  "Assets:Fund:PayPal": "paypal", "Assets:Fund:Venmo": "venmo"}
DONORS = ("Ada Lovelace", "Zoë Müller", "José O'Neil", "Nguyễn Văn An", "Ama & Kofi Mensah",
          "St. Brigid's Parish", "Siobhán Ní Bhriain", "Dr. R. Okafor", "Li Wei", "Mary-Jo King")
AID = (("rent", 30), ("utilities", 15), ("food", 20), ("medical", 10), ("transport", 10),
       ("legal", 5), ("funeral", 3), ("other", 7))


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def months_of_range() -> list[str]:
    return [f"{y:04d}-{m:02d}" for y in range(START.year, START.year + YEARS)
            for m in range(1, 13)]


# --- building a fund -----------------------------------------------------------------


def generate_entries(n: int, seed: int) -> list:
    """Exactly `n` transactions over YEARS years, in date order, that the app would accept.

    Donations (with processor fees into PayPal, Venmo and sometimes the bank), approvals
    (only when cash minus what is already promised covers them), payments a few days
    later (sometimes in two parts, split over accounts when one runs short) and some
    cancellations. Cash never goes below zero; payments never exceed approvals.
    """
    from ledger import entries as E

    rng = random.Random(seed)
    end = dt.date(START.year + YEARS, 1, 1)
    days = (end - START).days
    cash = dict.fromkeys(CASH, ZERO)
    committed = ZERO
    outstanding: dict[str, Decimal] = {}
    category_of: dict[str, str] = {}
    next_seq: dict[str, int] = {}
    due: list = []                     # heap of (date, order, code, action, amount)
    counters = {"R": {}, "D": {}}
    out: list = []
    order = 0

    def code(kind: str, year: int) -> str:
        k = counters[kind][year] = counters[kind].get(year, 0) + 1
        return f"{kind}-{year}-{k:05d}"

    def money(lo: int, hi: int) -> Decimal:
        whole = rng.randint(lo, hi)
        cents = 0 if rng.random() < 0.7 else rng.randint(1, 99)
        return (Decimal(whole) + Decimal(cents) / 100).quantize(CENT)

    def schedule(day: dt.date, c: str, amount: Decimal) -> None:
        nonlocal order
        r = rng.random()
        plan: list[tuple[int, str, Decimal]]
        if r < 0.75:
            plan = [(rng.randint(2, 6), "pay", amount)]
        elif r < 0.87:
            part = (amount / 2).quantize(CENT)
            plan = [(rng.randint(2, 5), "pay", part), (rng.randint(9, 20), "pay", amount - part)]
        elif r < 0.95:
            plan = [(rng.randint(1, 10), "cancel", amount)]
        else:
            part = (amount * Decimal("0.6")).quantize(CENT)
            plan = [(rng.randint(2, 6), "pay", part), (rng.randint(10, 25), "cancel", amount - part)]
        for delay, action, amt in plan:
            order += 1
            heapq.heappush(due, (day + dt.timedelta(days=delay), order, c, action, amt))

    def donation(day: dt.date) -> None:
        r = rng.random()
        if r < 0.05:
            category, gross = "grant", money(1000, 10000)
        elif r < 0.15:
            category, gross = "event", money(50, 500)
        else:
            category = "individual"
            gross = (Decimal(rng.choice((10, 20, 25, 25, 50, 50, 100, 250))) if rng.random() < 0.6
                     else money(5, 300))
        r = rng.random()
        if r < 0.40:
            account, fee = "Assets:Fund:PayPal", gross * Decimal("0.029") + Decimal("0.30")
        elif r < 0.50:
            account, fee = "Assets:Fund:Venmo", gross * Decimal("0.019") + Decimal("0.10")
        elif r < 0.95:
            account = "Assets:Fund:Bank"
            fee = gross * Decimal("0.022") + Decimal("0.30") if rng.random() < 0.3 else None
        else:
            account, fee = "Assets:Fund:Cash", None
        fee = fee.quantize(CENT) if fee is not None else None
        name = rng.choice(DONORS) if rng.random() < 0.2 else None
        entry = E.donation(code("D", day.year), day, category, account, gross, CURRENCY,
                           fee=fee, donor_name=name)
        cash[account] += gross - (fee or ZERO)
        out.append(entry)

    def approval(day: dt.date) -> bool:
        nonlocal committed
        amount = money(40, 900)
        if sum(cash.values()) - committed < amount:
            return False
        category = rng.choices([c for c, _ in AID], [w for _, w in AID])[0]
        c = code("R", day.year)
        out.append(E.approval(c, 1, day, category, amount, CURRENCY))
        outstanding[c], category_of[c], next_seq[c] = amount, category, 1
        committed += amount
        schedule(day, c, amount)
        return True

    def settle(day: dt.date, c: str, action: str, amount: Decimal) -> None:
        nonlocal committed
        assert amount <= outstanding[c], (c, amount, outstanding[c])
        category = category_of[c]
        if action == "cancel":
            out.append(E.cancellation(c, 1, day, category, amount, CURRENCY))
        else:
            method = rng.choices(("bank", "paypal", "venmo", "cash", "check"),
                                 (50, 20, 15, 5, 10))[0]
            left = amount
            first = METHOD_ACCOUNT[method]
            for account in [first] + sorted((a for a in CASH if a != first),
                                            key=lambda a: -cash[a]):
                take = min(left, cash[account])
                if take <= 0:
                    continue
                m = method if account == first else ACCOUNT_METHOD[account]
                out.append(E.payment(c, next_seq[c], day, category, m, account, take, CURRENCY))
                next_seq[c] += 1
                cash[account] -= take
                left -= take
                if not left:
                    break
            assert not left, "cash short: the approval rule should have prevented this"
        outstanding[c] -= amount
        committed -= amount

    out.append(E.opening_balance("Assets:Fund:Bank", START, Decimal("2500.00"), CURRENCY))
    out.append(E.opening_balance("Assets:Fund:PayPal", START, Decimal("300.00"), CURRENCY))
    cash["Assets:Fund:Bank"] += Decimal("2500.00")
    cash["Assets:Fund:PayPal"] += Decimal("300.00")
    for i in range(days):
        day = START + dt.timedelta(days=i)
        target = (i + 1) * n // days
        while len(out) < target:
            if due and due[0][0] <= day:
                _, _, c, action, amount = heapq.heappop(due)
                settle(day, c, action, amount)
            elif rng.random() < 0.36 and approval(day):
                pass
            else:
                donation(day)
    del out[n:]  # a split payment may overshoot by one or two on the last day (open month)
    return out


def build_books(root: Path, n: int, seed: int) -> dict:
    """Write a fund of `n` transactions in the app's layout and seal all but the last months."""
    from beancount.parser import printer

    from ledger import FundSettings, init_books
    from ledger.books import _HEADER, MAIN, SEALS, Books
    from ledger.files import FileIO, atomic_write
    from ledger import merkle
    from ledger.seal import seal_entries
    from ledger.state import GENESIS, month_of
    from ledger.validate import check_entry

    t0 = time.perf_counter()
    fresh = init_books(root, FundSettings("Bench Fund"), START)
    months = months_of_range()
    entries = generate_entries(n, seed)
    t_gen = time.perf_counter() - t0

    # Every generated entry must pass the rules Books.post applies (cash never below
    # zero, payments and cancellations within what is outstanding, accounts open...).
    state = fresh.state
    mix: dict[str, int] = {}
    for entry in entries:
        check_entry(state, entry)
        state.apply(entry)
        mix[entry.payee] = mix.get(entry.payee, 0) + 1
    del fresh, state
    t_check = time.perf_counter() - t0 - t_gen

    by_month: dict[str, list[str]] = {m: [] for m in months}
    flows = {m: dict.fromkeys(CASH, ZERO) for m in months}
    running = dict.fromkeys(CASH, ZERO)
    for entry in entries:  # in date order, the order beancount applies them in
        month = month_of(entry.date)
        by_month[month].append("\n" + printer.format_entry(entry))
        for p in entry.postings:
            if p.account in running:
                running[p.account] += p.units.number
                flows[month][p.account] += p.units.number
                assert running[p.account] >= 0, f"{p.account} below zero on {entry.date}"
    del entries
    fio = FileIO()
    includes = []
    shas, roots = {}, {}
    for month in months:
        rel = f"{month[:4]}/{month}.beancount"
        (root / month[:4]).mkdir(exist_ok=True)
        content = (_HEADER.format(what=f"month {month}") + "".join(by_month[month])).encode()
        (root / rel).write_bytes(content)
        shas[month] = hashlib.sha256(content).hexdigest()
        roots[month] = merkle.root(content)
        includes.append(f'include "{rel}"\n')
    main = (root / MAIN).read_bytes()
    atomic_write(root / MAIN, main + "".join(includes).encode(), fio)

    # The seals, exactly as Books.seal writes them: every open cash account asserted at
    # its book balance on the first day after the month, then the chained seal entry.
    seals_text = []
    prev = GENESIS
    balance = dict.fromkeys(CASH, ZERO)
    sealed = months[:-OPEN_MONTHS]
    for month in sealed:
        for account in CASH:
            balance[account] += flows[month][account]
        statements = {a: balance[a].quantize(CENT) for a in CASH}
        seal_es, seal = seal_entries(month, shas[month], prev, statements, CURRENCY,
                                     merkle_root=roots[month])
        seals_text.append("".join("\n" + printer.format_entry(e) for e in seal_es))
        prev = seal.seal_hash
    seals = (root / SEALS).read_bytes()
    atomic_write(root / SEALS, seals + "".join(seals_text).encode(), fio)
    t_write = time.perf_counter() - t0 - t_gen - t_check

    t1 = time.perf_counter()
    books = Books.open(root)  # a full load (no snapshot yet); it writes the snapshot
    t_open = time.perf_counter() - t1
    check = books.verify()
    assert check.ok and check.sealed_through == sealed[-1], str(check)
    assert books.load_mode == "full", books.load_mode
    assert (root / ".carebooks" / "snapshot.json").exists(), "no snapshot written"
    log(f"  built {n} entries: generate {t_gen:.1f} s, check_entry {t_check:.1f} s, "
        f"format+write+seal {t_write:.1f} s, first open (full load + snapshot) "
        f"{t_open:.1f} s; {check}; mix {mix}")
    return {"version": GEN_VERSION, "n": n, "seed": seed, "months": months, "mix": mix,
            "sealed_through": sealed[-1], "open_months": months[-OPEN_MONTHS:]}


# --- children: each measurement in a fresh interpreter -----------------------------------


def _emit(obj: dict) -> None:
    sys.stdout.write(json.dumps(obj) + "\n")
    sys.stdout.flush()
    os._exit(0)  # skip tearing down 100k objects; nothing left to flush


def child_ours(books_dir: str) -> None:
    from ledger.books import Books
    t0 = time.perf_counter()
    books = Books.open(books_dir)
    seconds = time.perf_counter() - t0
    state = books.state
    _emit({"seconds": seconds, "mode": books.load_mode, "entry_count": state.entry_count,
           "balances": {a: str(v) for a, v in state.balances.items()}})


def child_loader(books_dir: str) -> None:
    from beancount import loader

    from ledger.load import balances_from_entries
    main = str(Path(books_dir) / "main.beancount")
    t0 = time.perf_counter()
    entries, errors, options = loader.load_file(main)
    seconds = time.perf_counter() - t0
    balances = balances_from_entries(entries, options["operating_currency"][0])
    _emit({"seconds": seconds, "entries": len(entries), "errors": len(errors),
           "first_errors": [str(e.message) for e in errors[:3]],
           "balances": {a: str(v) for a, v in balances.items()}})


def child_fava(books_dir: str) -> None:
    from fava.core import FavaLedger
    main = str(Path(books_dir) / "main.beancount")
    t0 = time.perf_counter()
    ledger = FavaLedger(main)
    seconds = time.perf_counter() - t0
    _emit({"seconds": seconds, "errors": len(ledger.errors)})


def child_post(books_dir: str, n_posts: int, month: str, seed: int) -> None:
    """Post `n_posts` entries through Books.post, each followed by a floor append."""
    from beancount.parser import printer

    import ledger.books as lb
    from ledger import entries as E
    from ledger.files import FileIO

    n_posts, seed = int(n_posts), int(seed)
    parts = {k: [] for k in ("validate", "round_trip", "refresh", "write", "fsync")}

    def timed(fn, key):
        def wrapper(*args, **kwargs):
            t0 = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                parts[key].append(time.perf_counter() - t0)
        return wrapper

    class TimedIO(FileIO):  # FileIO is the books' seam for the write and fsync calls
        write = timed(FileIO.write, "write")
        fsync = timed(FileIO.fsync, "fsync")

    lb.check_entry = timed(lb.check_entry, "validate")
    lb.round_trip = timed(lb.round_trip, "round_trip")
    books = lb.Books.open(books_dir, fileio=TimedIO())
    assert books.load_mode == "snapshot", books.load_mode
    books._refresh_locked = timed(books._refresh_locked, "refresh")
    before = books.state.entry_count

    rng = random.Random(seed)
    year = int(month[:4])
    warmup = 3
    entries = []
    for i in range((n_posts + warmup + 2) // 3):
        day = dt.date.fromisoformat(f"{month}-{10 + i % 18:02d}")
        account = "Assets:Fund:Bank" if i % 2 else "Assets:Fund:PayPal"
        gross = Decimal(rng.randint(150, 400))
        fee = (gross * Decimal("0.029") + Decimal("0.30")).quantize(CENT) if i % 2 == 0 else None
        aid = Decimal(rng.randint(40, 140))  # at most what the donation just brought in
        category = rng.choice([c for c, _ in AID])
        rcode = f"R-{year}-{900000 + i}"
        entries += [
            E.donation(f"D-{year}-{900000 + i}", day, "individual", account, gross, CURRENCY,
                       fee=fee, donor_name=rng.choice(DONORS) if i % 5 == 0 else None),
            E.approval(rcode, 1, day, category, aid, CURRENCY),
            E.payment(rcode, 1, day, category, ACCOUNT_METHOD[account], account, aid, CURRENCY),
        ]
    entries = entries[:n_posts + warmup]
    payloads = [("\n" + printer.format_entry(e)).encode() for e in entries]

    scratch = Path(books_dir) / "floor.scratch"
    fd = os.open(scratch, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    post_t, floor_t = [], []
    for i, (entry, payload) in enumerate(zip(entries, payloads)):
        if i == warmup:
            post_t.clear()
            floor_t.clear()
            for v in parts.values():
                v.clear()
        t0 = time.perf_counter()
        posted = books.post(entry)
        t1 = time.perf_counter()
        os.write(fd, payload)
        os.fsync(fd)
        t2 = time.perf_counter()
        assert posted.created
        post_t.append(t1 - t0)
        floor_t.append(t2 - t1)
    os.close(fd)
    scratch.unlink()
    other = [p - sum(parts[k][i] for k in parts) for i, p in enumerate(post_t)]
    assert all(len(v) == len(post_t) for v in parts.values()), {k: len(v) for k, v in parts.items()}
    ok = books.verify().ok
    after = books.state.entry_count
    _emit({"post": post_t, "floor": floor_t,
           "parts": {k: statistics.median(v) for k, v in parts.items()},
           "other": statistics.median(other), "verify_ok": ok,
           "posted": after - before, "payload_bytes": statistics.median(map(len, payloads))})


def child_seal(books_dir: str, month: str, today: str) -> None:
    """Time one Books.seal of `month` (statements = the book balances)."""
    from ledger.books import Books
    books = Books.open(books_dir)
    state = books.state
    statements = {a: state.balance_at_end_of(a, month) for a in state.cash_accounts()}
    t0 = time.perf_counter()
    books.seal(month, statements, today=dt.date.fromisoformat(today))
    seconds = time.perf_counter() - t0
    _emit({"seconds": seconds, "verify_ok": books.verify().ok})


CHILDREN = {"ours": child_ours, "loader": child_loader, "fava": child_fava,
            "post": child_post, "seal": child_seal}


def run_child(kind: str, *args) -> dict:
    cmd = [sys.executable, str(Path(__file__).resolve()), "--child", kind, *map(str, args)]
    proc = subprocess.run(cmd, capture_output=True, text=True, env=os.environ.copy())
    if proc.returncode != 0:
        raise RuntimeError(f"child {kind} failed ({proc.returncode}):\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def run_bean_check(books_dir: Path) -> tuple[float, int, str]:
    exe = Path(sys.executable).parent / "bean-check"
    cmd = [str(exe) if exe.exists() else "bean-check", "-C", str(books_dir / "main.beancount")]
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, env=os.environ.copy())
    seconds = time.perf_counter() - t0
    return seconds, proc.returncode, (proc.stdout + proc.stderr).strip()


def python_startup(module: str, times: int = 3) -> float:
    """Wall time of a process that only starts Python and imports `module`."""
    runs = []
    for _ in range(times):
        t0 = time.perf_counter()
        subprocess.run([sys.executable, "-c", f"import {module}"], check=True,
                       env=os.environ.copy())
        runs.append(time.perf_counter() - t0)
    return statistics.median(runs)


# --- the benchmark -------------------------------------------------------------------------


def pct(values: list[float], q: float) -> float:
    """The q-th percentile (nearest rank) of `values`."""
    ordered = sorted(values)
    rank = max(1, min(len(ordered), int(-(-q * len(ordered) // 100))))
    return ordered[rank - 1]


def label(n: int) -> str:
    return f"{n // 1000}k" if n % 1000 == 0 and n >= 1000 else str(n)


def prepare(base: Path, n: int, keep: bool) -> tuple[Path, dict]:
    """The pristine books of size n: reused from a previous --keep run or built now."""
    pristine = base / f"books-{label(n)}"
    stamp_path = base / f"books-{label(n)}.json"
    seed = 1000 + n
    if keep and stamp_path.exists() and pristine.exists():
        stamp = json.loads(stamp_path.read_text())
        if stamp.get("version") == GEN_VERSION and stamp.get("n") == n:
            log(f"{label(n)}: reusing {pristine}")
            return pristine, stamp
    if pristine.exists():
        shutil.rmtree(pristine)
    stamp_path.unlink(missing_ok=True)
    log(f"{label(n)}: building {n} entries in {pristine}")
    stamp = build_books(pristine, n, seed)
    stamp_path.write_text(json.dumps(stamp))
    return pristine, stamp


def bench_size(base: Path, n: int, args) -> dict:
    pristine, stamp = prepare(base, n, args.keep)
    work = base / f"work-{label(n)}"
    if work.exists():
        shutil.rmtree(work)
    shutil.copytree(pristine, work, symlinks=True)
    repeat = 1 if n >= 50_000 else args.repeat
    r: dict = {"n": n}

    log(f"{label(n)}: posting {args.posts} entries into {stamp['open_months'][-1]}")
    post = run_child("post", work, args.posts, stamp["open_months"][-1], n)
    assert post["verify_ok"] and post["posted"] == args.posts + 3, post
    r["post"] = post

    log(f"{label(n)}: cold loads (ours full path, ours snapshot x{args.repeat}, "
        f"load_file/bean-check/Fava x{repeat})")
    (work / ".carebooks" / "snapshot.json").unlink()
    full = run_child("ours", work)   # beancount's loader + seal check + snapshot write
    assert full["mode"] == "full", full["mode"]
    r["ours_full"] = full["seconds"]
    ours = [run_child("ours", work) for _ in range(args.repeat)]
    assert all(o["mode"] == "snapshot" for o in ours), [o["mode"] for o in ours]
    r["ours"] = statistics.median(o["seconds"] for o in ours)

    loads = [run_child("loader", work) for _ in range(repeat)]
    first = loads[0]
    assert first["errors"] == 0, f"beancount reports {first['errors']} errors: {first['first_errors']}"
    r["loader"] = statistics.median(x["seconds"] for x in loads)
    r["entries"] = first["entries"]
    mine = {a: Decimal(v) for a, v in ours[0]["balances"].items()}
    theirs = {a: Decimal(v) for a, v in first["balances"].items()}
    r["balances_equal"] = mine == theirs and {a: Decimal(v) for a, v in
                                              full["balances"].items()} == theirs
    if not r["balances_equal"]:
        diff = {a: (mine.get(a), theirs.get(a)) for a in set(mine) | set(theirs)
                if mine.get(a) != theirs.get(a)}
        log(f"{label(n)}: BALANCES DIFFER: {diff}")

    checks = [run_bean_check(work) for _ in range(repeat)]
    for seconds, rc, output in checks:
        assert rc == 0 and not output, f"bean-check: exit {rc}: {output[:2000]}"
    r["bean_check"] = statistics.median(c[0] for c in checks)

    favas = [run_child("fava", work) for _ in range(repeat)]
    assert all(f["errors"] == 0 for f in favas), favas
    r["fava"] = statistics.median(f["seconds"] for f in favas)

    months = stamp["months"]
    after = dt.date.fromisoformat(months[-1] + "-01") + dt.timedelta(days=40)
    seal = run_child("seal", work, stamp["open_months"][0], after.isoformat())
    assert seal["verify_ok"], seal
    r["seal"] = seal["seconds"]
    assert not list(work.glob("*picklecache*")), "beancount wrote a pickle cache"
    if not args.keep:
        shutil.rmtree(work)
    log(f"{label(n)}: done")
    return r


def ms(x: float) -> str:
    return f"{x * 1000:.2f}"


def report(results: list[dict], startup: float, repeat: int = 3) -> bool:
    head = ["fund", "entries", "post p50", "post p99", "floor p50", "floor p99", "post/floor",
            "ours cold", "load_file", "bean-check", "Fava", "ours/load_file"]
    unit = ["", "", "ms", "ms", "ms", "ms", "p50 x", "s", "s", "s", "s", "x"]
    rows = []
    for r in results:
        post, floor = r["post"]["post"], r["post"]["floor"]
        r["post_p50"], r["floor_p50"] = pct(post, 50), pct(floor, 50)
        rows.append([label(r["n"]), str(r["entries"]), ms(pct(post, 50)), ms(pct(post, 99)),
                     ms(pct(floor, 50)), ms(pct(floor, 99)),
                     f"{r['post_p50'] / r['floor_p50']:.2f}", f"{r['ours']:.3f}",
                     f"{r['loader']:.2f}", f"{r['bean_check']:.2f}", f"{r['fava']:.2f}",
                     f"{r['ours'] / r['loader']:.3f}"])
    widths = [max(len(h), len(u), *(len(row[i]) for row in rows))
              for i, (h, u) in enumerate(zip(head, unit))]
    line = lambda cells: "  ".join(c.rjust(w) for c, w in zip(cells, widths)).rstrip()  # noqa: E731
    print(line(head))
    print(line(unit))
    print("  ".join("-" * w for w in widths))
    for row in rows:
        print(line(row))
    print()

    n_posts = len(results[0]["post"]["post"])
    print(f"post: {n_posts} Books.post calls per size (after 3 warm-up calls), each followed "
          "by the floor: the same bytes appended with os.write + os.fsync to a scratch file.")
    print("cold load: each in a fresh process, timed inside it (imports excluded); bean-check "
          f"is the whole process (Python start-up + imports alone: {startup:.2f} s).")
    runs = f"medians of {repeat} runs" if repeat > 1 else "one run"
    print(f"{runs} below 50k entries, one run above; ours cold = Books.open with "
          "load_mode 'snapshot'.")
    for r in results:
        p = r["post"]["parts"]
        print(f"{label(r['n']):>4}: balances equal: {'yes' if r['balances_equal'] else 'NO'}"
              f"; ours without snapshot (full path) {r['ours_full']:.2f} s"
              f"; one Books.seal {r['seal']:.3f} s"
              f"; post p50 parts (ms): validate {ms(p['validate'])}, round trip "
              f"{ms(p['round_trip'])}, refresh {ms(p['refresh'])}, write {ms(p['write'])}, "
              f"fsync {ms(p['fsync'])}, rest {ms(r['post']['other'])}")
    print()

    small, large = results[0], results[-1]
    checks = [
        (f"post p50 at {label(large['n'])} within 1.5x of post p50 at {label(small['n'])}",
         large["post_p50"] <= 1.5 * small["post_p50"],
         f"{ms(large['post_p50'])} ms vs {ms(small['post_p50'])} ms = "
         f"{large['post_p50'] / small['post_p50']:.2f}x"),
    ]
    for r in results:
        checks.append((f"post p50 within 3x of the floor p50 at {label(r['n'])}",
                       r["post_p50"] <= 3 * r["floor_p50"],
                       f"{ms(r['post_p50'])} ms vs {ms(r['floor_p50'])} ms = "
                       f"{r['post_p50'] / r['floor_p50']:.2f}x"))
    checks.append((f"cold load at {label(large['n'])} at most 0.1x of loader.load_file",
                   large["ours"] <= 0.1 * large["loader"],
                   f"{large['ours']:.3f} s vs {large['loader']:.2f} s = "
                   f"{large['ours'] / large['loader']:.3f}x"))
    checks.append(("balances equal to loader.load_file at every size",
                   all(r["balances_equal"] for r in results), ""))
    print("targets:")
    for name, ok, detail in checks:
        print(f"  {'PASS' if ok else 'FAIL'}  {name}" + (f" ({detail})" if detail else ""))
    return all(ok for _, ok, _ in checks)


def main() -> int:
    if len(sys.argv) > 2 and sys.argv[1] == "--child":
        CHILDREN[sys.argv[2]](*sys.argv[3:])
        return 0
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sizes", default="1000,10000,100000",
                    help="comma-separated fund sizes in entries (default 1000,10000,100000)")
    ap.add_argument("--quick", action="store_true",
                    help="a smoke run in seconds (the suite runs it): 1000 entries, at most "
                         "30 posts, one run per measurement; its figures mean little")
    ap.add_argument("--keep", action="store_true",
                    help="keep the generated books in --out and reuse them on the next run")
    ap.add_argument("--out", default=str(ROOT / "bench" / "out"),
                    help="where --keep stores the books (default bench/out, gitignored)")
    ap.add_argument("--posts", type=int, default=300, help="Books.post calls per size")
    ap.add_argument("--repeat", type=int, default=3,
                    help="runs per cold-load measurement below 50k entries (median)")
    ap.add_argument("--strict", action="store_true",
                    help="exit with status 1 when a target fails (default: report only)")
    args = ap.parse_args()
    sizes = [1000] if args.quick else [int(s) for s in args.sizes.split(",") if s]
    if args.quick:
        args.posts, args.repeat = min(args.posts, 30), 1
    sizes = sorted(set(sizes))
    if args.keep:
        base = Path(args.out).resolve()
        base.mkdir(parents=True, exist_ok=True)
    else:
        base = Path(tempfile.mkdtemp(prefix="carebooks-bench-"))
    t0 = time.perf_counter()
    try:
        startup = python_startup("beancount.scripts.check")
        results = [bench_size(base, n, args) for n in sizes]
    finally:
        if not args.keep:
            shutil.rmtree(base, ignore_errors=True)
    ok = report(results, startup, args.repeat)
    log(f"total {time.perf_counter() - t0:.0f} s")
    return 0 if ok or not args.strict else 1


if __name__ == "__main__":
    sys.exit(main())
