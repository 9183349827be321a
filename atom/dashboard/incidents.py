"""Incident pages: the incident list and page (acknowledge / resolve as a whole), silences
and escalation policies. Every form is loaded with the API's schema and saved through the code
the API calls (``atom.monitoring.incidents``, ``silences``, ``escalation``), so a refusal
names the same field the API names."""
from __future__ import annotations

from typing import Any

from flask import abort
from flask import flash
from flask import redirect
from flask import request
from flask import url_for
from marshmallow import ValidationError

from atom.api.incident_schemas import IncidentQuery
from atom.api.incident_schemas import PolicyIn
from atom.api.incident_schemas import SilenceCreate
from atom.dashboard.base import actor
from atom.dashboard.base import bp
from atom.dashboard.base import can
from atom.dashboard.base import field_errors
from atom.dashboard.base import paginate
from atom.dashboard.monitoring import _alert_context
from atom.dashboard.monitoring import _aware
from atom.dashboard.monitoring import _display_names
from atom.dashboard.monitoring import _now
from atom.dashboard.monitoring import _render
from atom.dashboard.monitoring import _zone
from atom.extensions import db
from atom.integrations.registry import UnknownPlugin
from atom.models import EscalationPolicy
from atom.models import Incident
from atom.models import NotificationChannel
from atom.models import Silence
from atom.models.monitoring import SEVERITIES
from atom.monitoring import escalation
from atom.monitoring import incidents as incident_rules
from atom.monitoring import silences as silence_rules
from atom.monitoring.alerts import RULES
from atom.monitoring.monitor import get_monitor
from atom.monitoring.presentation import present_incident
from atom.state import get_state

STATUS_FILTERS = (("active", "Active"), ("open", "Open"), ("acknowledged", "Acknowledged"),
                  ("resolved", "Resolved"), ("all", "All"))
ANY = [("", "Any")]


def _integration(name: str) -> str:
    """The registry's name of an integration typed in a form (UnknownPlugin if none)."""
    return get_state().registry.get(name).name


def _channels() -> dict[int, str]:
    return dict(db.session.execute(db.select(NotificationChannel.id,
                                             NotificationChannel.name)).all())


# -- incidents --------------------------------------------------------------------------------


@bp.get("/monitoring/incidents")
def incidents():
    """Incidents, newest first, with the API's filters (status, severity, integration)."""
    typed = {"status": request.args.get("status", "active"),
             "severity": request.args.get("severity", ""),
             "integration": request.args.get("integration", "")}
    raw = {k: v for k, v in typed.items() if v and not (k == "status" and v == "all")}
    errors: dict[str, str] = {}
    try:
        query = IncidentQuery().load(raw)
        if query.get("integration"):
            query["integration"] = _integration(query["integration"])
    except ValidationError as exc:
        errors, query = field_errors(exc.messages), {}
    except UnknownPlugin as exc:
        errors, query = {"integration": str(exc)}, {}
    query.pop("limit", None)
    page = paginate(incident_rules.incidents_query(query))
    members = incident_rules.alerts_of([i.id for i in page.items])
    held = incident_rules.Held(_now())
    rows = [present_incident(i, members[i.id], held) for i in page.items]
    names = _display_names()
    return _render("dashboard/monitoring/incidents.html", 422 if errors else 200, page=page,
                   rows=rows, typed=typed, errors=errors, status_options=STATUS_FILTERS,
                   severity_options=ANY + [(s, s) for s in SEVERITIES],
                   integration_options=ANY + sorted(names.items(), key=lambda kv: kv[1].lower()),
                   names=names)


def _incident_or_404(incident_id: int) -> Incident:
    incident = db.session.get(Incident, incident_id)
    if incident is None:
        abort(404, f"There is no incident {incident_id}.")
    return incident


@bp.get("/monitoring/incidents/<int:incident_id>")
def incident(incident_id: int):
    """One incident: its alerts (status, severity, why any is held), its notifications, who
    acknowledged or resolved it and when."""
    row = _incident_or_404(incident_id)
    members = incident_rules.alerts_of([row.id])[row.id]
    body = present_incident(row, members, incident_rules.Held(_now()), detail=True)
    return _render("dashboard/monitoring/incident.html", incident=row, body=body,
                   channels=_channels(), **_alert_context())


def _incident_action(incident_id: int, action: str):
    row = _incident_or_404(incident_id)
    try:
        if action == "acknowledge":
            incident_rules.acknowledge(row, actor(), _now())
        else:
            incident_rules.resolve(row, actor(), _now())
            get_monitor().notifier.nudge()
        flash(f"Incident {row.id} {'acknowledged' if action == 'acknowledge' else 'resolved'}.",
              "success")
    except incident_rules.IncidentConflict as exc:
        flash(str(exc))
    return redirect(url_for("dashboard.incident", incident_id=row.id))


