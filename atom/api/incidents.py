"""Incidents, escalation policies and silences: ``/api/v2/monitoring/incidents``,
``/escalation-policies`` and ``/silences``.

Writes need the editor role (the blueprint's ``authenticate``); escalation policies, which
route messages to channels, need admin, as channels do."""
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
from atom.api.incident_schemas import IncidentList
from atom.api.incident_schemas import IncidentOut
from atom.api.incident_schemas import IncidentQuery
from atom.api.incident_schemas import PolicyIn
from atom.api.incident_schemas import PolicyList
from atom.api.incident_schemas import PolicyOut
from atom.api.incident_schemas import SilenceCreate
from atom.api.incident_schemas import SilenceList
from atom.api.incident_schemas import SilenceOut
from atom.api.openapi import ok
from atom.api.pagination import PageQuery
from atom.api.pagination import paginate
from atom.api.pagination import paginate_items
from atom.extensions import db
from atom.integrations.registry import UnknownPlugin
from atom.models import EscalationPolicy
from atom.models import Incident
from atom.models import Silence
from atom.monitoring import escalation
from atom.monitoring import incidents
from atom.monitoring import presentation
from atom.monitoring import silences
from atom.monitoring.monitor import get_monitor
from atom.state import get_state

blp = Blueprint("incidents", __name__, url_prefix="/api/v2/monitoring",
                description="Incidents (alerts grouped), escalation policies and silences")
blp.before_request(authenticate)
ALL_SILENCES = {"in": "query", "name": "all", "required": False, "schema": {"type": "string"},
                "description": "1 or true: every silence, also those that ended"}


def _app() -> Any:
    return current_app._get_current_object()  # type: ignore[attr-defined]


def _now() -> datetime:
    return get_monitor().now()


def _get(model: Any, row_id: int, what: str) -> Any:
    row = db.session.get(model, row_id)
    if row is None:
        raise ApiError(404, f"no {what} {row_id}")
    return row


# -- incidents --------------------------------------------------------------------------------


def present_incident(incident: Incident, detail: bool = True) -> dict[str, Any]:
    members = incidents.alerts_of([incident.id])[incident.id]
    return presentation.present_incident(incident, members, incidents.Held(_now()),
                                         detail=detail)


@blp.route("/incidents", methods=["GET"])
@blp.arguments(IncidentQuery, location="query")
@blp.alt_response(200, **ok(IncidentList))
def list_incidents(query):
    """Incidents, newest first; filter by status (or ``active``), severity and integration."""
    stmt = incidents.incidents_query({k: v for k, v in query.items()
                                      if k not in ("limit", "cursor")})
    page = paginate(stmt, query, (Incident.id,), descending=True)
    members = incidents.alerts_of([i.id for i in page.rows])
    held = incidents.Held(_now())
    found = [presentation.present_incident(i, members[i.id], held) for i in page.rows]
    return page.answer("incidents", found, count=len(found))


@blp.route("/incidents/<id:incident_id>", methods=["GET"])
@blp.alt_response(200, **ok(IncidentOut))
def get_incident(incident_id: int):
    """One incident with its alerts (and why any is held) and its notifications."""
    return present_incident(_get(Incident, incident_id, "incident"))


@blp.route("/incidents/<id:incident_id>/acknowledge", methods=["POST"])
@blp.alt_response(200, **ok(IncidentOut))
def acknowledge_incident(incident_id: int):
    """Acknowledge every open alert of the incident: its escalation and reminders stop (409 if
    it is resolved)."""
    try:
        incident = incidents.acknowledge(_get(Incident, incident_id, "incident"), actor(), _now())
    except incidents.IncidentConflict as exc:
        raise ApiError(409, str(exc)) from exc
    return present_incident(incident)


@blp.route("/incidents/<id:incident_id>/resolve", methods=["POST"])
@blp.alt_response(200, **ok(IncidentOut))
def resolve_incident(incident_id: int):
    """Resolve every active alert of the incident and the incident (409 if it is resolved);
    its channels get one resolved message."""
    try:
        incident = incidents.resolve(_get(Incident, incident_id, "incident"), actor(), _now())
    except incidents.IncidentConflict as exc:
        raise ApiError(409, str(exc)) from exc
    get_monitor().notifier.nudge()
    return present_incident(incident)


# -- escalation policies ----------------------------------------------------------------------


