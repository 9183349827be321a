"""OneDrive requests against Prism serving Microsoft Graph v1.0 (the OneDrive paths of
shared/specs/msgraph.json): every request the plugin makes to a path the spec has is accepted,
with no ``sl-violations`` about the request.

The spec has id-addressed items, children, content (PUT declared as
``application/octet-stream`` only), ``createUploadSession`` and subscriptions; it lacks
path addressing, ``createLink`` and delta (those run against ``fake.py``). It declares no
security scheme, so auth is not checked here. Prism answers with generated placeholders
("string" ids, an ``uploadUrl`` of "string").
"""
from __future__ import annotations

import base64

import pytest

from plugins.onedrive.manifest import MANIFEST
from tests.plugins.conftest import assert_prism_accepted

pytestmark = pytest.mark.prism

ITEM = "01BYE5RZ6QN3ZWBTUFOFD3GSPGOHDJD36K"
FOLDER = "01BYE5RZ4ZVRPZA4QCY5HYCZHH3P3B3BPS"
DRIVE = "b!-RIj2DuyvEyV1T4NlOaMHk8XkS_I8MdFlUCq1BlcjgmhRfAj3-Z8RY2VpuvV_tpd"
# Inputs per action, and the paths and methods Prism must have seen.
CASES = {
    "upload_file": ({"file_id": ITEM, "content_text": "notes"},
                    [("PUT", f"/items/{ITEM}/content"), ("GET", f"/items/{ITEM}")]),
    "create_folder": ({"name": "Invoices 2024", "folder_id": FOLDER,
                       "conflict_behavior": "rename"}, [("POST", f"/items/{FOLDER}/children")]),
    "list_children": ({"folder_id": FOLDER, "max_items": 1},
                      [("GET", f"/items/{FOLDER}/children")]),
    "get_item": ({"item_id": ITEM}, [("GET", f"/items/{ITEM}")]),
    "delete_item": ({"item_id": ITEM}, [("DELETE", f"/items/{ITEM}")]),
    "subscribe_changes": ({"notification_url": "https://atom.example.com/hooks/onedrive/1",
                           "expiration_minutes": 42_300}, [("POST", "/subscriptions")]),
    "renew_subscription": ({"subscription_id": "9f9d1ed0-c9cc-42e7-8d80-a7fc4b0cda3c"},
                           [("PATCH", "/subscriptions/9f9d1ed0-c9cc-42e7-8d80-a7fc4b0cda3c")]),
}


@pytest.fixture
def graph_url(prism):
    return prism("msgraph")


@pytest.fixture
def make(graph_url, onedrive_connection):
    def build(**settings):
        return onedrive_connection({"base_url": graph_url, "max_attempts": 1, "drive": DRIVE,
                                    "rate_limit_per_second": 100, "rate_limit_burst": 100,
                                    **settings})

    return build


def exchanges_of(live, conn) -> list:
    seen: list = []
    live(conn).http.session.hooks["response"].append(lambda r, *a, **kw: seen.append(r))
    return seen


def test_every_action_in_the_spec_has_a_case():
    assert set(CASES) | set(MANIFEST.contract.outside_spec) == {a.name for a in MANIFEST.actions}


@pytest.mark.parametrize("action", sorted(CASES))
def test_action_is_accepted_by_the_spec(make, live, run_action, action):
    conn = make()
    exchanges = exchanges_of(live, conn)
    given, expected = CASES[action]
    r = run_action(conn, action, given)
    assert r.status_code == 200, r.get_json()
    seen = [(x.request.method, x.request.path_url.split("?")[0]) for x in exchanges]
    prefix = f"/drives/{DRIVE.replace('!', '%21')}"
    assert seen == [(m, p if p.startswith("/subscriptions") else prefix + p) for m, p in expected]
    for response in exchanges:
        assert response.status_code < 300
        assert_prism_accepted(response)


def test_the_simple_put_is_octet_stream_which_the_spec_requires(make, live, run_action):
    conn = make()
    exchanges = exchanges_of(live, conn)
    run_action(conn, "upload_file", {"file_id": ITEM, "content_text": "notes"})
    put = exchanges[0]
    assert put.request.headers["Content-Type"] == "application/octet-stream"
    assert put.status_code == 204  # the spec's answer; Graph's is the item (then read by GET)


def test_the_upload_session_request_is_accepted(make, live, run_action):
    conn = make(simple_upload_max_kib=0)
    exchanges = exchanges_of(live, conn)
    r = run_action(conn, "upload_file", {"file_id": ITEM,
                                         "content_base64": base64.b64encode(b"x" * 1000).decode()})
    opened = exchanges[0]
    assert (opened.request.method, opened.request.path_url.rsplit("/", 1)[1]) == (
        "POST", "createUploadSession")
    assert opened.status_code == 200
    assert_prism_accepted(opened)
    # Prism's placeholder uploadUrl ("string") is no URL: nothing is sent anywhere else.
    assert r.status_code == 502 and "uploadUrl" in r.get_json()["message"]
    assert len(exchanges) == 1


def test_me_is_looked_up_at_the_spec_path(graph_url, onedrive_connection, live, run_action):
    conn = onedrive_connection({"base_url": graph_url, "max_attempts": 1})
    exchanges = exchanges_of(live, conn)
    assert run_action(conn, "get_item", {"item_id": ITEM}).status_code == 200
    assert exchanges[0].request.path_url == "/me/drive?%24select=id"
    for response in exchanges:
        assert_prism_accepted(response)


def test_a_body_prism_rejects_comes_back_as_a_validation_error(make, live, run_action,
                                                                monkeypatch):
    """The contract bites: a driveItem name must be a string."""
    conn = make()
    exchanges = exchanges_of(live, conn)
    real_post = live(conn).http.post

    def post(path, **kw):
        kw["json"] = {**kw["json"], "name": 42}
        return real_post(path, **kw)

    monkeypatch.setattr(live(conn).http, "post", post)
    r = run_action(conn, "create_folder", {"name": "x"})
    assert r.status_code == 422
    assert "name" in exchanges[0].headers["sl-violations"]


def test_the_health_check_reads_the_drive(make, live, check_connection):
    conn = make()
    exchanges = exchanges_of(live, conn)
    assert check_connection(conn).get_json()["ok"] is True
    assert [x.request.path_url.split("?")[0] for x in exchanges] == [
        f"/drives/{DRIVE.replace('!', '%21')}"]
    assert_prism_accepted(exchanges[0])
