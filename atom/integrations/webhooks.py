"""Webhook signature schemes, verified over the raw body before anything is parsed.

Every comparison is constant-time. A scheme that signs a timestamp (ATOM's own, Slack v0,
HubSpot v3) enforces a tolerance window and yields a *replay digest*: the receiver records it
once per scope, and a second delivery with the same signature is a replay, whatever else its
headers say. GitHub and Jira sign no timestamp; their deliveries are de-duplicated by delivery id.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import re
import time
from dataclasses import dataclass
from typing import Any
from typing import Callable
from typing import Mapping

TIMESTAMP_HEADER = "X-Atom-Timestamp"
SIGNATURE_HEADER = "X-Signature-256"

# ASCII digits only: ``float()`` also takes "nan", "inf", "1e999", "1_000" and non-ASCII digits,
# and a NaN compares false with every bound, so it would pass any window check.
_TIMESTAMP = re.compile(r"[0-9]{1,16}(?:\.[0-9]{1,9})?", re.ASCII)


class SignatureError(Exception):
    """The delivery's signature is missing, malformed, stale or wrong."""


@dataclass(frozen=True)
class WebhookRequest:
    """What a signature is computed over: the exact bytes and headers received."""

    method: str
    url: str
    headers: Mapping[str, str]
    body: bytes


# A scheme checks a delivery and returns the signature it accepted when that signature covers a
# timestamp (the basis of the replay digest), or None when it does not.
Verifier = Callable[[WebhookRequest, str, float, float], "str | None"]


def _hmac_hex(secret: str, message: bytes) -> str:
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def _require(headers: Mapping[str, str], name: str) -> str:
    value = headers.get(name)
    if not value:
        raise SignatureError(f"missing {name} header")
    return value


def _check_age(timestamp: str, tolerance: float, now: float, unit: float = 1.0) -> None:
    if not _TIMESTAMP.fullmatch(timestamp):
        raise SignatureError("malformed timestamp: not a finite number")
    if abs(now - float(timestamp) / unit) > tolerance:
        raise SignatureError("timestamp outside the tolerance window (replay?)")


def _check(expected: str, received: str) -> str:
    if not hmac.compare_digest(expected.encode(), received.encode()):
        raise SignatureError("signature mismatch")
    return expected


def verify_atom(req: WebhookRequest, secret: str, tolerance: float, now: float) -> str:
    """ATOM's generic scheme: ``X-Atom-Timestamp: <unix seconds>`` and
    ``X-Signature-256: sha256=hex(HMAC-SHA256(secret, "{timestamp}.{body}"))``."""
    ts = _require(req.headers, TIMESTAMP_HEADER)
    _check_age(ts, tolerance, now)
    expected = "sha256=" + _hmac_hex(secret, ts.encode() + b"." + req.body)
    return _check(expected, _require(req.headers, SIGNATURE_HEADER))


def verify_slack_v0(req: WebhookRequest, secret: str, tolerance: float, now: float) -> str:
    """``X-Slack-Signature: v0=hex(HMAC-SHA256(secret, "v0:{ts}:{body}"))``, 5-minute window."""
    ts = _require(req.headers, "X-Slack-Request-Timestamp")
    _check_age(ts, tolerance, now)
    expected = "v0=" + _hmac_hex(secret, b"v0:" + ts.encode() + b":" + req.body)
    return _check(expected, _require(req.headers, "X-Slack-Signature"))


def _hub_signature(header: str) -> Verifier:
    def verify(req: WebhookRequest, secret: str, tolerance: float, now: float) -> None:
        _check("sha256=" + _hmac_hex(secret, req.body), _require(req.headers, header))

    verify.__doc__ = f"``{header}: sha256=hex(HMAC-SHA256(secret, body))`` (no timestamp)."
    return verify


def verify_hubspot_v3(req: WebhookRequest, secret: str, tolerance: float, now: float) -> str:
    """``X-HubSpot-Signature-v3``: base64 HMAC-SHA256 of method + URI + body + timestamp (ms)."""
    ts = _require(req.headers, "X-HubSpot-Request-Timestamp")
    _check_age(ts, tolerance, now, unit=1000.0)
    message = req.method.encode() + req.url.encode() + req.body + ts.encode()
    digest = hmac.new(secret.encode(), message, hashlib.sha256).digest()
    expected = base64.b64encode(digest).decode()
    return _check(expected, _require(req.headers, "X-HubSpot-Signature-v3"))


