"""The WSGI entry point for production servers: `gunicorn app.wsgi:app`.

The fund is the one the environment names, exactly as for every `carebooks` command:
`CAREBOOKS_INSTANCE` (the instance folder), `DATABASE_URL`, `REDIS_URL`,
`CAREBOOKS_ENV`, `CAREBOOKS_BEHIND_PROXY`. Each worker process builds its own app (no
`--preload`), so no database connection or open file is shared across a fork; the
workers agree through the money lock and the outbox (docs/operations.md).
"""

from __future__ import annotations

from app import create_app

app = create_app()
