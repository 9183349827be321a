"""``GET /api/v2/integrations``: the catalogue a user sees, with every service of issues 8 and 9
(29 services and the generic ``http``) loaded."""
from __future__ import annotations

# Written out, not read from the entry points: a plugin that is dropped from setup.cfg, or
# not installed, must fail this test instead of shrinking the expected list with it.
PART_1 = {"slack", "github", "hubspot", "jira", "asana", "trello", "notion", "gitlab",
          "microsoft_teams", "webex", "discord", "google_chat", "gmail", "google_calendar",
          "google_drive", "monday", "linear"}
PART_2 = {"dropbox", "onedrive", "box", "salesforce", "zendesk", "stripe", "xero", "openai",
          "okta", "workday", "aws", "tableau"}
CATALOGUE = PART_1 | PART_2 | {"http"}


def test_the_catalogue_lists_29_services_and_http(client, keys):
    assert len(PART_1) == 17 and len(PART_2) == 12 and len(CATALOGUE) == 30
    response = client.get("/api/v2/integrations", headers=keys["viewer"])
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert body["not_loaded"] == [], body["not_loaded"]
    assert body["next_cursor"] is None, "the 30 fit on the first page (default limit 50)"
    names = [item["name"] for item in body["integrations"]]
    assert len(names) == 30 and set(names) == CATALOGUE, sorted(set(names) ^ CATALOGUE)
    assert names == sorted(names)
    for item in body["integrations"]:
        assert item["display_name"] and item["actions"] and item["triggers"], item["name"]
        assert item["contract"]["source"] in ("openapi", "graphql", "fake", "moto"), item["name"]


def test_each_part_2_service_answers_its_detail_page(client, keys):
    for name in sorted(PART_2):
        response = client.get(f"/api/v2/integrations/{name}", headers=keys["viewer"])
        assert response.status_code == 200, (name, response.get_json())
        detail = response.get_json()
        assert detail["name"] == name
        assert all(a["input_schema"]["type"] == "object" for a in detail["actions"]), name


def test_the_catalogue_needs_a_key(client):
    response = client.get("/api/v2/integrations")
    assert response.status_code == 401
