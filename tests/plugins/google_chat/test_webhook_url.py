"""The incoming webhook URL mode: a connection with only a webhook URL posts messages to its
space with the URL's key and token, sends no Authorization, can do nothing else, and never
shows or leaks the URL's secrets."""
from __future__ import annotations

import json
from urllib.parse import parse_qs
from urllib.parse import urlsplit

import pytest

from atom.extensions import db
from atom.models import Connection
from atom.state import get_state
from tests.plugins.google_chat.conftest import ACCESS_TOKEN
from tests.plugins.google_chat.conftest import CHAT
from tests.plugins.google_chat.conftest import SPACE
from tests.plugins.google_chat.conftest import WEBHOOK_KEY
from tests.plugins.google_chat.conftest import WEBHOOK_TOKEN
from tests.plugins.google_chat.conftest import WEBHOOK_URL
from tests.plugins.google_chat.conftest import recorded

MESSAGES = f"{CHAT}/v1/{SPACE}/messages"


def test_a_message_is_posted_to_the_webhook_url_without_oauth(fake_chat, webhook_connection,
                                                              run_action):
    seen = []

    def chat(request):  # what went out, before the response is redacted
        seen.append((request.url, dict(request.headers), json.loads(request.body)))
        return 200, {"Content-Type": "application/json"}, json.dumps(recorded("message_created"))

    fake_chat.add_callback("POST", MESSAGES, chat)
    r = run_action(webhook_connection(), "send_message",
                   {"text": "Deploy 42 is live :rocket:", "thread_key": "deploy-42"})

    assert r.status_code == 200, r.get_json()
    assert r.get_json()["output"]["name"] == f"{SPACE}/messages/BBBBx1.BBBBx1"
    ((url, headers, body),) = seen
    assert "Authorization" not in headers
    assert url.startswith(WEBHOOK_URL + "&")  # the URL as it is, then the call's parameters
    query = {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}
    assert (query.pop("key"), query.pop("token")) == (WEBHOOK_KEY, WEBHOOK_TOKEN)
    assert len(query.pop("requestId")) == 32
    assert query == {"messageReplyOption": "REPLY_MESSAGE_FALLBACK_TO_NEW_THREAD"}
    assert body == {"text": "Deploy 42 is live :rocket:", "thread": {"threadKey": "deploy-42"}}
    # Nothing kept of the exchange holds the URL's secrets.
    assert WEBHOOK_TOKEN not in fake_chat.calls[0].request.url


def test_the_webhooks_own_space_may_be_named(fake_chat, webhook_connection, run_action):
    fake_chat.post(MESSAGES, json=recorded("message_created"))
    r = run_action(webhook_connection(), "send_message", {"space": SPACE, "text": "hi"})
    assert r.status_code == 200


def test_another_space_is_refused(fake_chat, webhook_connection, run_action):
    r = run_action(webhook_connection(), "send_message",
                   {"space": "spaces/AAAAz9Yx8wV", "text": "hi"})
    assert r.status_code == 422
    assert r.get_json()["errors"] == {"space": [f"the webhook's space is {SPACE}"]}
    assert len(fake_chat.calls) == 0


@pytest.mark.parametrize("action, body", [
    ("list_spaces", {}),
    ("list_messages", {"space": SPACE}),
    ("get_message", {"name": f"{SPACE}/messages/BBBBx1.BBBBx1"}),
    ("update_message", {"name": f"{SPACE}/messages/BBBBx1.BBBBx1", "text": "x"}),
])
def test_a_webhook_connection_can_only_send(fake_chat, webhook_connection, run_action, action,
                                            body):
    r = run_action(webhook_connection(), action, body)
    assert r.status_code == 422
    assert "connection" in r.get_json()["errors"]
    assert len(fake_chat.calls) == 0


def test_the_health_check_makes_no_request(fake_chat, webhook_connection, check_connection):
    result = check_connection(webhook_connection()).get_json()
    assert result["ok"] is True, result
    assert len(fake_chat.calls) == 0


def test_a_url_on_another_host_is_never_called(fake_chat, webhook_connection, run_action,
                                               check_connection):
    evil = f"https://chat.googleapis.com.evil.example/v1/{SPACE}/messages?key=k1&token=t1"
    conn = webhook_connection(url=evil)
    r = run_action(conn, "send_message", {"text": "hi"})
    assert r.status_code == 422
    assert list(r.get_json()["errors"]) == ["webhook_url"]
    assert check_connection(conn).get_json()["error_class"] == "validation"
    assert len(fake_chat.calls) == 0


