"""Users, API keys and dashboard sessions: the one place that creates, changes and ends them.

The CLI, the admin API and the dashboard call these functions; every change is audited and
committed here. A session carries the user's ``session_version``: bumping it (logout, password
change, deactivation, password reset) ends every session signed with the old number.
"""
from __future__ import annotations

import logging
import secrets
from datetime import datetime
from datetime import timedelta
from typing import Any

from flask import current_app
from flask import session
from werkzeug.security import check_password_hash
from werkzeug.security import generate_password_hash

from atom.extensions import db
from atom.models import ApiKey
from atom.models import User
from atom.models.audit import record
from atom.models.base import isoformat
from atom.models.base import utcnow
from atom.models.user import ROLES

logger = logging.getLogger(__name__)

MIN_PASSWORD = 12
MAX_PASSWORD = 1024
MAX_EMAIL = 254
BOOTSTRAP_EMAIL = "admin@localhost"
WRONG_CREDENTIALS = "Wrong email or password."
EXPIRED = ("Your one-time password has expired; ask an admin for a new one "
           "(atom users create, or PATCH /api/v2/users/<id> with reset_password).")

_dummy_hashes: dict[str, str] = {}


class AccountError(Exception):
    """A refused change. ``status`` is 422 (bad input), 404 or 409 (conflicts with what is
    stored); ``field`` names the input at fault; ``code`` is the API error code."""

    def __init__(self, message: str, *, field: str | None = None, status: int = 422,
                 code: str | None = None) -> None:
        super().__init__(message)
        self.message, self.field, self.status, self.code = message, field, status, code


class LoginRefused(Exception):
    """A sign-in that did not succeed; ``message`` is safe to show, ``reason`` is for the audit."""

    def __init__(self, message: str, reason: str) -> None:
        super().__init__(message)
        self.message, self.reason = message, reason


def normalise_email(raw: Any) -> str:
    """Return ``raw`` stripped and lower-cased ("" for anything that is not a string)."""
    return raw.strip().lower() if isinstance(raw, str) else ""


# -- users -----------------------------------------------------------------------------------


def create_user(email: str, role: str, actor: str,
                password: str | None = None) -> tuple[User, str | None]:
    """Create a user; without ``password`` a one-time password is generated and returned (shown
    once: the user must change it, and it expires after ``ONE_TIME_PASSWORD_TTL_S``).

    :raises AccountError: a bad email, role or password (422), or the email exists (409).
    """
    email = _valid_email(email)
    _check_role(role)
    if password is not None:
        _check_password(password, field="password")
    if db.session.execute(db.select(User.id).filter_by(email=email)).first():
        raise AccountError(f"a user {email} exists already", field="email", status=409)
    user = User(email=email, role=role, must_change_password=False)
    one_time = _issue_one_time_password(user) if password is None else None
    if password is not None:
        user.set_password(password)
    db.session.add(user)
    db.session.flush()
    record(actor, "user.create", f"user:{user.id}", email=email, role=role,
           one_time_password=one_time is not None)
    db.session.commit()
    return user, one_time


def bootstrap_admin(actor: str = "cli") -> tuple[User, str] | None:
    """Create the first admin (``admin@localhost``, one-time password) unless users exist."""
    if db.session.execute(db.select(User.id).limit(1)).first():
        return None
    user, one_time = create_user(BOOTSTRAP_EMAIL, "admin", actor)
    assert one_time is not None
    return user, one_time


