"""Monitoring dependencies: ``/api/v2/monitoring/dependencies``. While a parent is down, the
alerts of what depends on it are suppressed (``atom.monitoring.suppression``)."""
from __future__ import annotations

from flask_smorest import Blueprint
from marshmallow import Schema
from marshmallow import fields
from marshmallow import validate

from atom.api.auth import actor
from atom.api.auth import authenticate
from atom.api.auth import require
from atom.api.errors import ApiError
from atom.api.openapi import ok
from atom.api.pagination import CountedPageOut
from atom.api.pagination import PageQuery
from atom.api.pagination import paginate_items
from atom.api.schemas import StrictSchema
from atom.extensions import db
from atom.models import MonitoringDependency
from atom.monitoring import suppression

blp = Blueprint("monitoring_dependencies", __name__, url_prefix="/api/v2/monitoring",
                description="Dependencies between monitored subjects: a parent that is down "
                            "suppresses its dependents' alerts")
blp.before_request(authenticate)


class MonitoringDependencyQuery(StrictSchema, PageQuery):
    subject = fields.String(validate=validate.Length(min=1, max=64),
                            metadata={"description": "only this subject's (connection:<id>, "
                                                     "workflow:<id>)"})
    source = fields.String(validate=validate.OneOf(suppression.SOURCES),
                           metadata={"description": "declared (through the API or the "
                                                    "dashboard), workflow (a step uses the "
                                                    "connection), host (a shared host)"})


class MonitoringDependencyCreate(StrictSchema):
    subject = fields.String(required=True, validate=validate.Length(min=1, max=64), metadata={
        "description": "connection:<id> or workflow:<id>"})
    parent = fields.String(required=True, validate=validate.Length(min=1, max=300), metadata={
        "description": "connection:<id>, host:<host> (a connection's upstream host) or "
                       "integration:<slug> (any of its connections' alerts)"})
    note = fields.String(load_default="", validate=validate.Length(max=500))


class MonitoringDependencyOut(Schema):
    id = fields.Integer(allow_none=True, metadata={"description": "declared ones only"})
    subject = fields.String()
    subject_label = fields.String()
    parent = fields.String()
    parent_label = fields.String()
    source = fields.String(metadata={"description": "declared, workflow or host"})
    detail = fields.String(allow_none=True, metadata={"description": "why a derived one exists"})
    note = fields.String(allow_none=True)
    created_at = fields.String(allow_none=True)
    created_by = fields.String(allow_none=True)


class MonitoringDependencyList(CountedPageOut):
    dependencies = fields.List(fields.Nested(MonitoringDependencyOut))
    count = fields.Integer(metadata={"description": "dependencies on this page"})


def _refused(exc: suppression.DependencyError) -> ApiError:
    return ApiError(exc.status, exc.message, errors=exc.errors or None)


@blp.route("/dependencies", methods=["GET"])
@blp.arguments(MonitoringDependencyQuery, location="query")
@blp.alt_response(200, **ok(MonitoringDependencyList))
def list_dependencies(query):
    """Every dependency: declared ones, and those derived from the workflows' steps and from
    connections sharing a host; each with its source."""
    found = suppression.listing(query.get("subject"), query.get("source"))
    order = {s: n for n, s in enumerate(suppression.SOURCES)}
    page = paginate_items(found, query, key=lambda d: (order[d["source"]], d["subject"],
                                                       d["parent"], d["id"] or 0))
    return page.answer("dependencies", page.rows, count=len(page.rows))


@blp.route("/dependencies", methods=["POST"])
@blp.arguments(MonitoringDependencyCreate)
@blp.response(201, MonitoringDependencyOut)
def create_dependency(data):
    """Declare that ``subject`` depends on ``parent`` (editor). 422 naming the field for an
    unknown subject or parent, a self-dependency or a cycle; 409 if it is declared already."""
    require("editor")
    try:
        edge = suppression.declare(data, actor())
    except suppression.DependencyError as exc:
        raise _refused(exc) from exc
    return suppression.present(edge, suppression.build())


@blp.route("/dependencies/<id:dependency_id>", methods=["DELETE"])
@blp.response(204)
def delete_dependency(dependency_id: int):
    """Remove a declared dependency (editor); derived ones follow the definitions."""
    require("editor")
    row = db.session.get(MonitoringDependency, dependency_id)
    if row is None:
        raise ApiError(404, f"no dependency {dependency_id}")
    suppression.remove(row, actor())
    return ""
