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


# -- openai (Standard Webhooks) ---------------------------------------------------------------
# OpenAI's project webhooks follow Standard Webhooks (https://www.standardwebhooks.com/, spec
# "Verifying webhook authenticity"; openai/openai-python src/openai/resources/webhooks.py):
# ``webhook-signature: v1,<base64(HMAC-SHA256(key, "{webhook-id}.{webhook-timestamp}.{body}"))>``
# where the key is the base64 after the ``whsec_`` prefix of the signing secret, the timestamp
# is Unix seconds (5-minute tolerance), and several space-separated signatures may be sent while
# a secret is rotated (any one may match). A secret without the prefix is tried as base64 and
# as its raw bytes. The id and timestamp are signed: the accepted signature is the replay digest.
_STANDARD_SIGNATURE = re.compile(r"v1,([A-Za-z0-9+/]{43}=)")


def _standard_keys(secret: str) -> list[bytes]:
    raw = secret.strip()
    keys = []
    body = raw[6:] if raw.startswith("whsec_") else raw
    try:
        keys.append(base64.b64decode(body, validate=True))
    except ValueError:
        pass
    if not raw.startswith("whsec_"):
        keys.append(raw.encode())
    if not keys or not all(keys):
        raise SignatureError("the webhook secret is not a whsec_ signing secret")
    return keys


@scheme("standard_webhooks")
def verify_standard_webhooks(req: WebhookRequest, secret: str, tolerance: float,
                             now: float) -> str:
    """``webhook-id``, ``webhook-timestamp`` and ``webhook-signature: v1,<base64>`` (any of
    several, space-separated) = HMAC-SHA256 of ``id.timestamp.body``."""
    msg_id = require(req.headers, "webhook-id")
    ts = require(req.headers, "webhook-timestamp")
    check_age(ts, tolerance, now)
    offered = [m.group(1) for m in map(_STANDARD_SIGNATURE.fullmatch,
                                       require(req.headers, "webhook-signature").split()) if m]
    if not offered:
        raise SignatureError("no v1 signature in webhook-signature")
    message = msg_id.encode() + b"." + ts.encode() + b"." + req.body
    for key in _standard_keys(secret):
        expected = base64.b64encode(hmac.new(key, message, hashlib.sha256).digest()).decode()
        matched = [sig for sig in offered if hmac.compare_digest(expected.encode(), sig.encode())]
        if matched:
            return matched[0]
    raise SignatureError("signature mismatch")


# -- okta (event hooks) -------------------------------------------------------------------------
# Okta signs nothing: an event hook is registered with ``channel.config.authScheme`` ``{"type":
# "HEADER", "key": "Authorization", "value": <secret>}`` and every request carries that header
# with the value as it was given (https://developer.okta.com/docs/concepts/event-hooks/, "Event
# hook setup"; https://developer.okta.com/docs/reference/api/event-hooks/, authScheme). Compared
# in constant time; no timestamp is signed, so deliveries are de-duplicated by event uuid.


@scheme("okta_authorization")
def verify_okta_authorization(req: WebhookRequest, secret: str, tolerance: float,
                              now: float) -> None:
    """``Authorization: <the event hook's secret>`` sent verbatim (no signature)."""
    check(secret, require(req.headers, "Authorization"))
# -- zendesk -----------------------------------------------------------------------------------
# https://developer.zendesk.com/documentation/webhooks/verifying/: every webhook request carries
# ``X-Zendesk-Webhook-Signature`` = base64(HMAC-SHA256(signing secret, TIMESTAMP + BODY)) and
# ``X-Zendesk-Webhook-Signature-Timestamp``, an ISO 8601 UTC time such as
# ``2021-07-25T10:00:00Z``; the body may be empty (GET and DELETE webhooks). The key is the
# signing secret's text as shown by Zendesk (Node's ``createHmac`` with a string key: its UTF-8
# bytes, not its base64 decoding). An older copy of the page
# (developer.zendesk.com/documentation/event-connectors/webhooks/verifying/) wrote the order as
# (BODY)(TIMESTAMP), and its worked example matches that order; the current page, its code and
# public integrations sign TIMESTAMP + BODY, which is what is verified here (verify).
_ZENDESK_TIME = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}"
                           r"(?:\.[0-9]{1,9})?(?:Z|[+-][0-9]{2}:[0-9]{2})", re.ASCII)