def update_user(user: User, changes: dict[str, Any], actor: str) -> str | None:
    """Apply ``role``, ``active`` and ``reset_password`` changes; return a new one-time password
    when one was issued. Deactivating or resetting ends the user's sessions.

    :raises AccountError: 409 when no active admin would remain.
    """
    role, active = changes.get("role", user.role), changes.get("active", user.active)
    _check_role(role)
    if user.role == "admin" and user.active and (role != "admin" or not active):
        _keep_an_admin(user)
    done: dict[str, Any] = {k: changes[k] for k in ("role", "active") if k in changes
                            and changes[k] != getattr(user, k)}
    user.role, user.active = role, active
    one_time = None
    if changes.get("reset_password"):
        one_time = _issue_one_time_password(user)
        done["reset_password"] = True
    if done.get("active") is False or one_time:
        end_sessions(user)
    if done:
        record(actor, "user.update", f"user:{user.id}", **done)
    db.session.commit()
    return one_time


def deactivate_user(user: User, actor: str) -> None:
    """Deactivate ``user`` and end their sessions (the row stays: the audit log names it).

    :raises AccountError: 409 for the last active admin.
    """
    if user.role == "admin" and user.active:
        _keep_an_admin(user)
    if user.active:
        user.active = False
        end_sessions(user)
        record(actor, "user.deactivate", f"user:{user.id}", email=user.email)
    db.session.commit()


def _keep_an_admin(leaving: User) -> None:
    # Lock the active admins (PostgreSQL; SQLite serialises writers) so that two admins demoting
    # each other at the same moment cannot both succeed.
    others = db.session.scalars(
        db.select(User.id)
        .filter(User.role == "admin", User.active.is_(True), User.id != leaving.id)
        .with_for_update()
    ).all()
    if not others:
        raise AccountError(f"{leaving.email} is the last active admin; make another admin first",
                           status=409, code="last_admin")


def _issue_one_time_password(user: User) -> str:
    plain = secrets.token_urlsafe(12)
    user.set_password(plain)
    user.must_change_password = True
    ttl = float(current_app.config["ONE_TIME_PASSWORD_TTL_S"])
    user.password_expires_at = utcnow() + timedelta(seconds=ttl)
    return plain


def _valid_email(raw: Any) -> str:
    email = normalise_email(raw)
    local, at, domain = email.partition("@")
    well_formed = local and at and domain and " " not in email and email.isprintable()
    if not well_formed or len(email) > MAX_EMAIL:
        raise AccountError("not an email address", field="email")
    return email


def _check_role(role: str) -> None:
    if role not in ROLES:
        raise AccountError(f"unknown role {role!r}; use one of {', '.join(ROLES)}", field="role")


def _check_password(password: str, field: str) -> None:
    if not MIN_PASSWORD <= len(password) <= MAX_PASSWORD:
        raise AccountError(f"use at least {MIN_PASSWORD} characters (at most {MAX_PASSWORD})",
                           field=field)


# -- API keys --------------------------------------------------------------------------------


def create_key(name: str, role: str, actor: str, expires_at: datetime | None = None,
               user_id: int | None = None) -> tuple[ApiKey, str]:
    """Create an API key; return its row and the plain key, which is never stored or shown again.

    :param expires_at: naive UTC; the key stops working then.
    """
    name = name.strip() if isinstance(name, str) else ""
    if not name:
        raise AccountError("must not be empty", field="name")
    _check_role(role)
    if expires_at is not None and expires_at <= utcnow():
        raise AccountError("must be in the future", field="expires_at")
    row, plain = ApiKey.generate(name, role, user_id=user_id)
    row.expires_at = expires_at
    db.session.add(row)
    db.session.flush()
    record(actor, "key.create", f"key:{row.id}", name=name, role=role,
           expires_at=isoformat(expires_at))
    db.session.commit()
    return row, plain


def revoke_key(key: ApiKey, actor: str) -> None:
    """Revoke ``key``: the next request with it is a 401 (keys are looked up on every request)."""
    now = utcnow()
    if key.works_at(now):
        key.revoked_at = now
        record(actor, "key.revoke", f"key:{key.id}", name=key.name)
    db.session.commit()


# -- sign-in and sessions --------------------------------------------------------------------


