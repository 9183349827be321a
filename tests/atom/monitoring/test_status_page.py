"""The public status page: off by default, admin-chosen items under public names, nothing
internal shown, no login and no cookie, and its configuration API and form."""
from __future__ import annotations

import re
from urllib.parse import urlsplit

import pytest

from tests.fakes import reply


@pytest.fixture
def settings():
    return {"STATUS_PAGE_ENABLED": True, "STATUS_PAGE_TITLE": "Acme status"}


def put(client, headers, items):
    return client.put("/api/v2/monitoring/status-page", headers=headers, json={"items": items})


@pytest.fixture
def chosen(client, keys, connect, service, run):
    """Three connections, labelled with internal names: two chosen (one down), one not."""
    service.always("/broken", reply(503, {"error": "db-password-expired"}))
    up = connect("/health", label="internal-billing-eu1")
    down = connect("/broken", label="internal-search-eu1")
    hidden = connect("/health", label="internal-hidden-one")
    run()
    run()
    response = put(client, keys["admin"], [{"connection_id": up["id"], "name": "Billing"},
                                           {"connection_id": down["id"], "name": "Search"}])
    assert response.status_code == 200, response.get_json()
    return up, down, hidden


def test_the_page_shows_only_the_chosen_items_under_their_public_names(app, chosen, service):
    public = app.test_client()  # signed out, no key
    response = public.get("/status")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "<h1>Acme status</h1>" in html and "<title>Acme status</title>" in html
    assert html.index("Billing") < html.index("Search")
    assert 'id="status-banner" class="status-banner status-banner-down"' in html
    assert "Some systems are down" in html
    assert len(re.findall(r'class="status-day ', html)) == 60  # 30 days for each item
    for secret in ("internal-", urlsplit(service.url).netloc, "127.0.0.1", "db-password",
                   "upstream", "connection_id", "/connections/", "csrf"):
        assert secret not in html, secret
    # CSP-safe: no inline script or style.
    assert "<script" not in html and "style=" not in html and "<style" not in html
    assert "Set-Cookie" not in response.headers
    assert response.headers["Cache-Control"] == "public, max-age=10"


def test_the_json_twin_has_the_public_fields_only(app, chosen):
    up, down, hidden = chosen
    response = app.test_client().get("/status.json")
    assert response.status_code == 200 and "Set-Cookie" not in response.headers
    body = response.get_json()
    assert set(body) == {"title", "status", "banner", "items", "generated_at"}
    assert (body["title"], body["status"]) == ("Acme status", "down")
    billing, search = body["items"]
    for item in (billing, search):
        assert set(item) == {"name", "status", "uptime", "days"}
        assert len(item["days"]) == 30 and set(item["days"][0]) == {"date", "uptime"}
    assert (billing["name"], billing["status"]) == ("Billing", "operational")
    assert (search["name"], search["status"]) == ("Search", "down")
    assert billing["uptime"] == {"24h": 1.0, "7d": 1.0, "30d": 1.0}
    assert search["uptime"]["24h"] == 0.0
    assert billing["days"][-1]["uptime"] == 1.0 and billing["days"][0]["uptime"] is None
    text = response.get_data(as_text=True)
    assert "internal-" not in text and '"id"' not in text


def test_an_item_without_data_is_unknown_and_does_not_hide_the_others(client, keys, connect,
                                                                     run, app):
    ok = connect("/health", label="ok")
    run()
    new = connect("/health", label="new")  # not checked yet
    response = put(client, keys["admin"], [{"connection_id": ok["id"], "name": "A"},
                                           {"connection_id": new["id"], "name": "B"}])
    assert response.status_code == 200
    body = app.test_client().get("/status.json").get_json()
    assert [i["status"] for i in body["items"]] == ["operational", "unknown"]
    assert (body["status"], body["banner"]) == ("operational", "All systems operational")


def test_a_change_shows_at_once_and_a_deleted_connection_leaves_the_page(app, client, keys,
                                                                         chosen):
    up, down, hidden = chosen
    public = app.test_client()
    assert len(public.get("/status.json").get_json()["items"]) == 2
    assert put(client, keys["admin"], [{"connection_id": hidden["id"], "name": "Docs"}]
               ).status_code == 200
    assert [i["name"] for i in public.get("/status.json").get_json()["items"]] == ["Docs"]
    response = client.delete(f"/api/v2/connections/{hidden['id']}", headers=keys["admin"])
    assert response.status_code == 204
    assert client.get("/api/v2/monitoring/status-page",
                      headers=keys["viewer"]).get_json()["items"] == []