def _iso_seconds(value: str) -> str:
    """Unix seconds (as :func:`check_age` takes them) of an ISO 8601 time with a zone."""
    from datetime import datetime

    if not _ZENDESK_TIME.fullmatch(value):
        raise SignatureError("malformed timestamp: not an ISO 8601 time such as "
                             "2021-07-25T10:00:00Z")
    whole = re.sub(r"\.[0-9]+", "", value).replace("Z", "+00:00")  # seconds are enough
    try:
        moment = datetime.fromisoformat(whole)
    except ValueError as exc:
        raise SignatureError("malformed timestamp: not a valid date and time") from exc
    return str(int(moment.timestamp()))


@scheme("zendesk_sha256")
def verify_zendesk(req: WebhookRequest, secret: str, tolerance: float, now: float) -> str:
    """``X-Zendesk-Webhook-Signature: base64(HMAC-SHA256(secret, timestamp + body))`` with
    ``X-Zendesk-Webhook-Signature-Timestamp`` (ISO 8601) within the tolerance window."""
    ts = require(req.headers, "X-Zendesk-Webhook-Signature-Timestamp")
    check_age(_iso_seconds(ts), tolerance, now)
    expected = hmac_b64(secret, ts.encode() + req.body)
    return check(expected, require(req.headers, "X-Zendesk-Webhook-Signature").strip())


# -- tableau -----------------------------------------------------------------------------------
# Tableau signs nothing: a webhook is a name, an event and an https destination URL (with a
# valid certificate); deliveries carry no signature, secret or timestamp header, duplicates
# have identical bodies, and a failed delivery is retried three times
# (https://help.tableau.com/current/developer/webhooks/en-us/, tableau/webhooks-docs README,
# "Tableau Webhooks Behavior"). The only secret a delivery can carry is in the URL it was sent
# to: the connection's receiver is registered as ``.../hooks/tableau/<id>?atom_token=<token>``
# and the token is compared here in constant time. It proves who knows the URL, not the body
# (TLS protects that), and it is in every access log that records query strings: keep it out
# of them, and rotate it by re-creating the webhook.
TABLEAU_TOKEN_PARAM = "atom_token"


@scheme("tableau_url_token")
def verify_tableau_url_token(req: WebhookRequest, secret: str, tolerance: float,
                             now: float) -> None:
    """The receiver URL's ``atom_token`` query parameter equals the secret (constant time)."""
    from urllib.parse import parse_qs
    from urllib.parse import urlsplit

    values = parse_qs(urlsplit(req.url).query, keep_blank_values=True).get(TABLEAU_TOKEN_PARAM)
    if not values:
        raise SignatureError(f"missing {TABLEAU_TOKEN_PARAM} in the receiver URL")
    if len(values) != 1:
        raise SignatureError(f"more than one {TABLEAU_TOKEN_PARAM} in the receiver URL")
    check(secret, values[0])
# -- stripe ------------------------------------------------------------------------------------
# https://docs.stripe.com/webhooks#verify-manually (and stripe-python ``WebhookSignature``):
# ``Stripe-Signature: t=<unix seconds>,v1=<hex>[,v1=<hex>...][,v0=...]`` where each ``v1`` is
# hex(HMAC-SHA256(endpoint secret, "{t}.{raw body}")). During a secret roll Stripe signs with
# the old and the new secret, so several ``v1`` appear: one matching is enough. Other schemes
# (``v0``, test-mode only) are ignored. Stripe's default tolerance is 300 s (the receiver's
# WEBHOOK_TOLERANCE_S applies); a timestamp in the future beyond it is refused too (Stripe's
# libraries check only the past). The accepted signature is the replay digest's basis.


@scheme("stripe_v1")
def verify_stripe_v1(req: WebhookRequest, secret: str, tolerance: float, now: float) -> str:
    """``Stripe-Signature: t=...,v1=...``: hex HMAC-SHA256 of ``"{t}.{body}"``, any ``v1``."""
    header = require(req.headers, "Stripe-Signature")
    stamps, signatures = [], []
    for item in header.split(","):
        key, _, value = item.strip().partition("=")
        if key == "t":
            stamps.append(value)
        elif key == "v1" and value:
            signatures.append(value.strip().lower())
    if len(stamps) != 1 or not signatures:
        raise SignatureError("malformed Stripe-Signature: no timestamp or no v1 signature")
    check_age(stamps[0], tolerance, now)
    expected = hmac_hex(secret, stamps[0].encode() + b"." + req.body)
    matched = False
    for signature in signatures[:8]:  # compare each (constant time), however many match
        matched |= hmac.compare_digest(expected.encode(), signature.encode())
    if not matched:
        raise SignatureError("signature mismatch")
    return expected


