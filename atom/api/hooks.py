"""Webhook receivers: ``POST /hooks/<integration>/<connection_id>``.

The signature is checked over the raw bytes before the body is parsed; a delivery that fails
it gets 401 and nothing is stored. A delivery whose signed timestamp was accepted already (the
same signature: a replay) is answered ``duplicate`` and stores nothing; events are also
de-duplicated by their delivery id.
"""
from __future__ import annotations

import json
import logging

from flask import Blueprint
from flask import Response
from flask import current_app
from flask import jsonify
from flask import request
from sqlalchemy.exc import IntegrityError

from atom.api.errors import ApiError
from atom.api.errors import error_response
from atom.engine.triggers import claim_receipt
from atom.engine.chains import ExecutionRefused
from atom.engine.chains import inbound as inbound_chain
from atom.engine.polling import poll_soon
from atom.engine.triggers import dispatch_events
from atom.extensions import db
from atom.integrations.base import Handshake
from atom.integrations.base import InboundEvent
from atom.integrations.webhooks import SignatureError
from atom.integrations.webhooks import WebhookRequest
from atom.integrations.webhooks import verify
from atom.models import Connection
from atom.models import WebhookEvent
from atom.state import get_state

logger = logging.getLogger(__name__)

bp = Blueprint("hooks", __name__, url_prefix="/hooks")


def refused(exc: ExecutionRefused) -> Response:
    """An execution the engine would not start: 409 past an execution chain's limits, 429 with
    ``Retry-After`` past the workflow's runs a minute."""
    response = error_response(exc.status, str(exc), code=exc.code)
    if exc.retry_after is not None:
        response.headers["Retry-After"] = str(int(exc.retry_after))
    return response


bp.register_error_handler(ExecutionRefused, refused)


def webhook_request() -> WebhookRequest:
    """The current request as signatures see it: method, URL, headers and the exact bytes."""
    return WebhookRequest(request.method, request.url, request.headers,
                          request.get_data(cache=True))


def verify_delivery(req: WebhookRequest, scheme: str, secret: str | None,
                    receiver: str) -> str | None:
    """Check ``req``'s signature with ``scheme`` within ``WEBHOOK_TOLERANCE_S``.

    :param receiver: names the receiver in the log (``workflow 3``).
    :return: the replay digest for :func:`atom.engine.triggers.claim_receipt` (None for a scheme
        without a timestamp).
    :raises ApiError: 401 ``bad_signature`` when the signature is missing, stale or wrong.
    """
    try:
        return verify(scheme, req, secret, tolerance=current_app.config["WEBHOOK_TOLERANCE_S"])
    except SignatureError as exc:
        logger.warning("rejected webhook for %s: %s", receiver, exc)
        raise ApiError(401, f"webhook signature rejected: {exc}", code="bad_signature") from exc


@bp.route("/<integration>/<id:connection_id>", methods=["GET", "POST"])
def receive(integration: str, connection_id: int):
    state = get_state()
    plugin = state.registry.get(integration)
    conn = db.session.get(Connection, connection_id)
    if conn is None or conn.integration != plugin.name:
        raise ApiError(404, f"no {integration} connection {connection_id}")
    if plugin.manifest.webhook is None:
        raise ApiError(404, f"{integration} receives no webhooks")
    req = webhook_request()
    integ = state.runtime.integration(conn)
    handshake = integ.webhook_handshake(req)
    if handshake is not None:
        return _answer_handshake(state, conn, plugin.manifest, integ, handshake)
    if request.method != "POST":
        raise ApiError(405, f"{integration} deliveries are POSTed", code="method_not_allowed")
    digest = verify_delivery(req, plugin.manifest.webhook.scheme, integ.webhook_secret(),
                             f"{integration} connection {connection_id}")
    try:
        payload = json.loads(req.body)
    except ValueError as exc:
        raise ApiError(400, "the body is not JSON", errors={"_body": ["not valid JSON"]}) from exc
    challenge = integ.webhook_challenge(req, payload)
    if challenge is not None:
        return jsonify(challenge)
    chain = inbound_chain(request.headers)  # 409 past the chain's depth, before storing anything
    events = integ.parse_webhook(req, payload)
    answer = integ.webhook_answer(payload, events)
    if not claim_receipt(f"connection:{conn.id}", digest):
        return jsonify(answer if answer is not None else {
            "accepted": 0, "duplicates": len(events), "executions": [], "duplicate": True})
    stored = _store(plugin.name, conn.id, events)
    executions = dispatch_events([row.id for row in stored], chain=chain) if stored else []
    duplicates = len(events) - len(stored)
    if answer is not None:
        return jsonify(answer)
    return jsonify({"accepted": len(stored), "duplicates": duplicates, "executions": executions,
                    "duplicate": duplicates > 0 and not stored})


def _answer_handshake(state, conn: Connection, manifest, integ, handshake: Handshake) -> Response:
    """Send a vendor's subscription handshake its answer; adopt the secret it hands over only
    while the connection has none (a later handshake cannot replace a secret)."""
    if handshake.secret and not integ.webhook_secret() and manifest.webhook is not None:
        creds = state.vault.decrypt(conn.credentials_encrypted)
        creds[manifest.webhook.secret_field] = handshake.secret
        conn.credentials_encrypted = state.vault.encrypt(creds)
        conn.revision += 1
        db.session.commit()
        logger.info("%s connection %s adopted the webhook secret of its handshake",
                    conn.integration, conn.id)
    if handshake.poll_now:
        moved = poll_soon(conn.id, handshake.poll_now)
        logger.info("%s connection %s: push notification, %d poll(s) due now",
                    conn.integration, conn.id, moved)
    body = handshake.body
    if body is None or isinstance(body, (bytes, str)):
        response = Response(body or b"", status=handshake.status,
                            mimetype="text/plain" if body else None)
    else:
        response = jsonify(body)
        response.status_code = handshake.status
    response.headers.update(handshake.headers)
    return response


def _store(integration: str, conn_id: int, events: list[InboundEvent]) -> list[WebhookEvent]:
    """Store the events not seen before (by delivery id) and commit, with the receipt."""
    stored = []
    for event in events:
        row = WebhookEvent(integration=integration, connection_id=conn_id,
                           delivery_id=event.delivery_id[:200], event=event.event,
                           payload=event.payload)
        try:
            with db.session.begin_nested():
                db.session.add(row)
            stored.append(row)
        except IntegrityError:
            pass
    db.session.commit()
    return stored
