from __future__ import annotations

from config.default import DefaultConfig


class ProductionConfig(DefaultConfig):
    ENV_NAME = "production"
    # Production refuses to start without ATOM_ENCRYPTION_KEY and ATOM_SECRET_KEY (at least 32
    # bytes: python -c "import secrets; print(secrets.token_hex(32))").
    ENCRYPTION_KEY_AUTOGENERATE = False
    SESSION_COOKIE_SECURE = True
    LOG_LEVEL = "WARNING"
    # Integration calls never reach loopback or private addresses unless ATOM_OUTBOUND_ALLOW
    # names them.
    OUTBOUND_ALLOW_PRIVATE = False