# -- xero --------------------------------------------------------------------------------------
# https://developer.xero.com/documentation/guides/webhooks/configuring-your-server/ :
# ``x-xero-signature`` = base64(HMAC-SHA256(the app's webhook key, raw body)). No timestamp is
# signed: deliveries are de-duplicated by their events (tenant, resource, type, date). The
# "intent to receive" check (Xero sends correctly and incorrectly signed requests and expects
# 200 or 401 with no body) is answered by plugins.xero's ``webhook_handshake``.


@scheme("xero_sha256")
def verify_xero(req: WebhookRequest, secret: str, tolerance: float, now: float) -> None:
    """``x-xero-signature: base64(HMAC-SHA256(webhook key, body))`` (no timestamp)."""
    check(hmac_b64(secret, req.body), require(req.headers, "x-xero-signature").strip())

# -- aws sns -----------------------------------------------------------------------------------
# https://docs.aws.amazon.com/sns/latest/dg/sns-verify-signature-of-message.html and the JSON
# formats of https://docs.aws.amazon.com/sns/latest/dg/http-notification-json.html,
# .../http-subscription-confirmation-json.html, .../http-unsubscribe-confirmation-json.html.
# SNS signs with RSA, not a shared secret: ``Signature`` = base64(RSA PKCS#1 v1.5 over SHA1
# (``SignatureVersion`` 1) or SHA256 (2)) of the canonical string, "Name\nValue\n" for each of
# Message, MessageId, Subject (Notification, when present), SubscribeURL (confirmations),
# Timestamp, Token (confirmations), TopicArn, Type. The certificate comes from
# ``SigningCertURL``, accepted only as https://sns.<region>.amazonaws.com/....pem in the
# TopicArn's region, fetched through the outbound policy and cached.
#
# The "secret" is the connection's list of accepted topics (``sns_topic_arns``): SNS's signature
# proves SNS sent the message, not whose topic it came from (any AWS account can subscribe any
# URL to its own topic). ``Timestamp`` (when SNS published it; retries keep it) must be within
# the receiver's tolerance: raise WEBHOOK_TOLERANCE_S if a topic's delivery policy retries for
# longer. The accepted signature is the replay basis; MessageId de-duplicates events too.
_SNS_CERT_HOST = re.compile(r"^sns\.([a-z0-9-]+)\.amazonaws\.com$")
_SNS_ARN = re.compile(r"^arn:aws(?:-[a-z]+)*:sns:([a-z0-9-]+):(\d{12}):([A-Za-z0-9_.-]{1,256})$")
_SNS_FIELDS = {
    "Notification": ("Message", "MessageId", "Subject", "Timestamp", "TopicArn", "Type"),
    "SubscriptionConfirmation": ("Message", "MessageId", "SubscribeURL", "Timestamp", "Token",
                                 "TopicArn", "Type"),
    "UnsubscribeConfirmation": ("Message", "MessageId", "SubscribeURL", "Timestamp", "Token",
                                "TopicArn", "Type"),
}


class SnsCertificates:
    """SNS signing certificates by URL, fetched once (``fetch(url) -> PEM bytes``; tests
    replace it) and kept up to ``size`` entries for ``ttl_s`` seconds."""

    def __init__(self, size: int = 32, ttl_s: float = 86_400.0) -> None:
        self.fetch: Callable[[str], bytes] = _fetch_sns_certificate
        self.size, self.ttl_s = size, ttl_s
        self._keys: dict[str, tuple[float, Any]] = {}

    def public_key(self, url: str, now: float) -> Any:
        from cryptography import x509

        hit = self._keys.get(url)
        if hit is not None and now - hit[0] < self.ttl_s:
            return hit[1]
        try:
            cert = x509.load_pem_x509_certificate(self.fetch(url))
        except SignatureError:
            raise
        except Exception as exc:
            raise SignatureError(f"the SNS signing certificate could not be loaded "
                                 f"({type(exc).__name__})") from None
        if not cert.not_valid_before_utc.timestamp() <= now <= cert.not_valid_after_utc.timestamp():
            raise SignatureError("the SNS signing certificate is not valid now")
        if len(self._keys) >= self.size:
            self._keys.pop(next(iter(self._keys)))
        self._keys[url] = (now, cert.public_key())
        return cert.public_key()

    def clear(self) -> None:
        self._keys.clear()