@bp.post("/monitoring/incidents/<int:incident_id>/acknowledge")
def incident_acknowledge(incident_id: int):
    return _incident_action(incident_id, "acknowledge")


@bp.post("/monitoring/incidents/<int:incident_id>/resolve")
def incident_resolve(incident_id: int):
    return _incident_action(incident_id, "resolve")


# -- silences ---------------------------------------------------------------------------------

SILENCE_FORM = ("integration", "connection_id", "host", "rule", "severity", "subject",
                "workflow_id", "starts_at", "ends_at", "comment", "tz")


def _silences_page(form: dict[str, Any] | None = None, errors: dict[str, str] | None = None,
                   status: int = 200):
    now = _now()
    show_all = request.args.get("all") in ("1", "true")
    active = silence_rules.active_alerts()
    rows = [(s, silence_rules.present(s, now, active))
            for s in silence_rules.listing(now, every=show_all)]
    names = _display_names()
    return _render("dashboard/monitoring/silences.html", status, silences=rows,
                   show_all=show_all, form=form or {}, errors=errors or {},
                   integration_options=ANY + sorted(names.items(), key=lambda kv: kv[1].lower()),
                   rule_options=ANY + [(r, r.replace("_", " ")) for r in RULES],
                   severity_options=ANY + [(s, s) for s in SEVERITIES])


@bp.route("/monitoring/silences", methods=["GET", "POST"])
def monitoring_silences():
    """Silences (not ended; ``?all=1`` every one) and the form that creates one, validated as
    POST /api/v2/monitoring/silences validates its body."""
    if request.method == "GET":
        return _silences_page()
    form = {k: request.form.get(k, "").strip() for k in SILENCE_FORM}
    zone = _zone(form["tz"])
    matcher = {k: form[k] for k in incident_rules.SILENCE_FIELDS if form[k]}
    body: dict[str, Any] = {"matcher": matcher, "comment": form["comment"]}
    for name in ("starts_at", "ends_at"):
        if form[name]:
            body[name] = _aware(form[name], zone)
    try:
        data = SilenceCreate().load(body)
        if data["matcher"].get("integration"):
            data["matcher"]["integration"] = _integration(data["matcher"]["integration"])
        silence = silence_rules.create(data, _now(), actor())
    except ValidationError as exc:
        return _silences_page(form, _matcher_errors(exc.messages), 422)
    except silence_rules.SilenceError as exc:
        return _silences_page(form, field_errors(exc.errors), 422)
    except UnknownPlugin as exc:
        return _silences_page(form, {"integration": str(exc)}, 422)
    flash(f"Silence {silence.id} saved: the alerts it matches are not notified until it ends.",
          "success")
    return redirect(url_for("dashboard.monitoring_silences"))


def _matcher_errors(messages: dict[str, Any]) -> dict[str, str]:
    """The schema's ``matcher.<field>`` errors under the form's own field names."""
    flat = field_errors(messages)
    out = {k.removeprefix("matcher."): v for k, v in flat.items()}
    if "matcher._schema" in flat or "_schema" in out:
        out["_form"] = out.pop("_schema", flat.get("matcher._schema", ""))
    if "matcher" in out:
        out["_form"] = out.pop("matcher")
    return out


@bp.post("/monitoring/silences/<int:silence_id>/expire")
def monitoring_silence_expire(silence_id: int):
    """End a silence now, as POST /api/v2/monitoring/silences/<id>/expire does."""
    silence = db.session.get(Silence, silence_id)
    if silence is None:
        abort(404, f"There is no silence {silence_id}.")
    try:
        silence_rules.expire(silence, _now(), actor())
        get_monitor().notifier.nudge()
        flash(f"Silence {silence_id} ended.", "success")
    except silence_rules.SilenceError as exc:
        flash(str(exc))
    return redirect(url_for("dashboard.monitoring_silences"))


# -- escalation policies ----------------------------------------------------------------------


def _levels_text(levels: list[dict[str, Any]]) -> str:
    return "\n".join(f"{level['delay_s']:g}: {', '.join(map(str, level['channel_ids']))}"
                     for level in levels)