SCHEMES: dict[str, Verifier] = {
    "slack_v0": verify_slack_v0,
    "github_sha256": _hub_signature("X-Hub-Signature-256"),
    "jira_sha256": _hub_signature("X-Hub-Signature"),
    "hubspot_v3": verify_hubspot_v3,
    "hmac_sha256": verify_atom,
}


def scheme(name: str) -> Callable[[Verifier], Verifier]:
    """Register a verifier under ``name`` (what a manifest's :class:`WebhookSpec` names)."""

    def register(func: Verifier) -> Verifier:
        if name in SCHEMES:
            raise ValueError(f"webhook scheme {name!r} is registered twice")
        SCHEMES[name] = func
        return func

    return register


# Shared building blocks, for the vendor schemes below.
hmac_hex = _hmac_hex
require = _require
check_age = _check_age
check = _check


def hmac_b64(secret: str, message: bytes, digest: Any = hashlib.sha256) -> str:
    return base64.b64encode(hmac.new(secret.encode(), message, digest).digest()).decode()


# -- vendor schemes, one section per vendor (each documents its algorithm and source) --------

# -- microsoft graph ---------------------------------------------------------------------------

# Graph signs no change notification: each element of ``value[]`` echoes the ``clientState`` the
# subscription was created with, and the receiver compares it with the secret it gave Graph
# (https://learn.microsoft.com/graph/change-notifications-delivery-webhooks, "Processing the
# change notification"). A delivery is accepted only when every notification in it carries the
# secret. No timestamp is signed: redeliveries are de-duplicated by delivery id. The
# ``validationToken`` handshake is answered before this (``webhook_handshake``).


@scheme("graph_client_state")
def verify_graph_client_state(req: WebhookRequest, secret: str, tolerance: float,
                              now: float) -> None:
    """Every ``value[].clientState`` equals the connection's secret (constant time)."""
    import json

    try:
        body = json.loads(req.body)
    except ValueError as exc:
        raise SignatureError("the body is not JSON") from exc
    notes = body.get("value") if isinstance(body, dict) else None
    if not isinstance(notes, list) or not notes:
        raise SignatureError("no change notification in value[]")
    for note in notes:
        state = note.get("clientState") if isinstance(note, dict) else None
        if not isinstance(state, str) or not state:
            raise SignatureError("a change notification has no clientState")
        check(secret, state)


# -- discord -----------------------------------------------------------------------------------
# Interactions: https://discord.com/developers/docs/interactions/overview#setting-up-an-endpoint
# ("Validating Security Request Headers"). The secret is the application's public key (hex).


def _hex_bytes(value: str, size: int, what: str) -> bytes:
    try:
        raw = bytes.fromhex(value)
    except ValueError:
        raw = b""
    if len(raw) != size:
        raise SignatureError(f"malformed {what}: not {size * 2} hexadecimal characters")
    return raw


@scheme("discord_ed25519")
def verify_discord_ed25519(req: WebhookRequest, secret: str, tolerance: float,
                           now: float) -> str:
    """``X-Signature-Ed25519: hex(Ed25519(timestamp + body))``, checked with the application's
    public key, and ``X-Signature-Timestamp`` (Unix seconds) within the tolerance window.

    Returns the signature in lower-case hex: the same bytes spelt in upper case are a replay.
    """
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    ts = require(req.headers, "X-Signature-Timestamp")
    check_age(ts, tolerance, now)
    signature = _hex_bytes(require(req.headers, "X-Signature-Ed25519").strip(), 64, "signature")
    try:
        key = Ed25519PublicKey.from_public_bytes(_hex_bytes(secret.strip(), 32, "public key"))
    except SignatureError as exc:
        raise SignatureError("the webhook secret is not the application's public key "
                             "(64 hexadecimal characters)") from exc
    try:
        key.verify(signature, ts.encode() + req.body)
    except InvalidSignature as exc:
        raise SignatureError("signature mismatch") from exc
    return signature.hex()



