"""gunicorn settings for Carebooks: `gunicorn --config deploy/gunicorn.conf.py app.wsgi:app`.

Read docs/operations.md ("Running under gunicorn") first. Two workers are the tested
shape: any number of worker processes on one host is safe for the money (the money lock
and the outbox, docs/design.md §5), and two fill a 2-core machine. The figures behind the
choice of worker class are in docs/performance.md ("HTTP under gunicorn").
"""

import os

# Behind nginx on the same host (docs/operations.md): only the proxy reaches the app.
bind = os.environ.get("CAREBOOKS_BIND", "127.0.0.1:8000")
workers = int(os.environ.get("CAREBOOKS_WORKERS", "2"))
# gthread: each worker serves a few requests at once (4 threads); a money
# write waiting for the money lock does not stop its worker from answering readers.
worker_class = "gthread"
threads = int(os.environ.get("CAREBOOKS_THREADS", "4"))
# No --preload: each worker builds its own app, database pool and books after the fork.
preload_app = False
timeout = 30            # a worker silent this long is restarted (a PDF render takes ~1 s)
graceful_timeout = 30   # on stop/restart, requests in flight get this long to finish
# No keep-alive between the proxy and the app: the proxy keeps the clients' connections,
# and the app closes each of its own after the response, so every request is accepted by
# whichever worker is free. With keep-alive, the first worker to wake took every
# connection and the second sat idle (measured: all 322 money writes on one pid).
keepalive = 0

# Access logs tie an address to a time and a page (a request's code is in its URL): off
# by default, as docs/privacy.md asks. Errors go to stderr, which systemd keeps.
accesslog = None
errorlog = "-"
loglevel = "info"

# gunicorn 27's control socket defaults to a file in the home directory, which the
# systemd unit makes read-only; Carebooks does not use it.
control_socket_disable = True

# Custody (docs/privacy.md, "how an unlock reaches every worker"): the page of shared
# memory that holds the unlocked key is made here, in the master, before any fork, so
# every worker (and any worker restarted later) shares it. It is never a file.
from app.custody import memory as _custody_memory  # noqa: E402

_custody_memory.page()


def post_fork(server, worker):
    """Each worker is made non-dumpable too (no core dump can hold the key)."""
    _custody_memory.harden_process()
