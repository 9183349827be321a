"""Inputs that used to be a 500 (issue 7, item 9) are a clear 4xx on SQLite and PostgreSQL:
ids and offsets past 64 bits, deeply nested JSON, NUL and lone surrogates, non-ASCII digits,
out-of-range datetimes, and a connection deleted while its test runs."""
from __future__ import annotations

import json
import re
import threading
from http.server import BaseHTTPRequestHandler
from http.server import ThreadingHTTPServer

import pytest
from werkzeug.routing import IntegerConverter

from tests.conftest import make_key

# Tests whose input never reaches the database run on SQLite only.
SQLITE_ONLY = pytest.mark.parametrize("db_app", ["sqlite"], indirect=True)
HUGE = str(2**64)
BEYOND = str(2**63)  # one past the largest 64-bit id


@pytest.fixture(params=["sqlite", "postgresql"])
def db_app(request, monkeypatch, tmp_path):
    """The app on SQLite and on PostgreSQL (the PostgreSQL run skips when it is absent)."""
    monkeypatch.setenv("ATOM_INSTANCE_PATH", str(tmp_path / "instance"))
    if request.param == "postgresql":
        url = request.getfixturevalue("pg_url")  # first, so it is dropped after the app
        return request.getfixturevalue("app_factory")(SQLALCHEMY_DATABASE_URI=url)
    return request.getfixturevalue("app_factory")()


@pytest.fixture
def admin(db_app):
    return {"Authorization": f"Bearer {make_key(db_app, 'admin')}"}


@pytest.fixture
def api(db_app):
    return db_app.test_client()


def _connection(api, admin, base_url: str = "http://127.0.0.1:9/") -> dict:
    response = api.post("/api/v2/connections", headers=admin, json={
        "integration": "http", "label": "svc", "settings": {"base_url": base_url}})
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def _id_urls(app) -> list[tuple[str, str]]:
    """Every (method, url) of a route with a numeric path argument, that argument set past
    64 bits (so routes added later are covered too)."""
    urls = []
    for rule in app.url_map.iter_rules():
        numeric = {name for name, conv in rule._converters.items()
                   if isinstance(conv, IntegerConverter)}
        if not numeric:
            continue
        url = re.sub(r"<(?:\w+:)?(\w+)>", lambda m: BEYOND if m.group(1) in numeric else "x",
                     rule.rule)
        urls += [(method, url) for method in sorted(rule.methods - {"HEAD", "OPTIONS"})]
    return urls


# -- ids and offsets beyond 64 bits ------------------------------------------------------------


def test_an_id_beyond_64_bits_in_any_url_is_a_404(db_app, api, admin):
    urls = _id_urls(db_app)
    assert ("DELETE", f"/api/v2/connections/{BEYOND}") in urls
    for method, url in urls:
        for value in (BEYOND, HUGE):
            response = api.open(url.replace(BEYOND, value), method=method, headers=admin,
                                json={})
            assert response.status_code == 404, (method, url, response.get_json())
    assert api.get(f"/api/v2/connections/{2**63 - 1}", headers=admin).status_code == 404
    spec = api.get("/api/openapi.json").get_json()
    param = spec["paths"]["/api/v2/connections/{conn_id}"]["parameters"][0]
    assert param["schema"] == {"type": "integer", "minimum": 1, "maximum": 2**63 - 1}


@SQLITE_ONLY
@pytest.mark.parametrize("url", [
    f"/api/v2/executions?offset={HUGE}",
    f"/api/v2/executions?workflow_id={HUGE}",
    f"/api/v2/executions?workflow_id=-{HUGE}",
    f"/api/v2/monitoring/alerts?connection_id={HUGE}",
    f"/api/v2/monitoring/analytics?connection_id={BEYOND}",
])
def test_a_query_number_beyond_64_bits_is_a_4xx_naming_it(api, admin, url):
    response = api.get(url, headers=admin)
    assert response.status_code == 422, response.get_json()
    name = url.split("?")[1].split("=")[0]
    assert name in response.get_json()["errors"]


