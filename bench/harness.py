"""Running Carebooks under gunicorn on 127.0.0.1, for the HTTP benchmark
(`bench/http_load.py`) and the two-worker fault test (`tests/fault/test_gunicorn_workers.py`).

* `Gunicorn`: start `gunicorn app.wsgi:app` on a free local port for one instance folder,
  wait until it answers, tell which worker process served each request (its access log
  records the pid), and stop it (SIGTERM, then SIGKILL after a grace period).
* `Client`: HTTP to the server speaking the API's JSON, on a bare socket (light on the
  CPU it shares with the server); a POST carries an `Idempotency-Key`, so resending it
  after a dropped connection is safe (the server replays the first answer instead of
  acting twice).
* `books_ids` / `month_file_errors`: what the books hold, read by Beancount itself.
* `carebooks`: run the CLI against an instance.

Traffic goes only to 127.0.0.1. Nothing here imports the app: the server runs in its own
processes, and the books are read with beancount.
"""

from __future__ import annotations

import collections
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent          # the venv's bin: gunicorn and carebooks live here
HOST = "127.0.0.1"
# The access log line: worker pid, method, path, status (gunicorn's own atoms).
ACCESS_FORMAT = '%(p)s %(m)s %(U)s %(s)s'


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


def fund_env(instance: Path, database_url: str | None = None, **extra: str) -> dict[str, str]:
    """The environment naming one fund, for the CLI and for gunicorn."""
    env = {k: v for k, v in os.environ.items()
           if k not in ("DATABASE_URL", "REDIS_URL", "CAREBOOKS_INSTANCE")}
    env["CAREBOOKS_INSTANCE"] = str(instance)
    if database_url:
        env["DATABASE_URL"] = database_url
    env.update(extra)
    return env


def carebooks(env: dict[str, str], *args: str, stdin: str | None = None,
              check: bool = True) -> subprocess.CompletedProcess:
    """Run `carebooks ARGS` for the fund `env` names; raise on failure when `check`."""
    proc = subprocess.run([str(BIN / "carebooks"), *args], env=env, cwd=ROOT, input=stdin,
                          capture_output=True, text=True, timeout=300)
    if check and proc.returncode != 0:
        raise RuntimeError(f"carebooks {' '.join(args)} exited {proc.returncode}:\n"
                           f"{proc.stdout}{proc.stderr}")
    return proc


_ENROL = """
import pyotp
from app import create_app
from app.workflow.people import person_by_email
from app.workflow.sessions import confirm_totp, new_totp_secret
app = create_app()
with app.app_context():
    secret = new_totp_secret()
    confirm_totp(person_by_email(EMAIL).id, secret, pyotp.TOTP(secret).now())
"""


def second_factor(env: dict[str, str], email: str) -> None:
    """Enrol `email`'s authenticator, as a first sign-in would: a treasurer's token may
    move money only once they have a second factor (docs/api.md)."""
    subprocess.run([sys.executable, "-c", f"EMAIL = {email!r}\n" + _ENROL], env=env, cwd=ROOT,
                   check=True, capture_output=True, timeout=120)


