"""The OpenAPI document describes the API, and its docs page needs no CDN."""
from __future__ import annotations

import re


def test_the_openapi_document_lists_every_api_route_with_bearer_security(app, client):
    spec = client.get("/api/openapi.json").get_json()
    assert spec["openapi"].startswith("3.")
    assert spec["components"]["securitySchemes"]["bearerAuth"]["scheme"] == "bearer"
    assert spec["security"] == [{"bearerAuth": []}]
    documented = set(spec["paths"])
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith("/api/v2"):
            path = re.sub(r"<(?:\w+:)?([^>]+)>", r"{\1}", rule.rule)
            assert path in documented, path
    create = spec["paths"]["/api/v2/connections"]["post"]
    assert "requestBody" in create


def test_the_docs_page_loads_only_local_assets(client):
    page = client.get("/api/docs")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "openapi.json" in html
    assets = re.findall(r'<script[^>]+src="([^"]+)"', html) + re.findall(r'<link[^>]+href="([^"]+)"', html)
    assert assets
    for src in assets:
        assert src.startswith("/"), src
        assert client.get(src).status_code == 200, src