def _fetch_sns_certificate(url: str) -> bytes:
    """GET the certificate through an IntegrationClient: the app's outbound policy, timeouts,
    no credentials, no redirects to elsewhere."""
    from atom.integrations.errors import IntegrationError
    from atom.integrations.http import ClientSettings
    from atom.integrations.http import IntegrationClient
    from atom.integrations.outbound import OutboundPolicy

    try:
        from atom.state import get_state

        policy = get_state().outbound
    except RuntimeError:  # outside the app (a tool): the strict default policy
        policy = OutboundPolicy()
    client = IntegrationClient(integration="aws", policy=policy, settings=ClientSettings(
        base_url=url, connect_timeout=5.0, read_timeout=10.0, max_attempts=2, max_total=20.0,
        idempotency_header=None))
    try:
        response = client.get(url, operation="sns signing certificate")
    except IntegrationError as exc:
        raise SignatureError(f"the SNS signing certificate could not be fetched: "
                             f"{exc.message[:200]}") from None
    finally:
        client.close()
    if len(response.content) > 16_384:
        raise SignatureError("the SNS signing certificate is implausibly large")
    return response.content


sns_certificates = SnsCertificates()


def sns_topic_allowed(topic_arn: str, allowed: str) -> bool:
    """Whether ``topic_arn`` is one of ``allowed`` (ARNs, or ``arn:...:<account>:*``)."""
    for entry in re.split(r"[\s,]+", allowed):
        if entry == topic_arn or (entry.endswith(":*") and topic_arn.startswith(entry[:-1])
                                  and ":" not in topic_arn[len(entry) - 1:]):
            return True
    return False


@scheme("aws_sns")
def verify_aws_sns(req: WebhookRequest, secret: str, tolerance: float, now: float) -> str:
    """An SNS message signed with SignatureVersion 1 (SHA1withRSA) or 2 (SHA256withRSA) by the
    certificate at its https://sns.<region>.amazonaws.com SigningCertURL, from an accepted
    topic, published within the tolerance window."""
    import json
    from datetime import datetime
    from urllib.parse import urlsplit

    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import padding
    from cryptography.hazmat.primitives.asymmetric.rsa import RSAPublicKey

    try:
        message = json.loads(req.body)
    except ValueError:
        raise SignatureError("the body is not JSON") from None
    if not isinstance(message, dict) or not all(
            v is None or isinstance(v, str) for k, v in message.items()
            if k != "MessageAttributes"):
        raise SignatureError("not an SNS message")
    names = _SNS_FIELDS.get(message.get("Type", ""))
    if names is None:
        raise SignatureError("not an SNS message type")
    header = req.headers.get("x-amz-sns-message-type")
    if header is not None and header != message["Type"]:
        raise SignatureError("x-amz-sns-message-type disagrees with the message")
    arn = _SNS_ARN.match(message.get("TopicArn") or "")
    if arn is None:
        raise SignatureError("the message has no TopicArn")
    if not sns_topic_allowed(message["TopicArn"], secret):
        raise SignatureError("the message is from a topic this connection does not accept")
    cert_url = urlsplit(message.get("SigningCertURL") or "")
    host = _SNS_CERT_HOST.match(cert_url.hostname or "") if cert_url.scheme == "https" else None
    if (host is None or cert_url.port not in (None, 443) or cert_url.username
            or cert_url.password or not cert_url.path.endswith(".pem") or cert_url.query
            or cert_url.fragment):
        raise SignatureError("SigningCertURL is not an https://sns.<region>.amazonaws.com "
                             "certificate")
    if host.group(1) != arn.group(1):
        raise SignatureError("SigningCertURL is in another region than the topic")
    stamp = message.get("Timestamp") or ""
    try:
        published = datetime.fromisoformat(stamp.replace("Z", "+00:00"))
    except ValueError:
        raise SignatureError("malformed Timestamp") from None
    if published.tzinfo is None or abs(now - published.timestamp()) > tolerance:
        raise SignatureError("Timestamp outside the tolerance window (replay?)")
    digest = {"1": hashes.SHA1(), "2": hashes.SHA256()}.get(message.get("SignatureVersion") or "")
    if digest is None:
        raise SignatureError("unknown SignatureVersion (1 or 2)")
    try:
        signature = base64.b64decode(message.get("Signature") or "", validate=True)
    except ValueError:
        raise SignatureError("malformed Signature: not base64") from None
    missing = [n for n in names if message.get(n) is None and n != "Subject"]
    if missing:
        raise SignatureError(f"the message lacks {', '.join(missing)}")
    canonical = "".join(f"{n}\n{message[n]}\n" for n in names
                        if message.get(n) is not None).encode()
    key = sns_certificates.public_key(message["SigningCertURL"], now)
    if not isinstance(key, RSAPublicKey):
        raise SignatureError("the SNS signing certificate has no RSA key")
    try:
        key.verify(signature, canonical, padding.PKCS1v15(), digest)
    except InvalidSignature:
        raise SignatureError("signature mismatch") from None
    return message["Signature"]

