"""Credentials at rest: Fernet encryption with MultiFernet key rotation, and masking."""
from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

from cryptography.fernet import Fernet
from cryptography.fernet import InvalidToken
from cryptography.fernet import MultiFernet
from flask import Flask

from atom.settings import ConfigError

logger = logging.getLogger(__name__)

MASK = "********"
KEY_FILE = "encryption.key"


class Vault:
    """Encrypt and decrypt credential mappings with the configured keys (newest first)."""

    def __init__(self, keys: list[str]) -> None:
        try:
            self._fernets = [Fernet(k.encode()) for k in keys]
        except (ValueError, TypeError) as exc:
            raise ConfigError(
                "ATOM_ENCRYPTION_KEY must be comma-separated Fernet keys (32 url-safe base64 bytes)"
            ) from exc
        self._multi = MultiFernet(self._fernets)

    def encrypt(self, data: dict[str, Any]) -> str:
        return self._multi.encrypt(json.dumps(data).encode()).decode()

    def decrypt(self, token: str) -> dict[str, Any]:
        if not token:
            return {}
        try:
            return json.loads(self._multi.decrypt(token.encode()))
        except InvalidToken as exc:
            raise ConfigError("credentials cannot be decrypted with the configured keys") from exc

    def rotate(self, token: str) -> str:
        """Re-encrypt a token under the newest key."""
        return self._multi.rotate(token.encode()).decode() if token else token


def init_vault(app: Flask) -> Vault:
    """Build the app's vault from ``ENCRYPTION_KEY``, or a generated development key."""
    raw = app.config.get("ENCRYPTION_KEY")
    if not raw:
        if not app.config.get("ENCRYPTION_KEY_AUTOGENERATE"):
            raise ConfigError("ATOM_ENCRYPTION_KEY is required in production (Fernet key)")
        raw = _instance_key(app)
    keys = [k.strip() for k in str(raw).split(",") if k.strip()]
    return Vault(keys)


def _instance_key(app: Flask) -> str:
    path = Path(app.instance_path) / KEY_FILE
    if path.exists():
        return path.read_text().strip()
    logger.warning(
        "No ATOM_ENCRYPTION_KEY set: generated one into %s. Back it up, or set the variable.", path
    )
    key = Fernet.generate_key().decode()
    path.write_text(key)
    path.chmod(0o600)
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
