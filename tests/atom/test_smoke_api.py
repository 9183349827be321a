from __future__ import annotations


def test_it_creates_and_tests_an_http_connection(client, keys, create_connection):
    conn = create_connection("http", {"base_url": "http://127.0.0.1:9"}, {"auth": "bearer", "token": "s3cr3t-token-value-1234"})
    assert conn["credentials"]["token"] == "********1234"
    r = client.post(f"/api/v2/connections/{conn['id']}/test", headers=keys["viewer"])
    assert r.status_code == 403
    r = client.post(f"/api/v2/connections/{conn['id']}/test", headers=keys["editor"])
    assert r.status_code == 200
    assert r.get_json()["ok"] is False
