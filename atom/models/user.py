"""Users (session login) and API keys (Bearer tokens), both with a role."""
from __future__ import annotations

import hashlib
import secrets
from datetime import datetime

from sqlalchemy import ForeignKey
from sqlalchemy import String
from sqlalchemy.orm import Mapped
from sqlalchemy.orm import mapped_column
from werkzeug.security import check_password_hash
from werkzeug.security import generate_password_hash

from atom.extensions import db
from atom.models.base import utcnow

ROLES = ("viewer", "editor", "admin")
KEY_PREFIX = "atom_"


def role_allows(role: str, needed: str) -> bool:
    """Return whether ``role`` is at least ``needed`` (viewer < editor < admin)."""
    return ROLES.index(role) >= ROLES.index(needed)


def password_hash_method() -> str:
    """werkzeug's method for new password hashes: ``PASSWORD_HASH_METHOD`` (scrypt by default;
    the test settings use a cheap one, as Django's test runners do, since every test that signs
    in would otherwise spend a third of a second hashing). Stored hashes name their method, so
    checking works whatever made them."""
    from flask import current_app
    from flask import has_app_context

    if has_app_context():
        return current_app.config.get("PASSWORD_HASH_METHOD", "scrypt")
    return "scrypt"


class User(db.Model):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(16), default="viewer")
    active: Mapped[bool] = mapped_column(default=True)
    must_change_password: Mapped[bool] = mapped_column(default=False)
    # When a one-time password stops working (None once the user has chosen their own).
    password_expires_at: Mapped[datetime | None]
    # Bumped on logout and password change: sessions carrying an older number are ended.
    session_version: Mapped[int] = mapped_column(default=0, server_default="0")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_login_at: Mapped[datetime | None]

    def set_password(self, password: str) -> None:
        self.password_hash = generate_password_hash(password, method=password_hash_method())

    def check_password(self, password: str) -> bool:
        return check_password_hash(self.password_hash, password)


class ApiKey(db.Model):
    """An API key; only its SHA-256 is stored (the key itself has 256 bits of entropy)."""

    __tablename__ = "api_keys"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120))
    prefix: Mapped[str] = mapped_column(String(16), index=True)
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    role: Mapped[str] = mapped_column(String(16))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_used_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]
    # Chosen at creation: the key stops working then.
    expires_at: Mapped[datetime | None]

    def works_at(self, now: datetime) -> bool:
        """Return whether the key is valid at ``now`` (not revoked, not expired)."""
        return self.revoked_at is None and (self.expires_at is None or self.expires_at > now)

    @staticmethod
    def hash(key: str) -> str:
        return hashlib.sha256(key.encode()).hexdigest()

    @classmethod
    def generate(cls, name: str, role: str, user_id: int | None = None) -> tuple[ApiKey, str]:
        """Return a new (unsaved) key row and the plain key, which is never stored."""
        plain = KEY_PREFIX + secrets.token_urlsafe(32)
        row = cls(name=name, role=role, user_id=user_id, prefix=plain[:12], key_hash=cls.hash(plain))
        return row, plain
