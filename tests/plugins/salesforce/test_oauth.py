"""Connecting with OAuth 2.0 (web server flow, PKCE) against the fake org: the token
response's instance_url becomes the connection's destination; and the template that waited
for Salesforce."""
from __future__ import annotations

from urllib.parse import parse_qs
from urllib.parse import urlsplit

from atom.engine.definition import validate_definition
from atom.engine.templates import get_template
from atom.extensions import db
from atom.models import Connection
from atom.state import get_state
from tests.plugins.salesforce.fake import CLIENT_ID
from tests.plugins.salesforce.fake import ORG_ID


def test_connect_stores_the_instance_url_from_the_token_response(app, client, keys, oauth_app, sf):
    started = client.post("/api/v2/connections/oauth/salesforce/start", headers=keys["editor"],
                          json={"label": "Acme org"})
    assert started.status_code == 200, started.get_json()
    url = started.get_json()["authorize_url"]
    assert url.startswith(f"{sf.url}/services/oauth2/authorize?")
    query = {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}
    assert query["client_id"] == CLIENT_ID and query["code_challenge_method"] == "S256"
    assert query["scope"] == "api refresh_token"
    code = sf.authorize_code(query["redirect_uri"], query["code_challenge"])
    done = client.get("/oauth/callback", headers={**keys["editor"], "Accept": "application/json"},
                      query_string={"code": code, "state": query["state"]})
    assert done.status_code == 201, done.get_json()
    conn = done.get_json()["connection"]
    assert conn["settings"]["instance_url"] == sf.url
    assert conn["settings"]["org_id"] == ORG_ID
    [exchange] = sf.calls("POST", "/services/oauth2/token")
    assert exchange.form["grant_type"] == "authorization_code" and exchange.form["code_verifier"]
    with app.app_context():
        integ = get_state().runtime.integration(db.session.get(Connection, conn["id"]))
        assert integ.http.settings.base_url == sf.url
    # The new connection works against its instance.
    body = client.post(f"/api/v2/connections/{conn['id']}/test", headers=keys["editor"]).get_json()
    assert body["ok"] is True, body
    assert sf.requests[-1].path == "/services/data/v61.0/limits"


def test_a_token_response_without_instance_url_creates_nothing(app, client, keys, oauth_app, sf,
                                                               monkeypatch):
    original = sf._token

    def no_instance(rec):
        answer = original(rec)
        answer.body.pop("instance_url", None)
        return answer

    monkeypatch.setattr(sf, "_token", no_instance)
    started = client.post("/api/v2/connections/oauth/salesforce/start", headers=keys["editor"],
                          json={}).get_json()
    query = {k: v[0] for k, v in parse_qs(urlsplit(started["authorize_url"]).query).items()}
    code = sf.authorize_code(query["redirect_uri"], query["code_challenge"])
    done = client.get("/oauth/callback", headers={**keys["editor"], "Accept": "application/json"},
                      query_string={"code": code, "state": query["state"]})
    assert done.status_code >= 400
    with app.app_context():
        assert db.session.scalars(db.select(Connection)).all() == []


def test_the_lead_to_asana_template_uses_the_record_created_trigger(app):
    template = get_template("salesforce_lead_to_asana")
    trigger = template.definition["trigger"]
    with app.app_context():
        spec = get_state(app).registry.get("salesforce").manifest.trigger(trigger["event"])
        assert spec is not None and spec.params().load(trigger["params"])["object"] == "Lead"
        validate_definition(template.instantiate({"parameters": template.example_parameters()}),
                            get_state(app).registry)
