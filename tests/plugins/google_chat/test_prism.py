"""The health check and every action against Prism serving Google's Chat v1 discovery document
(converted to OpenAPI; its paths carry /v1 under the root URL), in static mode.

Every request the client sends is recorded through a ``responses`` passthrough and checked for
``sl-violations``; an HTTP 200 from our API also means Prism did not reject the request.
"""
from __future__ import annotations


import pytest
import requests

from plugins.google_chat.manifest import MANIFEST
from tests.plugins.conftest import assert_prism_accepted

pytestmark = pytest.mark.prism

SPACE, MESSAGE = "spaces/AAAAb4Cd3fE", "spaces/AAAAb4Cd3fE/messages/BBBBx1.BBBBx1"
PLACEHOLDER = {"name": "string", "space": "string", "text": "string",
               "create_time": "string", "sender": {"name": "string", "display_name": "string",
                                                   "type": "TYPE_UNSPECIFIED"}}
# Inputs per action and what Prism's placeholder answers must turn into. Prism answers every
# page with the same nextPageToken: listings stay within page one.
CASES = {
    "send_message": ({"space": SPACE, "text": "Deploy 42 is live", "thread_key": "deploy-42",
                      "message_id": "client-deploy-42",
                      "cards_v2": [{"cardId": "deploy", "card": {
                          "header": {"title": "Deploy 42", "subtitle": "prod"},
                          "sections": [{"widgets": [{"textParagraph": {"text": "All green"}}]}]}}]},
                     PLACEHOLDER),
    "update_message": ({"name": MESSAGE, "text": "Deploy 42 is live (updated)"}, PLACEHOLDER),
    "get_message": ({"name": MESSAGE}, PLACEHOLDER),
    "list_messages": ({"space": SPACE, "since": "2024-07-09T15:00:00Z",
                       "thread": f"{SPACE}/threads/CCCCy2", "max_items": 1},
                      {"space": SPACE, "count": 1}),
    "list_spaces": ({"types": ["SPACE", "GROUP_CHAT"], "max_items": 1}, {"count": 1}),
}


@pytest.fixture
def prism_url(prism):
    return prism("google_chat")


@pytest.fixture
def prism_chat(prism_url, chat_connection):
    return chat_connection({"base_url": prism_url, "max_attempts": 1,
                            "rate_limit_per_second": 100, "rate_limit_burst": 100})


def test_every_action_has_a_contract_case():
    assert set(CASES) == {a.name for a in MANIFEST.actions}


def test_health_check_passes_against_the_spec(prism_chat, check_connection, sent_to_prism):
    r = check_connection(prism_chat)
    assert r.get_json()["ok"] is True, r.get_json()
    assert [c.request.path_url for c in sent_to_prism] == ["/v1/spaces?pageSize=1"]
    assert_prism_accepted(sent_to_prism[0].response)


@pytest.mark.parametrize("action", sorted(CASES))
def test_action_is_accepted_by_the_spec(prism_chat, run_action, sent_to_prism, action):
    given, expected = CASES[action]
    r = run_action(prism_chat, action, given)
    assert r.status_code == 200, r.get_json()
    output = r.get_json()["output"]
    assert {k: output[k] for k in expected} == expected
    assert len(sent_to_prism) == 1
    assert_prism_accepted(sent_to_prism[0].response)


def test_a_reply_that_must_find_its_thread_is_accepted(prism_chat, run_action, sent_to_prism):
    r = run_action(prism_chat, "send_message", {"space": SPACE, "text": "ack",
                                                "thread": f"{SPACE}/threads/CCCCy2",
                                                "reply_option": "or_fail"})
    assert r.status_code == 200, r.get_json()
    assert_prism_accepted(sent_to_prism[0].response)


def test_a_pagination_loop_is_reported_not_followed(prism_chat, run_action):
    r = run_action(prism_chat, "list_spaces", {"max_items": 5})
    assert r.status_code == 502
    assert "pagination loop" in r.get_json()["message"]


def test_prism_refuses_what_chat_would(prism_url):
    """The mock validates: an unknown reply option, a non-string text, no Bearer token."""
    auth = {"Authorization": "Bearer x"}
    url = f"{prism_url}/v1/{SPACE}/messages"
    bogus = requests.post(url, params={"messageReplyOption": "BOGUS"}, json={"text": "x"},
                          headers=auth, timeout=10)
    number = requests.post(url, json={"text": 5}, headers=auth, timeout=10)
    anonymous = requests.post(url, json={"text": "x"}, timeout=10)
    assert (bogus.status_code, number.status_code, anonymous.status_code) == (422, 422, 401)
