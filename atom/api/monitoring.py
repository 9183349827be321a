"""Monitoring: ``/api/v2/monitoring`` (services, health, analytics, system, checks, thresholds,
alerts, notification channels, maintenance windows)."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from flask import current_app
from flask import request
from flask_smorest import Blueprint

from atom.api.auth import actor
from atom.api.auth import authenticate
from atom.api.auth import require
from atom.api.errors import ApiError
from atom.api.monitoring_schemas import AlertQuery
from atom.api.monitoring_schemas import AnalyticsQuery
from atom.api.monitoring_schemas import ChannelCreate
from atom.api.monitoring_schemas import MaintenanceCreate
from atom.api.openapi import json_body
from atom.api.pagination import PageQuery
from atom.api.pagination import paginate
from atom.api.openapi import ok
from atom.api.monitoring_schemas import AlertList
from atom.api.monitoring_schemas import AlertOut
from atom.api.monitoring_schemas import AnalyticsOut
from atom.api.monitoring_schemas import ChannelList
from atom.api.monitoring_schemas import ChannelOut
from atom.api.monitoring_schemas import ChannelTestOut
from atom.api.monitoring_schemas import MaintenanceList
from atom.api.monitoring_schemas import MaintenanceOut
from atom.api.monitoring_schemas import OverviewOut
from atom.api.monitoring_schemas import RoundOut
from atom.api.monitoring_schemas import ServiceOut
from atom.api.monitoring_schemas import ServicesOut
from atom.api.monitoring_schemas import SystemOut
from atom.api.monitoring_schemas import ThresholdsIn
from atom.api.monitoring_schemas import ThresholdsOut
from atom.extensions import db
from atom.models import Alert
from atom.models import MaintenanceWindow
from atom.models import NotificationChannel
from atom.models.base import isoformat
from atom.monitoring import alerts
from atom.monitoring import maintenance
from atom.monitoring import notify
from atom.monitoring import overview
from atom.monitoring import rollup
from atom.monitoring import thresholds
from atom.monitoring.checks import run_round
from atom.monitoring.monitor import get_monitor
from atom.monitoring.presentation import present_alert
from atom.monitoring.system import system_info
from atom.state import get_state

blp = Blueprint("monitoring", __name__, url_prefix="/api/v2/monitoring",
                description="Health scores, metrics, thresholds, alerts and their channels")
blp.before_request(authenticate)
ALL_WINDOWS = {"in": "query", "name": "all", "required": False, "schema": {"type": "string"},
               "description": "1 or true: every window, also those that ended"}


def _app() -> Any:
    return current_app._get_current_object()  # type: ignore[attr-defined]


def _now() -> datetime:
    return get_monitor().now()


def _body() -> dict[str, Any]:
    body = request.get_json(silent=True) if request.get_data() else {}
    if not isinstance(body, dict):
        raise ApiError(400, "the body must be a JSON object", errors={"_body": ["not an object"]})
    return body


# -- health and metrics -----------------------------------------------------------------------


@blp.route("/services", methods=["GET"])
@blp.alt_response(200, **ok(ServicesOut))
def list_services():
    """Every integration with enabled connections: health score, status, response times
    (p50, p95, last), success rate, error count and its connections."""
    return overview.services(_app())


@blp.route("/services/<name>", methods=["GET"])
@blp.alt_response(200, **ok(ServiceOut))
def get_service(name: str):
    """One integration's health (404 for an unknown integration)."""
    return overview.service(_app(), name)


@blp.route("/health", methods=["GET"])
@blp.alt_response(200, **ok(OverviewOut))
def system_health():
    """The overview: overall status and score, counts by status, open alerts, last round."""
    return overview.overview(_app())


@blp.route("/analytics", methods=["GET"])
@blp.arguments(AnalyticsQuery, location="query")
@blp.alt_response(200, **ok(AnalyticsOut))
def analytics(query):
    """Hourly trends of calls and checks (counts, errors, success rate, response times)."""
    if query.get("integration"):
        get_state().registry.get(query["integration"])
    now = _now()
    return {"hours": query["hours"], "integration": query.get("integration"),
            "connection_id": query.get("connection_id"), "generated_at": isoformat(now),
            "buckets": rollup.trends(now, query["hours"], query.get("integration"),
                                     query.get("connection_id"))}


@blp.route("/system", methods=["GET"])
@blp.alt_response(200, **ok(SystemOut))
def system():
    """CPU, memory, threads and open files of this process and of the host (psutil)."""
    return system_info(_app().instance_path)


@blp.route("/checks/run", methods=["POST"])
@blp.alt_response(200, **ok(RoundOut))
def run_checks():
    """Run a health-check round now: every result, the round's duration, alerts changed."""
    return run_round(_app()).to_dict()


# -- thresholds -------------------------------------------------------------------------------


@blp.route("/thresholds", methods=["GET"])
@blp.alt_response(200, **ok(ThresholdsOut))
def get_thresholds():
    """The thresholds in force (configured defaults overlaid with API changes)."""
    return {"thresholds": thresholds.current(_app()), "defaults": thresholds.defaults(_app())}


@blp.route("/thresholds", methods=["PUT"])
@blp.doc(requestBody=json_body(ThresholdsIn, "the thresholds to change", required=False))
@blp.alt_response(200, **ok(ThresholdsOut))
def put_thresholds():
    """Change thresholds (admin); send only the ones to change, ``null`` restores a default.
    A warning level looser than its critical level is a 422 naming the field."""
    require("admin")
    try:
        values = thresholds.update(_app(), _body(), actor())
    except thresholds.ThresholdError as exc:
        raise ApiError(422, str(exc), errors=exc.errors) from exc
    return {"thresholds": values, "defaults": thresholds.defaults(_app())}


