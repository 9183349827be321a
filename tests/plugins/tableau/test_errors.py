"""Tableau's errors: 429 with Retry-After, 5xx retried only when safe, sign-in failures."""
from __future__ import annotations

import requests
import responses


def test_429_waits_retry_after_and_retries(tableau, connect, run_action, sleeps):
    conn = connect()
    assert run_action(conn, "list_workbooks", {}).status_code == 200
    tableau.push(429, {"error": {"summary": "Too Many Requests", "code": "429000"}},
                 {"Retry-After": "4"})
    r = run_action(conn, "list_workbooks", {})
    assert r.status_code == 200, r.get_json()
    assert 4 <= sleeps[0] <= 5


def test_a_refresh_is_not_retried_after_a_server_error(tableau, connect, run_action):
    wid = tableau.add_workbook("Sales")
    conn = connect()
    assert run_action(conn, "list_workbooks", {}).status_code == 200
    tableau.push(500, {"error": {"summary": "Internal Server Error", "code": "500000"}})
    r = run_action(conn, "refresh_extract", {"workbook_id": wid})
    assert r.status_code == 502, r.get_json()
    assert len(tableau.calls("POST", "/refresh")) == 1


def test_a_read_is_retried_after_a_server_error(tableau, connect, run_action, sleeps):
    conn = connect()
    assert run_action(conn, "list_workbooks", {}).status_code == 200
    tableau.push(503, {"error": {"summary": "Service Unavailable", "code": "503000"}})
    assert run_action(conn, "list_workbooks", {}).status_code == 200


def test_sign_in_unreachable_or_slow(create_connection, run_action):
    conn = create_connection("tableau", {"server_url": "https://tableau.example.com",
                                         "site_content_url": "s", "max_attempts": 1},
                             {"token_name": "n", "token_secret": "secret-0123456789"})
    with responses.RequestsMock() as rsps:
        rsps.add("POST", "https://tableau.example.com/api/3.22/auth/signin",
                 body=requests.ConnectionError("refused"))
        r = run_action(conn, "list_workbooks", {})
        assert r.status_code == 502 and r.get_json()["code"] == "upstream", r.get_json()
        rsps.replace("POST", "https://tableau.example.com/api/3.22/auth/signin",
                     body=requests.ReadTimeout("slow"))
        r = run_action(conn, "list_workbooks", {})
        assert r.get_json()["code"] == "timeout", r.get_json()
