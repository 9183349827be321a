"""The incident pages: incidents (list, page, acknowledge / resolve), silences and escalation
policies, through the Flask test client."""
from __future__ import annotations

import re

import pytest

from atom.monitoring.monitor import get_monitor
from tests.atom.monitoring.conftest import QUICK
from tests.fakes import FakeServer
from tests.fakes import reply


@pytest.fixture
def app(app_factory, monkeypatch, tmp_path):
    monkeypatch.setenv("ATOM_INSTANCE_PATH", str(tmp_path / "instance"))
    app = app_factory(**QUICK)
    yield app
    get_monitor(app).notifier.close()


@pytest.fixture
def incident(client, keys, create_connection):
    """An open incident of two failing connections."""
    with FakeServer() as fake:
        fake.always("/down", reply(503, {}))
        for label in ("Ledger API", "Billing API"):
            create_connection("http", {"base_url": fake.url, "health_path": "/down",
                                       "max_attempts": 1}, label=label)
        assert client.post("/api/v2/monitoring/checks/run",
                           headers=keys["editor"]).status_code == 200
    [found] = client.get("/api/v2/monitoring/incidents",
                         headers=keys["viewer"]).get_json()["incidents"]
    return found


def text(response) -> str:
    return response.get_data(as_text=True)


def error_of(html: str, field: str) -> str:
    found = re.search(rf'id="f-{re.escape(field)}-error">([^<]*)<', html)
    assert found, f"no error beside {field}"
    return found.group(1)


def test_the_incident_list_filters_and_links_each_incident(signed_in, incident):
    page = text(signed_in.get("/monitoring/incidents"))
    assert "<h1>Incidents</h1>" in page and "<title>Incidents · ATOM</title>" in page
    assert f'href="/monitoring/incidents/{incident["id"]}"' in page
    assert f"{incident['counts']['firing']} firing" in page and 'aria-current="page">Incidents<' in page
    assert f"#{incident['id']}" not in text(signed_in.get("/monitoring/incidents?status=resolved"))
    bad = signed_in.get("/monitoring/incidents?severity=loud")
    assert bad.status_code == 422 and error_of(text(bad), "severity")


def test_the_incident_page_acknowledges_and_resolves_the_whole_incident(signed_in, incident,
                                                                        client, keys):
    url = f"/monitoring/incidents/{incident['id']}"
    page = text(signed_in.get(url))
    assert f"<h1>Incident #{incident['id']}</h1>" in page
    assert "Ledger API" in page and "Billing API" in page and ">Acknowledge<" in page
    assert "No message went out" in page
    assert signed_in.post(f"{url}/acknowledge").status_code == 302
    page = text(signed_in.get(url))
    assert "status-acknowledged" in page and "by alice" in page and ">Acknowledge<" not in page
    assert signed_in.post(f"{url}/resolve").status_code == 302
    assert client.get(f"/api/v2/monitoring/incidents/{incident['id']}",
                      headers=keys["viewer"]).get_json()["status"] == "resolved"
    again = signed_in.post(f"{url}/resolve", follow_redirects=True)
    assert "resolved already" in text(again)
    assert signed_in.get("/monitoring/incidents/99999").status_code == 404


def test_viewers_see_incidents_but_cannot_act(viewer, incident):
    url = f"/monitoring/incidents/{incident['id']}"
    assert ">Acknowledge<" not in text(viewer.get(url))
    assert viewer.post(f"{url}/acknowledge").status_code == 403
    assert viewer.post("/monitoring/silences", data={"comment": "x"}).status_code == 403


