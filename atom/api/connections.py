"""Connections: CRUD, connection test, and running one action ("test this step")."""
from __future__ import annotations

from flask import jsonify
from flask import request
from flask_smorest import Blueprint
from marshmallow import Schema
from marshmallow import fields

from atom.api.auth import actor
from atom.api.auth import authenticate
from atom.api.auth import require
from atom.api.errors import ApiError
from atom.api.errors import error_response
from atom.api.monitoring_schemas import UptimeRatios
from atom.api.openapi import json_body
from atom.api.pagination import CountedPageOut
from atom.api.pagination import paginate
from atom.api.schemas import ActionOut
from atom.api.schemas import AnyObject
from atom.api.schemas import ConnectionCreate
from atom.api.schemas import ConnectionOut
from atom.api.schemas import ConnectionQuery
from atom.api.schemas import ConnectionUpdate
from atom.api.schemas import StrictSchema
from atom.api.schemas import TestOut
from atom.extensions import db
from atom.integrations.connections import ConnectionInUse
from atom.integrations.connections import create_connection
from atom.integrations.connections import delete_connection
from atom.integrations.connections import present
from atom.integrations.connections import update_connection
from atom.models import Connection
from atom.models import audit
from atom.monitoring.monitor import get_monitor
from atom.monitoring.uptime import connection_uptimes
from atom.state import get_state

blp = Blueprint("connections", __name__, url_prefix="/api/v2/connections",
                description="Accounts of integrations, with encrypted credentials")
blp.before_request(authenticate)


class ConnectionUptimeOut(ConnectionOut):
    uptime = fields.Nested(UptimeRatios, metadata={
        "description": "share of passed health checks over 24h, 7d, 30d (0-1, null: no checks)"})


class ConnectionUptimeList(CountedPageOut):
    connections = fields.List(fields.Nested(ConnectionUptimeOut))


def present_with_uptime(conns: list[Connection]) -> list[dict]:
    """The API view of each connection with its uptime (one read for all of them)."""
    uptimes = connection_uptimes([c.id for c in conns], get_monitor().now())
    return [{**present(c), "uptime": uptimes[c.id]} for c in conns]


class DeleteQuery(StrictSchema):
    force = fields.Boolean(load_default=False, metadata={
        "description": "Delete even if workflows use the connection, disabling them"})


def _get(conn_id: int) -> Connection:
    conn = db.session.get(Connection, conn_id)
    if conn is None:
        raise ApiError(404, f"no connection {conn_id}")
    return conn


def _enabled(conn_id: int) -> Connection:
    """The connection, if it may call its service now (a disabled one is a 409)."""
    conn = _get(conn_id)
    if not conn.enabled:
        raise ApiError(409, f"connection {conn_id} is disabled: enable it first",
                       errors={"enabled": ["the connection is disabled"]})
    return conn


@blp.route("", methods=["GET"])
@blp.arguments(ConnectionQuery, location="query")
@blp.response(200, ConnectionUptimeList)
def list_connections(query):
    """List connections by id (credentials masked), each with its uptime."""
    return connections_page(query)


def connections_page(query: dict) -> dict:
    """A page of ``GET /api/v2/connections`` (the CLI's ``atom connections list`` too)."""
    stmt = db.select(Connection)
    if query.get("integration"):
        stmt = stmt.filter_by(integration=query["integration"])
    page = paginate(stmt, query, (Connection.id,), count=True)
    return page.answer("connections", present_with_uptime(page.rows))


@blp.route("", methods=["POST"])
@blp.arguments(ConnectionCreate)
@blp.response(201, ConnectionOut)
def create(data):
    """Create a connection; settings and credentials are validated by the integration's schemas."""
    return present(create_connection(data, actor()))


@blp.route("/<id:conn_id>", methods=["GET"])
@blp.response(200, ConnectionUptimeOut)
def get_connection(conn_id: int):
    """One connection (credentials masked) with its uptime."""
    return present_with_uptime([_get(conn_id)])[0]


