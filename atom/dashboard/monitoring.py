"""Monitoring pages: the status board, the system view, alerts, maintenance windows,
thresholds and notification channels.

Every figure comes from the functions the monitoring API calls (``atom.monitoring.overview``,
``system``, ``checks``, ``alerts``, ``maintenance``, ``thresholds``, ``notify``) and every form
is loaded with the API's marshmallow schema, so a refusal names the same field the API names.
"""
from __future__ import annotations

from datetime import UTC
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo
from zoneinfo import ZoneInfoNotFoundError

from flask import abort
from flask import current_app
from flask import flash
from flask import g
from flask import redirect
from flask import render_template
from flask import request
from flask import url_for
from marshmallow import ValidationError

from atom.api.monitoring_schemas import AlertQuery
from atom.api.monitoring_schemas import AnalyticsQuery
from atom.api.monitoring_schemas import ChannelCreate
from atom.api.monitoring_schemas import MaintenanceCreate
from atom.api.monitoring_schemas import ThresholdsIn
from atom.dashboard.base import actor
from atom.dashboard.base import bp
from atom.dashboard.base import can
from atom.dashboard.base import field_errors
from atom.dashboard.base import is_htmx
from atom.dashboard.base import paginate
from atom.dashboard.charts import trend_series
from atom.engine.polling import poll_states
from atom.extensions import db
from atom.integrations.registry import UnknownPlugin
from atom.models import Alert
from atom.models import Connection
from atom.models import MaintenanceWindow
from atom.models import NotificationChannel
from atom.models import Workflow
from atom.models.monitoring import SEVERITIES
from atom.monitoring import alerts as alert_rules
from atom.monitoring import maintenance
from atom.monitoring import notify
from atom.monitoring import overview
from atom.monitoring import rollup
from atom.monitoring import thresholds
from atom.monitoring import uptime
from atom.monitoring.alerts import RULES
from atom.monitoring.checks import run_round
from atom.monitoring.metrics import recent_latencies
from atom.monitoring.monitor import get_monitor
from atom.monitoring.presentation import present_alert
from atom.monitoring.system import system_info
from atom.state import get_state

TABS = (
    ("dashboard.monitoring", "Status board"),
    ("dashboard.monitoring_trends", "Trends"),
    ("dashboard.incidents", "Incidents"),
    ("dashboard.alerts", "Alerts"),
    ("dashboard.monitoring_silences", "Silences"),
    ("dashboard.monitoring_maintenance", "Maintenance"),
    ("dashboard.monitoring_escalation", "Escalation"),
    ("dashboard.monitoring_dependencies", "Dependencies"),
    ("dashboard.monitoring_thresholds", "Thresholds"),
    ("dashboard.monitoring_channels", "Channels"),
    ("dashboard.monitoring_status_page", "Status page"),
    ("dashboard.monitoring_polls", "Polls"),
    ("dashboard.monitoring_system", "System"),
)
# The trends' windows offered as links (hours); any 1 to 2160 (the API's range) can be typed.
TREND_WINDOWS = (("24 h", 24), ("7 d", 24 * 7), ("30 d", 24 * 30), ("90 d", 24 * 90))
ALERT_STATUS_FILTERS = (("active", "Active"), ("open", "Open"),
                        ("acknowledged", "Acknowledged"), ("suppressed", "Suppressed"),
                        ("resolved", "Resolved"), ("all", "All"))
# The form's labels of each threshold pair, in the API's order.
THRESHOLD_LABELS = {
    "response_time": ("Response time (p95)", "ms"),
    "success_rate": ("Success rate", "0 to 1"),
    "health_score": ("Health score", "0 to 100"),
    "consecutive_failures": ("Consecutive failed checks", "checks"),
    "anomaly": ("Anomaly", ""),
    "workflow_failure_rate": ("Workflow failure rate", "0 to 1"),
}


def _app() -> Any:
    return current_app._get_current_object()  # type: ignore[attr-defined]


