"""Sign-in and sessions (issue 7, item 12): rate limits, equal timing, audited failures, session
versions ended by logout and password changes, and one-time passwords that expire."""
from __future__ import annotations

import statistics
import time
import uuid
from datetime import timedelta

import pytest

from atom.cli import main
from atom.extensions import db
from atom.models import AuditEvent
from atom.models import User
from atom.models.base import utcnow

OTHER_ADDRESS = {"REMOTE_ADDR": "127.0.0.9"}


def login(client, email, password, **kwargs):
    return client.post("/login", data={"email": email, "password": password}, **kwargs)


def make_user(app, email, password="a long enough password", role="editor", **fields):
    with app.app_context():
        user = User(email=email, role=role, **fields)
        user.set_password(password)
        db.session.add(user)
        db.session.commit()
    return {"email": email, "password": password}


def user_row(app, email):
    with app.app_context():
        return db.session.execute(db.select(User).filter_by(email=email)).scalar_one()


# -- rate limits -------------------------------------------------------------------------------


def test_login_is_limited_per_account_then_429_with_retry_after(client, alice):
    for _ in range(5):
        assert login(client, alice["email"], "wrong password!").status_code == 401
    refused = login(client, alice["email"], alice["password"])
    assert refused.status_code == 429
    assert 1 <= int(refused.headers["Retry-After"]) <= 60
    assert "Too many sign-in attempts" in refused.get_data(as_text=True)
    assert client.get("/").status_code == 302  # the right password did not get in
    # from another address the account is still limited; another account is not
    assert login(client, alice["email"], alice["password"], environ_base=OTHER_ADDRESS).status_code == 429
    assert login(client, "bob@example.com", "wrong password!").status_code == 401


def test_login_is_limited_per_client_address(app_factory):
    app = app_factory(LOGIN_RATE_LIMIT_ADDRESS="4 per minute")  # the default is 20
    client = app.test_client()
    for n in range(4):
        assert login(client, f"user{n}@example.com", "wrong password!").status_code == 401
    assert login(client, "user99@example.com", "wrong password!").status_code == 429
    other = app.test_client()
    assert login(other, "user99@example.com", "wrong password!",
                 environ_base=OTHER_ADDRESS).status_code == 401


def test_a_json_client_gets_a_json_429(client, alice):
    for _ in range(5):
        login(client, alice["email"], "wrong password!")
    response = login(client, alice["email"], "wrong password!", headers={"Accept": "application/json"})
    assert response.status_code == 429
    assert response.get_json()["code"] == "rate_limited"
    assert int(response.headers["Retry-After"]) >= 1


def test_the_limits_are_configurable(app_factory, alice):
    app = app_factory(LOGIN_RATE_LIMIT_ACCOUNT="2 per minute")
    client = app.test_client()
    assert [login(client, alice["email"], "nope nope nope").status_code for _ in range(3)] == [401, 401, 429]


def test_a_malformed_limit_is_a_config_error(app_factory):
    from atom.settings import ConfigError

    with pytest.raises(ConfigError, match="LOGIN_RATE_LIMIT_ADDRESS"):
        app_factory(LOGIN_RATE_LIMIT_ADDRESS="often")


def _redis_url() -> str:
    redis = pytest.importorskip("redis", reason="the redis client is not installed")
    try:
        redis.Redis(host="127.0.0.1", port=6379, socket_connect_timeout=1).ping()
    except redis.RedisError as exc:
        pytest.skip(f"Redis is not reachable on 127.0.0.1:6379: {exc}")
    return "redis://127.0.0.1:6379"


def test_two_workers_with_one_redis_share_the_login_count(app_factory, alice):
    url = _redis_url()
    prefix = f"atom-test-{uuid.uuid4().hex}"  # other test runs may share this Redis
    config = {"RATELIMIT_STORAGE_URI": url, "RATELIMIT_KEY_PREFIX": prefix}
    one, two = app_factory(**config).test_client(), app_factory(**config).test_client()
    for client in (one, two, one, two, one):
        assert login(client, alice["email"], "wrong password!").status_code == 401
    assert login(two, alice["email"], alice["password"]).status_code == 429
    assert login(one, alice["email"], alice["password"]).status_code == 429


def test_memory_storage_counts_per_worker(app_factory, alice):
    """The default: each process counts alone (documented; use Redis with several workers)."""
    one, two = app_factory().test_client(), app_factory().test_client()
    for _ in range(5):
        login(one, alice["email"], "wrong password!")
    assert login(one, alice["email"], alice["password"]).status_code == 429
    assert login(two, alice["email"], alice["password"]).status_code == 302


def test_a_storage_that_does_not_answer_falls_back_to_counting_in_memory(app_factory, alice, caplog):
    app = app_factory(RATELIMIT_STORAGE_URI="redis://127.0.0.1:1")  # nothing listens there
    client = app.test_client()
    codes = [login(client, alice["email"], "wrong password!").status_code for _ in range(6)]
    assert codes == [401] * 5 + [429]
    assert "falling back to in-memory storage" in caplog.text