# -- google chat -------------------------------------------------------------------------------


# -- webex -------------------------------------------------------------------------------------

# ``X-Spark-Signature: hex(HMAC-SHA1(webhook secret, raw body))``, sent only when the webhook was
# registered with a ``secret`` (https://developer.webex.com/docs/api/guides/webhooks, "Handling
# Requests from Webex"; https://developer.webex.com/blog/using-a-webhook-secret). No timestamp
# is signed: deliveries are de-duplicated by the webhook id and the data id.


@scheme("webex_sha1")
def verify_webex_sha1(req: WebhookRequest, secret: str, tolerance: float, now: float) -> None:
    """``X-Spark-Signature``: hex HMAC-SHA1 of the body (no timestamp)."""
    expected = hmac.new(secret.encode(), req.body, hashlib.sha1).hexdigest()
    check(expected, require(req.headers, "X-Spark-Signature").strip().lower())


# -- asana -------------------------------------------------------------------------------------
# https://developers.asana.com/docs/webhooks-guide: the secret is the ``X-Hook-Secret`` Asana
# hands over in the creation handshake (plugins.asana adopts it); every delivery then carries
# ``X-Hook-Signature``. Nothing signed is a timestamp, so deliveries are de-duplicated by event.


@scheme("asana_sha256")
def verify_asana(req: WebhookRequest, secret: str, tolerance: float, now: float) -> None:
    """``X-Hook-Signature: hex(HMAC-SHA256(X-Hook-Secret, body))`` (no timestamp)."""
    check(hmac_hex(secret, req.body), require(req.headers, "X-Hook-Signature").strip().lower())
    return None


# -- trello ------------------------------------------------------------------------------------
# https://developer.atlassian.com/cloud/trello/guides/rest-api/webhooks/ ("Webhook signatures"):
# ``X-Trello-Webhook`` = base64(HMAC-SHA1(the API key's secret, body + callbackURL)), where the
# callbackURL is the URL exactly as registered. The verifier sees only the request, so the URL
# is the one ATOM received the delivery at (``req.url``): behind a reverse proxy, set
# PROXY_FIX_HOPS so that is the public URL (scheme and host), and register that URL unchanged
# (a proxy that rewrites the path cannot be verified). Surprise, documented there: Trello's
# signer (Node) reads the text as a "binary" string, i.e. the low byte of each UTF-16 code unit,
# so for non-ASCII bodies the digest is not over the UTF-8 bytes. Both digests are accepted
# (the same for ASCII; each is keyed with the secret). No timestamp is signed.


@scheme("trello_sha1")
def verify_trello(req: WebhookRequest, secret: str, tolerance: float, now: float) -> None:
    """``X-Trello-Webhook: base64(HMAC-SHA1(secret, body + callback URL))`` (no timestamp)."""
    received = require(req.headers, "X-Trello-Webhook").strip()
    try:
        content = req.body.decode("utf-8") + req.url
    except UnicodeDecodeError as exc:
        raise SignatureError("the body is not UTF-8") from exc
    as_node_binary = content.encode("utf-16-le")[::2]
    matched = False
    for message in (as_node_binary, content.encode("utf-8")):
        expected = hmac_b64(secret, message, hashlib.sha1)
        matched |= hmac.compare_digest(expected.encode(), received.encode())
    if not matched:
        raise SignatureError("signature mismatch")
    return None


# -- notion ------------------------------------------------------------------------------------


@scheme("notion_sha256")
def verify_notion(req: WebhookRequest, secret: str, tolerance: float, now: float) -> None:
    """``X-Notion-Signature: sha256=hex(HMAC-SHA256(verification_token, body))``, no timestamp:
    deliveries are de-duplicated by the event ``id``. The secret is the subscription's
    ``verification_token``, sent once, unsigned, in Notion's verification request
    (https://developers.notion.com/reference/webhooks, "Validating event payloads").
    """
    check("sha256=" + hmac_hex(secret, req.body), require(req.headers, "X-Notion-Signature"))