def _now() -> datetime:
    return get_monitor().now()


def maybe_url(endpoint: str, value: Any) -> str | None:
    """A link to another area's page for one id (``dashboard.connection``, ...), if that page
    exists; its single URL argument is read from the rule, whatever it is called."""
    if endpoint not in current_app.view_functions:
        return None
    for rule in current_app.url_map.iter_rules(endpoint):
        if len(rule.arguments) == 1:
            return url_for(endpoint, **{next(iter(rule.arguments)): value})
    return None


def has_page(endpoint: str) -> bool:
    return endpoint in current_app.view_functions


def from_unix(value: float | None) -> datetime | None:
    return None if value is None else datetime.fromtimestamp(value, UTC).replace(tzinfo=None)


def fmt_bytes(value: float | None) -> str:
    if value is None:
        return "—"
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if abs(value) < 1024 or unit == "TiB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return str(value)


def fmt_duration(seconds: float | None) -> str:
    if seconds is None:
        return "—"
    seconds = int(seconds)
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    if days:
        return f"{days} d {hours} h"
    if hours:
        return f"{hours} h {minutes} min" if minutes else f"{hours} h"
    if minutes:
        return f"{minutes} min {secs} s" if secs else f"{minutes} min"
    return f"{secs} s"


def fmt_number(value: Any) -> Any:
    """A number as typed (1000, 0.95), never ``1000.0`` or ``1e+06``; other values as they are."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return value
    return str(int(value)) if float(value).is_integer() else repr(float(value))


def fmt_ratio(value: float | None, digits: int = 2) -> str:
    return "—" if value is None else f"{value * 100:.{digits}f} %"


def parse_time(value: Any) -> datetime | None:
    """An ISO string from the API's presenters back to a datetime (for ``ui.time``)."""
    if not value:
        return None
    try:
        return datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return None


def _render(template: str, status: int = 200, **context: Any):
    # A tab whose page module is not installed is left out.
    context.setdefault("tabs", [tab for tab in TABS if has_page(tab[0])])
    return render_template(template, maybe_url=maybe_url, has_page=has_page,
                           fmt_bytes=fmt_bytes, fmt_duration=fmt_duration, fmt_ratio=fmt_ratio,
                           fmt_number=fmt_number, parse_time=parse_time, from_unix=from_unix,
                           **context), status


def _display_names() -> dict[str, str]:
    return {p.name: p.manifest.display_name for p in get_state().registry.loaded() if p.manifest}


def _labels() -> dict[int, str]:
    return dict(db.session.execute(db.select(Connection.id, Connection.label)).all())


# -- the status board -------------------------------------------------------------------------


def _board() -> dict[str, Any]:
    """What the status board shows: the API's overview and services, every connection
    (disabled ones too) and every installed integration, with uptime and latency series."""
    app = _app()
    summary = overview.overview(app)
    snap = get_monitor(app).snapshot()
    services = {name: m.to_dict() for name, m in snap.integrations.items()}
    metrics = {c["id"]: c for s in services.values() for c in s["connections"]}
    conns = db.session.scalars(db.select(Connection).order_by(Connection.integration,
                                                              Connection.label)).all()
    names = _display_names()
    groups: dict[str, list[int]] = {slug: [] for slug in names}
    for conn in conns:
        groups.setdefault(conn.integration, []).append(conn.id)
    now = _now()
    conn_uptime, group_uptime = uptime.grouped_uptimes(groups, now)
    by_conn = recent_latencies("connection_id", keys=[c.id for c in conns])
    by_integration = recent_latencies("integration", keys=list(groups))
    rows = []
    for conn in conns:
        m = metrics.get(conn.id)
        rows.append({"conn": conn, "metrics": m, "uptime": conn_uptime.get(conn.id, {}),
                     "latencies": by_conn.get(conn.id, []),
                     # The same word as the connection's own page: down at score 0.
                     "status": uptime.connection_status(conn.enabled, conn.status,
                                                        snap.connections.get(conn.id),
                                                        snap.thresholds, conn.last_test_ok),
                     "url": maybe_url("dashboard.connection", conn.id)})
    integrations = []
    for slug in sorted(groups, key=lambda s: (s not in services, names.get(s, s).lower())):
        service = services.get(slug)
        integrations.append({
            "slug": slug, "name": names.get(slug, slug), "service": service,
            "status": service["status"] if service else "unknown",
            "connections": len(groups[slug]), "uptime": group_uptime.get(slug, {}),
            "latencies": by_integration.get(slug, []),
        })
    return {"overview": summary, "rows": rows, "integrations": integrations, "names": names,
            "last_round": summary.get("last_round"), "now": now}


