"""OAuth2 connect flow: the OAuth apps an admin configures, and the one-time states of
authorisations in progress."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON
from sqlalchemy import ForeignKey
from sqlalchemy import String
from sqlalchemy import Text
from sqlalchemy.orm import Mapped
from sqlalchemy.orm import mapped_column

from atom.extensions import db
from atom.models.base import utcnow


class OAuthApp(db.Model):
    """The client id and (encrypted) secret ATOM uses for one integration's OAuth2 flow."""

    __tablename__ = "oauth_apps"

    id: Mapped[int] = mapped_column(primary_key=True)
    integration: Mapped[str] = mapped_column(String(64), unique=True)
    client_id: Mapped[str] = mapped_column(String(500))
    client_secret_encrypted: Mapped[str] = mapped_column(Text, default="")
    # Extra values the URLs need ({tenant} for Entra ID, {host} for self-managed GitLab) and
    # scopes beyond the manifest's defaults.
    settings: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class OAuthState(db.Model):
    """One authorisation in progress: its ``state`` (stored hashed), bound to the user who
    started it, the PKCE verifier (encrypted), and the connection it will create. Used once."""

    __tablename__ = "oauth_states"

    id: Mapped[int] = mapped_column(primary_key=True)
    state_hash: Mapped[str] = mapped_column(String(64), unique=True)
    integration: Mapped[str] = mapped_column(String(64))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    # Binds the state to the browser session (or API key) that started it.
    binding_hash: Mapped[str] = mapped_column(String(64))
    code_verifier_encrypted: Mapped[str] = mapped_column(Text, default="")
    redirect_uri: Mapped[str] = mapped_column(String(2000))
    # label, settings and the connection id to re-authorise, if any.
    request: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(index=True)
    used_at: Mapped[datetime | None]