def _matcher_checked(data: dict[str, Any]) -> dict[str, Any]:
    """``data`` with its matcher's integration as the registry names it (422 if unknown)."""
    integration = (data.get("matcher") or {}).get("integration")
    if integration:
        try:
            data["matcher"]["integration"] = get_state().registry.get(integration).name
        except UnknownPlugin as exc:
            raise ApiError(422, str(exc), errors={"matcher": {"integration": [str(exc)]}}) from exc
    return data


@blp.route("/escalation-policies", methods=["GET"])
@blp.arguments(PageQuery, location="query")
@blp.alt_response(200, **ok(PolicyList))
def list_policies(query):
    """Escalation policies by id; the first enabled one matching an incident applies."""
    page = paginate(db.select(EscalationPolicy), query, (EscalationPolicy.id,), count=True)
    return page.answer("policies", [escalation.present(p) for p in page.rows])


@blp.route("/escalation-policies", methods=["POST"])
@blp.arguments(PolicyIn)
@blp.response(201, PolicyOut)
def create_policy(data):
    """Add a policy (admin): levels with strictly increasing delays, each with channels."""
    require("admin")
    try:
        return escalation.present(escalation.create(_matcher_checked(data), actor()))
    except escalation.PolicyError as exc:
        raise ApiError(422, str(exc), errors=exc.errors) from exc


@blp.route("/escalation-policies/<id:policy_id>", methods=["GET"])
@blp.alt_response(200, **ok(PolicyOut))
def get_policy(policy_id: int):
    return escalation.present(_get(EscalationPolicy, policy_id, "escalation policy"))


@blp.route("/escalation-policies/<id:policy_id>", methods=["PUT"])
@blp.arguments(PolicyIn)
@blp.alt_response(200, **ok(PolicyOut))
def update_policy(data, policy_id: int):
    """Replace a policy (admin)."""
    require("admin")
    policy = _get(EscalationPolicy, policy_id, "escalation policy")
    try:
        return escalation.present(escalation.update(policy, _matcher_checked(data), actor()))
    except escalation.PolicyError as exc:
        raise ApiError(422, str(exc), errors=exc.errors) from exc


@blp.route("/escalation-policies/<id:policy_id>", methods=["DELETE"])
@blp.response(204)
def delete_policy(policy_id: int):
    require("admin")
    escalation.delete(_get(EscalationPolicy, policy_id, "escalation policy"), actor())
    return ""


# -- silences ---------------------------------------------------------------------------------


@blp.route("/silences", methods=["GET"])
@blp.arguments(PageQuery, location="query")
@blp.doc(parameters=[ALL_SILENCES])
@blp.alt_response(200, **ok(SilenceList))
def list_silences(query):
    """Silences that have not ended (``?all=1``: every one), newest first, with how many
    active alerts each matches now."""
    now = _now()
    page = paginate_items(silences.listing(now, every=request.args.get("all") in ("1", "true")),
                          query, key=lambda s: (-s.id,))
    active = silences.active_alerts()
    return page.answer("silences", [silences.present(s, now, active) for s in page.rows])


@blp.route("/silences", methods=["POST"])
@blp.arguments(SilenceCreate)
@blp.response(201, SilenceOut)
def create_silence(data):
    """Keep the alerts a matcher selects from being notified until ``ends_at`` (they still
    open and resolve); ``comment`` says why, the creator is recorded."""
    now = _now()
    try:
        silence = silences.create(_matcher_checked(data), now, actor())
    except silences.SilenceError as exc:
        raise ApiError(422, str(exc), errors=exc.errors) from exc
    return silences.present(silence, now)


@blp.route("/silences/<id:silence_id>", methods=["GET"])
@blp.alt_response(200, **ok(SilenceOut))
def get_silence(silence_id: int):
    return silences.present(_get(Silence, silence_id, "silence"), _now())


@blp.route("/silences/<id:silence_id>/expire", methods=["POST"])
@blp.alt_response(200, **ok(SilenceOut))
def expire_silence(silence_id: int):
    """End a silence now (409 if it has ended already); its alerts are notified again."""
    now = _now()
    try:
        silence = silences.expire(_get(Silence, silence_id, "silence"), now, actor())
    except silences.SilenceError as exc:
        raise ApiError(409, str(exc)) from exc
    get_monitor().notifier.nudge()
    return silences.present(silence, now)