@blp.route("/<id:conn_id>", methods=["PATCH"])
@blp.arguments(ConnectionUpdate)
@blp.response(200, ConnectionOut)
def update(data, conn_id: int):
    """Change a connection; a masked secret sent back unchanged keeps the stored one. A new
    destination (``base_url``, a Jira ``site``, ...) needs every outbound secret re-entered in
    the same request, else 422 naming ``credentials``."""
    return present(update_connection(_get(conn_id), data, actor()))


@blp.route("/<id:conn_id>", methods=["DELETE"])
@blp.arguments(DeleteQuery, location="query")
@blp.response(204)
def delete(query, conn_id: int):
    """Delete a connection. If workflows use it, a 409 lists them, unless ``?force=true``,
    which disables those workflows."""
    try:
        delete_connection(_get(conn_id), actor(), force=query["force"])
    except ConnectionInUse as exc:
        return error_response(
            409, f"{exc}: change them, or delete with ?force=true to disable them",
            errors={"workflows": [f"{w['name']} (workflow {w['id']})" for w in exc.workflows]},
            workflows=exc.workflows)
    return ""


class RevealedSecret(Schema):
    field = fields.String(metadata={"description": "the credential field holding it"})
    value = fields.String(metadata={"description": "the secret, as the vendor handed it over"})


@blp.route("/<id:conn_id>/webhook-secret/reveal", methods=["POST"])
@blp.response(200, RevealedSecret)
def reveal_webhook_secret(conn_id: int):
    """Show (admin) a webhook secret the vendor handed to ATOM in its handshake, for the user to
    paste back into the vendor's settings (Notion's verification token). Audited; only for
    integrations whose manifest says the secret is handed over; never an outbound credential."""
    principal = require("admin")
    conn = _get(conn_id)
    spec = get_state().registry.get(conn.integration).manifest.webhook
    if spec is None or not spec.handed_over:
        raise ApiError(422, f"{conn.integration} connections have no handed-over webhook secret",
                       errors={"integration": ["its webhook secret is not handed over by the "
                                               "vendor, so it is never shown"]})
    value = get_state().vault.decrypt(conn.credentials_encrypted).get(spec.secret_field)
    if not value:
        raise ApiError(409, f"connection {conn_id} has not received its webhook secret yet: "
                            "subscribe the hook URL at the vendor first",
                       errors={spec.secret_field: ["not received yet"]})
    audit.record(principal.name, "connection.webhook_secret_revealed", f"connection:{conn.id}",
                 field=spec.secret_field)
    db.session.commit()
    response = jsonify({"field": spec.secret_field, "value": value})
    response.headers["Cache-Control"] = "no-store"
    return response


@blp.route("/<id:conn_id>/test", methods=["POST"])
@blp.response(200, TestOut)
def test(conn_id: int):
    """Run the integration's health check now; returns ok, latency and the error class."""
    return get_state().runtime.test(_enabled(conn_id)).to_dict()


@blp.route("/<id:conn_id>/actions/<action>", methods=["POST"])
@blp.response(200, ActionOut)
@blp.doc(requestBody=json_body(AnyObject, "the action's input (its input_schema)", required=False))
def run_action(conn_id: int, action: str):
    """Run one action once with the JSON body as its input; errors carry their class in ``code``."""
    conn = _enabled(conn_id)
    if get_state().registry.get(conn.integration).manifest.action(action) is None:
        raise ApiError(404, f"{conn.integration} has no action {action!r}")
    body = request.get_json(silent=True) if request.get_data() else {}
    if body is None:
        raise ApiError(400, "the body must be JSON", errors={"_body": ["not valid JSON"]})
    if not isinstance(body, dict):
        raise ApiError(400, "the body must be a JSON object", errors={"_body": ["not an object"]})
    result = get_state().runtime.run_action(conn, action, body,
                                            idempotency_key=request.headers.get("Idempotency-Key"))
    return {"output": result.output, "duration_ms": round(result.duration_ms, 2),
            "attempts": result.attempts}
