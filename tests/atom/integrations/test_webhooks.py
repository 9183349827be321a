"""Webhook signature schemes: every scheme in ``SCHEMES`` accepts a valid delivery and rejects
tampered bodies, wrong secrets, missing headers and (where signed) stale or non-finite
timestamps; schemes that sign a timestamp return a replay digest."""
from __future__ import annotations

import base64
import hashlib
import hmac
from pathlib import Path

import pytest

from atom.integrations.webhooks import SCHEMES
from atom.integrations.webhooks import SignatureError
from atom.integrations.webhooks import WebhookRequest
from atom.integrations.webhooks import sign_atom
from atom.integrations.webhooks import sign_hub
from atom.integrations.webhooks import verify as _verify

SECRET = "whsec-0123456789abcdef"
NOW = 1_700_000_000.0
URL = "https://atom.example.com/hooks/x/1"
BODY = b'{"event":"created","id":42}'


def _stamp(ts: float | str, unit: int = 1) -> str:
    """A signer's timestamp: a number of seconds, or a header value used verbatim."""
    return ts if isinstance(ts, str) else str(int(ts * unit))


def _slack(body: bytes, secret: str, ts: float | str) -> dict[str, str]:
    stamp = _stamp(ts)
    base = b"v0:" + stamp.encode() + b":" + body
    sig = hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()
    return {"X-Slack-Request-Timestamp": stamp, "X-Slack-Signature": "v0=" + sig}


def _hubspot(body: bytes, secret: str, ts: float | str) -> dict[str, str]:
    stamp = _stamp(ts, 1000)
    message = b"POST" + URL.encode() + body + stamp.encode()
    sig = base64.b64encode(hmac.new(secret.encode(), message, hashlib.sha256).digest()).decode()
    return {"X-HubSpot-Request-Timestamp": stamp, "X-HubSpot-Signature-v3": sig}


