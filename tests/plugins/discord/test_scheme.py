"""The ``discord_ed25519`` scheme on its own, with vectors signed here as Discord's reference
describes (the hex Ed25519 signature of timestamp + raw body, by the application's key)."""
from __future__ import annotations

import hashlib

import pytest

from atom.integrations.webhooks import SignatureError
from atom.integrations.webhooks import WebhookRequest
from atom.integrations.webhooks import verify
from tests.plugins.discord.conftest import APP_KEY
from tests.plugins.discord.conftest import PUBLIC_KEY

NOW = 1_720_000_000.0
BODY = b'{"type":1,"id":"846462639134605311","application_id":"290926444748734465"}'


def request(body: bytes = BODY, ts: str = str(int(NOW)), signature: str | None = None):
    signature = signature or APP_KEY.sign(ts.encode() + body).hex()
    return WebhookRequest("POST", "https://atom.example/hooks/discord/1",
                          {"X-Signature-Ed25519": signature, "X-Signature-Timestamp": ts}, body)


def test_a_signed_delivery_yields_the_digest_of_its_signature():
    req = request()
    digest = verify("discord_ed25519", req, PUBLIC_KEY, tolerance=300, now=NOW)
    expected = bytes.fromhex(req.headers["X-Signature-Ed25519"]).hex()
    assert digest == hashlib.sha256(expected.encode()).hexdigest()


def test_the_public_key_may_be_pasted_in_upper_case():
    assert verify("discord_ed25519", request(), PUBLIC_KEY.upper(), tolerance=300, now=NOW)


@pytest.mark.parametrize("offset", [-301, 301])
def test_a_timestamp_outside_the_window_is_refused(offset):
    ts = str(int(NOW) + offset)
    with pytest.raises(SignatureError, match="tolerance"):
        verify("discord_ed25519", request(ts=ts), PUBLIC_KEY, tolerance=300, now=NOW)


def test_the_edges_of_the_window_are_accepted():
    for offset in (-300, 300):
        ts = str(int(NOW) + offset)
        assert verify("discord_ed25519", request(ts=ts), PUBLIC_KEY, tolerance=300, now=NOW)


@pytest.mark.parametrize("secret", ["", "abc", "zz" * 32, PUBLIC_KEY + "00"],
                         ids=["empty", "short", "not-hex", "too-long"])
def test_a_secret_that_is_not_a_public_key_is_refused(secret):
    with pytest.raises(SignatureError):
        verify("discord_ed25519", request(), secret, tolerance=300, now=NOW)


def test_a_signature_over_another_body_is_refused():
    other = APP_KEY.sign(str(int(NOW)).encode() + b"{}").hex()
    with pytest.raises(SignatureError, match="mismatch"):
        verify("discord_ed25519", request(signature=other), PUBLIC_KEY, tolerance=300, now=NOW)