def test_only_admins_configure_it_and_bad_items_are_422_naming_the_field(client, keys, connect):
    conn = connect("/health", label="web")
    item = {"connection_id": conn["id"], "name": "Web"}
    for role in ("viewer", "editor"):
        assert put(client, keys[role], [item]).status_code == 403
    assert client.put("/api/v2/monitoring/status-page", json={"items": [item]}).status_code == 401
    cases = [
        ([{"connection_id": 999, "name": "X"}], ["items", "0", "connection_id"]),
        ([item, {"connection_id": conn["id"], "name": "Again"}], ["items", "1", "connection_id"]),
        ([{"connection_id": conn["id"], "name": "  "}], ["items", "0", "name"]),
        ([{"connection_id": conn["id"]}], ["items", "0", "name"]),
        ([{"connection_id": "x", "name": "X"}], ["items", "0", "connection_id"]),
        ([{"connection_id": conn["id"], "name": "X" * 101}], ["items", "0", "name"]),
        ([{"connection_id": 2**70, "name": "X"}], ["items", "0", "connection_id"]),
    ]
    for items, path in cases:
        response = put(client, keys["admin"], items)
        assert response.status_code == 422, (items, response.get_json())
        errors = response.get_json()["errors"]
        for key in path:
            errors = errors[key]
        assert errors, items
    for body in (None, [], {"items": "x"}, {"items": [], "extra": 1}):
        response = client.put("/api/v2/monitoring/status-page", headers=keys["admin"], json=body)
        assert response.status_code == 422, body
    assert client.get("/api/v2/monitoring/status-page",
                      headers=keys["admin"]).get_json()["items"] == []
    response = put(client, keys["admin"], [item])
    assert response.status_code == 200
    assert response.get_json() == {"enabled": True, "title": "Acme status", "items": [
        {"connection_id": conn["id"], "name": "Web", "position": 0, "label": "web",
         "integration": "http"}]}


def sign_in(app, alice):
    browser = app.test_client()
    assert browser.post("/login", data=alice).status_code == 302
    return browser


def test_the_admin_form_saves_the_items_and_shows_errors_beside_the_field(app, alice, connect):
    a, b = connect("/health", label="alpha"), connect("/health", label="beta")
    browser = sign_in(app, alice)
    page = browser.get("/monitoring/status-page").get_data(as_text=True)
    assert page.count("<h1>") == 1 and "Status page" in page
    assert f'name="name-{a["id"]}"' in page and '<label for="f-name-' in page
    form = {"connection_id": [str(a["id"]), str(b["id"])],
            f"show-{a['id']}": "on", f"name-{a['id']}": "Alpha API", f"position-{a['id']}": "2",
            f"show-{b['id']}": "on", f"name-{b['id']}": "Beta API", f"position-{b['id']}": "1"}
    response = browser.post("/monitoring/status-page", data=form)
    assert response.status_code == 302
    items = app.test_client().get("/status.json").get_json()["items"]
    assert [i["name"] for i in items] == ["Beta API", "Alpha API"]
    form[f"name-{a['id']}"] = " "
    response = browser.post("/monitoring/status-page", data=form)
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert re.search(rf'id="f-name-{a["id"]}-error">a public name is required', page)
    assert [i["name"] for i in app.test_client().get("/status.json").get_json()["items"]] == \
        ["Beta API", "Alpha API"]  # unchanged


def test_the_admin_form_is_for_admins(app, client, connect):
    from atom.extensions import db
    from atom.models import User

    with app.app_context():
        for role in ("editor", "viewer"):
            user = User(email=f"{role}@example.com", role=role)
            user.set_password("a long enough password")
            db.session.add(user)
        db.session.commit()
    for role in ("editor", "viewer"):
        browser = sign_in(app, {"email": f"{role}@example.com",
                                "password": "a long enough password"})
        assert browser.get("/monitoring/status-page").status_code == 403
        assert browser.post("/monitoring/status-page", data={}).status_code == 403
    assert client.get("/monitoring/status-page").status_code == 302  # to the login


class TestOff:
    @pytest.fixture
    def settings(self):
        return {}

    def test_off_by_default_it_is_absent(self, app, client, keys):
        public = app.test_client()
        assert public.get("/status").status_code == 404
        assert public.get("/status.json").status_code == 404
        assert public.get("/no-such-page").status_code == 404
        body = client.get("/api/v2/monitoring/status-page", headers=keys["viewer"]).get_json()
        assert body == {"enabled": False, "title": "Service status", "items": []}
