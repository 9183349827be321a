"""Incidents, escalation policies and silences: ``/api/v2/monitoring/incidents``,
``/escalation-policies`` and ``/silences``."""
from __future__ import annotations

from flask_smorest import Blueprint

from atom.api.auth import authenticate

blp = Blueprint("incidents", __name__, url_prefix="/api/v2/monitoring",
                description="Incidents (alerts grouped), escalation policies and silences")
blp.before_request(authenticate)