@SQLITE_ONLY
@pytest.mark.parametrize("path,body", [
    ("/api/v2/monitoring/channels", {"name": "c", "connection_id": 2**64, "target": "/x"}),
    ("/api/v2/monitoring/maintenance", {"connection_id": 2**63,
                                        "ends_at": "2030-01-01T00:00:00Z"}),
])
def test_a_body_id_beyond_64_bits_is_a_422_naming_it(api, admin, path, body):
    response = api.post(path, headers=admin, json=body)
    assert response.status_code == 422, response.get_json()
    assert "connection_id" in response.get_json()["errors"]


@SQLITE_ONLY
@pytest.mark.parametrize("connection", [2**63, 2**64, -(2**64)])
def test_a_workflow_step_connection_beyond_64_bits_is_a_422_naming_the_step(api, admin,
                                                                            connection):
    response = api.post("/api/v2/ai-workflows", headers=admin, json={
        "name": "w", "trigger": {"type": "manual"},
        "steps": [{"id": "s", "type": "action", "service": "http", "action": "get",
                   "connection": connection, "parameters": {"path": "/"}}]})
    assert response.status_code == 422, response.get_json()
    assert "steps.s" in response.get_json()["errors"]


# -- deeply nested JSON ------------------------------------------------------------------------


@SQLITE_ONLY
@pytest.mark.parametrize("depth", [129, 900, 100_000])
@pytest.mark.parametrize("method,path", [("POST", "/api/v2/connections"),
                                         ("POST", "/api/v2/ai-workflows"),
                                         ("PUT", "/api/v2/monitoring/thresholds")])
def test_a_json_body_nested_too_deeply_is_a_400(api, admin, method, path, depth):
    body = '{"integration": "http", "label": "x", "settings": {"a": ' + "[" * depth \
           + "]" * depth + "}}"
    response = api.open(path, method=method, data=body,
                        headers={**admin, "Content-Type": "application/json"})
    assert response.status_code == 400, response.get_json()
    assert "nested more than 128 levels" in response.get_json()["message"]
    assert "_body" in response.get_json()["errors"]
    assert api.get("/api/v2/connections", headers=admin).get_json()["connections"] == []


@SQLITE_ONLY
def test_a_nested_body_sent_to_a_workflow_hook_is_a_400(api, admin):
    workflow = api.post("/api/v2/ai-workflows", headers=admin, json={
        "name": "hooked", "trigger": {"type": "webhook"},
        "steps": [{"id": "t", "type": "transform", "mapping": {"x": "trigger.x"}}]}).get_json()
    response = api.post(workflow["webhook_url"], data="[" * 5000 + "]" * 5000,
                        headers={"Content-Type": "application/json"})
    assert response.status_code == 400, response.get_json()
    assert "nested more than 128 levels" in response.get_json()["message"]


@SQLITE_ONLY
@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "utf-16"])
def test_an_unlabelled_nested_body_is_refused_before_a_receiver_parses_it(api, admin,
                                                                          encoding):
    conn = _connection(api, admin)
    body = (" [" * 5000 + "]" * 5000).encode(encoding)  # the receiver json.loads any body
    for content_type in ("text/plain", "application/octet-stream", "application/json"):
        response = api.post(f"/hooks/http/{conn['id']}", data=body,
                            headers={"Content-Type": content_type})
        assert response.status_code == 400, (content_type, response.get_json())
        assert "nested more than 128 levels" in response.get_json()["message"]


@SQLITE_ONLY
def test_brackets_inside_strings_and_ordinary_depth_are_accepted(api, admin):
    nested: dict = {"leaf": "[[[[{{{{" * 500}
    for _ in range(60):
        nested = {"n": [nested]}  # 120 levels: deep, but within the limit
    response = api.post("/api/v2/connections", headers=admin, json={
        "integration": "http", "label": "deep but fine",
        "settings": {"base_url": "http://127.0.0.1:9/"}, "credentials": {}})
    assert response.status_code == 201
    conn = response.get_json()
    response = api.post(f"/api/v2/connections/{conn['id']}/actions/nope", headers=admin,
                        json=nested)
    assert response.status_code == 404  # past the body check: the action does not exist


# -- NUL and lone surrogates -------------------------------------------------------------------


