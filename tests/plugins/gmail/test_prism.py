"""The health check and every action against Prism serving Gmail's discovery document
(converted to OpenAPI): each request the client sends is checked for ``sl-violations``, and
the outputs are the mapped shapes."""
from __future__ import annotations

import pytest

from plugins.gmail.manifest import MANIFEST
from tests.plugins.conftest import assert_prism_accepted

pytestmark = pytest.mark.prism

# Inputs per action and what Prism's placeholder answers must turn into.
CASES = {
    "send_email": (
        {"to": ["ada@example.com", "Grace <grace@example.com>"], "cc": "ops@example.com",
         "subject": "Résumé", "text": "Hello", "html": "<p>Hello</p>",
         "thread_id": "18f4c6d2a7b3e901", "in_reply_to": "<a1@mail.gmail.com>"},
        {"id": "string", "threadId": "string", "labelIds": ["string"]},
    ),
    "create_draft": (
        {"to": "ada@example.com", "subject": "Draft", "text": "Numbers attached."},
        {"id": "string", "message": {"id": "string", "threadId": "string",
                                     "labelIds": ["string"]}},
    ),
    "list_messages": (
        # Prism answers every page with the same nextPageToken: stay within page one.
        {"query": "from:ada@example.com is:unread", "label_ids": ["INBOX"], "max_items": 1},
        {"count": 1},
    ),
    "get_message": (
        {"id": "18f4c6d2a7b3e901", "format": "full"},
        {"id": "string", "threadId": "string", "labelIds": ["string"], "attachments": [
            {"filename": "string", "mimeType": "string", "size": -2147483648,
             "attachmentId": "string"}]},
    ),
    "modify_labels": (
        {"id": "18f4c6d2a7b3e901", "add": ["STARRED", "Label_12"], "remove": ["UNREAD"]},
        {"id": "string", "labelIds": ["string"]},
    ),
    "list_labels": (
        {},
        {"count": 1, "labels": [{"id": "string", "name": "string", "type": "system",
                                 "messagesTotal": -2147483648, "messagesUnread": -2147483648}]},
    ),
}


@pytest.fixture
def prism_gmail(app, prism, gmail_connection, live):
    """A connection to Prism, and every response its client receives."""
    conn = gmail_connection({"base_url": prism("gmail") + "/gmail/v1", "max_attempts": 1,
                             "rate_limit_per_second": 100, "rate_limit_burst": 100})
    seen: list = []
    live(conn).http.session.hooks["response"].append(lambda r, *a, **k: seen.append(r))
    return conn, seen


def test_every_action_has_a_contract_case():
    assert set(CASES) == {a.name for a in MANIFEST.actions}


def test_health_check_passes_against_the_spec(prism_gmail, check_connection):
    conn, seen = prism_gmail
    r = check_connection(conn)
    assert r.get_json()["ok"] is True, r.get_json()
    assert [s.request.path_url for s in seen] == ["/gmail/v1/users/me/profile"]
    for response in seen:
        assert_prism_accepted(response)


@pytest.mark.parametrize("action", sorted(CASES))
def test_action_is_accepted_by_the_spec(prism_gmail, run_action, action):
    conn, seen = prism_gmail
    given, expected = CASES[action]
    r = run_action(conn, action, given)
    assert r.status_code == 200, r.get_json()
    output = r.get_json()["output"]
    assert {k: output[k] for k in expected} == expected
    assert seen, "no request reached Prism"
    for response in seen:
        assert response.status_code == 200
        assert_prism_accepted(response)


def test_prism_refuses_a_request_gmail_would_refuse(prism_gmail, live):
    """The check above has teeth: a bad ``format`` is rejected by the spec."""
    conn, seen = prism_gmail
    from atom.integrations.errors import IntegrationError

    with pytest.raises(IntegrationError):
        live(conn).http.get("users/me/messages/m1", params={"format": "bogus"})
    assert seen[-1].status_code == 422
