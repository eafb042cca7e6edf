"""Two gunicorn workers writing money at once never interleave bytes in the books.

The app runs under `gunicorn app.wsgi:app` with two worker processes (the deployment of
docs/operations.md) on 127.0.0.1; 32 client threads send donations, approvals and
payments at the same moment, each on a new connection so both workers take them. Then
every month file must parse on its own, every entry's lines must stand together (each
block between two entries re-parses as exactly that one entry), the books must hold each
acknowledged write exactly once and nothing else, both worker pids must have served
writes, and `carebooks check` must pass.
"""

from __future__ import annotations

import collections
import datetime as dt
import threading
import uuid
from pathlib import Path

from beancount.core import data
from beancount.parser import parser, printer

from bench.harness import Client, Gunicorn, books_ids, carebooks, fund_env, month_file_errors
from tests.app.conftest import ask

THREADS = 32
BANK = "Assets:Fund:Bank"


def _post(port: int, token: str, path: str, body: dict, key: str | None = None):
    """One POST on a connection of its own (so the two workers share the load)."""
    client = Client(port, token, timeout=60)
    try:
        return client.post(path, body, key=key)
    finally:
        client.close()


def _writes(port: int, tokens: list[str], code: str, acked: list, failures: list,
            barrier: threading.Barrier) -> None:
    """A donation (sent twice with one key), approve `code`, pay it in two parts."""
    token = tokens[0]
    today = dt.date.today().isoformat()
    donation = {"amount": "25.00", "account": BANK, "date": today, "category": "individual",
                "donor_consents_public": False}
    steps = [
        ("/api/v1/donations", donation, 201, lambda d: f"donation:{d['code']}"),
        (f"/api/v1/requests/{code}/approve", {}, 200, lambda d: f"approve:{code}:1"),
        (f"/api/v1/requests/{code}/payments", {"amount": "4.00", "account": BANK}, 201,
         lambda d: f"pay:{code}:{len(d['payments'])}"),
        (f"/api/v1/requests/{code}/payments", {"amount": "6.00", "account": BANK}, 201,
         lambda d: f"pay:{code}:{len(d['payments'])}"),
        ("/api/v1/donations", {**donation, "fee": "0.80"}, 201,
         lambda d: f"donation:{d['code']}"),
    ]
    barrier.wait(30)
    for n, (path, body, want, id_of) in enumerate(steps):
        key = uuid.uuid4().hex
        status, headers, data, _ = _post(port, tokens[n % len(tokens)], path, body, key)
        if status != want:
            failures.append((path, status, data))
            return
        acked.append(id_of(data))
        if n == 0:  # a retry with the same key: the first answer again, and no second entry
            again = _post(port, token, path, body, key)
            if (again[0], again[2]) != (status, data) or \
                    again[1].get("idempotent-replayed") != "true":
                failures.append((path, "not replayed", again[0], again[2]))


def _blocks_stand_alone(path: Path) -> list[str]:
    """Each entry's lines, up to the next entry, re-parsed alone: exactly one entry, whose
    text is byte for byte what the app's formatter writes for it (so no line of another
    entry is inside it, and none of its own lines is elsewhere)."""
    text = path.read_text()
    lines = text.splitlines(keepends=True)
    entries, errors, _ = parser.parse_string(text)
    assert not errors, [e.message for e in errors]
    starts = sorted(e.meta["lineno"] for e in entries) + [len(lines) + 1]
    problems = []
    for entry_start, next_start in zip(starts, starts[1:]):
        chunk = "".join(lines[entry_start - 1:next_start - 1])
        alone, errs, _ = parser.parse_string(chunk)
        whole = len(alone) == 1 and (not isinstance(alone[0], data.Transaction)
                                     or len(alone[0].postings) >= 2)
        if errs or not whole or chunk.rstrip("\n") != printer.format_entry(
                alone[0]).rstrip("\n"):
            problems.append(f"{path.name}:{entry_start}: {len(alone)} entries, "
                            f"{len(errs)} errors in {chunk!r}")
    return problems


def test_two_workers_writing_at_once_keep_every_entry_whole(fund, database_url, tmp_path):
    codes = [ask(fund, who="member" if i % 2 else "member2", amount="10.00")
             for i in range(THREADS)]
    books_dir = tmp_path / "instance" / "books"
    before, errors, txns_before = books_ids(books_dir)
    assert not errors
    env = fund_env(tmp_path / "instance", database_url)
    tokens = [fund.tokens["treasurer"], fund.tokens["treasurer2"]]
    acked: list[str] = []
    failures: list = []
    server = Gunicorn(env, tmp_path / "gunicorn", workers=2, worker_class="gthread", threads=4)
    with server:
        pids = server.worker_pids()
        assert len(pids) == 2, pids
        barrier = threading.Barrier(THREADS)
        threads = [threading.Thread(target=_writes, args=(server.port, tokens, code, acked,
                                                           failures, barrier))
                   for code in codes]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        assert not any(t.is_alive() for t in threads), "a client thread hung"
    assert server.proc.returncode == 0, server.errors()
    assert not failures, failures[:5]
    assert len(acked) == THREADS * 5

    # every month file parses alone, and every entry's bytes stand together
    assert not any(month_file_errors(books_dir).values()), month_file_errors(books_dir)
    for month in sorted(books_dir.glob("[0-9][0-9][0-9][0-9]/*.beancount")):
        assert not _blocks_stand_alone(month), _blocks_stand_alone(month)[:3]

    # each acknowledged write exactly once, nothing else
    ids, errors, txns = books_ids(books_dir)
    assert not errors, errors[:5]
    assert txns == txns_before + len(acked)
    assert len(set(acked)) == len(acked)
    assert all(ids[i] == 1 for i in acked), [i for i in acked if ids[i] != 1]
    assert set(ids) == set(before) | set(acked)
    assert collections.Counter(ids).most_common(1)[0][1] == 1

    # both workers wrote money
    served = server.served_by("POST", "/api/v1/")
    assert set(served) <= set(pids) and len(served) == 2, served

    check = carebooks(env, "check", check=False)
    assert check.returncode == 0, check.stdout + check.stderr
    assert "check: OK" in check.stdout
