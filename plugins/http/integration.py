"""Generic REST: the connection's ``base_url`` plus a path; auth chosen per connection."""
from __future__ import annotations

import hashlib
from pathlib import PurePosixPath
from typing import Any
from urllib.parse import unquote
from urllib.parse import urlsplit

import requests

from atom.integrations import auth as auth_mod
from atom.integrations import files
from atom.integrations.base import InboundEvent
from atom.integrations.base import Integration
from atom.integrations.webhooks import TIMESTAMP_HEADER
from atom.integrations.webhooks import WebhookRequest


def _result(response: requests.Response) -> dict[str, Any]:
    ctype = response.headers.get("Content-Type", "")
    body: Any = response.text
    if "json" in ctype and response.content:
        try:
            body = response.json()
        except ValueError:
            pass
    return {"status": response.status_code, "headers": dict(response.headers), "body": body}


def user_auth(c: dict[str, Any], settings: dict[str, Any]) -> auth_mod.Auth:
    """The manifest's custom signer: the auth a user picked for this connection (``auth``)."""
    kind = c.get("auth", "none")
    if kind == "bearer":
        return auth_mod.bearer(c["token"])
    if kind == "basic":
        return auth_mod.basic(c["username"], c["password"])
    if kind == "api_key":
        return auth_mod.HeaderAuth(c["header"], c["key"])
    return auth_mod.NoAuth()


class HttpIntegration(Integration):
    def idempotency_header(self) -> str | None:
        return "Idempotency-Key"

    def health_check(self) -> None:
        self.http.get(self.connection.settings.get("health_path", "/"), operation="health")

    def _send(self, method: str, data: dict[str, Any]) -> dict[str, Any]:
        return _result(self.http.request(method, data["path"], params=data.get("query") or None,
                                         json=data.get("json"), headers=data.get("headers") or None))

    def request(self, data: dict[str, Any]) -> dict[str, Any]:
        return self._send(data["method"], data)

    def get(self, data: dict[str, Any]) -> dict[str, Any]:
        return self._send("GET", data)

    def post(self, data: dict[str, Any]) -> dict[str, Any]:
        return self._send("POST", data)

    def put(self, data: dict[str, Any]) -> dict[str, Any]:
        return self._send("PUT", data)

    def patch(self, data: dict[str, Any]) -> dict[str, Any]:
        return self._send("PATCH", data)

    def delete(self, data: dict[str, Any]) -> dict[str, Any]:
        return self._send("DELETE", data)

    def open_file(self, file_id: str) -> files.FileStream:
        """``file_id`` is a path (or URL on the connection's origin) to GET, streamed: "copy
        the export at /reports/daily.csv to Drive". The name is the path's last segment."""
        response = self.http.get(file_id, stream=True, operation="download")
        name = PurePosixPath(urlsplit(response.url or file_id).path).name or "download"
        return files.from_response(response, unquote(name))

    def notify(self, channel: str | None, message: str) -> dict[str, Any]:
        """POST ``{"text": message}`` to ``channel`` (a path) or the connection's base URL."""
        return _result(self.http.post(channel or "/", json={"text": message}))

    def parse_webhook(self, req: WebhookRequest, payload: Any) -> list[InboundEvent]:
        """One event per delivery; without ``X-Delivery-Id`` the id is a digest of what was
        signed (timestamp and body), so the same body sent again later is a new delivery."""
        signed = req.headers.get(TIMESTAMP_HEADER, "").encode() + b"." + req.body
        delivery = req.headers.get("X-Delivery-Id") or hashlib.sha256(signed).hexdigest()
        body = payload if isinstance(payload, dict) else {"items": payload}
        return [InboundEvent("webhook_received", delivery, body)]