@bp.get("/monitoring")
def monitoring():
    """The status board: overall status, every connection and integration, uptime, latency."""
    return _render("dashboard/monitoring/board.html", **_board())


@bp.get("/monitoring/board")
def monitoring_board():
    """The board's body alone, for htmx refreshes (every 30 s and after a round)."""
    if not is_htmx():
        return redirect(url_for("dashboard.monitoring"))
    return _render("dashboard/monitoring/_board.html", **_board())


@bp.post("/monitoring/checks/run")
def monitoring_run_checks():
    """Run a health-check round now, as POST /api/v2/monitoring/checks/run does."""
    result = run_round(_app()).to_dict()
    if is_htmx():
        g.pop("open_alert_count", None)
        body, status = _render("dashboard/monitoring/_round.html", result=result,
                               labels=_labels())
        return body, status, {"HX-Trigger": "round-done"}
    flash(f"Checked {result['checked']} connections in {result['duration_s']:.2f} s: "
          f"{result['failed']} failed.", "success" if not result["failed"] else "info")
    return redirect(url_for("dashboard.monitoring"))


# -- hourly trends per integration ------------------------------------------------------------


def _trend_filters() -> tuple[dict[str, Any], dict[str, str], dict[str, str]]:
    """``?hours=`` and ``?integration=`` loaded with the API's ``AnalyticsQuery`` (hours 1 to
    2160, default 24; an unknown integration named as the API names it): ``(query, typed,
    errors)``."""
    typed = {"hours": request.args.get("hours", "").strip(),
             "integration": request.args.get("integration", "").strip()}
    raw = {k: v for k, v in typed.items() if v}
    errors: dict[str, str] = {}
    try:
        query = AnalyticsQuery().load(raw)
    except ValidationError as exc:
        errors = field_errors(exc.messages)
        query = AnalyticsQuery().load({})
    if query.get("integration"):
        try:
            query["integration"] = get_state().registry.get(query["integration"]).name
        except UnknownPlugin as exc:
            errors["integration"] = str(exc)
            query.pop("integration")
    typed["hours"] = typed["hours"] or str(query["hours"])
    return query, typed, errors


def _window_text(hours: int) -> str:
    """``24 hours``, ``7 days``, ``36 hours``: whole days from two days up."""
    if hours >= 48 and hours % 24 == 0:
        return f"{hours // 24} days"
    return "hour" if hours == 1 else f"{hours} hours"


@bp.get("/monitoring/trends")
def monitoring_trends():
    """Hourly trends of each integration with connections (or the one asked for): response
    time p50/p95 and success rate per hour, as GET /api/v2/monitoring/analytics?integration=."""
    query, typed, errors = _trend_filters()
    names = _display_names()
    with_connections = {row[0] for row in db.session.execute(
        db.select(Connection.integration).distinct())}
    if query.get("integration"):
        slugs = [query["integration"]]
    else:
        slugs = sorted(with_connections, key=lambda s: names.get(s, s).lower())
    now = _now()
    hours = query["hours"]
    charts = []
    for slug in slugs:
        buckets = rollup.trends(now, hours, slug)
        calls = sum(b["calls"] for b in buckets)
        errors_ = sum(b["errors"] for b in buckets)
        charts.append({"slug": slug, "name": names.get(slug, slug), **trend_series(buckets),
                       "calls": calls, "errors": errors_,
                       "success_rate": (calls - errors_) / calls if calls else None,
                       "checks": sum(b["checks"] for b in buckets),
                       "failed_checks": sum(b["failed_checks"] for b in buckets)})
    integration_options = [("", "Every integration with connections")] + sorted(
        names.items(), key=lambda kv: kv[1].lower())
    return _render("dashboard/monitoring/trends.html", 422 if errors else 200, charts=charts,
                   hours=hours, typed=typed, errors=errors, windows=TREND_WINDOWS,
                   integration_options=integration_options, window_text=_window_text(hours),
                   idle=sorted((names[s] for s in names if s not in with_connections), key=str.lower),
                   now=now)


