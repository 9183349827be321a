"""API authentication: ``Authorization: Bearer <key>`` (or a logged-in dashboard session)."""
from __future__ import annotations

from dataclasses import dataclass

from flask import g
from flask import request
from sqlalchemy import bindparam
from sqlalchemy import select

from atom.accounts import session_user
from atom.api.errors import ApiError
from atom.extensions import db
from atom.models import ApiKey
from atom.models.base import utcnow
from atom.models.user import role_allows

READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


@dataclass(frozen=True)
class Principal:
    name: str
    role: str
    kind: str  # key | session


def authenticate() -> None:
    """``before_request`` of every API blueprint: 401 without credentials, 403 below editor
    for writes."""
    principal = _from_bearer() or _from_session()
    if principal is None:
        raise ApiError(401, "authentication required: send Authorization: Bearer <api key>")
    g.principal = principal
    if request.method not in READ_METHODS:
        if not _marked("reads_only") and not _marked("decides_access"):
            require("editor")
        if principal.kind == "session":
            _check_csrf()


def reads_only(view):
    """Mark a POST endpoint that changes nothing (an analysis), so a viewer may call it; the
    view itself calls ``require("editor")`` before any write it may make."""
    view.reads_only = True
    return view


def decides_access(view):
    """Mark a POST endpoint whose view decides who may call it, below editor too (an approval
    decision: the step names its approvers, who may be viewers); the view calls ``require``."""
    view.decides_access = True
    return view


def _marked(attribute: str) -> bool:
    from flask import current_app

    view = current_app.view_functions.get(request.endpoint or "")
    return bool(getattr(view, attribute, False))


def require(role: str) -> Principal:
    principal: Principal | None = g.get("principal")
    if principal is None:
        raise ApiError(401, "authentication required")
    if not role_allows(principal.role, role):
        raise ApiError(403, f"this needs the {role} role; yours is {principal.role}")
    return principal


def actor() -> str:
    principal = g.get("principal")
    return principal.name if principal else "system"


# The columns it needs, not the ORM object, in a statement built once: this runs before every
# API request.
_KEYS = ApiKey.__table__
_KEY_BY_HASH = select(_KEYS.c.id, _KEYS.c.name, _KEYS.c.role, _KEYS.c.revoked_at, _KEYS.c.expires_at,
                      _KEYS.c.last_used_at).where(_KEYS.c.key_hash == bindparam("hash"))
_KEY_USED = _KEYS.update().where(_KEYS.c.id == bindparam("x_id")).values(last_used_at=bindparam("x_now"))


def _from_bearer() -> Principal | None:
    header = request.headers.get("Authorization", "")
    if not header:
        return None
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise ApiError(401, "malformed Authorization header: use Bearer <api key>")
    key = db.session.execute(_KEY_BY_HASH, {"hash": ApiKey.hash(token.strip())}).one_or_none()
    now = utcnow()
    if key is None or not ApiKey.works_at(key, now):
        raise ApiError(401, "invalid, revoked or expired API key")
    if key.last_used_at is None or (now - key.last_used_at).total_seconds() > 60:
        # coarse, so a busy key does not write on every request
        db.session.execute(_KEY_USED, {"x_id": key.id, "x_now": now})
        db.session.commit()
    return Principal(f"key:{key.name}", key.role, "key")


def _check_csrf() -> None:
    """A browser session writing through the API must prove it came from our pages."""
    from flask import current_app
    from flask_wtf.csrf import CSRFError
    from flask_wtf.csrf import validate_csrf

    if not current_app.config.get("WTF_CSRF_ENABLED", True):
        return
    try:
        validate_csrf(request.headers.get("X-CSRFToken"))
    except (CSRFError, Exception) as exc:
        raise ApiError(403, "missing or invalid X-CSRFToken header for a session request") from exc


def _from_session() -> Principal | None:
    """The signed-in dashboard user, if the session is still current (see atom.accounts)."""
    user = session_user()
    if user is None:
        return None
    if user.must_change_password:
        raise ApiError(403, "this session signed in with a one-time password: choose a new "
                            "password at /password first", code="password_change_required")
    return Principal(user.email, user.role, "session")
