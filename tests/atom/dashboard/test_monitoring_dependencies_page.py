"""The monitoring dependencies page: the list (declared and derived), the form that declares
one with the API's validation beside each field, removal, the viewer's read-only view, and the
"suppressed by #N" link on alerts."""
from __future__ import annotations

import re

import pytest

from tests.atom.dashboard.test_monitoring_pages import app  # noqa: F401 (quick monitoring)
from tests.atom.dashboard.test_monitoring_pages import error_of
from tests.atom.dashboard.test_monitoring_pages import service  # noqa: F401
from tests.atom.dashboard.test_monitoring_pages import text
from tests.fakes import reply

PAGE = "/monitoring/dependencies"


@pytest.fixture
def pair(create_connection, service):
    """Two http connections on one host: "Billing API" and "Ledger API"."""
    return [create_connection("http", {"base_url": service.url, "health_path": path,
                                       "max_attempts": 1}, label=label)
            for path, label in (("/health", "Billing API"), ("/ledger", "Ledger API"))]


def test_the_page_lists_derived_dependencies_and_declares_and_removes_one(signed_in, client,
                                                                          keys, pair, service):
    billing, ledger = pair
    page = text(signed_in.get(PAGE))
    assert page.count("<h1>") == 1 and "<title>Monitoring dependencies" in page
    host = service.url.split("://", 1)[1].rstrip("/")
    assert f"host:{host}" in page and "2 enabled connections share" in page
    assert 'for="f-subject"' in page and 'for="f-parent"' in page and 'for="f-note"' in page
    assert 'aria-current="page">Dependencies' in page

    response = signed_in.post(PAGE, data={"subject": f"connection:{ledger['id']}",
                                          "parent": f"connection:{billing['id']}",
                                          "note": "ledger calls billing"})
    assert response.status_code == 302
    page = text(signed_in.get(response.headers["Location"]))
    assert "ledger calls billing" in page and "now depends on" in page
    [dep] = client.get("/api/v2/monitoring/dependencies", headers=keys["viewer"],
                       query_string={"source": "declared"}).get_json()["dependencies"]
    assert dep["created_by"] == "alice@example.com"
    assert f'id="dependency-{dep["id"]}"' in page

    again = signed_in.post(PAGE, data={"subject": f"connection:{ledger['id']}",
                                       "parent": f"connection:{billing['id']}"})
    assert again.status_code == 409 and "already depends" in text(again)
    gone = signed_in.post(f"{PAGE}/{dep['id']}/delete")
    assert gone.status_code == 302
    assert "ledger calls billing" not in text(signed_in.get(PAGE))
    assert signed_in.post(f"{PAGE}/{dep['id']}/delete").status_code == 404


def test_the_form_shows_the_apis_refusals_beside_the_field_and_keeps_the_choice(signed_in, pair):
    billing, ledger = pair
    missing = signed_in.post(PAGE, data={"subject": f"connection:{billing['id']}", "parent": ""})
    assert missing.status_code == 422
    html = text(missing)
    assert error_of(html, "parent")
    assert re.search(rf'<option value="connection:{billing["id"]}" selected>', html)
    itself = signed_in.post(PAGE, data={"subject": f"connection:{billing['id']}",
                                        "parent": f"connection:{billing['id']}"})
    assert itself.status_code == 422 and error_of(text(itself), "parent") == "is the subject itself"
    unknown = signed_in.post(PAGE, data={"subject": "connection:999",
                                         "parent": f"connection:{billing['id']}"})
    assert error_of(text(unknown), "subject") == "no connection 999"
    assert signed_in.post(PAGE, data={"subject": f"connection:{ledger['id']}",
                                      "parent": f"connection:{billing['id']}"}).status_code == 302
    cycle = signed_in.post(PAGE, data={"subject": f"connection:{billing['id']}",
                                       "parent": f"connection:{ledger['id']}"})
    assert cycle.status_code == 422 and "would close a cycle" in error_of(text(cycle), "parent")


def test_viewers_see_the_dependencies_but_cannot_change_them(app, viewer, signed_in, pair):
    billing, ledger = pair
    assert signed_in.post(PAGE, data={"subject": f"connection:{ledger['id']}",
                                      "parent": f"connection:{billing['id']}"}).status_code == 302
    page = text(viewer.get(PAGE))
    assert "Ledger API" in page and "Declare a dependency" not in page and "Remove" not in page
    assert viewer.post(PAGE, data={"subject": f"connection:{billing['id']}",
                                   "parent": f"connection:{ledger['id']}"}).status_code == 403
    assert viewer.post(f"{PAGE}/1/delete").status_code == 403


def test_the_page_needs_a_login(client):
    response = client.get(PAGE)
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_a_suppressed_alert_links_to_the_alert_suppressing_it(signed_in, client, keys, pair,
                                                              service):
    service.always("/health", reply(503, {}))
    service.always("/ledger", reply(503, {}))
    assert client.post("/api/v2/monitoring/checks/run", headers=keys["editor"]).status_code == 200
    alerts = client.get("/api/v2/monitoring/alerts", headers=keys["viewer"]).get_json()["alerts"]
    [host] = [a for a in alerts if a["rule"] == "host_down"]
    below = [a for a in alerts if a["rule"] != "host_down"]
    assert below and all(a["status"] == "suppressed" for a in below)
    link = f'by <a href="/monitoring/alerts/{host["id"]}">#{host["id"]}</a>'
    assert link in text(signed_in.get(f"/monitoring/alerts/{below[0]['id']}"))
    listed = text(signed_in.get("/monitoring/alerts?status=suppressed"))
    assert listed.count(link) == len(below)
    # A suppressed alert can still be acknowledged from its page; it stays suppressed.
    page = text(signed_in.get(f"/monitoring/alerts/{below[0]['id']}"))
    assert f"Acknowledge alert {below[0]['id']}" in page
    signed_in.post(f"/monitoring/alerts/{below[0]['id']}/acknowledge")
    again = client.get(f"/api/v2/monitoring/alerts/{below[0]['id']}", headers=keys["viewer"])
    assert again.get_json()["status"] == "suppressed"
    assert again.get_json()["acknowledged_by"] == "alice@example.com"
