"""Webhook receivers: ``POST /hooks/<integration>/<connection_id>``.

The signature is checked over the raw bytes before the body is parsed; a delivery that fails
it gets 401 and nothing is stored. Deliveries are de-duplicated by their delivery id.
"""
from __future__ import annotations

import json
import logging

from flask import Blueprint
from flask import current_app
from flask import jsonify
from flask import request
from sqlalchemy.exc import IntegrityError

from atom.api.errors import ApiError
from atom.engine.triggers import dispatch_events
from atom.extensions import db
from atom.integrations.webhooks import SignatureError
from atom.integrations.webhooks import WebhookRequest
from atom.integrations.webhooks import verify
from atom.models import Connection
from atom.models import WebhookEvent
from atom.state import get_state

logger = logging.getLogger(__name__)

bp = Blueprint("hooks", __name__, url_prefix="/hooks")


@bp.post("/<integration>/<id:connection_id>")
def receive(integration: str, connection_id: int):
    state = get_state()
    plugin = state.registry.get(integration)
    conn = db.session.get(Connection, connection_id)
    if conn is None or conn.integration != plugin.name:
        raise ApiError(404, f"no {integration} connection {connection_id}")
    if plugin.manifest.webhook is None:
        raise ApiError(404, f"{integration} receives no webhooks")
    raw = request.get_data(cache=True)
    req = WebhookRequest(request.method, request.url, request.headers, raw)
    integ = state.runtime.integration(conn)
    try:
        verify(plugin.manifest.webhook.scheme, req, integ.webhook_secret(),
               tolerance=current_app.config["WEBHOOK_TOLERANCE_S"])
    except SignatureError as exc:
        logger.warning("rejected %s webhook for connection %s: %s", integration, connection_id, exc)
        raise ApiError(401, f"webhook signature rejected: {exc}", code="bad_signature") from exc
    try:
        payload = json.loads(raw)
    except ValueError as exc:
        raise ApiError(400, "the body is not JSON", errors={"_body": ["not valid JSON"]}) from exc
    challenge = integ.webhook_challenge(req, payload)
    if challenge is not None:
        return jsonify(challenge)
    stored, duplicates = [], 0
    for event in integ.parse_webhook(req, payload):
        row = WebhookEvent(integration=plugin.name, connection_id=conn.id,
                           delivery_id=event.delivery_id[:200], event=event.event, payload=event.payload)
        try:
            with db.session.begin_nested():
                db.session.add(row)
            stored.append(row)
        except IntegrityError:
            duplicates += 1
    db.session.commit()
    executions = dispatch_events([row.id for row in stored]) if stored else []
    return jsonify({"accepted": len(stored), "duplicates": duplicates, "executions": executions})
