"""Every list endpoint pages the same way: ``limit`` (1 to 500, default 50), an opaque signed
``cursor``, ``next_cursor`` (null on the last page); bad values are 422s naming the field
(issue 13, scale with data)."""
from __future__ import annotations

import base64
import json

import pytest
from sqlalchemy import event

from atom.extensions import db

LISTS = [
    "/api/v2/ai-workflows",
    "/api/v2/ai-workflows/1/versions",
    "/api/v2/ai-workflows/templates",
    "/api/v2/executions",
    "/api/v2/connections",
    "/api/v2/integrations",
    "/api/enhanced/management/discover",
    "/api/v2/keys",
    "/api/v2/users",
    "/api/v2/audit",
    "/api/v2/oauth-apps",
    "/api/v2/triggers/polls",
    "/api/v2/monitoring/alerts",
    "/api/v2/monitoring/incidents",
    "/api/v2/monitoring/channels",
    "/api/v2/monitoring/maintenance",
    "/api/v2/monitoring/dependencies",
    "/api/v2/monitoring/escalation-policies",
    "/api/v2/monitoring/silences",
    "/api/v2/workflows/enhanced/troubleshooting/sessions",
    "/api/v2/workflows/enhanced/optimization/applications",
]


def step(sid: str, service: str | None = None) -> dict:
    if service:
        return {"id": sid, "type": "action", "service": service, "action": "post",
                "parameters": {"path": "/x"}}
    return {"id": sid, "type": "transform", "mapping": {"x": "`1`"}}


def create(client, keys, name: str, steps: list[dict] | None = None) -> dict:
    response = client.post("/api/v2/ai-workflows", headers=keys["editor"], json={
        "name": name, "trigger": {"type": "manual"}, "steps": steps or [step("a")]})
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def walk(client, headers, path: str, name: str, limit: int) -> list[list[dict]]:
    pages, cursor = [], None
    while True:
        sep = "&" if "?" in path else "?"
        url = f"{path}{sep}limit={limit}" + (f"&cursor={cursor}" if cursor else "")
        response = client.get(url, headers=headers)
        assert response.status_code == 200, response.get_json()
        body = response.get_json()
        pages.append(body[name])
        cursor = body["next_cursor"]
        if cursor is None:
            return pages
        assert len(pages) < 100


@pytest.fixture
def workflow(client, keys):
    return create(client, keys, "first")


@pytest.mark.parametrize("path", LISTS)
def test_every_list_refuses_a_limit_out_of_range_naming_it(client, keys, workflow, path):
    assert client.get(path, headers=keys["admin"]).status_code == 200
    for bad in ("0", "501", "-1", "x"):
        response = client.get(f"{path}?limit={bad}", headers=keys["admin"])
        assert response.status_code == 422, (bad, response.get_json())
        assert "limit" in response.get_json()["errors"]


@pytest.mark.parametrize("path", LISTS)
def test_every_list_refuses_a_tampered_cursor_naming_it(client, keys, workflow, path):
    forged = base64.urlsafe_b64encode(json.dumps([1]).encode()).decode().rstrip("=")
    for bad in ("garbage", f"{forged}.AAAAAAAAAAAAAAAA", "....", "%FF", "x" * 600, "a.b.c"):
        response = client.get(f"{path}?cursor={bad}", headers=keys["admin"])
        assert response.status_code == 422, (bad, response.get_json())
        assert "cursor" in response.get_json()["errors"]


def test_workflows_page_through_in_id_order_with_nothing_missed_or_repeated(client, keys):
    made = [create(client, keys, f"wf {n}")["id"] for n in range(7)]
    pages = walk(client, keys["viewer"], "/api/v2/ai-workflows", "workflows", 3)
    assert [len(p) for p in pages] == [3, 3, 1]
    assert [w["id"] for p in pages for w in p] == made
    assert pages[0][0]["steps"] == [step("a") | pages[0][0]["steps"][0]]  # definitions shown
    # A full page at the end still says there is nothing after it.
    assert [len(p) for p in walk(client, keys["viewer"], "/api/v2/ai-workflows", "workflows", 7)] == [7]
    default = client.get("/api/v2/ai-workflows", headers=keys["viewer"]).get_json()
    assert len(default["workflows"]) == 7 and default["next_cursor"] is None