# -- the system view --------------------------------------------------------------------------


@bp.get("/monitoring/system")
def monitoring_system():
    """This process and its host (GET /api/v2/monitoring/system), and the overview's
    scheduler and last round (GET /api/v2/monitoring/health)."""
    app = _app()
    return _render("dashboard/monitoring/system.html", system=system_info(app.instance_path),
                   overview=overview.overview(app))


# -- alerts -----------------------------------------------------------------------------------


def _alert_filters() -> tuple[dict[str, Any], dict[str, str], dict[str, str]]:
    """The filters of the alert list: ``(query, typed values, errors)``, loaded with the
    API's ``AlertQuery`` (``status=all`` is every alert; no status is the active ones)."""
    typed = {"status": request.args.get("status", "active")}
    for name in ("severity", "integration", "connection_id", "rule"):
        typed[name] = request.args.get(name, "")
    raw = {k: v for k, v in typed.items() if v and not (k == "status" and v == "all")}
    errors: dict[str, str] = {}
    try:
        query = AlertQuery().load(raw)
    except ValidationError as exc:
        errors = field_errors(exc.messages)
        query = {}
    if query.get("integration"):
        try:
            query["integration"] = get_state().registry.get(query["integration"]).name
        except UnknownPlugin as exc:
            errors["integration"] = str(exc)
            query = {}
    query.pop("limit", None)
    return query, typed, errors


def _alert_select(query: dict[str, Any]):
    return alert_rules.alerts_query(query)  # the API's filters, unpaged (the page pages)


def _alert_context() -> dict[str, Any]:
    return {"labels": _labels(), "names": _display_names(),
            "workflows": dict(db.session.execute(db.select(Workflow.id, Workflow.name)).all())}


@bp.get("/monitoring/alerts")
def alerts():
    """Alerts, newest first, with the API's filters (status, severity, integration,
    connection, rule) and paging."""
    query, typed, errors = _alert_filters()
    page = paginate(_alert_select(query))
    context = _alert_context()
    any_ = [("", "Any")]
    return _render(
        "dashboard/monitoring/alerts.html", 422 if errors else 200, page=page, typed=typed,
        errors=errors, next_url=request.full_path.rstrip("?"),
        status_options=ALERT_STATUS_FILTERS,
        severity_options=any_ + [(s, s) for s in SEVERITIES],
        integration_options=any_ + sorted(context["names"].items(), key=lambda kv: kv[1].lower()),
        connection_options=any_ + sorted(context["labels"].items(), key=lambda kv: kv[1].lower()),
        rule_options=any_ + [(r, r.replace("_", " ")) for r in RULES],
        **context)


def _alert_or_404(alert_id: int) -> Alert:
    alert = db.session.get(Alert, alert_id)
    if alert is None:
        abort(404, f"There is no alert {alert_id}.")
    return alert


@bp.get("/monitoring/alerts/<int:alert_id>")
def alert(alert_id: int):
    """One alert with every field the API has, and its notifications."""
    row = _alert_or_404(alert_id)
    body = present_alert(row, notifications=True)
    channels = dict(db.session.execute(db.select(NotificationChannel.id,
                                                 NotificationChannel.name)).all())
    return _render("dashboard/monitoring/alert.html", alert=row, body=body, channels=channels,
                   next_url=url_for("dashboard.alert", alert_id=row.id), **_alert_context())