@pytest.mark.parametrize("raw,field", [
    ('{"integration": "http", "label": "a\\u0000b"}', "label"),
    ('{"integration": "http", "label": "a\\ud800b"}', "label"),
    ('{"integration": "http", "label": "a\\udfffb"}', "label"),
    ('{"integration": "http", "label": "x", "settings": {"base_url": "http://h/\\u0000"}}',
     "settings.base_url"),
    ('{"integration": "http", "label": "x", "settings": {"k\\u0000": "v"}}', "settings"),
    ('{"integration": "http\\u0000", "label": "x"}', "integration"),
])
def test_nul_and_lone_surrogates_in_a_json_body_are_a_400_naming_the_field(api, admin, raw,
                                                                           field):
    response = api.post("/api/v2/connections", data=raw,
                        headers={**admin, "Content-Type": "application/json"})
    assert response.status_code == 400, response.get_json()
    assert field in response.get_json()["errors"]
    assert field in response.get_json()["message"]
    assert api.get("/api/v2/connections", headers=admin).get_json()["connections"] == []


def test_a_raw_surrogate_byte_sequence_in_a_body_is_a_400(api, admin):
    # json.loads decodes bytes with "surrogatepass", so these bytes become U+D800.
    raw = b'{"name": "a\xed\xa0\x80b", "trigger": {"type": "manual"}, "steps": []}'
    response = api.post("/api/v2/ai-workflows", data=raw,
                        headers={**admin, "Content-Type": "application/json"})
    assert response.status_code == 400, response.get_json()
    assert response.get_json()["errors"] == {"name": ["contains a lone surrogate (\\ud800)"]}


@SQLITE_ONLY
def test_a_surrogate_pair_is_an_ordinary_character(api, admin):
    raw = ('{"integration": "http", "label": "rocket \\ud83d\\ude80", '
           '"settings": {"base_url": "http://127.0.0.1:9/"}}')
    response = api.post("/api/v2/connections", data=raw,
                        headers={**admin, "Content-Type": "application/json"})
    assert response.status_code == 201
    assert response.get_json()["label"] == "rocket \U0001f680"


@pytest.mark.parametrize("path,body", [
    ("/api/v2/ai-workflows",
     '{"name": "w\\u0000", "trigger": {"type": "manual"}, "steps": []}'),
    ("/api/v2/monitoring/channels", '{"name": "c\\u0000", "connection_id": 1}'),
    ("/api/v2/monitoring/thresholds", '{"response_time_warning_ms": "\\ud800"}'),
])
def test_nul_in_any_json_body_is_a_400(api, admin, path, body):
    method = "PUT" if path.endswith("thresholds") else "POST"
    response = api.open(path, method=method, data=body,
                        headers={**admin, "Content-Type": "application/json"})
    assert response.status_code == 400, response.get_json()


@pytest.mark.parametrize("url,name", [
    ("/api/v2/connections?integration=%00", "integration"),
    ("/api/v2/connections?integration=a%00b", "integration"),
    ("/api/v2/monitoring/alerts?integration=%00", "integration"),
    ("/api/v2/integrations/ht%00tp", "name"),
    ("/api/v2/monitoring/services/%00", "name"),
])
def test_nul_in_a_query_or_path_parameter_is_a_400_naming_it(api, admin, url, name):
    response = api.get(url, headers=admin)
    assert response.status_code == 400, response.get_json()
    assert response.get_json()["errors"] == {name: ["contains a NUL character"]}


def test_nul_in_a_webhook_token_is_a_400(api):
    response = api.post("/hooks/workflows/abc%00def", json={})
    assert response.status_code == 400
    assert "token" in response.get_json()["errors"]


# -- numbers and dates -------------------------------------------------------------------------


@SQLITE_ONLY
@pytest.mark.parametrize("url", [
    "/api/v2/ai-workflows/analytics?days=%C2%B2",  # ²
    "/api/v2/ai-workflows/analytics?days=%D9%A1%D9%A2",  # Arabic-Indic 12
    "/api/v2/ai-workflows/analytics?days=1_0",
    "/api/v2/ai-workflows/analytics?days=0",
    "/api/v2/ai-workflows/analytics?days=366",
])
def test_workflow_analytics_days_must_be_ascii_digits_1_to_365(api, admin, url):
    response = api.get(url, headers=admin)
    assert response.status_code == 400, response.get_json()
    assert "days" in response.get_json()["errors"]
    assert api.get("/api/v2/ai-workflows/analytics?days=12", headers=admin).status_code == 200