# -- alerts -----------------------------------------------------------------------------------


def _alert(alert_id: int) -> Alert:
    alert = db.session.get(Alert, alert_id)
    if alert is None:
        raise ApiError(404, f"no alert {alert_id}")
    return alert


@blp.route("/alerts", methods=["GET"])
@blp.arguments(AlertQuery, location="query")
@blp.alt_response(200, **ok(AlertList))
def list_alerts(query):
    """Alerts, newest first; filter by status (or ``active``), severity, integration,
    connection and rule."""
    return alerts_page(query)


def alerts_page(query: dict[str, Any]) -> dict[str, Any]:
    """A page of ``GET /api/v2/monitoring/alerts`` (the CLI's ``atom alerts list`` too)."""
    stmt = alerts.alerts_query({k: v for k, v in query.items() if k not in ("limit", "cursor")})
    page = paginate(stmt, query, (Alert.id,), descending=True)
    found = [present_alert(a) for a in page.rows]
    return page.answer("alerts", found, count=len(found))


@blp.route("/alerts/<id:alert_id>", methods=["GET"])
@blp.alt_response(200, **ok(AlertOut))
def get_alert(alert_id: int):
    """One alert with its notifications."""
    return present_alert(_alert(alert_id), notifications=True)


@blp.route("/alerts/<id:alert_id>/acknowledge", methods=["POST"])
@blp.alt_response(200, **ok(AlertOut))
def acknowledge_alert(alert_id: int):
    """Acknowledge an alert (409 if it is resolved); records who and when."""
    try:
        alert = alerts.acknowledge(_alert(alert_id), actor(), _now())
    except alerts.AlertConflict as exc:
        raise ApiError(409, str(exc)) from exc
    return present_alert(alert)


@blp.route("/alerts/<id:alert_id>/resolve", methods=["POST"])
@blp.alt_response(200, **ok(AlertOut))
def resolve_alert(alert_id: int):
    """Resolve an alert by hand (409 if it is resolved already); records who and when."""
    try:
        alert = alerts.resolve(_alert(alert_id), actor(), _now())
    except alerts.AlertConflict as exc:
        raise ApiError(409, str(exc)) from exc
    get_monitor(_app()).alerts_changed()  # its incident may resolve with it
    return present_alert(alert)


# -- notification channels --------------------------------------------------------------------


def _channel(channel_id: int) -> NotificationChannel:
    channel = db.session.get(NotificationChannel, channel_id)
    if channel is None:
        raise ApiError(404, f"no channel {channel_id}")
    return channel


@blp.route("/channels", methods=["GET"])
@blp.arguments(PageQuery, location="query")
@blp.alt_response(200, **ok(ChannelList))
def list_channels(query):
    """Where alert notifications go, by id."""
    page = paginate(db.select(NotificationChannel), query, (NotificationChannel.id,), count=True)
    return page.answer("channels", [notify.present_channel(c) for c in page.rows])


@blp.route("/channels", methods=["POST"])
@blp.arguments(ChannelCreate)
@blp.response(201, ChannelOut)
def create_channel(data):
    """Add a channel (admin): a connection whose integration can post messages and its
    target (a Slack channel; a path under an ``http`` connection's base URL, as a webhook)."""
    require("admin")
    try:
        return notify.present_channel(notify.create_channel(data, actor()))
    except notify.ChannelError as exc:
        raise ApiError(422, str(exc), errors=exc.errors) from exc


@blp.route("/channels/<id:channel_id>", methods=["DELETE"])
@blp.response(204)
def delete_channel(channel_id: int):
    require("admin")
    notify.delete_channel(_channel(channel_id), actor())
    return ""


@blp.route("/channels/<id:channel_id>/test", methods=["POST"])
@blp.alt_response(200, **ok(ChannelTestOut))
def test_channel(channel_id: int):
    """Send a test message through the channel now; returns whether it went through."""
    return notify.send_test(_channel(channel_id))


# -- maintenance windows ----------------------------------------------------------------------


@blp.route("/maintenance", methods=["GET"])
@blp.arguments(PageQuery, location="query")
@blp.doc(parameters=[ALL_WINDOWS])
@blp.alt_response(200, **ok(MaintenanceList))
def list_maintenance(query):
    """Maintenance windows that have not ended yet (``?all=1``: every window), by start."""
    now = _now()
    stmt = db.select(MaintenanceWindow)
    if request.args.get("all") not in ("1", "true"):
        stmt = stmt.where(MaintenanceWindow.ends_at > now)
    page = paginate(stmt, query, (MaintenanceWindow.starts_at, MaintenanceWindow.id), count=True)
    return page.answer("windows", [maintenance.present(w, now) for w in page.rows])


@blp.route("/maintenance", methods=["POST"])
@blp.arguments(MaintenanceCreate)
@blp.response(201, MaintenanceOut)
def create_maintenance(data):
    """Silence a connection's alerts from ``starts_at`` (default now) until ``ends_at``."""
    now = _now()
    try:
        window = maintenance.schedule(data, now, actor())
    except maintenance.MaintenanceError as exc:
        raise ApiError(422, str(exc), errors=exc.errors) from exc
    return maintenance.present(window, now)


@blp.route("/maintenance/<id:window_id>", methods=["DELETE"])
@blp.response(204)
def delete_maintenance(window_id: int):
    """End (delete) a maintenance window."""
    window = db.session.get(MaintenanceWindow, window_id)
    if window is None:
        raise ApiError(404, f"no maintenance window {window_id}")
    maintenance.delete(window, actor())
    return ""

