"""OAuth2 pieces the runtime uses: the URL templates of an integration's OAuth app, the app
an admin configured, and a connection's stored tokens, locked across processes while a
refresh rotates them."""
from __future__ import annotations

import logging
import string
from contextlib import contextmanager
from contextlib import nullcontext
from dataclasses import dataclass
from dataclasses import field
from pathlib import Path
from typing import TYPE_CHECKING
from typing import Any
from typing import Iterator

import filelock
from sqlalchemy import text
from sqlalchemy import update
from sqlalchemy.exc import OperationalError

from atom.extensions import db
from atom.integrations import auth as auth_mod
from atom.integrations.errors import UpstreamError
from atom.integrations.errors import ValidationFailed
from atom.models import Connection

if TYPE_CHECKING:
    from atom.integrations.runtime import ConnectionRuntime

logger = logging.getLogger(__name__)


def oauth_url(template: str, settings: dict[str, Any]) -> str:
    """Fill ``{setting}`` placeholders of an OAuth2 URL from a connection's settings."""
    try:
        return template.format_map(settings)
    except (KeyError, IndexError, ValueError, AttributeError) as exc:
        raise ValidationFailed(f"the OAuth2 URL {template!r} needs the setting {exc}",
                               details={"settings": [f"missing {exc}"]}) from exc


def placeholders(template: str) -> set[str]:
    """The ``{setting}`` names an OAuth2 URL template uses."""
    try:
        return {name.split(".")[0].split("[")[0] for _, name, _, _ in
                string.Formatter().parse(template) if name}
    except ValueError:
        return set()


@dataclass(frozen=True)
class OAuthClientApp:
    """The OAuth app of one integration: from ``/api/v2/oauth-apps`` (``source="api"``) or
    ``ATOM_OAUTH_<SLUG>_CLIENT_ID``/``_CLIENT_SECRET`` (``source="config"``).

    ``settings`` fill the URL placeholders before a connection's own settings do, except
    ``scopes``: requested on top of the manifest's.
    """

    client_id: str
    client_secret: str
    settings: dict[str, Any] = field(default_factory=dict)
    source: str = "api"

    def client(self) -> dict[str, str]:
        return {k: v for k, v in (("client_id", self.client_id),
                                  ("client_secret", self.client_secret)) if v}

    def values(self) -> dict[str, Any]:
        return {k: v for k, v in self.settings.items() if k != "scopes"}

    def scopes(self) -> list[str]:
        extra = self.settings.get("scopes") or []
        return [s for s in extra if isinstance(s, str)] if isinstance(extra, list) else []


class TokenRow:
    """A connection's stored tokens, for :class:`~atom.integrations.auth.OAuth2` refreshes.

    :meth:`locked` holds them against every other process while a refresh runs: the row is
    locked with ``SELECT ... FOR UPDATE`` on PostgreSQL; on SQLite (one host) a file lock in
    the instance folder does it. It runs in an app context of its own, so its transaction is
    never the caller's.
    """

    def __init__(self, runtime: ConnectionRuntime, conn_id: int) -> None:
        self.runtime = runtime
        self.conn_id = conn_id

    @contextmanager
    def locked(self) -> Iterator[StoredTokens]:
        app = self.runtime.app
        # Longer than one exchange with the token endpoint, the lock holder's slowest case.
        wait = app.config["HTTP_CONNECT_TIMEOUT_S"] + app.config["HTTP_READ_TIMEOUT_S"] + 5.0
        with app.app_context():
            postgres = db.engine.dialect.name == "postgresql"
            with nullcontext() if postgres else self._file_lock(wait):
                try:
                    if postgres:
                        db.session.execute(text(f"SET LOCAL lock_timeout = '{int(wait * 1000)}ms'"))
                    query = db.select(Connection.credentials_encrypted).where(
                        Connection.id == self.conn_id)
                    if postgres:
                        query = query.with_for_update()
                    yield StoredTokens(self, db.session.execute(query).scalar_one_or_none())
                    db.session.commit()
                except OperationalError as exc:
                    db.session.rollback()
                    raise UpstreamError("the connection's tokens could not be locked for a "
                                        "refresh (another refresh holds them)") from exc
                except BaseException:
                    db.session.rollback()
                    raise

    @contextmanager
    def _file_lock(self, wait: float) -> Iterator[None]:
        folder = Path(self.runtime.app.instance_path) / "oauth-locks"
        lock = filelock.FileLock(str(folder / f"connection-{self.conn_id}.lock"), timeout=wait)
        try:
            folder.mkdir(mode=0o700, parents=True, exist_ok=True)
            lock.acquire()
        except filelock.Timeout as exc:
            raise UpstreamError("another process is refreshing this connection's token") from exc
        except OSError as exc:
            raise UpstreamError(f"the token refresh lock cannot be taken: {exc}") from exc
        try:
            yield
        finally:
            lock.release()


class StoredTokens:
    """The credentials as read under the lock; writes compare-and-set against that read, so a
    change made meanwhile without the lock (a re-authorisation) is never overwritten."""

    def __init__(self, row: TokenRow, encrypted: str | None) -> None:
        self.row = row
        self.encrypted = encrypted
        vault = row.runtime.vault
        self.creds: dict[str, Any] = vault.decrypt(encrypted) if encrypted else {}

    def save(self, tokens: dict[str, Any]) -> None:
        # Only the token fields change: never the OAuth app's client id or secret.
        fields = {k: v for k, v in tokens.items() if k in auth_mod.TOKEN_FIELDS}
        merged = auth_mod.merge_tokens(self.creds, fields)
        vault = self.row.runtime.vault
        if self._write(credentials_encrypted=vault.encrypt(merged), status="active"):
            self.creds = merged
        else:
            logger.warning("connection %s changed while its OAuth2 token was refreshed; the "
                           "stored credentials are kept", self.row.conn_id)

    def refused(self) -> None:
        if self._write(status="needs_reauth"):
            logger.warning("connection %s: the refresh token was refused; it needs "
                           "re-authorisation", self.row.conn_id)

    def _write(self, **values: Any) -> bool:
        """Update the row if its tokens are still the ones read; commit. A row only
        re-encrypted meanwhile (key rotation) still counts as unchanged."""
        if self.encrypted is None:
            return False
        expected = auth_mod.token_pair(self.creds)
        current = self.encrypted
        for _ in range(3):
            done = db.session.execute(
                update(Connection)
                .where(Connection.id == self.row.conn_id,
                       Connection.credentials_encrypted == current)
                .values(**values)).rowcount
            if done:
                db.session.commit()
                self.encrypted = values.get("credentials_encrypted", current)
                return True
            current = db.session.execute(db.select(Connection.credentials_encrypted).where(
                Connection.id == self.row.conn_id)).scalar_one_or_none()
            if current is None or auth_mod.token_pair(
                    self.row.runtime.vault.decrypt(current)) != expected:
                db.session.rollback()
                return False
        db.session.rollback()
        return False