def _alert_action(alert_id: int, action: str):
    """Acknowledge or resolve, through the API's code path; the row again for htmx."""
    row = _alert_or_404(alert_id)
    problem = None
    try:
        if action == "acknowledge":
            alert_rules.acknowledge(row, actor(), _now())
        else:
            alert_rules.resolve(row, actor(), _now())
            get_monitor(_app()).alerts_changed()  # its incident may resolve with it
    except alert_rules.AlertConflict as exc:
        problem = str(exc)
    if is_htmx():
        g.pop("open_alert_count", None)
        return _render("dashboard/monitoring/_alert_row.html", alert=row, problem=problem,
                       oob_count=True, next_url=url_for("dashboard.alerts"), **_alert_context())
    if problem:
        flash(problem)
    else:
        flash(f"Alert {row.id} {'acknowledged' if action == 'acknowledge' else 'resolved'}.",
              "success")
    back = request.form.get("next") or ""
    local = back.startswith("/") and not back.startswith(("//", "/\\")) and "\\" not in back
    return redirect(back if local else url_for("dashboard.alert", alert_id=row.id))


@bp.post("/monitoring/alerts/<int:alert_id>/acknowledge")
def alert_acknowledge(alert_id: int):
    return _alert_action(alert_id, "acknowledge")


@bp.post("/monitoring/alerts/<int:alert_id>/resolve")
def alert_resolve(alert_id: int):
    return _alert_action(alert_id, "resolve")


# -- maintenance windows ----------------------------------------------------------------------


def _zone(name: str | None) -> ZoneInfo:
    try:
        return ZoneInfo(name) if name else ZoneInfo("UTC")
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def _aware(value: str, zone: ZoneInfo) -> str:
    """A ``datetime-local`` value (the reader's wall time) as ISO-8601 with its offset, for
    the API's schema; anything unparsable goes through as typed, for the schema to refuse."""
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return value
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=zone)
    return parsed.isoformat()


def _maintenance_page(form: dict[str, str] | None = None, errors: dict[str, str] | None = None,
                      status: int = 200):
    now = _now()
    show_all = request.args.get("all") in ("1", "true")
    stmt = db.select(MaintenanceWindow).order_by(MaintenanceWindow.starts_at.desc())
    if not show_all:
        stmt = stmt.where(MaintenanceWindow.ends_at > now)
    windows = [(w, maintenance.present(w, now)) for w in db.session.scalars(stmt)]
    conns = db.session.scalars(db.select(Connection).order_by(Connection.label)).all()
    names = _display_names()
    options = [("", "Choose a connection…")] + [
        (c.id, f"{c.label} ({names.get(c.integration, c.integration)})") for c in conns]
    return _render("dashboard/monitoring/maintenance.html", status, windows=windows, now=now,
                   show_all=show_all, connections=conns, connection_options=options,
                   labels=_labels(), form=form or {}, errors=errors or {})


@bp.route("/monitoring/maintenance", methods=["GET", "POST"])
def monitoring_maintenance():
    """Maintenance windows (current and upcoming; ``?all=1`` every one) and the form that
    creates one, validated as POST /api/v2/monitoring/maintenance validates its body."""
    if request.method == "GET":
        return _maintenance_page()
    form = {k: request.form.get(k, "").strip()
            for k in ("connection_id", "starts_at", "ends_at", "reason", "tz")}
    zone = _zone(form["tz"])
    body: dict[str, Any] = {"reason": form["reason"]}
    if form["connection_id"]:
        body["connection_id"] = form["connection_id"]
    for name in ("starts_at", "ends_at"):
        if form[name]:
            body[name] = _aware(form[name], zone)
    try:
        data = MaintenanceCreate().load(body)
        window = maintenance.schedule(data, _now(), actor())
    except ValidationError as exc:
        return _maintenance_page(form, field_errors(exc.messages), 422)
    except maintenance.MaintenanceError as exc:
        return _maintenance_page(form, field_errors(exc.errors), 422)
    label = db.session.get(Connection, window.connection_id).label
    flash(f"Maintenance window for {label} saved: its alerts are silenced until it ends.",
          "success")
    return redirect(url_for("dashboard.monitoring_maintenance"))