def _atom(body: bytes, secret: str, ts: float | str) -> dict[str, str]:
    """The documented formula, written out: X-Signature-256 = sha256=hex(HMAC(secret, "ts.body"))."""
    stamp = _stamp(ts)
    sig = hmac.new(secret.encode(), stamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    return {"X-Atom-Timestamp": stamp, "X-Signature-256": "sha256=" + sig}


def _discord_key(secret: str):
    """Discord signs with the application's Ed25519 key and ATOM holds only the public half:
    the test derives the key pair from the test secret (see VERIFY_WITH)."""
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    return Ed25519PrivateKey.from_private_bytes(hashlib.sha256(secret.encode()).digest())


def _discord(body: bytes, secret: str, ts: float | str) -> dict[str, str]:
    """Discord's reference: X-Signature-Ed25519 = hex(Ed25519 signature of timestamp + body)."""
    stamp = _stamp(ts)
    return {"X-Signature-Timestamp": stamp,
            "X-Signature-Ed25519": _discord_key(secret).sign(stamp.encode() + body).hex()}


def _public_hex(secret: str) -> str:
    from cryptography.hazmat.primitives.serialization import Encoding
    from cryptography.hazmat.primitives.serialization import PublicFormat

    return _discord_key(secret).public_key().public_bytes(Encoding.Raw, PublicFormat.Raw).hex()


def _hub(header: str):
    def sign(body: bytes, secret: str, ts: float | str) -> dict[str, str]:
        return {header: sign_hub(secret, body)}
    return sign


def _google_channel(body: bytes, secret: str, ts: float | str) -> dict[str, str]:
    """Google push channels send the channel's token back as it was given (no signature)."""
    return {"X-Goog-Channel-Token": secret}


def _asana(body: bytes, secret: str, ts: float | str) -> dict[str, str]:
    return {"X-Hook-Signature": hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()}


def _trello(body: bytes, secret: str, ts: float | str) -> dict[str, str]:
    digest = hmac.new(secret.encode(), body + URL.encode(), hashlib.sha1).digest()
    return {"X-Trello-Webhook": base64.b64encode(digest).decode()}


def _notion(body: bytes, secret: str, ts: float | str) -> dict[str, str]:
    digest = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return {"X-Notion-Signature": "sha256=" + digest}


def _gitlab(body: bytes, secret: str, ts: float | str) -> dict[str, str]:
    return {"X-Gitlab-Token": secret}  # GitLab sends the token itself and signs no body


def _webex(body: bytes, secret: str, ts: float | str) -> dict[str, str]:
    return {"X-Spark-Signature": hmac.new(secret.encode(), body, hashlib.sha1).hexdigest()}


def _dropbox(body: bytes, secret: str, ts: float | str) -> dict[str, str]:
    """Dropbox's webhook reference: X-Dropbox-Signature = hex(HMAC-SHA256(app secret, body))."""
    return {"X-Dropbox-Signature": hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()}


# Schemes whose whole signature is in headers over the body; the others (a JWT that signs no
# body, a timestamp inside the body, a key pair) are tested with their vendor's own vectors in
# tests/plugins/<vendor>/test_webhooks*.py, which test_every_scheme_is_tested checks.
SIGNERS = {
    "slack_v0": _slack,
    "github_sha256": _hub("X-Hub-Signature-256"),
    "jira_sha256": _hub("X-Hub-Signature"),
    "hubspot_v3": _hubspot,
    "hmac_sha256": _atom,
    "asana_sha256": _asana,
    "trello_sha1": _trello,
    "notion_sha256": _notion,
    "gitlab_token": _gitlab,
    "webex_sha1": _webex,
    "discord_ed25519": _discord,
    "google_channel_token": _google_channel,
    "dropbox_sha256": _dropbox,
}
# Asymmetric schemes verify with the public half of the signer's key, not the secret itself.
VERIFY_WITH = {"discord_ed25519": _public_hex}
# Shared-token schemes: the vendor proves itself with the secret, not with a signature of the
# body, so a tampered body cannot be detected (TLS is what protects it).
TOKEN_ONLY = {"gitlab_token", "google_channel_token"}
PLUGIN_TESTS = Path(__file__).resolve().parents[2] / "plugins"
TIMESTAMPED = {"slack_v0": "X-Slack-Request-Timestamp", "hubspot_v3": "X-HubSpot-Request-Timestamp",
               "hmac_sha256": "X-Atom-Timestamp", "discord_ed25519": "X-Signature-Timestamp"}
MALFORMED = ["nan", "NaN", "inf", "-inf", "Infinity", "1e999", "1e3", "", " ", "12abc",
              "0x65", "1_700_000_000", "١٧٠٠٠٠٠٠٠٠", " 1700000000", "-1700000000"]


def verify(scheme: str, req: WebhookRequest, secret: str | None, **kw):
    """``webhooks.verify``, given what the scheme verifies with (the public key of an
    asymmetric one)."""
    if secret and scheme in VERIFY_WITH:
        secret = VERIFY_WITH[scheme](secret)
    return _verify(scheme, req, secret, **kw)


def _req(headers: dict[str, str], body: bytes = BODY) -> WebhookRequest:
    return WebhookRequest("POST", URL, headers, body)


def test_every_scheme_is_tested():
    """Every registered scheme runs through this battery or its vendor's webhook tests."""
    vendor_tests = "\n".join(p.read_text() for p in PLUGIN_TESTS.glob("*/test_webhooks*.py"))
    untested = [s for s in SCHEMES if s not in SIGNERS and f'"{s}"' not in vendor_tests]
    assert not untested, f"schemes without tests: {untested}"
    assert set(SIGNERS) <= set(SCHEMES)


@pytest.mark.parametrize("scheme", sorted(SIGNERS))
def test_valid_delivery_is_accepted(scheme):
    verify(scheme, _req(SIGNERS[scheme](BODY, SECRET, NOW)), SECRET, now=NOW)


@pytest.mark.parametrize("scheme", sorted(set(SIGNERS) - TOKEN_ONLY))
def test_tampered_body_is_rejected(scheme):
    headers = SIGNERS[scheme](BODY, SECRET, NOW)
    with pytest.raises(SignatureError):
        verify(scheme, _req(headers, BODY.replace(b"42", b"43")), SECRET, now=NOW)


@pytest.mark.parametrize("scheme", sorted(SIGNERS))
def test_wrong_secret_is_rejected(scheme):
    headers = SIGNERS[scheme](BODY, "another-secret", NOW)
    with pytest.raises(SignatureError):
        verify(scheme, _req(headers), SECRET, now=NOW)


@pytest.mark.parametrize("scheme", sorted(SIGNERS))
def test_missing_header_is_rejected(scheme):
    headers = SIGNERS[scheme](BODY, SECRET, NOW)
    for name in headers:
        partial = {k: v for k, v in headers.items() if k != name}
        with pytest.raises(SignatureError):
            verify(scheme, _req(partial), SECRET, now=NOW)
    with pytest.raises(SignatureError):
        verify(scheme, _req({}), SECRET, now=NOW)


@pytest.mark.parametrize("scheme", sorted(SIGNERS))
def test_no_configured_secret_is_rejected(scheme):
    headers = SIGNERS[scheme](BODY, SECRET, NOW)
    for secret in (None, ""):
        with pytest.raises(SignatureError):
            verify(scheme, _req(headers), secret, now=NOW)


@pytest.mark.parametrize("scheme", sorted(TIMESTAMPED))
@pytest.mark.parametrize("age", [301, -301, 3600, -3600])
def test_stale_or_future_timestamp_is_rejected_even_when_correctly_signed(scheme, age):
    headers = SIGNERS[scheme](BODY, SECRET, NOW - age)
    with pytest.raises(SignatureError, match="tolerance"):
        verify(scheme, _req(headers), SECRET, tolerance=300, now=NOW)


@pytest.mark.parametrize("scheme", sorted(TIMESTAMPED))
@pytest.mark.parametrize("age", [299, -299, 0])
def test_timestamp_within_tolerance_is_accepted(scheme, age):
    verify(scheme, _req(SIGNERS[scheme](BODY, SECRET, NOW - age)), SECRET, tolerance=300, now=NOW)


@pytest.mark.parametrize("scheme", sorted(TIMESTAMPED))
def test_replayed_signature_with_a_fresh_timestamp_is_rejected(scheme):
    header = TIMESTAMPED[scheme]
    headers = SIGNERS[scheme](BODY, SECRET, NOW - 3600)
    headers[header] = SIGNERS[scheme](BODY, SECRET, NOW)[header]  # only the timestamp moved
    with pytest.raises(SignatureError, match="mismatch"):
        verify(scheme, _req(headers), SECRET, now=NOW)


@pytest.mark.parametrize("scheme", sorted(TIMESTAMPED))
@pytest.mark.parametrize("stamp", MALFORMED)
def test_a_timestamp_that_is_not_a_finite_number_is_rejected_even_when_signed(scheme, stamp):
    """The signature is correct over the odd timestamp: only the timestamp check can refuse it
    (``float("nan")`` compares false with everything, so a naive window check lets it pass)."""
    with pytest.raises(SignatureError):
        verify(scheme, _req(SIGNERS[scheme](BODY, SECRET, stamp)), SECRET, now=NOW)


def test_the_generic_scheme_signs_the_timestamp_with_the_body():
    ts = str(int(NOW))
    old_style = {"X-Atom-Timestamp": ts, "X-Signature-256": sign_hub(SECRET, BODY)}
    with pytest.raises(SignatureError, match="mismatch"):
        verify("hmac_sha256", _req(old_style), SECRET, now=NOW)
    with pytest.raises(SignatureError, match="X-Atom-Timestamp"):
        verify("hmac_sha256", _req({"X-Signature-256": sign_hub(SECRET, BODY)}), SECRET, now=NOW)
    assert sign_atom(SECRET, BODY, int(NOW)) == _atom(BODY, SECRET, NOW)


def test_sign_atom_uses_the_current_time_by_default():
    import time

    headers = sign_atom(SECRET, BODY)
    assert abs(int(headers["X-Atom-Timestamp"]) - time.time()) < 5
    verify("hmac_sha256", _req(headers), SECRET)


@pytest.mark.parametrize("scheme", sorted(TIMESTAMPED))
def test_a_timestamped_scheme_returns_a_replay_digest_of_the_signature(scheme):
    first = verify(scheme, _req(SIGNERS[scheme](BODY, SECRET, NOW)), SECRET, now=NOW)
    again = verify(scheme, _req(SIGNERS[scheme](BODY, SECRET, NOW)), SECRET, now=NOW + 10)
    later = verify(scheme, _req(SIGNERS[scheme](BODY, SECRET, NOW + 1)), SECRET, now=NOW + 1)
    assert isinstance(first, str) and len(first) == 64 and int(first, 16) >= 0
    assert first == again  # the same signed delivery, whatever else the headers say
    assert later != first  # a new timestamp is a new delivery
    for header, value in SIGNERS[scheme](BODY, SECRET, NOW).items():
        assert value not in first and first != hashlib.sha256(BODY).hexdigest()


@pytest.mark.parametrize("scheme", sorted(set(SIGNERS) - set(TIMESTAMPED)))
def test_a_scheme_without_a_timestamp_returns_no_digest(scheme):
    """GitHub, Jira and the others without a signed timestamp: their deliveries are
    de-duplicated by delivery id."""
    assert verify(scheme, _req(SIGNERS[scheme](BODY, SECRET, NOW)), SECRET, now=NOW) is None


def test_hubspot_signs_the_url():
    headers = _hubspot(BODY, SECRET, NOW)
    with pytest.raises(SignatureError):
        verify("hubspot_v3", WebhookRequest("POST", URL + "?x=1", headers, BODY), SECRET, now=NOW)


def test_verify_uses_the_current_time_by_default():
    import time

    verify("slack_v0", _req(_slack(BODY, SECRET, time.time())), SECRET)
    with pytest.raises(SignatureError):
        verify("slack_v0", _req(_slack(BODY, SECRET, NOW)), SECRET)  # 2023: long stale
