"""Server-rendered pages: login, home, and the blueprints plugins declare."""
from __future__ import annotations

from flask import Flask
from flask import g

from atom.integrations.registry import resolve
from atom.state import get_state


def register_dashboard(app: Flask) -> None:
    from atom.dashboard.views import bp

    app.register_blueprint(bp)
    app.context_processor(lambda: {"current_user": g.get("user")})
    for plugin in get_state(app).registry.loaded():
        if plugin.manifest.blueprint:
            app.register_blueprint(resolve(plugin.manifest.blueprint),
                                   url_prefix=f"/integrations/{plugin.name}")