# -- monday ------------------------------------------------------------------------------------
# A board webhook that an app created (``create_webhook`` with the app's token) is delivered with
# ``Authorization: <JWT>``, HS256-signed with the app's Signing Secret (lifecycle webhooks use the
# Client Secret): https://developer.monday.com/apps/docs/integration-authorization. The JWT signs
# who sent the delivery, NOT its body, and webhooks made with a personal token carry no header
# at all (refused here: nothing would tell them from a forgery). Claims: accountId, userId, aud
# (the endpoint), exp, iat, shortLivedToken (a 5-minute API token: never logged or stored).
#
# Replay: ``exp`` and ``iat`` are enforced when present (``iat`` within the tolerance window). A
# token bounded that way yields a replay digest over the token AND the body: a resent (token,
# body) pair is a replay, while two genuine deliveries in one second (the same claims, so the
# same token) still differ by their bodies (each has its own ``triggerUuid``). A token with no
# usable bound yields no digest; deliveries are then de-duplicated by ``triggerUuid`` only. The
# body is not signed, so a captured token can carry another body until it expires: keep tokens
# out of logs (the receiver never stores headers).
_MONDAY_SKEW_S = 30.0


def _monday_number(claims: Mapping[str, Any], name: str) -> float | None:
    import math

    value = claims.get(name)
    if value is None:
        return None
    if (isinstance(value, bool) or not isinstance(value, (int, float))
            or not math.isfinite(value)):
        raise SignatureError(f"monday JWT claim {name} is not a finite number")
    return float(value)


@scheme("monday_jwt")
def verify_monday_jwt(req: WebhookRequest, secret: str, tolerance: float, now: float) -> str | None:
    """``Authorization: [Bearer ]<JWT>`` = HS256(signing secret); ``exp``/``nbf``/``iat`` and an
    endpoint ``aud`` are checked when present."""
    from urllib.parse import urlsplit

    import jwt  # pyjwt (imported here: this section is the monday scheme's only)

    raw = require(req.headers, "Authorization").strip()
    token = raw[7:].strip() if raw[:7].lower() == "bearer " else raw
    if not 0 < len(token) <= 8192:
        raise SignatureError("malformed monday JWT")
    try:
        claims = jwt.decode(token, secret, algorithms=["HS256"], options={
            "verify_signature": True, "verify_exp": False, "verify_nbf": False,
            "verify_iat": False, "verify_aud": False, "verify_iss": False})
    except jwt.InvalidTokenError as exc:
        raise SignatureError(f"monday JWT rejected ({type(exc).__name__})") from None
    exp, nbf, iat = (_monday_number(claims, n) for n in ("exp", "nbf", "iat"))
    if exp is not None and now > exp + _MONDAY_SKEW_S:
        raise SignatureError("monday JWT expired (replay?)")
    if nbf is not None and now < nbf - _MONDAY_SKEW_S:
        raise SignatureError("monday JWT not valid yet")
    if iat is not None and abs(now - iat) > tolerance:
        raise SignatureError("monday JWT issued outside the tolerance window (replay?)")
    aud = claims.get("aud")
    if isinstance(aud, str) and aud.startswith(("https://", "http://")):
        # Only the path: a proxy in front of ATOM may change the scheme and host it sees.
        if urlsplit(aud).path.rstrip("/") != urlsplit(req.url).path.rstrip("/"):
            raise SignatureError("monday JWT was issued for another endpoint")
    bounded = iat is not None or (exp is not None and exp - now <= 2 * tolerance)
    if not bounded:
        return None
    return hashlib.sha256(token.encode() + b"." + hashlib.sha256(req.body).digest()).hexdigest()


# -- linear ------------------------------------------------------------------------------------
# https://linear.app/developers/webhooks: ``Linear-Signature`` = hex(HMAC-SHA256(secret, raw
# body)); the body's ``webhookTimestamp`` (Unix ms) is signed with it and must be within a
# minute of now (Linear's advice; the receiver's tolerance applies when it is shorter). The
# timestamp is checked only after the signature, so an unsigned body is never parsed.
_LINEAR_WINDOW_S = 60.0


