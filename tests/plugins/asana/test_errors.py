"""How Asana's failures reach the user: statuses with ``{"errors": [...]}`` bodies, 429 with
Retry-After, 5xx, timeouts, and which of them are retried."""
from __future__ import annotations

import pytest
import requests

from tests.plugins.asana.conftest import ASANA
from tests.plugins.asana.conftest import TOKEN
from tests.plugins.asana.conftest import recorded

TASK = "1207654321098765"
NEW_TASK = {"name": "Follow up", "workspace": "1200000000000001"}


def errors(*messages: str) -> dict:
    return {"errors": [{"message": m, "help": "https://developers.asana.com/docs/errors"}
                       for m in messages]}


def test_a_refused_token_marks_the_connection_for_reauthorisation(
        fake_asana, asana_connection, check_connection, client, keys):
    fake_asana.get(f"{ASANA}/users/me", status=401, json=errors("Not Authorized"))
    conn = asana_connection({"max_attempts": 3})
    result = check_connection(conn).get_json()

    assert (result["ok"], result["error_class"]) == (False, "auth")
    assert "Not Authorized" in result["message"]
    assert len(fake_asana.calls) == 1  # permanent: never retried
    conn = client.get(f"/api/v2/connections/{conn['id']}", headers=keys["viewer"]).get_json()
    assert conn["status"] == "needs_reauth"


def test_a_healthy_token_passes_the_check(fake_asana, asana_connection, check_connection):
    fake_asana.get(f"{ASANA}/users/me", json={"data": {"gid": "1201234567890123",
                                                       "resource_type": "user",
                                                       "name": "Greg Sanchez"}})
    assert check_connection(asana_connection()).get_json()["ok"] is True
    assert fake_asana.calls[0].request.headers["Authorization"] == f"Bearer {TOKEN}"


def test_a_base_url_that_is_not_asana_fails_the_health_check(fake_asana, asana_connection,
                                                             check_connection):
    fake_asana.get("https://intranet.example.com/users/me", body="<html>Welcome</html>",
                   content_type="text/html")
    result = check_connection(asana_connection({"base_url": "https://intranet.example.com"}))
    assert (result.get_json()["ok"], result.get_json()["error_class"]) == (False, "upstream")


def test_403_is_an_auth_error(fake_asana, asana_connection, run_action):
    fake_asana.get(f"{ASANA}/tasks/{TASK}", status=403,
                   json=errors("Forbidden: you do not have access to this task"))
    r = run_action(asana_connection({"max_attempts": 3}), "get_task", {"task_gid": TASK})
    assert r.get_json()["code"] == "auth"
    assert len(fake_asana.calls) == 1


def test_404_is_a_validation_error_about_the_request(fake_asana, asana_connection, run_action):
    fake_asana.get(f"{ASANA}/tasks/{TASK}", status=404,
                   json=errors("Unknown object: 1207654321098765"))
    r = run_action(asana_connection({"max_attempts": 3}), "get_task", {"task_gid": TASK})
    assert r.status_code == 422
    assert r.get_json()["errors"] == {"_request": ["not found", "Unknown object: 1207654321098765"]}
    assert len(fake_asana.calls) == 1


def test_a_400_names_the_field_asana_complains_about(fake_asana, asana_connection, run_action):
    fake_asana.post(f"{ASANA}/tasks", status=400, json=recorded("error_missing_workspace"))
    r = run_action(asana_connection(), "create_task", {"name": "x", "parent": TASK})

    assert r.status_code == 422
    body = r.get_json()
    assert body["code"] == "validation"
    assert body["errors"] == {"workspace": ["workspace: Missing input"]}
    assert body["message"] == "Asana answered 400: workspace: Missing input"


def test_asana_field_names_are_mapped_to_the_inputs(fake_asana, asana_connection, run_action):
    fake_asana.post(f"{ASANA}/tasks", status=400, json=errors(
        "project: Not a recognized ID: 999", "assignee: Not a recognized user", "Bad request"))
    r = run_action(asana_connection(), "create_task", {**NEW_TASK, "projects": ["999"]})
    assert r.get_json()["errors"] == {"projects": ["project: Not a recognized ID: 999"],
                                      "assignee": ["assignee: Not a recognized user"],
                                      "_request": ["Bad request"]}


