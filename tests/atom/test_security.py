"""Secrets never leave whole: not in responses, not in the database file, not in the log."""
from __future__ import annotations

import base64
import io
import json
import logging
from urllib.parse import quote
from urllib.parse import quote_plus

import pytest
import responses

from atom.extensions import db
from atom.logging import scrub
from tests.atom.engine.conftest import close_engine
from tests.fakes import FakeServer
from tests.fakes import reply

SECRETS = {"token": "tok-SUPERSECRET-0123456789", "webhook_secret": "whsec-SUPERSECRET-42"}


def _all_responses(client, keys, conn_id):
    yield client.get("/api/v2/connections", headers=keys["viewer"])
    yield client.get(f"/api/v2/connections/{conn_id}", headers=keys["viewer"])
    yield client.patch(f"/api/v2/connections/{conn_id}", headers=keys["editor"], json={"label": "y"})
    yield client.get("/api/v2/integrations/http", headers=keys["viewer"])
    yield client.get("/api/enhanced/management/discover", headers=keys["viewer"])
    yield client.post(f"/api/v2/connections/{conn_id}/test", headers=keys["editor"])
    yield client.post(f"/api/v2/connections/{conn_id}/actions/get", headers=keys["editor"],
                      json={"path": "/fail"})


def test_no_secret_in_any_response_the_database_file_or_the_log(app, client, keys, caplog, tmp_path):
    caplog.set_level(logging.DEBUG)
    created = client.post("/api/v2/connections", headers=keys["editor"], json={
        "integration": "http", "label": "x",
        "settings": {"base_url": "http://127.0.0.1:9300", "max_attempts": 2},
        "credentials": {"auth": "bearer", **SECRETS}})
    assert created.status_code == 201
    bodies = [created.get_data(as_text=True)]
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mocked:
        mocked.get("http://127.0.0.1:9300/", status=500, body="upstream echoes " + SECRETS["token"])
        mocked.get("http://127.0.0.1:9300/fail", status=503)
        bodies += [r.get_data(as_text=True) for r in _all_responses(client, keys, created.get_json()["id"])]
    get_state = __import__("atom.state", fromlist=["get_state"]).get_state
    get_state(app).recorder.flush()
    with app.app_context():
        db.session.remove()
        db.engine.dispose()
    raw = b"".join(p.read_bytes() for p in tmp_path.glob("atom.db*"))
    for secret in SECRETS.values():
        for body in bodies:
            assert secret not in body
        assert secret.encode() not in raw
        assert secret not in caplog.text
        for record in caplog.records:
            assert secret not in record.getMessage()


def test_log_lines_are_scrubbed_of_credentials():
    assert "xoxb-1234567890-abc" not in scrub("sent Bearer xoxb-1234567890-abc to slack")
    assert "hunter2hunter2" not in scrub("password=hunter2hunter2 user=bob")
    assert "atom_" + "A" * 30 not in scrub("key atom_" + "A" * 30)
    assert scrub("nothing secret here") == "nothing secret here"


def test_every_root_handler_scrubs_what_it_writes(app):
    from atom.logging import configure_logging

    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    root = logging.getLogger()
    root.addHandler(handler)
    try:
        configure_logging(app)
        logging.getLogger("atom.test").warning("calling with Bearer abcdefghijklmnop now")
    finally:
        root.removeHandler(handler)
    assert "calling with Bearer [REDACTED] now" in stream.getvalue()
    assert "abcdefghijklmnop" not in stream.getvalue()


# -- redaction by value (issue 7, item 4) -----------------------------------------------------

# "/", "+", "=", a space and quotes: the URL-encoded and JSON-escaped forms differ from the value.
TOKEN = "tok/SUPER+SECRET=0123456789abcdef"
USER = "bob@example.com"
PASSWORD = 'pw "SUPER/SECRET+9876543210"'
KEY = "KQZJXVWPLMNBRTYHGFDSAQWERTYUIOP"


def _forms(secret: str, user: str | None = None) -> set[str]:
    """A secret as a service might echo it, and the start of it a truncated message keeps."""
    forms = {secret, quote(secret, safe=""), quote(secret), quote_plus(secret),
             json.dumps(secret)[1:-1], secret[:8]}
    if user is not None:
        forms.add(base64.b64encode(f"{user}:{secret}".encode()).decode())
    return forms


LEAKS = _forms(TOKEN) | _forms(PASSWORD, USER) | _forms(KEY)