# -- equal timing and audit ----------------------------------------------------------------------


def test_unknown_and_known_users_take_the_same_time(app_factory):
    # A costly hash (as in production) so that the hash, not the noise of a shared machine, is
    # what a sign-in costs; the testing default is too cheap for timing to mean anything.
    app = app_factory(LOGIN_RATE_LIMIT_ACCOUNT="100 per minute", LOGIN_RATE_LIMIT_ADDRESS="100 per minute",
                      PASSWORD_HASH_METHOD="pbkdf2:sha256:150000")
    make_user(app, "timed@example.com")
    client = app.test_client()

    def timed(email):
        started = time.perf_counter()
        assert login(client, email, "wrong password!").status_code == 401
        return time.perf_counter() - started

    timed("timed@example.com"), timed("nobody@example.com")  # warm up both paths
    known = statistics.median(timed("timed@example.com") for _ in range(5))
    unknown = statistics.median(timed(f"nobody{n}@example.com") for n in range(5))
    assert 0.6 < unknown / known < 1.6, (known, unknown)


def test_an_unknown_email_costs_one_hash_of_the_configured_method(app_factory, monkeypatch):
    import atom.accounts

    app = app_factory(PASSWORD_HASH_METHOD="pbkdf2:sha256:1234")
    checked = []
    real = atom.accounts.check_password_hash
    monkeypatch.setattr(atom.accounts, "check_password_hash",
                        lambda stored, password: checked.append(stored.split("$")[0]) or real(stored, password))
    assert login(app.test_client(), "ghost@example.com", "whatever").status_code == 401
    assert checked == ["pbkdf2:sha256:1234"]


def test_every_failed_login_is_audited_without_the_password(app, client, alice):
    login(client, alice["email"], "wrong-password-1")
    login(client, "ghost@example.com", "wrong-password-2")
    with app.app_context():
        rows = db.session.scalars(db.select(AuditEvent).filter_by(action="auth.login_failed")
                                  .order_by(AuditEvent.id)).all()
        assert [r.detail["email"] for r in rows] == [alice["email"], "ghost@example.com"]
        assert {r.detail["address"] for r in rows} == {"127.0.0.1"}
        dump = repr([(r.actor, r.subject, r.detail) for r in rows])
    assert "wrong-password" not in dump


@pytest.mark.postgres
@pytest.mark.parametrize("email", ["a\x00b@example.com", "x" * 300 + "@example.com"])
def test_an_odd_email_is_an_ordinary_failure_on_postgresql(app_factory, pg_url, email):
    """PostgreSQL refuses NUL in text and a 300-character subject: neither may become a 500."""
    app = app_factory(SQLALCHEMY_DATABASE_URI=pg_url)
    app.config["PROPAGATE_EXCEPTIONS"] = False
    assert login(app.test_client(), email, "x").status_code == 401
    with app.app_context():
        event = db.session.scalars(db.select(AuditEvent).filter_by(action="auth.login_failed")).one()
        assert "\x00" not in event.detail["email"]
        db.session.remove()


@pytest.mark.postgres
def test_the_admin_api_on_postgresql(app_factory, pg_url):
    from tests.conftest import make_key

    app = app_factory(SQLALCHEMY_DATABASE_URI=pg_url)
    admin = {"Authorization": f"Bearer {make_key(app, 'admin')}"}
    client = app.test_client()
    created = client.post("/api/v2/users", headers=admin, json={"email": "pg@example.com", "role": "admin"})
    assert created.status_code == 201
    uid = created.get_json()["id"]
    assert client.patch(f"/api/v2/users/{uid}", headers=admin, json={"role": "viewer"}).status_code == 409
    audit = client.get("/api/v2/audit", headers=admin, query_string={"since": "2000-01-01T00:00:00Z"})
    assert audit.get_json()["total"] == 1
    with app.app_context():
        db.session.remove()


# -- sessions end ----------------------------------------------------------------------------------


def test_logout_ends_every_session_of_that_user(app, alice):
    laptop, phone = app.test_client(), app.test_client()
    for client in (laptop, phone):
        assert login(client, alice["email"], alice["password"]).status_code == 302
        assert client.get("/").status_code == 200
    assert laptop.post("/logout").status_code == 302
    assert phone.get("/").status_code == 302
    assert phone.get("/api/v2/connections").status_code == 401
    assert laptop.get("/").status_code == 302


