"""Webhook signature schemes, verified over the raw body before anything is parsed.

Every comparison is constant-time; schemes with a timestamp enforce a tolerance window.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import time
from dataclasses import dataclass
from typing import Callable
from typing import Mapping


class SignatureError(Exception):
    """The delivery's signature is missing, malformed, stale or wrong."""


@dataclass(frozen=True)
class WebhookRequest:
    """What a signature is computed over: the exact bytes and headers received."""

    method: str
    url: str
    headers: Mapping[str, str]
    body: bytes


def _hmac_hex(secret: str, message: bytes) -> str:
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def _require(headers: Mapping[str, str], name: str) -> str:
    value = headers.get(name)
    if not value:
        raise SignatureError(f"missing {name} header")
    return value


def _check_age(timestamp: str, tolerance: float, now: float, unit: float = 1.0) -> None:
    try:
        ts = float(timestamp) / unit
    except ValueError as exc:
        raise SignatureError("malformed timestamp") from exc
    if abs(now - ts) > tolerance:
        raise SignatureError("timestamp outside the tolerance window (replay?)")


def verify_slack_v0(req: WebhookRequest, secret: str, tolerance: float, now: float) -> None:
    """``X-Slack-Signature: v0=hex(HMAC-SHA256(secret, "v0:{ts}:{body}"))``, 5-minute window."""
    ts = _require(req.headers, "X-Slack-Request-Timestamp")
    _check_age(ts, tolerance, now)
    expected = "v0=" + _hmac_hex(secret, b"v0:" + ts.encode() + b":" + req.body)
    if not hmac.compare_digest(expected, _require(req.headers, "X-Slack-Signature")):
        raise SignatureError("signature mismatch")


def _hub_signature(header: str) -> Callable[[WebhookRequest, str, float, float], None]:
    def verify(req: WebhookRequest, secret: str, tolerance: float, now: float) -> None:
        expected = "sha256=" + _hmac_hex(secret, req.body)
        if not hmac.compare_digest(expected, _require(req.headers, header)):
            raise SignatureError("signature mismatch")

    verify.__doc__ = f"``{header}: sha256=hex(HMAC-SHA256(secret, body))``."
    return verify


def verify_hubspot_v3(req: WebhookRequest, secret: str, tolerance: float, now: float) -> None:
    """``X-HubSpot-Signature-v3``: base64 HMAC-SHA256 of method + URI + body + timestamp (ms)."""
    ts = _require(req.headers, "X-HubSpot-Request-Timestamp")
    _check_age(ts, tolerance, now, unit=1000.0)
    message = req.method.encode() + req.url.encode() + req.body + ts.encode()
    digest = hmac.new(secret.encode(), message, hashlib.sha256).digest()
    expected = base64.b64encode(digest).decode()
    if not hmac.compare_digest(expected, _require(req.headers, "X-HubSpot-Signature-v3")):
        raise SignatureError("signature mismatch")


SCHEMES: dict[str, Callable[[WebhookRequest, str, float, float], None]] = {
    "slack_v0": verify_slack_v0,
    "github_sha256": _hub_signature("X-Hub-Signature-256"),
    "jira_sha256": _hub_signature("X-Hub-Signature"),
    "hubspot_v3": verify_hubspot_v3,
    "hmac_sha256": _hub_signature("X-Signature-256"),
}


def verify(scheme: str, req: WebhookRequest, secret: str | None, tolerance: float = 300.0,
           now: float | None = None) -> None:
    """Verify a delivery with ``scheme``; raise :class:`SignatureError` when it fails."""
    if not secret:
        raise SignatureError("the connection has no webhook secret configured")
    SCHEMES[scheme](req, secret, tolerance, time.time() if now is None else now)


def sign_hub(secret: str, body: bytes) -> str:
    """The ``sha256=...`` signature GitHub, Jira and the generic scheme send (for tests/tools)."""
    return "sha256=" + _hmac_hex(secret, body)
