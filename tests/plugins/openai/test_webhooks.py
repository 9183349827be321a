"""OpenAI project webhooks at ``/hooks/openai/<id>``: Standard Webhooks signatures (the spec's
published vector), one event per delivery, wrong/missing/stale signatures refused, replays
answered as duplicates."""
from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time

import pytest

from atom.integrations.webhooks import SignatureError
from atom.integrations.webhooks import WebhookRequest
from atom.integrations.webhooks import verify
from plugins.openai import samples
from tests.plugins.openai.conftest import WEBHOOK_SECRET


def signed(body: bytes, secret: str = WEBHOOK_SECRET, ts: int | None = None,
           msg_id: str = "msg_2KWPBgLlAfxdpx2AI54pPJ85f4W") -> dict[str, str]:
    stamp = str(int(time.time()) if ts is None else ts)
    key = base64.b64decode(secret.removeprefix("whsec_"))
    sig = base64.b64encode(hmac.new(key, f"{msg_id}.{stamp}.".encode() + body,
                                    hashlib.sha256).digest()).decode()
    return {"webhook-id": msg_id, "webhook-timestamp": stamp, "webhook-signature": f"v1,{sig}",
            "Content-Type": "application/json"}


def test_the_published_standard_webhooks_vector():
    """standard-webhooks/standard-webhooks spec, "Verifying webhook authenticity" example."""
    req = WebhookRequest("POST", "https://x/hooks/openai/1", {
        "webhook-id": "msg_p5jXN8AQM9LWM0D4loKWxJek", "webhook-timestamp": "1614265330",
        "webhook-signature": "v1,bm9ldHUjKzFob2VudXRob2VodWUzMjRvdWVvdW9ldQo= "
                             "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="},
        b'{"test": 2432232314}')
    assert verify("standard_webhooks", req, WEBHOOK_SECRET, now=1614265330)  # rotation: 2nd
    with pytest.raises(SignatureError, match="tolerance"):
        verify("standard_webhooks", req, WEBHOOK_SECRET, now=1614265330 + 301)
    with pytest.raises(SignatureError, match="mismatch"):
        verify("standard_webhooks", req, "whsec_" + base64.b64encode(b"x" * 24).decode(),
               now=1614265330)


@pytest.fixture
def conn(openai_connection):
    return openai_connection(webhook_secret=WEBHOOK_SECRET)


def test_a_signed_delivery_is_stored_once(client, conn):
    raw = json.dumps(samples.RESPONSE_COMPLETED).encode()
    headers = signed(raw)
    r = client.post(f"/hooks/openai/{conn['id']}", data=raw, headers=headers)
    assert r.status_code == 200 and r.get_json()["accepted"] == 1
    again = client.post(f"/hooks/openai/{conn['id']}", data=raw, headers=headers)
    assert again.status_code == 200 and again.get_json()["accepted"] == 0


@pytest.mark.parametrize("sample, accepted", [(samples.RESPONSE_FAILED, 1),
                                              (samples.BATCH_COMPLETED, 1),
                                              ({**samples.BATCH_COMPLETED, "id": "evt_2",
                                                "type": "fine_tuning.job.succeeded"}, 0)])
def test_each_event_type_goes_to_its_trigger(client, conn, sample, accepted):
    raw = json.dumps(sample).encode()
    r = client.post(f"/hooks/openai/{conn['id']}", data=raw, headers=signed(raw))
    assert r.get_json()["accepted"] == accepted


@pytest.mark.parametrize("change", ["secret", "body", "stale", "missing"])
def test_bad_signatures_are_refused(client, conn, change):
    raw = json.dumps(samples.RESPONSE_COMPLETED).encode()
    headers = signed(raw)
    if change == "secret":
        headers = signed(raw, "whsec_" + base64.b64encode(b"another-key-0123").decode())
    elif change == "body":
        raw = raw.replace(b"resp_abc123", b"resp_evil00")
    elif change == "stale":
        headers = signed(raw, ts=int(time.time()) - 3600)
    else:
        del headers["webhook-signature"]
    assert client.post(f"/hooks/openai/{conn['id']}", data=raw, headers=headers).status_code == 401