@dataclass
class Gunicorn:
    """`gunicorn app.wsgi:app` with `workers` processes on 127.0.0.1:`port`."""

    env: dict[str, str]
    log_dir: Path
    workers: int = 2
    worker_class: str = "gthread"
    threads: int = 4
    port: int = field(default_factory=free_port)
    extra: tuple[str, ...] = ()
    access_log_on: bool = True   # the pid of each request; off for the benchmark (as in prod)
    proc: subprocess.Popen | None = None

    @property
    def access_log(self) -> Path:
        return self.log_dir / "gunicorn-access.log"

    @property
    def error_log(self) -> Path:
        return self.log_dir / "gunicorn-error.log"

    def command(self) -> list[str]:
        """The command line (the one docs/operations.md shows, plus logs for the tests)."""
        cmd = [str(BIN / "gunicorn"), "app.wsgi:app", "--workers", str(self.workers),
               "--worker-class", self.worker_class, "--bind", f"{HOST}:{self.port}",
               "--no-control-socket", "--error-logfile", str(self.error_log),
               "--keep-alive", "0"]  # as deploy/gunicorn.conf.py: see keepalive there
        if self.access_log_on:
            cmd += ["--access-logfile", str(self.access_log), "--access-logformat", ACCESS_FORMAT]
        if self.worker_class == "gthread":
            cmd += ["--threads", str(self.threads)]
        return cmd + list(self.extra)

    def start(self, timeout: float = 30.0, *, warm: bool = True) -> Gunicorn:
        """Start the server and wait until it answers; with `warm`, until every worker
        has answered a request."""
        self.log_dir.mkdir(parents=True, exist_ok=True)
        self.proc = subprocess.Popen(self.command(), cwd=ROOT, env=self.env,
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                     start_new_session=True)
        deadline = time.monotonic() + timeout
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError(f"gunicorn exited {self.proc.returncode}:\n{self.errors()}")
            try:
                status, _, _, _ = Client(self.port, timeout=2).get("/api/v1/openapi.json")
                if status == 200:
                    break
            except OSError:
                pass
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"gunicorn did not answer in {timeout:.0f} s:\n{self.errors()}")
            time.sleep(0.1)
        if not warm:
            return self
        # Warm each worker (imports, the books' first load) before anything is measured.
        warm = [Client(self.port, timeout=10) for _ in range(self.workers * 4)]
        for client in warm:
            client.get("/api/v1/summary")
        for client in warm:
            client.close()
        return self

    def stop(self, grace: float = 30.0) -> int | None:
        """SIGTERM (gunicorn finishes the requests in flight), SIGKILL after `grace` s."""
        if self.proc is None or self.proc.poll() is not None:
            return None if self.proc is None else self.proc.returncode
        self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(grace)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            return self.proc.wait(5)

    def __enter__(self) -> Gunicorn:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    def worker_pids(self) -> list[int]:
        """The worker processes the master runs now."""
        if self.proc is None:
            return []
        path = Path(f"/proc/{self.proc.pid}/task/{self.proc.pid}/children")
        try:
            return [int(p) for p in path.read_text().split()]
        except OSError:
            return []

    def errors(self) -> str:
        """The end of gunicorn's error log."""
        try:
            return "\n".join(self.error_log.read_text().splitlines()[-30:])
        except OSError:
            return "(no error log)"

    def served_by(self, method: str = "POST", path_prefix: str = "/api/v1/",
                  status_ok: bool = True) -> collections.Counter:
        """Requests per worker pid from the access log (matching method and path)."""
        counts: collections.Counter = collections.Counter()
        if not self.access_log_on:
            return counts
        for line in self.access_log.read_text().splitlines():
            m = re.fullmatch(r"<(\d+)> (\S+) (\S+) (\d{3})", line.strip())
            if m and m[2] == method and m[3].startswith(path_prefix) and (
                    not status_ok or m[4] < "400"):
                counts[int(m[1])] += 1
        return counts


class Client:
    """HTTP/1.1 to the server on 127.0.0.1, the API's JSON in and out: one connection per
    request (`Connection: close`, as the app's own keep-alive is off: see
    deploy/gunicorn.conf.py). A POST carries an `Idempotency-Key`, so resending it after
    a dropped connection is safe (the server replays the first answer instead of acting
    twice).

    Written on a bare socket, not `http.client`: the load client shares the two cores with
    the server it measures, and `http.client`'s response parsing (the email package's
    header parser) cost about as much CPU per summary read as the server's answer."""

    def __init__(self, port: int, token: str | None = None, timeout: float = 30.0):
        self.port, self.token, self.timeout = port, token, timeout
        self.reconnects = 0
        self._head = (f"Host: {HOST}:{port}\r\nAccept: application/json\r\n"
                      + (f"Authorization: Bearer {token}\r\n" if token else "")
                      + "Connection: close\r\n")

    def close(self) -> None:
        """Nothing stays open between requests."""

    def request(self, method: str, path: str, body: dict | None = None, *,
                key: str | None = None, parse: bool = True,
                headers: dict[str, str] | None = None) -> tuple[int, dict, object, float]:
        """(status, headers, parsed JSON or text, milliseconds). A POST gets a fresh
        Idempotency-Key unless `key` is given; a connection reset before the answer is
        retried once (safe: same key). `parse=False` leaves the body as bytes; `headers`
        are sent as well (an If-None-Match)."""
        head = f"{method} {path} HTTP/1.1\r\n{self._head}"
        head += "".join(f"{name}: {value}\r\n" for name, value in (headers or {}).items())
        payload = b""
        if method == "POST":
            payload = json.dumps(body or {}).encode()
            head += (f"Idempotency-Key: {key or uuid.uuid4().hex}\r\n"
                     f"Content-Type: application/json\r\nContent-Length: {len(payload)}\r\n")
        message = (head + "\r\n").encode() + payload
        start = time.perf_counter()
        for attempt in (0, 1):
            try:
                raw = self._exchange(message)
                break
            except (ConnectionResetError, BrokenPipeError, IncompleteAnswer):
                self.reconnects += 1
                if attempt:
                    raise
        ms = (time.perf_counter() - start) * 1000
        status, headers, data = _parse(raw)
        if parse:
            if headers.get("content-type", "").startswith("application/json"):
                data = json.loads(data)
            else:
                data = data.decode("utf-8", "replace")
        return status, headers, data, ms

    def _exchange(self, message: bytes) -> bytes:
        """Send `message`; read the answer to its last byte (by its Content-Length, or to
        the end of the connection), then close our side at once, as http.client does:
        the server waits for that close before it closes its own (gunicorn's graceful
        close, in its worker's event loop)."""
        with socket.create_connection((HOST, self.port), timeout=self.timeout) as sock:
            sock.sendall(message)
            raw, want = b"", None
            while want is None or len(raw) < want:
                chunk = sock.recv(65536)
                if not chunk:
                    break
                raw += chunk
                if want is None and (end := raw.find(b"\r\n\r\n")) >= 0:
                    length = _LENGTH.search(raw, 0, end)  # none (chunked): to the end
                    want = end + 4 + int(length[1]) if length else float("inf")
        if not raw.startswith(b"HTTP/1.") or b"\r\n\r\n" not in raw:
            raise IncompleteAnswer(raw[:80])
        return raw

    def get(self, path: str, *, parse: bool = True, headers: dict[str, str] | None = None):
        """GET `path`."""
        return self.request("GET", path, parse=parse, headers=headers)

    def post(self, path: str, body: dict | None = None, *, key: str | None = None):
        """POST `body` as JSON to `path` with an Idempotency-Key."""
        return self.request("POST", path, body, key=key)