def test_a_cursor_of_one_list_is_refused_by_another(client, keys):
    for n in range(3):
        create(client, keys, f"wf {n}")
    cursor = client.get("/api/v2/ai-workflows?limit=1", headers=keys["viewer"]).get_json()["next_cursor"]
    assert client.get(f"/api/v2/ai-workflows?cursor={cursor}", headers=keys["viewer"]).status_code == 200
    response = client.get(f"/api/v2/connections?cursor={cursor}", headers=keys["viewer"])
    assert response.status_code == 422 and "cursor" in response.get_json()["errors"]
    # One changed character of the signed payload is refused too.
    body, _, signature = cursor.partition(".")
    flipped = ("A" if body[0] != "A" else "B") + body[1:]
    response = client.get(f"/api/v2/ai-workflows?cursor={flipped}.{signature}", headers=keys["viewer"])
    assert response.status_code == 422 and "cursor" in response.get_json()["errors"]


def test_executions_page_newest_first(client, keys, workflow):
    started = [client.post(f"/api/v2/ai-workflows/{workflow['id']}/execute?wait=5",
                           headers=keys["editor"]).get_json()["id"] for _ in range(5)]
    pages = walk(client, keys["viewer"], "/api/v2/executions", "executions", 2)
    assert [e["id"] for p in pages for e in p] == sorted(started, reverse=True)
    filtered = walk(client, keys["viewer"], f"/api/v2/executions?workflow_id={workflow['id']}",
                    "executions", 4)
    assert [len(p) for p in filtered] == [4, 1]


def test_small_lists_give_their_total(client, keys, create_connection):
    for n in range(3):
        create_connection("http", {"base_url": "http://127.0.0.1:9"}, label=f"c{n}")
    body = client.get("/api/v2/connections?limit=2", headers=keys["viewer"]).get_json()
    assert body["total"] == 3 and len(body["connections"]) == 2 and body["next_cursor"]
    templates = client.get("/api/v2/ai-workflows/templates?limit=1", headers=keys["viewer"]).get_json()
    assert templates["total"] >= 2 and len(templates["templates"]) == 1
    names = [t["name"] for p in walk(client, keys["viewer"], "/api/v2/ai-workflows/templates",
                                     "templates", 1) for t in p]
    assert names == sorted(names) and len(names) == templates["total"]


def test_listing_workflows_costs_the_same_number_of_queries_for_2_and_for_25(app, client, keys):
    def queries() -> int:
        with app.app_context():
            engine = db.engine
        seen: list[str] = []

        def count(conn, cursor, statement, *args):
            seen.append(statement)

        client.get("/api/v2/ai-workflows", headers=keys["viewer"])  # the key's last use is written
        event.listen(engine, "before_cursor_execute", count)
        try:
            response = client.get("/api/v2/ai-workflows?limit=500", headers=keys["viewer"])
        finally:
            event.remove(engine, "before_cursor_execute", count)
        assert response.status_code == 200
        return len(seen), len(response.get_json()["workflows"])

    for n in range(2):
        create(client, keys, f"wf {n}")
    few = queries()
    for n in range(23):
        create(client, keys, f"more {n}")
    many = queries()
    assert (few[1], many[1]) == (2, 25)
    assert few[0] == many[0] <= 2, (few, many)  # the API key, then the page


def test_analytics_pages_its_workflows(client, keys):
    made = [create(client, keys, f"wf {n}")["id"] for n in range(3)]
    for wf_id in made:
        assert client.post(f"/api/v2/ai-workflows/{wf_id}/execute?wait=5",
                           headers=keys["editor"]).status_code == 200
    first = client.get("/api/v2/ai-workflows/analytics?limit=2", headers=keys["viewer"]).get_json()
    assert first["executions"] == 3 and [w["workflow_id"] for w in first["workflows"]] == made[:2]
    rest = client.get(f"/api/v2/ai-workflows/analytics?limit=2&cursor={first['next_cursor']}",
                      headers=keys["viewer"]).get_json()
    assert [w["workflow_id"] for w in rest["workflows"]] == made[2:] and rest["next_cursor"] is None


def test_services_status_follows_edits_and_deletes(client, keys):
    def used() -> dict:
        return client.get("/api/v2/ai-workflows/services/status", headers=keys["viewer"]).get_json()["services"]

    wf = create(client, keys, "uses http", [step("a", "http")])
    other = create(client, keys, "also http", [step("a", "http")])
    assert used()["http"]["workflows"] == [wf["id"], other["id"]]
    response = client.put(f"/api/v2/ai-workflows/{wf['id']}", headers=keys["editor"], json={
        "name": "no service now", "trigger": {"type": "manual"}, "steps": [step("a")]})
    assert response.status_code == 200, response.get_json()
    assert used()["http"]["workflows"] == [other["id"]]
    assert client.delete(f"/api/v2/ai-workflows/{other['id']}", headers=keys["editor"]).status_code == 204
    assert "http" not in used()
