"""The WSGI entry point for production servers: `gunicorn app.wsgi:app`.

The fund is the one the environment names, exactly as for every `carebooks` command:
`CAREBOOKS_INSTANCE` (the instance folder), `DATABASE_URL`, `REDIS_URL`,
`CAREBOOKS_ENV`, `CAREBOOKS_BEHIND_PROXY`. Each worker process builds its own app (no
`--preload`), so no database connection or open file is shared across a fork; the
workers agree through the money lock and the outbox (docs/operations.md). Each settles,
before it serves, what a crash left in flight (docs/design.md §5).
"""

from __future__ import annotations

from app import create_app
from app.workflow.outbox import recover_on_start

app = create_app()
with app.app_context():
    if said := recover_on_start():
        app.logger.warning(said)
