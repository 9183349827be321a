"""monday's OAuth connect flow is OAuth 2.1 (developer.monday.com/apps/docs/oauth-2-1): the
authorize request carries a PKCE challenge and the code is exchanged at the 2.1 token URL,
whose access tokens expire and come with a refresh token. The legacy flow (``oauth2/token``,
no PKCE, tokens that never expire) is refused for apps created since 2.1 became the default."""
from __future__ import annotations

from urllib.parse import parse_qs
from urllib.parse import urlsplit


def test_connect_starts_an_oauth_2_1_authorization_with_pkce(client, keys):
    registered = client.put("/api/v2/oauth-apps/monday", headers=keys["admin"], json={
        "client_id": "monday-client", "client_secret": "monday-secret", "settings": {}})
    assert registered.status_code in (200, 201), registered.get_json()
    started = client.post("/api/v2/connections/oauth/monday/start", headers=keys["editor"],
                          json={"label": "Our monday"})
    assert started.status_code == 200, started.get_json()
    url = urlsplit(started.get_json()["authorize_url"])
    assert (url.scheme, url.netloc, url.path) == ("https", "auth.monday.com", "/oauth2/authorize")
    query = {k: v[0] for k, v in parse_qs(url.query).items()}
    assert query["client_id"] == "monday-client" and query["code_challenge_method"] == "S256"
    assert len(query["code_challenge"]) == 43


def test_the_catalogue_names_the_oauth_2_1_token_url(client, keys):
    auth = client.get("/api/v2/integrations/monday", headers=keys["viewer"]).get_json()["auth"]
    assert auth["oauth2"]["token_url"] == "https://auth.monday.com/oauth_ms/oauth/token"
    assert auth["oauth2"]["pkce"] is True