_LENGTH = re.compile(rb"\r\ncontent-length:\s*(\d+)", re.IGNORECASE)


class IncompleteAnswer(ConnectionError):
    """The server closed the connection before a whole HTTP answer."""


def _parse(raw: bytes) -> tuple[int, dict[str, str], bytes]:
    """(status, lowercased headers, body) of one HTTP/1.1 answer read to its end."""
    head, _, body = raw.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ", 2)[1])
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    if headers.get("transfer-encoding", "").lower() == "chunked":
        body = _dechunk(body)
    elif "content-length" in headers:
        want = int(headers["content-length"])
        if len(body) < want:
            raise IncompleteAnswer(f"{len(body)} of {want} bytes")
        body = body[:want]
    return status, headers, body


def _dechunk(body: bytes) -> bytes:
    out, at = [], 0
    while True:
        end = body.index(b"\r\n", at)
        size = int(body[at:end].split(b";")[0], 16)
        if size == 0:
            return b"".join(out)
        out.append(body[end + 2:end + 2 + size])
        at = end + 2 + size + 2


def month_file_errors(books_dir: Path) -> dict[str, list[str]]:
    """Each month file parsed on its own by Beancount's parser: its errors (if any)."""
    from beancount.parser import parser

    out = {}
    for path in sorted(books_dir.glob("[0-9][0-9][0-9][0-9]/*.beancount")):
        _, errors, _ = parser.parse_file(str(path))
        out[str(path.relative_to(books_dir))] = [str(e.message) for e in errors]
    return out


def books_ids(books_dir: Path) -> tuple[collections.Counter, list[str], int]:
    """(how often each carebooks-id occurs, Beancount's errors, transactions) from a full
    load of the books with Beancount's own loader (cache off)."""
    os.environ.setdefault("BEANCOUNT_DISABLE_LOAD_CACHE", "1")
    from beancount import loader
    from beancount.core import data

    entries, errors, _ = loader.load_file(str(books_dir / "main.beancount"))
    ids: collections.Counter = collections.Counter()
    txns = 0
    for entry in entries:
        if isinstance(entry, data.Transaction):
            txns += 1
            if "carebooks-id" in entry.meta:
                ids[entry.meta["carebooks-id"]] += 1
    return ids, [f"{(e.source or {}).get('filename')}:{(e.source or {}).get('lineno')}: "
                 f"{e.message}" for e in errors], txns


def cpu_times(pids: list[int], **groups: list[int]) -> dict[str, float]:
    """CPU seconds so far: the whole machine (busy time over all cores), the processes
    `pids`, this process, every PostgreSQL server process (Linux /proc), and each of
    `groups` (name: pids)."""
    tick = os.sysconf("SC_CLK_TCK")

    def proc_cpu(pid: int | str) -> float:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            return 0.0
        return (int(fields[11]) + int(fields[12])) / tick  # utime + stime

    cpu = Path("/proc/stat").read_text().splitlines()[0].split()[1:]
    busy = sum(int(x) for i, x in enumerate(cpu[:8]) if i not in (3, 4)) / tick  # not idle/iowait
    postgres = 0.0
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if (entry / "comm").read_text().strip() == "postgres":
                    postgres += proc_cpu(entry.name)
            except OSError:
                pass
    own = os.times()
    return {"machine": busy, "server": sum(proc_cpu(p) for p in pids),
            "client": own.user + own.system, "postgres": postgres,
            **{name: sum(proc_cpu(p) for p in group) for name, group in groups.items()}}