def test_a_base_url_override_moves_the_allowed_host(fake_chat, webhook_connection, run_action):
    proxy = "https://chat-proxy.internal.example"
    fake_chat.post(f"{proxy}/v1/{SPACE}/messages", json=recorded("message_created"))
    conn = webhook_connection({"base_url": proxy},
                              url=f"{proxy}/v1/{SPACE}/messages?key=k1&token=t1")
    assert run_action(conn, "send_message", {"text": "hi"}).status_code == 200
    refused = webhook_connection({"base_url": proxy})  # the URL still on chat.googleapis.com
    assert run_action(refused, "send_message", {"text": "hi"}).status_code == 422


@pytest.mark.parametrize("url", [
    f"{CHAT}/v1/{SPACE}/messages?key={WEBHOOK_KEY}",
    f"{CHAT}/v1/{SPACE}/messages?token={WEBHOOK_TOKEN}",
    f"{CHAT}/v1/{SPACE}/messages?key=&token={WEBHOOK_TOKEN}",
    f"{CHAT}/v1/{SPACE}/messages?key=a&key=b&token={WEBHOOK_TOKEN}",
    f"{CHAT}/v1/{SPACE}/members?key={WEBHOOK_KEY}&token={WEBHOOK_TOKEN}",
    f"{CHAT}/v1/spaces/../users/messages?key={WEBHOOK_KEY}&token={WEBHOOK_TOKEN}",
    f"{WEBHOOK_URL}#frag",
    f"https://user:pw@chat.googleapis.com/v1/{SPACE}/messages?key=k&token=t",
    f"ftp://chat.googleapis.com/v1/{SPACE}/messages?key=k&token=t",
    "not a url",
])
def test_what_is_not_an_incoming_webhook_url_is_refused(client, keys, url):
    r = client.post("/api/v2/connections", headers=keys["editor"], json={
        "integration": "google_chat", "label": "bad url", "credentials": {"webhook_url": url}})
    assert r.status_code == 422
    assert "webhook_url" in r.get_json()["errors"]["credentials"]


def test_the_url_is_masked_and_its_secrets_never_shown(client, keys, webhook_connection):
    conn = webhook_connection()
    shown = json.dumps(conn) + json.dumps(
        client.get(f"/api/v2/connections/{conn['id']}", headers=keys["viewer"]).get_json())
    assert WEBHOOK_TOKEN not in shown and WEBHOOK_KEY not in shown


def test_an_error_never_carries_the_urls_secrets(fake_chat, webhook_connection, run_action):
    fake_chat.post(MESSAGES, status=400, json={"error": {
        "code": 400, "status": "INVALID_ARGUMENT",
        "message": f"Invalid webhook request to {WEBHOOK_URL}"}})
    r = run_action(webhook_connection(), "send_message", {"text": "hi"})
    body = json.dumps(r.get_json())
    assert r.status_code == 422
    assert WEBHOOK_TOKEN not in body and WEBHOOK_KEY not in body
    assert "[REDACTED]" in body


def test_a_wrong_webhook_token_is_an_auth_error(fake_chat, webhook_connection, run_action):
    fake_chat.post(MESSAGES, status=403, json=recorded("permission_denied"))
    r = run_action(webhook_connection(), "send_message", {"text": "hi"})
    assert r.get_json()["code"] == "auth"
    assert WEBHOOK_TOKEN not in r.get_json()["message"]


def test_with_oauth_tokens_too_the_api_is_used(fake_chat, create_connection, run_action):
    fake_chat.get(f"{CHAT}/v1/spaces", json=recorded("spaces_page2"))
    conn = create_connection("google_chat", {}, {"access_token": ACCESS_TOKEN,
                                                 "webhook_url": WEBHOOK_URL})
    r = run_action(conn, "list_spaces", {})
    assert r.status_code == 200
    assert fake_chat.calls[0].request.headers["Authorization"] == f"Bearer {ACCESS_TOKEN}"


def test_notify_needs_no_space(app, fake_chat, webhook_connection):
    fake_chat.post(MESSAGES, json=recorded("message_created"))
    conn = webhook_connection()
    with app.app_context():
        integ = get_state(app).runtime.integration(db.session.get(Connection, conn["id"]))
        integ.notify(None, "Workflow nightly-sync failed")
    assert json.loads(fake_chat.calls[0].request.body) == {"text": "Workflow nightly-sync failed"}
