"""ATOM: a self-hosted integration and workflow-automation hub.

Importing this package does nothing; :func:`create_app` builds the application.
"""
from __future__ import annotations

import os
from typing import Any
from typing import Mapping

from flask import Flask

__version__ = "0.1.0"


def create_app(test_config: Mapping[str, Any] | None = None) -> Flask:
    """Create and configure the ATOM application.

    :param test_config: settings applied last, over every other layer (tests use it).
    """
    from atom import engine
    from atom import state
    from atom.api import register_api
    from atom.dashboard import register_dashboard
    from atom.logging import configure_logging
    from atom.security import init_security
    from atom.settings import load_config

    app = Flask(
        __name__,
        instance_path=os.environ.get("ATOM_INSTANCE_PATH") or None,
        instance_relative_config=True,
    )
    load_config(app, test_config)
    configure_logging(app)
    hops = int(app.config.get("PROXY_FIX_HOPS") or 0)
    if hops:
        from werkzeug.middleware.proxy_fix import ProxyFix

        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops)  # type: ignore[method-assign]
    state.init_app(app)  # database, vault, plugin registry, metrics, connection runtime
    engine.init_app(app)  # workflow engine (threads start on first use, not here)
    register_api(app)  # /api/v2, /api/enhanced, /hooks, OpenAPI
    register_dashboard(app)  # /, /login, plugin blueprints
    init_security(app)  # security headers on every response; sign-in rate limits
    return app
