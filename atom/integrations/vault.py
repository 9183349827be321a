"""Secrets at rest: Fernet encryption with MultiFernet key rotation, and masking.

A :class:`Vault` holds every configured key (newest first). When a token does not decrypt, it
re-reads its key source once (the generated key file, or ``ATOM_ENCRYPTION_KEY``) before
failing, so ``atom keys rotate-encryption`` run elsewhere does not break a running server.
"""
from __future__ import annotations

import json
import logging
import os
import threading
import time
from pathlib import Path
from typing import Any
from typing import Callable

from cryptography.fernet import Fernet
from cryptography.fernet import InvalidToken
from cryptography.fernet import MultiFernet
from flask import Flask

from atom.settings import ConfigError

logger = logging.getLogger(__name__)

MASK = "********"
KEY_FILE = "encryption.key"
ENV_VAR = "ATOM_ENCRYPTION_KEY"
# At most one re-read of the key source per interval: a token that never decrypts (a bad row,
# an attacker's input) must not make every request read the file.
RELOAD_INTERVAL_S = 2.0


def parse_keys(raw: str) -> list[str]:
    """Comma-separated Fernet keys, newest first."""
    return [k.strip() for k in str(raw).split(",") if k.strip()]


def _multi(keys: list[str]) -> MultiFernet:
    try:
        return MultiFernet([Fernet(k.encode()) for k in keys])
    except (ValueError, TypeError) as exc:
        raise ConfigError(
            "ATOM_ENCRYPTION_KEY must be comma-separated Fernet keys (32 url-safe base64 bytes)"
        ) from exc


class Vault:
    """Encrypt and decrypt secrets with the configured keys (newest first).

    :param source: returns the current keys as configured (``"new,old"``); called again, at most
        every ``reload_interval`` seconds, when a token does not decrypt. None: the keys are fixed.
    """

    def __init__(self, keys: list[str], source: Callable[[], str] | None = None,
                 reload_interval: float = RELOAD_INTERVAL_S) -> None:
        self._keys = list(keys)
        self._multi = _multi(self._keys)
        self._source = source
        self._interval = reload_interval
        self._reloaded_at = float("-inf")
        self._lock = threading.Lock()

    def encrypt(self, data: dict[str, Any]) -> str:
        return self.encrypt_text(json.dumps(data))

    def decrypt(self, token: str) -> dict[str, Any]:
        return json.loads(self.decrypt_text(token)) if token else {}

    def encrypt_text(self, value: str) -> str:
        """Encrypt one secret string (a webhook secret) under the newest key."""
        return self._multi.encrypt(value.encode()).decode()

    def decrypt_text(self, token: str) -> str:
        if not token:
            return ""
        return self._with_keys(lambda multi: multi.decrypt(token.encode())).decode()

    def rotate(self, token: str) -> str:
        """Re-encrypt a token under the newest key."""
        if not token:
            return token
        return self._with_keys(lambda multi: multi.rotate(token.encode())).decode()

    def _with_keys(self, use: Callable[[MultiFernet], bytes]) -> bytes:
        multi = self._multi
        try:
            return use(multi)
        except InvalidToken:
            pass
        if self._reload(multi):
            try:
                return use(self._multi)
            except InvalidToken:
                pass
        raise ConfigError("a stored secret cannot be decrypted with the configured keys")

    def _reload(self, failed: MultiFernet) -> bool:
        """Re-read the key source; True when the keys changed since ``failed`` was in use.

        Only a re-read that found nothing new starts the interval: after new keys, the next
        rotation can be picked up at once.
        """
        with self._lock:
            if self._multi is not failed:  # another thread re-read meanwhile
                return True
            now = time.monotonic()
            if self._source is None or now - self._reloaded_at < self._interval:
                return False
            self._reloaded_at = now
            try:
                keys = parse_keys(self._source())
                multi = _multi(keys)
            except (OSError, ConfigError) as exc:
                logger.warning("could not re-read the encryption keys: %s", exc)
                return False
            if not keys or keys == self._keys:
                return False
            logger.info("encryption keys re-read: %d key(s) configured", len(keys))
            self._keys, self._multi = keys, multi
            self._reloaded_at = float("-inf")
            return True


def init_vault(app: Flask) -> Vault:
    """Build the app's vault from ``ENCRYPTION_KEY``, or a generated development key."""
    raw = app.config.get("ENCRYPTION_KEY")
    if raw:
        # Only a value that came from the environment can be re-read there; one from a
        # settings file stays as it is until the process restarts.
        from_env = os.environ.get(ENV_VAR, "").strip() == str(raw).strip()
        source = (lambda: os.environ.get(ENV_VAR, "")) if from_env else None
        return Vault(parse_keys(raw), source)
    if not app.config.get("ENCRYPTION_KEY_AUTOGENERATE"):
        raise ConfigError("ATOM_ENCRYPTION_KEY is required in production (Fernet key)")
    path = key_file(app)
    return Vault(parse_keys(_instance_key(path)), lambda: path.read_text())


def key_file(app: Flask) -> Path:
    """The generated development key file: ``<instance>/encryption.key``."""
    return Path(app.instance_path) / KEY_FILE


def write_key_file(path: Path, keys: list[str]) -> None:
    """Replace the key file in one step (a server re-reading it never sees half a file)."""
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(",".join(keys))
    tmp.chmod(0o600)
    os.replace(tmp, path)


def _instance_key(path: Path) -> str:
    if path.exists():
        return path.read_text().strip()
    logger.warning(
        "No ATOM_ENCRYPTION_KEY set: generated one into %s. Back it up, or set the variable.", path
    )
    key = Fernet.generate_key().decode()
    write_key_file(path, [key])
    return key


def mask(value: Any) -> Any:
    """Mask a secret: never the whole value; the last four characters of long ones."""
    if value is None or value == "":
        return value
    if not isinstance(value, str):
        return MASK
    return MASK + value[-4:] if len(value) >= 16 else MASK


def mask_credentials(creds: dict[str, Any], secret_fields: set[str]) -> dict[str, Any]:
    return {k: (mask(v) if k in secret_fields else v) for k, v in creds.items()}


def merge_credentials(
    stored: dict[str, Any], incoming: dict[str, Any], secret_fields: set[str]
) -> dict[str, Any]:
    """Apply incoming credentials, keeping a stored secret when its mask comes back unchanged."""
    merged = dict(stored)
    for key, value in incoming.items():
        if key in secret_fields and key in stored and value == mask(stored[key]):
            continue
        if key in secret_fields and isinstance(value, str) and value.startswith(MASK):
            # A mask that is not this secret's: storing it would silently break the connection.
            from atom.integrations.errors import ValidationFailed

            raise ValidationFailed("a masked value that does not match the stored secret",
                                   details={"credentials": {key: ["send the secret itself, or its mask unchanged"]}})
        merged[key] = value
    return merged