def test_a_premium_feature_is_a_permanent_error(fake_asana, asana_connection, run_action,
                                                sleeps):
    fake_asana.post(f"{ASANA}/webhooks", status=402, json=errors("Payment Required"))
    r = run_action(asana_connection({"max_attempts": 3}), "register_webhook",
                   {"resource": "1209876543210987", "target": "https://atom.example.com/h"})
    assert (r.status_code, r.get_json()["code"]) == (502, "upstream")
    assert "paid Asana plan" in r.get_json()["message"]
    assert len(fake_asana.calls) == 1


def test_429_carries_retry_after_to_the_caller(fake_asana, asana_connection, run_action):
    fake_asana.get(f"{ASANA}/tasks/{TASK}", status=429, headers={"Retry-After": "30"},
                   json=errors("You have made too many requests recently."))
    r = run_action(asana_connection({"max_attempts": 1}), "get_task", {"task_gid": TASK})

    assert r.status_code == 429
    assert r.get_json()["code"] == "rate_limited"
    assert r.get_json()["retry_after"] == 30
    assert r.headers["Retry-After"] == "30"


def test_a_429_is_retried_after_the_wait_asana_asked_for_even_for_a_create(
        fake_asana, asana_connection, run_action, sleeps):
    # A 429 means the request was not processed: safe to resend a POST.
    fake_asana.post(f"{ASANA}/tasks", status=429, headers={"Retry-After": "7"},
                    json=errors("You have made too many requests recently."))
    fake_asana.post(f"{ASANA}/tasks", status=201, json=recorded("task"))
    r = run_action(asana_connection({"max_attempts": 3}), "create_task", NEW_TASK)

    assert r.status_code == 200, r.get_json()
    assert r.get_json()["attempts"] == 2
    assert sum(sleeps) >= 7


@pytest.mark.parametrize("action, method, path, body", [
    ("get_task", "GET", f"/tasks/{TASK}", {"task_gid": TASK}),
    ("complete_task", "PUT", f"/tasks/{TASK}", {"task_gid": TASK}),
])
def test_a_server_error_of_an_idempotent_call_is_retried(fake_asana, asana_connection,
                                                         run_action, sleeps, action, method,
                                                         path, body):
    fake_asana.add(method, f"{ASANA}{path}", status=503, json=recorded("error_server"))
    fake_asana.add(method, f"{ASANA}{path}", json=recorded("task"))
    r = run_action(asana_connection({"max_attempts": 3}), action, body)

    assert r.status_code == 200, r.get_json()
    assert len(fake_asana.calls) == 2


@pytest.mark.parametrize("action, path, body", [
    ("create_task", "/tasks", NEW_TASK),
    ("add_comment", f"/tasks/{TASK}/stories", {"task_gid": TASK, "text": "hi"}),
])
def test_a_create_is_not_repeated_after_a_server_error(fake_asana, asana_connection, run_action,
                                                       sleeps, action, path, body):
    # Asana has no idempotency key: a 500 may have created the task already.
    fake_asana.post(f"{ASANA}{path}", status=500, json=recorded("error_server"))
    r = run_action(asana_connection({"max_attempts": 3}), action, body)

    assert (r.status_code, r.get_json()["code"]) == (502, "upstream")
    assert len(fake_asana.calls) == 1


def test_a_timeout_of_a_read_is_retried_then_reported(fake_asana, asana_connection, run_action,
                                                      sleeps):
    fake_asana.get(f"{ASANA}/tasks/{TASK}", body=requests.ReadTimeout("slow"))
    fake_asana.get(f"{ASANA}/tasks/{TASK}", body=requests.ReadTimeout("slow"))
    r = run_action(asana_connection({"max_attempts": 2}), "get_task", {"task_gid": TASK})
    assert (r.status_code, r.get_json()["code"]) == (504, "timeout")
    assert len(fake_asana.calls) == 2


def test_a_token_echoed_in_an_error_body_is_redacted(fake_asana, asana_connection, run_action):
    fake_asana.get(f"{ASANA}/tasks/{TASK}", status=400,
                   json=errors(f"opt_fields: bad request from Bearer {TOKEN}"))
    r = run_action(asana_connection(), "get_task", {"task_gid": TASK})

    assert r.status_code == 422
    text = r.get_data(as_text=True)
    assert TOKEN not in text
    assert TOKEN.split(":")[-1] not in text
