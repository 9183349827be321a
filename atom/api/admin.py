"""Admin API: API keys (``/api/v2/keys``), users (``/api/v2/users``) and the audit log
(``/api/v2/audit``). Admins only; every change goes through :mod:`atom.accounts` (the code the
CLI calls too) and is audited there."""
from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from flask_smorest import Blueprint
from marshmallow import RAISE

from atom import accounts
from atom.api.admin_schemas import AuditList
from atom.api.admin_schemas import AuditQuery
from atom.api.admin_schemas import KeyCreate
from atom.api.admin_schemas import KeyCreated
from atom.api.admin_schemas import KeyList
from atom.api.admin_schemas import KeyOut
from atom.api.admin_schemas import UserCreate
from atom.api.admin_schemas import UserList
from atom.api.admin_schemas import UserOut
from atom.api.admin_schemas import UserUpdate
from atom.api.admin_schemas import UserWithPassword
from atom.api.auth import actor
from atom.api.auth import authenticate
from atom.api.auth import require
from atom.api.errors import ApiError
from atom.api.pagination import PageQuery
from atom.api.pagination import paginate
from atom.extensions import db
from atom.models import ApiKey
from atom.models import AuditEvent
from atom.models import User
from atom.models.base import isoformat
from atom.models.base import utcnow

MAX_ID = 2 ** 63 - 1  # larger ids exist in no table, and SQLite cannot even compare them

keys_blp = Blueprint("keys", __name__, url_prefix="/api/v2/keys",
                     description="API keys (admin): create (the key is shown once), list "
                                 "masked, revoke")
users_blp = Blueprint("users", __name__, url_prefix="/api/v2/users",
                      description="Dashboard users (admin); the last active admin cannot be "
                                  "removed")
audit_blp = Blueprint("audit", __name__, url_prefix="/api/v2/audit",
                      description="The audit log (admin), newest first")


def _admin() -> None:
    authenticate()
    require("admin")


for _blp in (keys_blp, users_blp, audit_blp):
    _blp.before_request(_admin)


def _get(model: type, row_id: int) -> Any:
    row = db.session.get(model, row_id) if 0 < row_id <= MAX_ID else None
    if row is None:
        raise ApiError(404, f"no {model.__name__.lower()} {row_id}")
    return row


@contextmanager
def _refused() -> Iterator[None]:
    """Answer a refused account change with its status, code and field."""
    try:
        yield
    except accounts.AccountError as exc:
        errors = {exc.field: [exc.message]} if exc.field else None
        raise ApiError(exc.status, exc.message, errors=errors, code=exc.code) from exc


# -- keys ------------------------------------------------------------------------------------


def present_key(key: ApiKey) -> dict[str, Any]:
    return {"id": key.id, "name": key.name, "role": key.role, "prefix": key.prefix,
            "created_at": isoformat(key.created_at), "last_used_at": isoformat(key.last_used_at),
            "revoked_at": isoformat(key.revoked_at), "expires_at": isoformat(key.expires_at),
            "active": key.works_at(utcnow())}


@keys_blp.route("", methods=["GET"])
@keys_blp.arguments(PageQuery, location="query")
@keys_blp.response(200, KeyList)
def list_keys(query):
    """List API keys by id, masked (prefix only)."""
    return keys_page(query)


def keys_page(query: dict[str, Any]) -> dict[str, Any]:
    """A page of ``GET /api/v2/keys`` (the CLI's ``atom keys list`` too)."""
    page = paginate(db.select(ApiKey), query, (ApiKey.id,), count=True)
    return page.answer("keys", [present_key(k) for k in page.rows])


@keys_blp.route("", methods=["POST"])
@keys_blp.arguments(KeyCreate)
@keys_blp.response(201, KeyCreated)
def create_key(data):
    """Create an API key; the response holds the key itself, which is never shown again."""
    with _refused():
        row, plain = accounts.create_key(data["name"], data["role"], actor(),
                                         expires_at=data.get("expires_at"))
    return {**present_key(row), "key": plain}