# -- box ---------------------------------------------------------------------------------------
# https://developer.box.com/guides/webhooks/v2/signatures-v2/ : BOX-SIGNATURE-PRIMARY and
# BOX-SIGNATURE-SECONDARY = base64(HMAC-SHA256(key, raw body bytes + BOX-DELIVERY-TIMESTAMP
# bytes)), one per signature key of the app; a delivery is trusted when either matches (so one
# key can be rotated at a time), and refused when the RFC 3339 timestamp is more than ten
# minutes old (here: the receiver's window when shorter, which its replay bookkeeping covers).
# The secret holds the primary key, then on a second line the secondary key (either may be
# empty: plugins.box joins the connection's two keys). BOX-SIGNATURE-VERSION is always 1 and
# BOX-SIGNATURE-ALGORITHM always HmacSHA256 (https://developer.box.com/guides/webhooks/v2/);
# other values are refused.
_BOX_WINDOW_S = 600.0


def _box_time(stamp: str) -> float:
    from datetime import datetime

    if not re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:.]{8,18}(?:Z|[+-][0-9]{2}:[0-9]{2})",
                        stamp, re.ASCII):
        raise SignatureError("malformed BOX-DELIVERY-TIMESTAMP: not an RFC 3339 date-time")
    try:
        return datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp()
    except ValueError as exc:
        raise SignatureError("malformed BOX-DELIVERY-TIMESTAMP") from exc


@scheme("box_v2")
def verify_box(req: WebhookRequest, secret: str, tolerance: float, now: float) -> str:
    """Either ``BOX-SIGNATURE-PRIMARY`` (primary key) or ``BOX-SIGNATURE-SECONDARY``
    (secondary key) = base64 HMAC-SHA256 of body + ``BOX-DELIVERY-TIMESTAMP``."""
    stamp = require(req.headers, "BOX-DELIVERY-TIMESTAMP").strip()
    if req.headers.get("BOX-SIGNATURE-VERSION", "1").strip() != "1" or \
            req.headers.get("BOX-SIGNATURE-ALGORITHM", "HmacSHA256").strip() != "HmacSHA256":
        raise SignatureError("unknown BOX-SIGNATURE-VERSION or BOX-SIGNATURE-ALGORITHM")
    if abs(now - _box_time(stamp)) > min(tolerance, _BOX_WINDOW_S):
        raise SignatureError("timestamp outside the tolerance window (replay?)")
    primary, _, secondary = secret.partition("\n")
    keys = [(k.strip(), h) for k, h in ((primary, "BOX-SIGNATURE-PRIMARY"),
                                        (secondary, "BOX-SIGNATURE-SECONDARY")) if k.strip()]
    if not keys:
        raise SignatureError("the connection has no Box signature key")
    message = req.body + stamp.encode()
    sent = {h: (req.headers.get(h) or "").strip()
            for h in ("BOX-SIGNATURE-PRIMARY", "BOX-SIGNATURE-SECONDARY")}
    if not any(sent.values()):
        raise SignatureError("missing BOX-SIGNATURE-PRIMARY header")
    matched = False
    for key, header in keys:
        matched |= bool(sent[header]) and hmac.compare_digest(
            hmac_b64(key, message).encode(), sent[header].encode())
    if not matched:
        raise SignatureError("signature mismatch")
    # The replay digest's basis: the signature under the first configured key, whichever
    # header matched, so a replay that drops one header is still the same delivery.
    return hmac_b64(keys[0][0], message)

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
