"""Trello signs the callback URL: behind a reverse proxy (PROXY_FIX_HOPS), the URL the
signature is checked against is the public one the proxy forwards, not ATOM's own."""
from __future__ import annotations

import json

import pytest

from plugins.trello import samples
from tests.plugins.trello.test_webhooks import signature

PUBLIC = "https://atom.example.com"


@pytest.fixture
def app(app_factory, monkeypatch, tmp_path):
    monkeypatch.setenv("ATOM_INSTANCE_PATH", str(tmp_path / "instance"))
    return app_factory(PROXY_FIX_HOPS=1)


def forwarded(**extra: str) -> dict[str, str]:
    return {"X-Forwarded-Proto": "https", "X-Forwarded-Host": "atom.example.com",
            "X-Forwarded-For": "18.234.32.224", **extra}


def test_the_public_callback_url_verifies_behind_the_proxy(client, trello_connection):
    conn = trello_connection()
    raw = json.dumps(samples.CARD_CREATED).encode()
    public_url = f"{PUBLIC}/hooks/trello/{conn['id']}"
    r = client.post(f"/hooks/trello/{conn['id']}", data=raw,
                    headers=forwarded(**{"X-Trello-Webhook": signature(raw, public_url)}))
    assert r.status_code == 200, r.get_json()
    # Signed for the internal URL, it does not verify: Trello never saw that one.
    internal = signature(raw, f"http://localhost/hooks/trello/{conn['id']}")
    r = client.post(f"/hooks/trello/{conn['id']}", data=raw,
                    headers=forwarded(**{"X-Trello-Webhook": internal}))
    assert r.status_code == 401


def test_register_webhook_registers_the_public_url(client, keys, trello_connection):
    import responses

    conn = trello_connection()
    with responses.RequestsMock() as rsps:
        seen: list[str] = []

        def answer(request):
            seen.append(request.url)
            return 200, {}, json.dumps({"id": "58dd6dcaf8b86744d3cb4cde",
                                        "idModel": "4d5ea62fd76aa1136000000c",
                                        "callbackURL": "x", "active": True})

        rsps.add_callback("POST", "https://api.trello.com/1/webhooks/", callback=answer)
        r = client.post(f"/api/v2/connections/{conn['id']}/actions/register_webhook",
                        headers={**keys["editor"], **forwarded()},
                        json={"model_id": "4d5ea62fd76aa1136000000c"})
    assert r.status_code == 200, r.get_json()
    assert "callbackURL=https%3A%2F%2Fatom.example.com%2Fhooks%2Ftrello%2F" in seen[0]