def check_login(email: Any, password: Any, address: str | None) -> User:
    """Return the user these credentials sign in, or raise :class:`LoginRefused` (audited).

    An unknown email is checked against a dummy hash, so that it takes as long as a wrong
    password and the timing does not tell which emails have accounts.
    """
    email = normalise_email(email)
    password = password if isinstance(password, str) else ""
    user = _find_user(email)
    if user is None:
        check_password_hash(_dummy(), password)  # the work a real check does, result unused
    try:
        if user is None:
            raise LoginRefused(WRONG_CREDENTIALS, "unknown_user")
        if not user.check_password(password):
            raise LoginRefused(WRONG_CREDENTIALS, "wrong_password")
        if not user.active:
            raise LoginRefused(WRONG_CREDENTIALS, "inactive")
        expires = user.password_expires_at
        if user.must_change_password and expires is not None and expires <= utcnow():
            raise LoginRefused(EXPIRED, "one_time_password_expired")
    except LoginRefused as exc:
        _audit_failure(email, address, exc.reason)
        raise
    return user


def start_session(user: User) -> None:
    """Sign ``user`` in on this browser; the session remembers the user's session version."""
    session.clear()
    session["user_id"] = user.id
    session["session_version"] = user.session_version
    user.last_login_at = utcnow()
    db.session.commit()


def session_user() -> User | None:
    """Return the user of this request's session, or None (and forget the session) when the
    user is gone, inactive, or ended their sessions since it was signed."""
    user_id = session.get("user_id")
    if user_id is None:
        return None
    user = db.session.get(User, user_id)
    if user is None or not user.active or session.get("session_version") != user.session_version:
        session.clear()
        return None
    return user


def end_sessions(user: User) -> None:
    """End every session of ``user`` (committed by the caller)."""
    user.session_version = (user.session_version or 0) + 1


def logout(user: User | None) -> None:
    """Sign out: end every session of this user, on every browser, and forget this one."""
    if user is not None:
        end_sessions(user)
        db.session.commit()
    session.clear()


def change_password(user: User, current: Any, new: Any) -> None:
    """Change the password of the signed-in ``user``: other sessions end, this one stays.

    :raises AccountError: the current password is wrong, or the new one is too short or the same
        (422; nothing changes).
    """
    if not isinstance(current, str) or not user.check_password(current):
        raise AccountError("the current password is wrong", field="current_password")
    new = new if isinstance(new, str) else ""
    _check_password(new, field="password")
    if new == current:
        raise AccountError("choose a password different from the current one", field="password")
    user.set_password(new)
    user.must_change_password = False
    user.password_expires_at = None
    end_sessions(user)
    session["session_version"] = user.session_version
    record(user.email, "user.password_change", f"user:{user.id}")
    db.session.commit()


def _find_user(email: str) -> User | None:
    # Not a storable email (NUL, surrogates, too long): no such user, and no query PostgreSQL
    # would refuse with a 500.
    if not email or len(email) > MAX_EMAIL or not email.isprintable():
        return None
    return db.session.execute(db.select(User).filter_by(email=email)).scalar_one_or_none()


def _dummy() -> str:
    from atom.models.user import password_hash_method

    # The same method as real hashes (one dummy per method, as it may differ between apps), so a
    # check against it costs what a real one does.
    method = password_hash_method()
    if method not in _dummy_hashes:
        _dummy_hashes[method] = generate_password_hash(secrets.token_urlsafe(16), method=method)
    return _dummy_hashes[method]


def _audit_failure(email: str, address: str | None, reason: str) -> None:
    shown = _printable(email[:MAX_EMAIL])
    record("anonymous", "auth.login_failed", f"user:{shown}"[:200], email=shown,
           address=address or "unknown", reason=reason)
    db.session.commit()
    logger.info("sign-in refused for %s from %s: %s", shown, address, reason)


def _printable(text: str) -> str:
    return "".join(c if c.isprintable() else "?" for c in text).encode("utf-8", "replace").decode()
