"""What webhook tests share: posting a signed body to ``/hooks/<service>/<connection id>`` and
reading back the ``WebhookEvent`` rows it stored."""
from __future__ import annotations

import time
from typing import Any
from typing import Callable

from atom.extensions import db
from atom.models import WebhookEvent


def hook_sender(client: Any, service: str, connection_id: Any, header: str,
                sign: Callable[[bytes], str], content_type: str = "application/json",
                ) -> Callable[..., Any]:
    """``send(body, signature=None)``: POST ``body`` with ``header`` set to ``signature``, or
    to ``sign(body)`` when it is None (pass ``""`` to send an empty one)."""

    def send(body: bytes, signature: str | None = None) -> Any:
        return client.post(f"/hooks/{service}/{connection_id}", data=body, headers={
            header: sign(body) if signature is None else signature,
            "Content-Type": content_type})

    return send


def finished_execution(client: Any, execution_id: Any, headers: dict[str, str],
                       timeout: float = 20) -> dict[str, Any]:
    """The execution once it succeeded or failed (or as it stands after ``timeout`` s)."""
    deadline = time.monotonic() + timeout
    while True:
        execution = client.get(f"/api/v2/executions/{execution_id}", headers=headers).get_json()
        if execution["status"] in ("succeeded", "failed") or time.monotonic() > deadline:
            return execution
        time.sleep(0.05)


def stored(app: Any) -> list[WebhookEvent]:
    """Every stored webhook event, oldest first (detached from the session)."""
    with app.app_context():
        rows = db.session.scalars(db.select(WebhookEvent).order_by(WebhookEvent.id)).all()
        db.session.expunge_all()
        return rows
