"""Secrets never leave whole: not in responses, not in the database file, not in the log."""
from __future__ import annotations

import logging

import responses

from atom.extensions import db
from atom.logging import scrub

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
    import io

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
