"""The health paths of the product documents, answering with the monitoring data:
``/api/v2/health/...``, ``/api/enhanced/health/overview``,
``/api/enhanced/integrations/{name}/health``, ``/api/bridge/health`` and ``/api/bridge/status``;
and in the documents' own shape (``status``, ``services``, ``connected_count``,
``total_services``, ``timestamp``, ``version``: :func:`atom.monitoring.overview.health_report`)
``/api/v2/health/health/all``, ``/summary`` and ``/{integration}``, and the frontend's
``/api/integrations/{integration}/health``."""
from __future__ import annotations

from typing import Any

from flask import current_app
from flask_smorest import Blueprint

from atom.api.auth import authenticate
from atom.api.monitoring_schemas import HealthReportOut
from atom.api.monitoring_schemas import OverviewOut
from atom.api.monitoring_schemas import ServiceOut
from atom.api.monitoring_schemas import ServicesOut
from atom.api.monitoring_schemas import SummaryOut
from atom.api.openapi import ok
from atom.monitoring import overview

health_blp = Blueprint("health", __name__, url_prefix="/api/v2/health",
                       description="Health of every integration (same data as /api/v2/monitoring)")
health_blp.before_request(authenticate)

enhanced_health_blp = Blueprint("enhanced_health", __name__, url_prefix="/api/enhanced",
                                description="Compatibility paths: health")
enhanced_health_blp.before_request(authenticate)

bridge_blp = Blueprint("bridge", __name__, url_prefix="/api/bridge",
                       description="Compatibility paths: the bridge's health and status")
bridge_blp.before_request(authenticate)

frontend_health_blp = Blueprint("frontend_health", __name__, url_prefix="/api/integrations",
                                description="Compatibility path: the frontend's health of one "
                                            "integration")
frontend_health_blp.before_request(authenticate)


def _app() -> Any:
    return current_app._get_current_object()  # type: ignore[attr-defined]


@health_blp.route("/all", methods=["GET"])
@health_blp.alt_response(200, **ok(ServicesOut))
def health_all():
    """Every integration's health (as ``GET /api/v2/monitoring/services``)."""
    return overview.services(_app())


@health_blp.route("/summary", methods=["GET"])
@health_blp.alt_response(200, **ok(SummaryOut))
def health_summary():
    """Overall and per-integration status and score, and open alerts."""
    return overview.summary(_app())


# The enhanced-health paths as the documents write them (before "/<integration>" in the file;
# werkzeug prefers the static segments anyway).


@health_blp.route("/health/all", methods=["GET"])
@health_blp.alt_response(200, **ok(HealthReportOut))
def report_all():
    """Every integration in the documents' shape, with each connection."""
    return overview.health_report(_app())


@health_blp.route("/health/summary", methods=["GET"])
@health_blp.alt_response(200, **ok(HealthReportOut))
def report_summary():
    """Every integration in the documents' shape, without the connections."""
    return overview.health_report(_app(), detail=False)


@health_blp.route("/health/<integration>", methods=["GET"])
@health_blp.alt_response(200, **ok(HealthReportOut))
def report_of(integration: str):
    """One integration in the documents' shape (404 for an integration not installed)."""
    return overview.health_report(_app(), integration)


@frontend_health_blp.route("/<integration>/health", methods=["GET"])
@frontend_health_blp.alt_response(200, **ok(HealthReportOut))
def frontend_report(integration: str):
    """As ``GET /api/v2/health/health/{integration}``."""
    return overview.health_report(_app(), integration)


@health_blp.route("/<integration>", methods=["GET"])
@health_blp.alt_response(200, **ok(ServiceOut))
def health_of(integration: str):
    """One integration's health (as ``GET /api/v2/monitoring/services/{name}``)."""
    return overview.service(_app(), integration)


@enhanced_health_blp.route("/health/overview", methods=["GET"])
@enhanced_health_blp.alt_response(200, **ok(OverviewOut))
def enhanced_overview():
    """As ``GET /api/v2/monitoring/health``."""
    return overview.overview(_app())


@enhanced_health_blp.route("/integrations/<name>/health", methods=["GET"])
@enhanced_health_blp.alt_response(200, **ok(ServiceOut))
def enhanced_integration(name: str):
    """As ``GET /api/v2/monitoring/services/{name}``."""
    return overview.service(_app(), name)


@bridge_blp.route("/health", methods=["GET"])
@bridge_blp.alt_response(200, **ok(SummaryOut))
def bridge_health():
    """As ``GET /api/v2/health/summary``."""
    return overview.summary(_app())


@bridge_blp.route("/status", methods=["GET"])
@bridge_blp.alt_response(200, **ok(OverviewOut))
def bridge_status():
    """As ``GET /api/v2/monitoring/health``."""
    return overview.overview(_app())