def test_a_password_change_ends_the_other_sessions_and_keeps_this_one(app, alice):
    laptop, phone = app.test_client(), app.test_client()
    for client in (laptop, phone):
        login(client, alice["email"], alice["password"])
    response = laptop.post("/password", data={"current_password": alice["password"],
                                               "password": "a brand new passphrase"})
    assert response.status_code == 302
    assert laptop.get("/").status_code == 200
    assert laptop.get("/api/v2/connections").status_code == 200
    assert phone.get("/").status_code == 302
    assert phone.get("/api/v2/connections").status_code == 401
    assert login(app.test_client(), alice["email"], "a brand new passphrase").status_code == 302
    with app.app_context():
        assert db.session.scalars(db.select(AuditEvent).filter_by(action="user.password_change")).one()


def test_a_password_change_needs_the_current_password(app, alice):
    laptop, phone = app.test_client(), app.test_client()
    for client in (laptop, phone):
        login(client, alice["email"], alice["password"])
    before = user_row(app, alice["email"])
    wrong = laptop.post("/password", data={"current_password": "not the password",
                                            "password": "a brand new passphrase"})
    assert wrong.status_code == 422
    assert "current password" in wrong.get_data(as_text=True)
    missing = laptop.post("/password", data={"password": "a brand new passphrase"})
    assert missing.status_code == 422
    after = user_row(app, alice["email"])
    assert (after.password_hash, after.session_version) == (before.password_hash, before.session_version)
    assert phone.get("/").status_code == 200
    short = laptop.post("/password", data={"current_password": alice["password"], "password": "short"})
    assert short.status_code == 422


def test_a_session_from_before_session_versions_is_ended(app, client, alice):
    """A cookie without a version (signed before this release) no longer signs anyone in."""
    uid = user_row(app, alice["email"]).id
    with client.session_transaction() as session:
        session["user_id"] = uid
    assert client.get("/").status_code == 302
    assert client.get("/api/v2/connections").status_code == 401


# -- one-time passwords ----------------------------------------------------------------------------


def test_a_one_time_password_session_opens_only_the_password_page(app, client):
    user = make_user(app, "new@example.com", "one-time-pass", must_change_password=True,
                     password_expires_at=utcnow() + timedelta(hours=1))
    assert login(client, user["email"], user["password"]).status_code == 302
    for page in ("/", "/workflows", "/executions/1"):
        assert client.get(page).headers["Location"].endswith("/password"), page
    assert client.get("/password").status_code == 200
    api = client.get("/api/v2/connections")
    assert api.status_code == 403
    assert api.get_json()["code"] == "password_change_required"
    assert client.post("/password", data={"current_password": "one-time-pass",
                                          "password": "a much longer password"}).status_code == 302
    assert client.get("/").status_code == 200
    assert client.get("/api/v2/connections").status_code == 200
    row = user_row(app, user["email"])
    assert not row.must_change_password and row.password_expires_at is None


def test_a_one_time_password_session_may_sign_out(app, client):
    user = make_user(app, "new@example.com", "one-time-pass", must_change_password=True)
    login(client, user["email"], user["password"])
    assert client.post("/logout").headers["Location"].endswith("/login")
    assert client.get("/password").headers["Location"].startswith("/login")


def test_users_create_sets_a_one_time_password_that_expires_in_24_hours(app, runner):
    result = runner.invoke(main, args=["users", "create", "--email", "ann@example.com"])
    assert result.exit_code == 0, result.output
    row = user_row(app, "ann@example.com")
    remaining = row.password_expires_at - utcnow()
    assert timedelta(hours=23, minutes=59) < remaining <= timedelta(hours=24)
    with_password = runner.invoke(main, args=["users", "create", "--email", "bo@example.com",
                                              "--password", "a chosen password"])
    assert with_password.exit_code == 0
    assert user_row(app, "bo@example.com").password_expires_at is None


def test_bootstrap_sets_the_expiry_from_config(app_factory):
    app = app_factory(ONE_TIME_PASSWORD_TTL_S=3600)
    result = app.test_cli_runner().invoke(main, args=["users", "bootstrap"])
    assert result.exit_code == 0, result.output
    remaining = user_row(app, "admin@localhost").password_expires_at - utcnow()
    assert timedelta(minutes=59) < remaining <= timedelta(hours=1)


def test_an_expired_one_time_password_is_refused_with_a_clear_message(app, client, runner):
    password = runner.invoke(main, args=["users", "create", "--email", "late@example.com"]).output.split()[-1]
    with app.app_context():
        row = db.session.execute(db.select(User).filter_by(email="late@example.com")).scalar_one()
        row.password_expires_at = utcnow() - timedelta(seconds=1)
        db.session.commit()
    response = login(client, "late@example.com", password)
    assert response.status_code == 401
    page = response.get_data(as_text=True)
    assert "expired" in page and "ask an admin" in page
    assert client.get("/password").status_code == 302
    with app.app_context():
        event = db.session.scalars(db.select(AuditEvent).filter_by(action="auth.login_failed")).one()
        assert event.detail["reason"] == "one_time_password_expired"
