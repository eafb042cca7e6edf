"""Kill points inside a real server process, for tests/fault/http_crashes.py.

`arm()` makes this process die by SIGKILL, at random, at the moments a crash hurts most:

    after-claim     an Idempotency-Key was claimed (committed as in progress), before the
                    step runs
    before-commit   just before a database commit
    after-commit    just after one (a money step's: before its entry reaches the books)
    mid-append      in the middle of appending an entry to the books (a torn last entry)
    after-append    after the entry's fsync, before the outbox row is marked done

Each death is written first to the kill log (`CAREBOOKS_KILL_LOG`, one fsynced line), so
the test can count it. Under gunicorn, `tests/fault/gunicorn_armed.py` arms each worker
after it has loaded the app; `python -m tests.fault.armed serve --port N` is `carebooks
serve` armed the same way. The seed comes from `CAREBOOKS_KILL_SEED` and the pid; the
chance per point from `CAREBOOKS_KILL_RATE`.

Test code only: nothing in app/ or ledger/ knows about it.
"""

from __future__ import annotations

import os
import random
import signal
import sys
import threading


def _log(point: str) -> None:
    path = os.environ.get("CAREBOOKS_KILL_LOG")
    if path:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        os.write(fd, f"{point} {os.getpid()}\n".encode())
        os.fsync(fd)
        os.close(fd)


def arm() -> None:
    """Install the kill points in this process (a server worker, after the app loaded)."""
    from sqlalchemy.orm import Session

    from app.workflow import claims
    from ledger.files import FileIO
    from tests.fault.crashes import is_books_file

    rate = float(os.environ.get("CAREBOOKS_KILL_RATE", "0.03"))
    rng = random.Random(int(os.environ.get("CAREBOOKS_KILL_SEED", "1")) * 100003 + os.getpid())
    lock = threading.Lock()

    def maybe(point: str) -> None:
        with lock:
            if rng.random() >= rate:
                return
            _log(point)
            os.kill(os.getpid(), signal.SIGKILL)

    real_claim, real_commit = claims.claim, Session.commit
    real_write, real_fsync = FileIO.write, FileIO.fsync

    def claim(*args, **kwargs):
        person, outcome = real_claim(*args, **kwargs)
        if outcome.owner is not None:
            maybe("after-claim")
        return person, outcome

    def commit(self):
        maybe("before-commit")
        real_commit(self)
        maybe("after-commit")

    def write(self, fd, data):
        if is_books_file(fd) and len(data) > 1:
            with lock:
                if rng.random() < rate:
                    os.write(fd, data[:1 + rng.randrange(len(data) - 1)])
                    _log("mid-append")
                    os.kill(os.getpid(), signal.SIGKILL)
        real_write(self, fd, data)

    def fsync(self, fd):
        real_fsync(self, fd)
        if is_books_file(fd):
            maybe("after-append")

    claims.claim, Session.commit = claim, commit
    FileIO.write, FileIO.fsync = write, fsync


def main(argv: list[str]) -> None:
    """`python -m tests.fault.armed serve --port N`: `carebooks serve`, armed once the app
    is built and has recovered (as gunicorn's workers are, after loading)."""
    from app import cli
    from app.workflow import outbox

    real_recover = outbox.recover_on_start

    def recover_then_arm() -> str:
        said = real_recover()
        arm()
        return said

    outbox.recover_on_start = recover_then_arm
    cli.main(args=argv)


if __name__ == "__main__":
    main(sys.argv[1:])