@bp.post("/monitoring/maintenance/<int:window_id>/delete")
def monitoring_maintenance_delete(window_id: int):
    """End (delete) a window, as DELETE /api/v2/monitoring/maintenance/<id> does."""
    window = db.session.get(MaintenanceWindow, window_id)
    if window is None:
        abort(404, f"There is no maintenance window {window_id}.")
    active = window.starts_at <= _now() < window.ends_at
    label = db.session.get(Connection, window.connection_id).label
    maintenance.delete(window, actor())
    flash(f"Maintenance of {label} {'ended' if active else 'deleted'}.", "success")
    return redirect(url_for("dashboard.monitoring_maintenance"))


# -- thresholds -------------------------------------------------------------------------------


def _threshold_pairs() -> list[dict[str, Any]]:
    return [{"prefix": pair.prefix, "label": THRESHOLD_LABELS[pair.prefix][0],
             "unit": THRESHOLD_LABELS[pair.prefix][1], "warning": pair.warning,
             "critical": pair.critical, "higher_is_worse": pair.higher_is_worse}
            for pair in thresholds.PAIRS]


def _streak_rules() -> list[dict[str, Any]]:
    """Each rule's two streaks (evaluations in a row to open and to resolve its alert)."""
    return [{"rule": rule, "label": THRESHOLD_LABELS[rule][0],
             "open_after": f"{rule}_open_after", "resolve_after": f"{rule}_resolve_after"}
            for rule in thresholds.STREAK_RULES]


def _thresholds_page(form: dict[str, Any] | None = None, errors: dict[str, str] | None = None,
                     status: int = 200):
    app = _app()
    values = thresholds.current(app)
    return _render("dashboard/monitoring/thresholds.html", status, pairs=_threshold_pairs(),
                   streaks=_streak_rules(),
                   values=form if form is not None else values, current=values,
                   defaults=thresholds.defaults(app), errors=errors or {})


@bp.route("/monitoring/thresholds", methods=["GET", "POST"])
def monitoring_thresholds():
    """The thresholds in force; admins change them with the validation of
    PUT /api/v2/monitoring/thresholds (an empty field restores the default)."""
    if request.method == "GET":
        return _thresholds_page()
    if not can("admin"):
        abort(403, "Changing thresholds needs the admin role.")
    app = _app()
    typed = {name: request.form.get(name, "").strip() for name in thresholds.NAMES}
    current, base = thresholds.current(app), thresholds.defaults(app)
    try:
        loaded = ThresholdsIn().load({k: v for k, v in typed.items() if v != ""})
    except ValidationError as exc:
        return _thresholds_page(typed, field_errors(exc.messages), 422)
    changes: dict[str, Any] = {}
    for name in thresholds.NAMES:
        if typed[name] == "":
            if current[name] != base[name]:
                changes[name] = None  # restore the default
        elif loaded[name] != current[name]:
            changes[name] = loaded[name]
    if not changes:
        flash("Nothing changed.", "info")
        return redirect(url_for("dashboard.monitoring_thresholds"))
    try:
        thresholds.update(app, changes, actor())
    except thresholds.ThresholdError as exc:
        return _thresholds_page(typed, field_errors(exc.errors), 422)
    flash(f"Thresholds saved ({', '.join(sorted(changes))}).", "success")
    return redirect(url_for("dashboard.monitoring_thresholds"))


# -- notification channels --------------------------------------------------------------------


def _channel_or_404(channel_id: int) -> NotificationChannel:
    channel = db.session.get(NotificationChannel, channel_id)
    if channel is None:
        abort(404, f"There is no notification channel {channel_id}.")
    return channel