@scheme("linear_sha256")
def verify_linear(req: WebhookRequest, secret: str, tolerance: float, now: float) -> str:
    """``Linear-Signature: hex(HMAC-SHA256(secret, body))`` with ``webhookTimestamp`` (ms) in
    the body within 60 s."""
    import json
    import math

    expected = check(hmac_hex(secret, req.body), require(req.headers, "Linear-Signature").strip())
    try:
        stamp = json.loads(req.body).get("webhookTimestamp")
    except (ValueError, AttributeError):
        raise SignatureError("the body is not a JSON object") from None
    if isinstance(stamp, bool) or not isinstance(stamp, (int, float)) or not math.isfinite(stamp):
        raise SignatureError("missing webhookTimestamp")
    check_age(str(int(stamp)), min(tolerance, _LINEAR_WINDOW_S), now, unit=1000.0)
    return expected


# -- gitlab ------------------------------------------------------------------------------------


@scheme("gitlab_token")
def verify_gitlab_token(req: WebhookRequest, secret: str, tolerance: float, now: float) -> None:
    """``X-Gitlab-Token: <secret token>``: GitLab sends the webhook's secret token itself, in
    plain text, and signs nothing (the body and any timestamp are not covered; TLS protects
    them). Compared in constant time; deliveries are de-duplicated by ``X-Gitlab-Event-UUID``
    (https://docs.gitlab.com/user/project/integrations/webhooks/#create-a-webhook). GitLab's
    newer optional signing token (Standard Webhooks headers) is not used here.
    """
    check(secret, require(req.headers, "X-Gitlab-Token"))


# -- google (calendar push channels) -----------------------------------------------------------

@scheme("google_channel_token")
def verify_google_channel_token(req: WebhookRequest, secret: str, tolerance: float,
                                now: float) -> None:
    """Google push channels (Calendar ``events.watch``) sign nothing: the ``token`` given when
    the channel was made comes back in ``X-Goog-Channel-Token`` on every notification,
    compared here in constant time. No timestamp: replays are harmless, since a notification
    only says "something changed" (https://developers.google.com/workspace/calendar/api/guides/push)."""
    check(secret, require(req.headers, "X-Goog-Channel-Token"))


# -- dropbox -----------------------------------------------------------------------------------
# https://www.dropbox.com/developers/reference/webhooks ("Receiving notifications"): every
# notification carries ``X-Dropbox-Signature``, the hex HMAC-SHA256 of the raw body keyed with
# the app secret. No timestamp is signed, and a notification only names the accounts that
# changed (the receiver then reads ``files/list_folder/continue``), so a replay makes a poll
# that finds nothing new. The verification GET (``?challenge=``) is answered before this.


@scheme("dropbox_sha256")
def verify_dropbox(req: WebhookRequest, secret: str, tolerance: float, now: float) -> None:
    """``X-Dropbox-Signature: hex(HMAC-SHA256(app secret, body))`` (no timestamp)."""
    check(hmac_hex(secret, req.body), require(req.headers, "X-Dropbox-Signature").strip().lower())


# -- end of vendor schemes ---------------------------------------------------------------------


def verify(scheme: str, req: WebhookRequest, secret: str | None, tolerance: float = 300.0,
           now: float | None = None) -> str | None:
    """Verify a delivery with ``scheme``.

    :return: for a scheme that signs a timestamp, the replay digest (hex SHA-256 of the accepted
        signature) that the receiver records once per scope; None for a scheme without one.
    :raises SignatureError: the signature is missing, malformed, stale or wrong, or there is
        no secret to check it with.
    """
    if not secret:
        raise SignatureError("the connection has no webhook secret configured")
    signature = SCHEMES[scheme](req, secret, tolerance, time.time() if now is None else now)
    return None if signature is None else hashlib.sha256(signature.encode()).hexdigest()


def sign_atom(secret: str, body: bytes,
              timestamp: int | float | str | None = None) -> dict[str, str]:
    """The headers of a delivery signed with ATOM's generic scheme (for tests and tools).

    :param timestamp: unix seconds (now when omitted); a string is sent as it is.
    """
    ts = str(int(time.time()) if timestamp is None else timestamp)
    return {TIMESTAMP_HEADER: ts,
            SIGNATURE_HEADER: "sha256=" + _hmac_hex(secret, ts.encode() + b"." + body)}


def sign_hub(secret: str, body: bytes) -> str:
    """The ``sha256=...`` signature GitHub and Jira send (for tests and tools)."""
    return "sha256=" + _hmac_hex(secret, body)
