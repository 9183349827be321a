"""Server-rendered pages: the dashboard's page modules, the layout's context (navigation, open
alerts), styled error pages, and the blueprints plugins declare."""
from __future__ import annotations

import importlib
import json

from flask import Flask
from flask import current_app
from flask import g
from flask import request

from atom.integrations.registry import resolve
from atom.state import get_state

# Page modules, each adding its routes to atom.dashboard.base.bp; a module not written yet is
# simply absent from the navigation.
PAGE_MODULES = ("views", "connections", "workflows", "executions", "monitoring", "settings",
                "ai_describe", "ai_prediction", "ai_optimise", "ai_troubleshoot",
                "ai_dependencies", "ai_status", "incidents", "status_page", "monitoring_dependencies")

# (endpoint, label, sections, role): the main navigation, in order. ``sections`` are the first
# path segments of the pages an item covers, which mark the current item.
NAV = (
    ("dashboard.home", "Home", ("",), "viewer"),
    ("dashboard.connections", "Connections", ("connections",), "viewer"),
    ("dashboard.workflows", "Workflows", ("workflows",), "viewer"),
    ("dashboard.executions", "Executions", ("executions",), "viewer"),
    ("dashboard.monitoring", "Monitoring", ("monitoring",), "viewer"),
    # The intelligence pages: the components and what they did, and the dependency map.
    ("dashboard.intelligence", "Intelligence", ("intelligence", "dependencies"), "viewer"),
    ("dashboard.settings", "Settings", ("settings",), "admin"),
    ("apidocs.docs", "API", ("api",), "viewer"),
)


def register_dashboard(app: Flask) -> None:
    from atom.dashboard.base import bp
    from atom.dashboard.base import can

    for name in PAGE_MODULES:
        try:
            importlib.import_module(f"atom.dashboard.{name}")
        except ModuleNotFoundError as exc:
            if exc.name != f"atom.dashboard.{name}":
                raise
    app.register_blueprint(bp)
    app.add_template_filter(_tojson_pretty, "tojson_pretty")
    app.context_processor(lambda: {
        "current_user": g.get("user"), "can": can, "nav_items": _nav_items,
        "nav_section": request.path.strip("/").split("/", 1)[0] if request else "",
        "open_alert_count": _open_alert_count, "nav_alerts_endpoint": _alerts_endpoint,
    })
    for plugin in get_state(app).registry.loaded():
        if plugin.manifest.blueprint:
            app.register_blueprint(resolve(plugin.manifest.blueprint),
                                   url_prefix=f"/integrations/{plugin.name}")


def _nav_items() -> list[tuple[str, str, tuple[str, ...]]]:
    from atom.dashboard.base import can

    views = current_app.view_functions
    return [(endpoint, label, sections) for endpoint, label, sections, role in NAV
            if endpoint in views and can(role)]


def _alerts_endpoint() -> str:
    views = current_app.view_functions
    return "dashboard.alerts" if "dashboard.alerts" in views else "dashboard.home"


def _open_alert_count() -> int:
    """Open (unacknowledged or acknowledged, not resolved) alerts, for the top bar; once per
    request."""
    if "open_alert_count" not in g:
        from atom.extensions import db
        from atom.models.monitoring import Alert

        g.open_alert_count = db.session.scalar(
            db.select(db.func.count(Alert.id)).where(Alert.status.in_(("open", "acknowledged")))) or 0
    return g.open_alert_count


def _tojson_pretty(value) -> str:
    """Indented JSON for a <pre> (autoescaped by the template like any text)."""
    return json.dumps(value, indent=2, sort_keys=False, default=str, ensure_ascii=False)


def render_error_page(status: int, message: str | None = None):
    """The styled 403/404/405/500 page for a browser, with a way back."""
    from flask import render_template

    titles = {400: "Bad request", 403: "Not allowed", 404: "Not found", 405: "Method not allowed",
              409: "Conflict", 413: "Too large", 422: "Unprocessable", 429: "Too many requests",
              500: "Something went wrong"}
    defaults = {403: "You do not have permission to open this page.",
                404: "There is nothing at this address. It may have been deleted, or the link is wrong.",
                500: "The server hit an unexpected error; it has been logged. Try again, or go back."}
    referrer = request.referrer if request.referrer and request.referrer.startswith(request.host_url) else None
    try:
        body = render_template("dashboard/error.html", status=status, title=titles.get(status, "Error"),
                               message=message or defaults.get(status, "The request could not be completed."),
                               back=referrer)
    except Exception:  # the page itself failed (e.g. the database is down): plain text still helps
        current_app.logger.exception("the error page could not be rendered")
        body = f"{status} {titles.get(status, 'Error')}: {message or defaults.get(status, '')}"
    return body, status