def _channels_page(form: dict[str, Any] | None = None, errors: dict[str, str] | None = None,
                   status: int = 200):
    rows = db.session.scalars(db.select(NotificationChannel).order_by(NotificationChannel.id))
    registry = get_state().registry
    conns = db.session.scalars(db.select(Connection).order_by(Connection.label)).all()
    can_post = []
    for conn in conns:
        try:
            plugin = registry.get(conn.integration)
        except UnknownPlugin:
            continue
        if plugin.integration_class is not None and plugin.integration_class.can_notify():
            can_post.append(conn)
    names = _display_names()
    options = [(c.id, f"{c.label} ({names.get(c.integration, c.integration)})") for c in can_post]
    return _render("dashboard/monitoring/channels.html", status,
                   channels=[notify.present_channel(c) for c in rows],
                   connections={c.id: c for c in conns}, can_post=can_post, names=names,
                   connection_options=options,
                   severity_options=[(s, s) for s in SEVERITIES],
                   form=form or {"min_severity": "warning", "enabled": True},
                   errors=errors or {})


@bp.route("/monitoring/channels", methods=["GET", "POST"])
def monitoring_channels():
    """Where alert notifications go; admins add channels (the API's ``ChannelCreate``)."""
    if request.method == "GET":
        return _channels_page()
    if not can("admin"):
        abort(403, "Adding notification channels needs the admin role.")
    form = {k: request.form.get(k, "").strip()
            for k in ("name", "connection_id", "target", "min_severity")}
    form["enabled"] = request.form.get("enabled") == "on"
    body: dict[str, Any] = {k: v for k, v in form.items() if v != ""}
    if "target" not in body:
        body["target"] = None
    try:
        data = ChannelCreate().load(body)
        channel = notify.create_channel(data, actor())
    except ValidationError as exc:
        return _channels_page(form, field_errors(exc.messages), 422)
    except notify.ChannelError as exc:
        return _channels_page(form, field_errors(exc.errors), 422)
    except UnknownPlugin as exc:
        return _channels_page(form, {"connection_id": str(exc)}, 422)
    flash(f"Channel {channel.name} added; send it a test message to check it.", "success")
    return redirect(url_for("dashboard.monitoring_channels"))


@bp.post("/monitoring/channels/<int:channel_id>/test")
def monitoring_channel_test(channel_id: int):
    """Send a test message now (POST /api/v2/monitoring/channels/<id>/test); the result
    inline."""
    channel = _channel_or_404(channel_id)
    result = notify.send_test(channel)
    if is_htmx():
        return _render("dashboard/monitoring/_channel_test.html", result=result, channel=channel)
    if result["ok"]:
        flash(f"Test message sent through {channel.name}.", "success")
    else:
        flash(f"{channel.name}: {result['error_class']}: {result['message']}")
    return redirect(url_for("dashboard.monitoring_channels"))


@bp.post("/monitoring/channels/<int:channel_id>/delete")
def monitoring_channel_delete(channel_id: int):
    if not can("admin"):
        abort(403, "Deleting notification channels needs the admin role.")
    channel = _channel_or_404(channel_id)
    name = channel.name
    notify.delete_channel(channel, actor())
    flash(f"Channel {name} deleted.", "success")
    return redirect(url_for("dashboard.monitoring_channels"))


# -- polling triggers ------------------------------------------------------------------------------


@bp.get("/monitoring/polls")
def monitoring_polls():
    """Every poll cursor (the API's ``GET /api/v2/triggers/polls``): its connection, trigger,
    the workflows it starts, the last and next poll, the last error, items fired."""
    integration = request.args.get("integration", "").strip() or None
    failing = {"yes": True, "no": False}.get(request.args.get("failing", ""))
    polls = poll_states(_app(), integration=integration, failing=failing)
    return _render("dashboard/monitoring/polls.html", polls=polls, names=_display_names(),
                   integration=integration or "", failing=request.args.get("failing", ""))
