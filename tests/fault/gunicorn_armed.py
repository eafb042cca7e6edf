"""gunicorn settings for the HTTP crash test (tests/fault/http_crashes.py): each worker is
armed with kill points (tests/fault/armed.py) once it has loaded the app.

The master imports every module of the app (not the app: each worker still builds its
own after the fork, as in production), so a killed worker is replaced in a fraction of a
second and hundreds of kills fit in a test run.
"""

import importlib
import pkgutil

import beancount.loader  # noqa: F401

import app

for _module in pkgutil.walk_packages(app.__path__, "app."):
    if _module.name not in ("app.wsgi",) and ".migrations" not in _module.name:
        importlib.import_module(_module.name)


def post_worker_init(worker):
    from tests.fault.armed import arm

    arm()
