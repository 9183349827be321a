"""Hardening of every response and of the files ATOM creates (issue 7, item 14): security headers,
no inline script or style, a long secret key in production, no pid on /healthz, private files."""
from __future__ import annotations

import re
import stat
from pathlib import Path

import pytest

from atom import create_app
from atom.settings import ConfigError
from tests.conftest import TEST_KEY

ROOT = Path(__file__).resolve().parents[2]
TEMPLATES = sorted([*ROOT.glob("atom/dashboard/templates/**/*.html"), *ROOT.glob("plugins/*/templates/**/*.html")])

EXPECTED = {
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "strict-origin-when-cross-origin",
}

# An inline script (a <script> without src), a <style> element, a style="" attribute, an on*=
# handler or a javascript: URL: each is refused by the Content-Security-Policy below.
INLINE = re.compile(r"<script(?![^>]*\bsrc=)[^>]*>|<style\b|\sstyle\s*=|\son[a-z]+\s*=|javascript:",
                    re.IGNORECASE)


def _check(response):
    for name, value in EXPECTED.items():
        assert response.headers.get(name) == value, (name, response.headers)
    policy = response.headers["Content-Security-Policy"]
    directives = dict(d.strip().split(" ", 1) for d in policy.split(";") if d.strip())
    assert directives["default-src"] == "'self'"
    assert directives["script-src"] == "'self'" and "unsafe-inline" not in policy
    assert directives["style-src"] == "'self'"
    assert directives["object-src"] == "'none'" and directives["frame-ancestors"] == "'none'"


def test_every_kind_of_response_carries_the_security_headers(app, client, keys, alice):
    @app.get("/_boom")
    def boom():
        raise RuntimeError("a bug")

    client.post("/login", data=alice)
    responses = {
        "page": client.get("/"),
        "login page": app.test_client().get("/login"),
        "redirect": app.test_client().get("/workflows"),
        "api": client.get("/api/v2/connections", headers=keys["viewer"]),
        "api error": client.get("/api/v2/connections"),
        "openapi": client.get("/api/openapi.json"),
        "api docs": client.get("/api/docs"),
        "hook": client.post("/hooks/workflows/999", json={}),
        "static": client.get("/static/atom/atom.css"),
        "not found": client.get("/no/such/page"),
        "method not allowed": client.delete("/login"),
        "healthz": client.get("/healthz"),
        "metrics": client.get("/metrics", headers=keys["viewer"]),
    }
    app.config["PROPAGATE_EXCEPTIONS"] = False
    responses["server error"] = client.get("/_boom")
    assert responses["server error"].status_code == 500
    assert responses["static"].status_code == 200
    for kind, response in responses.items():
        try:
            _check(response)
        except (AssertionError, KeyError) as exc:
            raise AssertionError(f"{kind}: {exc!r}") from exc


def test_the_policy_is_configurable(app_factory):
    app = app_factory(CONTENT_SECURITY_POLICY="default-src 'none'", REFERRER_POLICY="no-referrer")
    response = app.test_client().get("/login")
    assert response.headers["Content-Security-Policy"] == "default-src 'none'"
    assert response.headers["Referrer-Policy"] == "no-referrer"


def test_templates_exist_to_be_checked():
    assert len(TEMPLATES) >= 6


@pytest.mark.parametrize("template", TEMPLATES, ids=lambda p: str(p.relative_to(ROOT)))
def test_no_template_has_inline_script_or_style(template):
    found = INLINE.findall(template.read_text())
    assert not found, found


def test_rendered_pages_have_no_inline_script_or_style(app, client, alice, keys):
    wf = client.post("/api/v2/ai-workflows", headers=keys["editor"], json={
        "name": "w", "trigger": {"type": "manual"},
        "steps": [{"id": "a", "type": "transform", "mapping": {"n": "trigger.n"}}]}).get_json()
    ex = client.post(f"/api/v2/ai-workflows/{wf['id']}/execute?wait=10", headers=keys["editor"],
                     json={"n": 1}).get_json()
    assert not INLINE.findall(client.get("/login").get_data(as_text=True))
    client.post("/login", data=alice)
    for page in ("/", "/workflows", f"/executions/{ex['id']}", "/password", "/api/docs"):
        response = client.get(page)
        assert response.status_code == 200, page
        assert not INLINE.findall(response.get_data(as_text=True)), page


# -- the secret key ------------------------------------------------------------------------------


@pytest.fixture
def production(tmp_path, monkeypatch):
    monkeypatch.setenv("ATOM_INSTANCE_PATH", str(tmp_path / "instance"))
    return {"ENV_NAME": "production", "ENCRYPTION_KEY": TEST_KEY,
            "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path}/p.db"}


@pytest.mark.parametrize("key", ["x", "s" * 31, "é" * 15])
def test_production_refuses_a_secret_key_shorter_than_32_bytes(production, key):
    with pytest.raises(ConfigError, match="SECRET_KEY.*32 bytes"):
        create_app({**production, "SECRET_KEY": key})


def test_production_accepts_a_32_byte_secret_key(production):
    assert create_app({**production, "SECRET_KEY": "é" * 16}).config["ENV_NAME"] == "production"


def test_development_still_accepts_a_short_key(tmp_path, monkeypatch):
    monkeypatch.setenv("ATOM_INSTANCE_PATH", str(tmp_path / "instance"))
    create_app({"ENV_NAME": "development", "SECRET_KEY": "short", "ENCRYPTION_KEY": TEST_KEY,
                "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path}/d.db"})


# -- /healthz ------------------------------------------------------------------------------------


def test_healthz_shows_no_pid(client):
    body = client.get("/healthz").get_json()
    assert body == {"status": "ok"}


# -- private files -------------------------------------------------------------------------------


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_the_instance_folder_and_the_sqlite_files_are_private(tmp_path, monkeypatch):
    from flask_migrate import upgrade

    from atom.extensions import db

    monkeypatch.setenv("ATOM_INSTANCE_PATH", str(tmp_path / "instance"))
    monkeypatch.delenv("ATOM_ENCRYPTION_KEY", raising=False)
    monkeypatch.delenv("ATOM_SECRET_KEY", raising=False)
    app = create_app({"ENV_NAME": "development"})  # the default: instance/atom.db
    instance = tmp_path / "instance"
    with app.app_context():
        upgrade()
        with db.engine.connect() as conn:
            conn.exec_driver_sql("CREATE TABLE IF NOT EXISTS t (x)")
            conn.exec_driver_sql("INSERT INTO t VALUES (1)")
            conn.commit()
            files = [instance / "atom.db", instance / "atom.db-wal", instance / "atom.db-shm"]
            assert all(f.exists() for f in files), list(instance.iterdir())
            modes = {f.name: oct(_mode(f)) for f in files}
        db.engine.dispose()
    assert oct(_mode(instance)) == "0o700"
    assert modes == {"atom.db": "0o600", "atom.db-wal": "0o600", "atom.db-shm": "0o600"}
    for key_file in ("secret_key", "encryption.key"):
        assert oct(_mode(instance / key_file)) == "0o600"


def test_an_existing_database_readable_by_others_is_made_private(app_factory, tmp_path):
    db_file = tmp_path / "atom.db"
    app_factory()
    db_file.chmod(0o644)
    app = app_factory()
    with app.app_context():
        from atom.extensions import db

        db.engine.dispose()
        with db.engine.connect() as conn:
            conn.exec_driver_sql("SELECT 1")
    assert oct(_mode(db_file)) == "0o600"