def _echo(req):
    """A service that echoes the credentials it got: in its JSON body, URL-encoded, Basic
    decoded, and in response headers."""
    auth = req.headers.get("Authorization", "")
    key = req.headers.get("X-Api-Key", "")
    scheme, _, value = auth.partition(" ")
    decoded = base64.b64decode(value).decode() if scheme == "Basic" else ""
    return reply(200, {"authorization": auth, "api_key": key, "basic": decoded,
                       "quoted": quote(auth, safe=""), "quoted_plus": quote_plus(auth),
                       "key_quoted": quote(key, safe=""), "decoded_quoted": quote(decoded)},
                 headers={"X-Echo-Authorization": auth, "X-Echo-Key": key})


def _leak(req):
    """A 500 quoting the credential from character 190: a 200-character snippet cuts it."""
    secret = req.headers.get("X-Api-Key") or req.headers.get("Authorization", "")
    return reply(500, "E" * 190 + secret + " was refused", headers={"X-Seen": secret})


@pytest.fixture
def app(app_factory, monkeypatch, tmp_path):
    monkeypatch.setenv("ATOM_INSTANCE_PATH", str(tmp_path / "instance"))
    app = app_factory()
    yield app
    close_engine(app)


@pytest.fixture
def echo():
    with FakeServer() as server:
        server.always("/echo", _echo)
        server.always("/leak", _leak)
        yield server


@pytest.fixture
def echoing(create_connection, echo):
    """Three connections to the echoing service: bearer, basic and API key."""
    settings = {"base_url": echo.url, "health_path": "/leak", "max_attempts": 1}
    return [
        create_connection("http", settings, {"auth": "bearer", "token": TOKEN}, label="bearer"),
        create_connection("http", settings, {"auth": "basic", "username": USER,
                                             "password": PASSWORD}, label="basic"),
        create_connection("http", settings, {"auth": "api_key", "header": "X-Api-Key",
                                             "key": KEY}, label="key"),
    ]


def _assert_clean(text: str, where: str) -> None:
    found = sorted(form for form in LEAKS if form in text)
    assert not found, f"{where} holds {found}"


def test_no_echoed_secret_reaches_a_response_the_database_or_the_log(app, client, keys, caplog,
                                                                      tmp_path, echo, echoing):
    caplog.set_level(logging.DEBUG)
    bodies: dict[str, str] = {}
    for conn in echoing:
        cid = conn["id"]
        echoed = client.post(f"/api/v2/connections/{cid}/actions/get", headers=keys["editor"],
                             json={"path": "/echo"})
        assert echoed.status_code == 200
        assert "[REDACTED]" in echoed.get_data(as_text=True)  # it was echoed, and removed
        failed = client.post(f"/api/v2/connections/{cid}/actions/get", headers=keys["editor"],
                             json={"path": "/leak"})
        assert failed.status_code == 502
        # Redacted, then cut: what is left of the secret is the start of "[REDACTED]".
        assert "E" * 190 in failed.get_json()["message"]
        assert "[RE" in failed.get_json()["message"]
        tested = client.post(f"/api/v2/connections/{cid}/test", headers=keys["editor"])
        assert "[RE" in tested.get_json()["message"]
        bodies[f"action {cid}"] = echoed.get_data(as_text=True)
        bodies[f"failed action {cid}"] = failed.get_data(as_text=True)
        bodies[f"test {cid}"] = tested.get_data(as_text=True)
    steps = [{"id": f"echo{c['id']}", "type": "action", "service": "http", "action": "get",
              "connection": c["id"], "parameters": {"path": "/echo"}} for c in echoing]
    steps += [{"id": f"leak{c['id']}", "type": "action", "service": "http", "action": "get",
               "connection": c["id"], "parameters": {"path": "/leak"}, "on_error": "continue",
               "retry": {"max_attempts": 2, "delay_s": 0}} for c in echoing]
    steps.append({"id": "last", "type": "action", "service": "http", "action": "get",
                  "connection": echoing[2]["id"], "parameters": {"path": "/leak"},
                  "depends_on": [s["id"] for s in steps]})
    wf = client.post("/api/v2/ai-workflows", headers=keys["editor"], json={
        "name": "echoes", "trigger": {"type": "manual"}, "steps": steps}).get_json()
    run = client.post(f"/api/v2/ai-workflows/{wf['id']}/execute?wait=20", headers=keys["editor"],
                      json={}).get_json()
    assert run["status"] == "failed"
    for path in (f"/api/v2/executions?workflow_id={wf['id']}", f"/api/v2/executions/{run['id']}",
                 "/api/v2/connections", f"/api/v2/connections/{echoing[0]['id']}"):
        bodies[path] = client.get(path, headers=keys["viewer"]).get_data(as_text=True)
    shown = json.loads(bodies[f"/api/v2/executions/{run['id']}"])
    assert shown["error"].endswith("[REDACTED]")
    by_id = {s["step_id"]: s for s in shown["steps"]}
    assert all("[REDACTED]" in json.dumps(by_id[f"echo{c['id']}"]["output"]) for c in echoing)
    assert all("[RE" in by_id[f"leak{c['id']}"]["error"]["message"] for c in echoing)
    # The service did get the credentials (so it echoed them): the test can fail.
    assert {r.headers.get("X-Api-Key") for r in echo.calls("/echo")} >= {KEY}
    assert f"Bearer {TOKEN}" in {r.headers.get("Authorization") for r in echo.calls("/leak")}
    from atom.state import get_state

    get_state(app).recorder.flush()
    close_engine(app)
    with app.app_context():
        db.session.remove()
        db.engine.dispose()
    raw = b"".join(p.read_bytes() for p in tmp_path.glob("atom.db*"))
    for where, body in bodies.items():
        _assert_clean(body, where)
    for form in LEAKS:
        assert form.encode() not in raw, f"the database file holds {form!r}"
    _assert_clean(caplog.text, "the log")