@SQLITE_ONLY
@pytest.mark.parametrize("url,name", [
    ("/api/v2/executions?limit=%D9%A1%D9%A2", "limit"),
    ("/api/v2/executions?offset=%C2%B2", "offset"),
    ("/api/v2/executions?workflow_id=%EF%BC%91", "workflow_id"),  # fullwidth 1
    ("/api/v2/monitoring/analytics?hours=%D9%A3", "hours"),
    ("/api/v2/monitoring/alerts?limit=%E0%A5%AB", "limit"),  # Devanagari 5
    ("/api/v2/ai-workflows/1/execute?wait=%D9%A1", "wait"),
])
def test_non_ascii_digits_in_query_numbers_are_a_4xx_naming_them(api, admin, url, name):
    method = "POST" if "execute" in url else "GET"
    response = api.open(url, method=method, headers=admin)
    assert response.status_code == 422, response.get_json()
    assert name in response.get_json()["errors"]


@SQLITE_ONLY
def test_non_ascii_digits_in_an_id_do_not_match_the_route(api, admin):
    conn = _connection(api, admin)
    assert conn["id"] == 1
    assert api.get("/api/v2/connections/%D9%A1", headers=admin).status_code == 404
    assert api.get("/api/v2/connections/1", headers=admin).status_code == 200


@pytest.mark.parametrize("query", [
    "since=9999-12-31T23:59:59-01:00",
    "until=9999-12-31T23:59:59Z",
    "since=0001-01-01T00:00:00%2B01:00",
    "until=1969-12-31T23:59:59Z",
])
def test_out_of_range_datetimes_in_execution_filters_are_a_4xx(api, admin, query):
    response = api.get(f"/api/v2/executions?{query}", headers=admin)
    assert response.status_code == 422, response.get_json()
    assert query.split("=")[0] in response.get_json()["errors"]
    ok = api.get("/api/v2/executions?since=2020-01-01T00:00:00%2B02:00&until=2999-01-01",
                 headers=admin)
    assert ok.status_code == 200


@SQLITE_ONLY
@pytest.mark.parametrize("ends_at", ["9999-12-31T23:59:59-01:00", "9999-12-31T23:59:59Z"])
def test_out_of_range_datetimes_in_a_maintenance_window_are_a_422(api, admin, ends_at):
    conn = _connection(api, admin)
    response = api.post("/api/v2/monitoring/maintenance", headers=admin, json={
        "connection_id": conn["id"], "starts_at": "9999-12-30T00:00:00Z", "ends_at": ends_at})
    assert response.status_code == 422, response.get_json()
    assert set(response.get_json()["errors"]) <= {"starts_at", "ends_at"}


# -- a connection deleted while its test runs --------------------------------------------------


class _Gate(BaseHTTPRequestHandler):
    """Answers a health check only once the test lets it (so a DELETE can come first)."""

    entered = threading.Event()
    release = threading.Event()

    def do_GET(self) -> None:  # noqa: N802
        type(self).entered.set()
        type(self).release.wait(10)
        body = json.dumps({"ok": True}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args) -> None:
        pass


@pytest.fixture
def gate():
    _Gate.entered.clear()
    _Gate.release.clear()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Gate)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/"
    _Gate.release.set()
    server.shutdown()
    server.server_close()


def test_deleting_a_connection_while_its_test_runs_is_not_a_500(db_app, api, admin, gate):
    conn = _connection(api, admin, base_url=gate)
    answers = []
    tester = threading.Thread(target=lambda: answers.append(
        db_app.test_client().post(f"/api/v2/connections/{conn['id']}/test", headers=admin)))
    tester.start()
    assert _Gate.entered.wait(10)
    assert api.delete(f"/api/v2/connections/{conn['id']}", headers=admin).status_code == 204
    _Gate.release.set()
    tester.join(15)
    assert answers[0].status_code == 404, answers[0].get_json()
    assert "deleted" in answers[0].get_json()["message"]
    assert api.get(f"/api/v2/connections/{conn['id']}", headers=admin).status_code == 404
    assert api.get("/api/v2/connections", headers=admin).status_code == 200