@keys_blp.route("/<int:key_id>", methods=["GET"])
@keys_blp.response(200, KeyOut)
def get_key(key_id: int):
    return present_key(_get(ApiKey, key_id))


@keys_blp.route("/<int:key_id>", methods=["DELETE"])
@keys_blp.response(200, KeyOut)
def revoke_key(key_id: int):
    """Revoke a key: the next request with it is a 401."""
    key = _get(ApiKey, key_id)
    accounts.revoke_key(key, actor())
    return present_key(key)


# -- users -----------------------------------------------------------------------------------


def present_user(user: User, one_time: str | None = None) -> dict[str, Any]:
    return {"id": user.id, "email": user.email, "role": user.role, "active": user.active,
            "must_change_password": user.must_change_password,
            "password_expires_at": isoformat(user.password_expires_at),
            "created_at": isoformat(user.created_at),
            "last_login_at": isoformat(user.last_login_at),
            "one_time_password": one_time}


@users_blp.route("", methods=["GET"])
@users_blp.arguments(PageQuery, location="query")
@users_blp.response(200, UserList)
def list_users(query):
    """Users by id."""
    return users_page(query)


def users_page(query: dict[str, Any]) -> dict[str, Any]:
    """A page of ``GET /api/v2/users`` (the CLI's ``atom users list`` too)."""
    page = paginate(db.select(User), query, (User.id,), count=True)
    return page.answer("users", [present_user(u) for u in page.rows])


@users_blp.route("", methods=["POST"])
@users_blp.arguments(UserCreate)
@users_blp.response(201, UserWithPassword)
def create_user(data):
    """Create a user; without a password the response holds a one-time password (shown once,
    valid for ``ONE_TIME_PASSWORD_TTL_S``)."""
    with _refused():
        user, one_time = accounts.create_user(data["email"], data["role"], actor(),
                                              password=data.get("password"))
    return present_user(user, one_time)


@users_blp.route("/<int:user_id>", methods=["GET"])
@users_blp.response(200, UserOut)
def get_user(user_id: int):
    return present_user(_get(User, user_id))


@users_blp.route("/<int:user_id>", methods=["PATCH"])
@users_blp.arguments(UserUpdate)
@users_blp.response(200, UserWithPassword)
def update_user(data, user_id: int):
    """Change the role, (de)activate, or reset the password (a new one-time password, returned)."""
    user = _get(User, user_id)
    with _refused():
        one_time = accounts.update_user(user, data, actor())
    return present_user(user, one_time)


@users_blp.route("/<int:user_id>", methods=["DELETE"])
@users_blp.response(200, UserOut)
def deactivate_user(user_id: int):
    """Deactivate a user (kept for the audit log) and end their sessions."""
    user = _get(User, user_id)
    with _refused():
        accounts.deactivate_user(user, actor())
    return present_user(user)


# -- audit -----------------------------------------------------------------------------------


def audit_select(query: dict[str, Any]) -> Any:
    """The audit events a loaded :class:`AuditQuery` asks for (unordered, unpaged): the API and
    the dashboard's audit page filter with this."""
    stmt = db.select(AuditEvent)
    for name in ("actor", "action", "subject"):
        if query.get(name) is not None:
            stmt = stmt.filter(getattr(AuditEvent, name) == query[name])
    if query.get("since") is not None:
        stmt = stmt.filter(AuditEvent.ts >= query["since"])
    if query.get("until") is not None:
        stmt = stmt.filter(AuditEvent.ts < query["until"])
    return stmt


@audit_blp.route("", methods=["GET"])
@audit_blp.arguments(AuditQuery, location="query", unknown=RAISE)
@audit_blp.response(200, AuditList)
def list_audit(query):
    """Audit events, newest first; ``actor``, ``action`` and ``subject`` match exactly."""
    page = paginate(audit_select(query), query, (AuditEvent.id,), descending=True, count=True)
    return page.answer("events", [
        {"id": e.id, "ts": isoformat(e.ts), "actor": e.actor, "action": e.action,
         "subject": e.subject, "detail": e.detail or {}} for e in page.rows])
