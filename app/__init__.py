"""The Carebooks web app: a Flask application factory and its extensions."""

from __future__ import annotations

import os
from typing import Any

from flask import Flask

from app.config import instance_path, load_settings


def create_app(*, instance: str | os.PathLike | None = None,
               test_config: dict[str, Any] | None = None) -> Flask:
    """Build the app for one fund's instance folder; `test_config` overrides settings."""
    from app.workflow.modes import loose_modes, restrict_umask

    restrict_umask()  # what this process creates is the operator's alone (docs/operations.md)
    folder = instance_path(instance)
    app = Flask(__name__, instance_path=str(folder), instance_relative_config=True)
    app.config.update(load_settings(folder))
    if test_config:
        app.config.update(test_config)

    from app import db, fund, i18n, security, web
    from app.api import kept, routes

    db.init_app(app)
    fund.init_app(app)
    i18n.init_app(app)
    app.register_blueprint(routes.bp)  # importing app.api.routes put the routes on api.bp
    web.init_app(app)
    security.init_app(app)
    kept.init_app(app)
    for warning in loose_modes(folder):
        app.logger.warning("instance: %s", warning)
    return app