def test_a_step_input_holding_a_connection_secret_is_stored_redacted(app, client, keys, echo,
                                                                      echoing):
    bearer = echoing[0]
    wf = client.post("/api/v2/ai-workflows", headers=keys["editor"], json={
        "name": "literal", "trigger": {"type": "manual"}, "steps": [
            {"id": "call", "type": "action", "service": "http", "action": "get",
             "connection": bearer["id"],
             "parameters": {"path": "/echo", "headers": {"X-Copy": TOKEN}}}]}).get_json()
    run = client.post(f"/api/v2/ai-workflows/{wf['id']}/execute?wait=20", headers=keys["editor"],
                      json={}).get_json()
    shown = client.get(f"/api/v2/executions/{run['id']}", headers=keys["viewer"]).get_json()
    assert shown["steps"][0]["input"]["headers"] == {"X-Copy": "[REDACTED]"}


def test_log_lines_lose_the_values_of_live_connection_secrets(app, client, keys, echo,
                                                               create_connection):
    from atom.integrations.redaction import LIVE
    from atom.logging import configure_logging

    key = "LOGONLY" + "QWPOEIRUTYALSKDJFHGZMXNCBV"  # this test's own: the registry is per process
    user, password = "carol@example.com", "pw-LOGONLY-0192837465"
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter("%(message)s"))
    root = logging.getLogger()
    root.addHandler(handler)
    settings = {"base_url": echo.url, "health_path": "/echo"}
    with_key = create_connection("http", settings, {"auth": "api_key", "header": "X-Api-Key",
                                                    "key": key})
    basic = create_connection("http", settings, {"auth": "basic", "username": user,
                                                 "password": password})
    try:
        configure_logging(app)
        for conn in (with_key, basic):  # builds their clients
            client.post(f"/api/v2/connections/{conn['id']}/test", headers=keys["editor"])
        log = logging.getLogger("plugins.http.test")
        # None of these looks like a credential: only the registry of values knows them.
        log.warning("upstream said %s", key)
        log.warning("basic value %s", base64.b64encode(f"{user}:{password}".encode()).decode())
        try:
            raise RuntimeError(f"answer quoted {quote(password, safe='')}")
        except RuntimeError:
            log.exception("call failed")
    finally:
        root.removeHandler(handler)
    text = stream.getvalue()
    assert text.count("[REDACTED]") == 3, text
    for leak in (key, password, quote(password, safe=""), "Y2Fyb2xAZXhhbXBsZS5jb206"):
        assert leak not in text
    assert LIVE.text(key) == "[REDACTED]"
    client.delete(f"/api/v2/connections/{with_key['id']}", headers=keys["editor"])
    assert LIVE.text(key) == key  # dropped with the connection
    assert LIVE.text(password) == "[REDACTED]"