def _parse_levels(text: str) -> list[Any]:
    """``delay: channel, channel`` per line; anything malformed goes through as typed for the
    schema to refuse, naming the line."""
    levels: list[Any] = []
    for line in filter(None, (ln.strip() for ln in text.splitlines())):
        delay, _, ids = line.partition(":")
        levels.append({"delay_s": delay.strip(),
                       "channel_ids": [i.strip() for i in ids.split(",") if i.strip()]})
    return levels


def _escalation_page(form: dict[str, Any] | None = None, errors: dict[str, str] | None = None,
                     status: int = 200, editing: EscalationPolicy | None = None):
    rows = db.session.scalars(db.select(EscalationPolicy).order_by(EscalationPolicy.id)).all()
    names = _display_names()
    return _render("dashboard/monitoring/escalation.html", status,
                   policies=[escalation.present(p) for p in rows], channels=_channels(),
                   form=form or {"enabled": True, "levels": "0: "}, errors=errors or {},
                   editing=editing,
                   integration_options=ANY + sorted(names.items(), key=lambda kv: kv[1].lower()),
                   severity_options=ANY + [(s, s) for s in SEVERITIES])


def _save_policy(editing: EscalationPolicy | None):
    if not can("admin"):
        abort(403, "Escalation policies need the admin role.")
    form = {k: request.form.get(k, "").strip()
            for k in ("name", "integration", "host", "severity", "levels", "repeat_interval_s")}
    form["enabled"] = request.form.get("enabled") == "on"
    body: dict[str, Any] = {"name": form["name"], "enabled": form["enabled"],
                            "matcher": {k: form[k] for k in escalation.MATCH_FIELDS if form[k]},
                            "levels": _parse_levels(form["levels"])}
    if form["repeat_interval_s"]:
        body["repeat_interval_s"] = form["repeat_interval_s"]
    try:
        data = PolicyIn().load(body)
        if data["matcher"].get("integration"):
            data["matcher"]["integration"] = _integration(data["matcher"]["integration"])
        if editing is None:
            policy = escalation.create(data, actor())
        else:
            policy = escalation.update(editing, data, actor())
    except ValidationError as exc:
        return _escalation_page(form, _policy_errors(exc.messages), 422, editing)
    except escalation.PolicyError as exc:
        return _escalation_page(form, _policy_errors(exc.errors), 422, editing)
    except UnknownPlugin as exc:
        return _escalation_page(form, {"integration": str(exc)}, 422, editing)
    flash(f"Escalation policy {policy.name} saved.", "success")
    return redirect(url_for("dashboard.monitoring_escalation"))


def _policy_errors(messages: dict[str, Any]) -> dict[str, str]:
    """Errors under the form's fields: a level's error next to the levels box, naming its
    line."""
    out: dict[str, str] = {}
    for key, text in field_errors(messages).items():
        parts = key.split(".")
        if parts[0] == "levels" and len(parts) > 1:
            where = f"line {int(parts[1]) + 1}" if parts[1].isdigit() else ""
            what = parts[2].replace("_", " ") if len(parts) > 2 else ""
            out["levels"] = "; ".join(filter(None, (out.get("levels"),
                                                    f"{where} {what}: {text}".strip())))
        else:
            out[parts[-1] if parts[0] == "matcher" else key] = text
    return out


@bp.route("/monitoring/escalation", methods=["GET", "POST"])
def monitoring_escalation():
    """Escalation policies; admins add them (the API's ``PolicyIn``)."""
    if request.method == "GET":
        return _escalation_page()
    return _save_policy(None)


@bp.route("/monitoring/escalation/<int:policy_id>", methods=["GET", "POST"])
def monitoring_escalation_edit(policy_id: int):
    policy = db.session.get(EscalationPolicy, policy_id)
    if policy is None:
        abort(404, f"There is no escalation policy {policy_id}.")
    if request.method == "POST":
        return _save_policy(policy)
    body = escalation.present(policy)
    form = {"name": body["name"], "enabled": body["enabled"], **body["matcher"],
            "levels": _levels_text(body["levels"]),
            "repeat_interval_s": "" if body["repeat_interval_s"] is None
            else f"{body['repeat_interval_s']:g}"}
    return _escalation_page(form, editing=policy)


@bp.post("/monitoring/escalation/<int:policy_id>/delete")
def monitoring_escalation_delete(policy_id: int):
    if not can("admin"):
        abort(403, "Escalation policies need the admin role.")
    policy = db.session.get(EscalationPolicy, policy_id)
    if policy is None:
        abort(404, f"There is no escalation policy {policy_id}.")
    name = policy.name
    escalation.delete(policy, actor())
    flash(f"Escalation policy {name} deleted.", "success")
    return redirect(url_for("dashboard.monitoring_escalation"))


