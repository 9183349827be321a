from __future__ import annotations

from config.default import DefaultConfig


class TestingConfig(DefaultConfig):
    ENV_NAME = "testing"
    TESTING = True
    PLUGINS_STRICT = True
    WTF_CSRF_ENABLED = False
    # Cheap password hashes: production's scrypt costs 0.15 s a hash, paid by every sign-in.
    PASSWORD_HASH_METHOD = "pbkdf2:sha256:1000"
    # Tests flush metrics explicitly; a long interval keeps the flusher thread out of the way.
    METRICS_FLUSH_INTERVAL_S = 3600.0
    # Tests run fake services on 127.0.0.1.
    OUTBOUND_ALLOW_PRIVATE = True