def test_a_silence_is_created_with_errors_beside_its_fields_and_expired(signed_in, incident):
    refused = signed_in.post("/monitoring/silences", data={"comment": "", "ends_at": "",
                                                           "tz": "UTC"})
    assert refused.status_code == 422
    html = text(refused)
    assert error_of(html, "comment") and error_of(html, "ends_at")
    assert "give at least one of" in html
    past = signed_in.post("/monitoring/silences", data={
        "integration": "http", "comment": "x", "ends_at": "2020-01-01T00:00", "tz": "UTC"})
    assert past.status_code == 422 and "in the future" in error_of(text(past), "ends_at")

    saved = signed_in.post("/monitoring/silences", data={
        "integration": "http", "comment": "vendor outage", "ends_at": "2099-01-01T00:00",
        "tz": "UTC"})
    assert saved.status_code == 422  # more than a year
    saved = signed_in.post("/monitoring/silences", follow_redirects=True, data={
        "host": incident["host"], "comment": "vendor outage", "tz": "UTC",
        "ends_at": _in_a_week()})
    page = text(saved)
    assert saved.status_code == 200 and "vendor outage" in page and f"({incident['counts']['active']} active alerts)" in page
    silence_id = re.search(r'id="silence-(\d+)"', page).group(1)
    assert signed_in.post(f"/monitoring/silences/{silence_id}/expire").status_code == 302
    assert "vendor outage" not in text(signed_in.get("/monitoring/silences"))
    assert "vendor outage" in text(signed_in.get("/monitoring/silences?all=1"))


def _in_a_week() -> str:
    from datetime import UTC
    from datetime import datetime
    from datetime import timedelta

    return (datetime.now(UTC) + timedelta(days=7)).strftime("%Y-%m-%dT%H:%M")


def test_escalation_policies_are_created_edited_and_deleted(signed_in, client, keys,
                                                            create_connection, user_client):
    hook = create_connection("http", {"base_url": "http://127.0.0.1:9"}, label="hook")
    channel = client.post("/api/v2/monitoring/channels", headers=keys["admin"],
                          json={"name": "ops hook", "connection_id": hook["id"],
                                "target": "/alerts"}).get_json()
    page = text(signed_in.get("/monitoring/escalation"))
    assert "<h1>Escalation policies</h1>" in page and "No escalation policy" in page

    bad = signed_in.post("/monitoring/escalation", data={
        "name": "ops", "levels": f"0: {channel['id']}\n0: 999", "enabled": "on"})
    assert bad.status_code == 422
    assert "line 2" in error_of(text(bad), "levels") and "999" in error_of(text(bad), "levels")
    assert error_of(text(signed_in.post("/monitoring/escalation", data={"levels": "0: 1"})),
                    "name")

    made = signed_in.post("/monitoring/escalation", follow_redirects=True, data={
        "name": "ops", "severity": "critical", "enabled": "on",
        "levels": f"0: {channel['id']}\n900: {channel['id']}"})
    page = text(made)
    assert made.status_code == 200 and "ops hook" in page and "after 15 min" in page
    [policy] = client.get("/api/v2/monitoring/escalation-policies",
                          headers=keys["viewer"]).get_json()["policies"]
    assert policy["matcher"] == {"severity": "critical"}

    edit = text(signed_in.get(f"/monitoring/escalation/{policy['id']}"))
    assert f"0: {channel['id']}\n900: {channel['id']}" in edit and "Edit ops" in edit
    signed_in.post(f"/monitoring/escalation/{policy['id']}", data={
        "name": "renamed", "levels": f"0: {channel['id']}", "repeat_interval_s": "600"})
    [policy] = client.get("/api/v2/monitoring/escalation-policies",
                          headers=keys["viewer"]).get_json()["policies"]
    assert policy["name"] == "renamed" and policy["repeat_interval_s"] == 600
    assert policy["enabled"] is False and len(policy["levels"]) == 1

    editor = user_client("editor")
    assert editor.post(f"/monitoring/escalation/{policy['id']}/delete").status_code == 403
    assert signed_in.post(f"/monitoring/escalation/{policy['id']}/delete").status_code == 302
    assert client.get("/api/v2/monitoring/escalation-policies",
                      headers=keys["viewer"]).get_json()["policies"] == []
