"""Every setting ATOM reads, with its default and a comment.

Layers, each overriding the one before: this class, the class of ``ATOM_ENV``, the instance
file ``instance/atom.cfg`` (or the file named by ``ATOM_SETTINGS``), ``ATOM_*`` environment
variables (values parsed as JSON where they parse), the un-prefixed names of the product
documents (``RESPONSE_TIME_WARNING_MS`` ...), and finally ``create_app(test_config)``.
"""
from __future__ import annotations


class DefaultConfig:
    ENV_NAME = "default"
    # Signs session cookies and CSRF tokens; the development class generates one per instance.
    SECRET_KEY: str | None = None
    # SQLite in the instance folder unless set (PostgreSQL in production:
    # postgresql+psycopg2://user@host/db).
    SQLALCHEMY_DATABASE_URI: str | None = None
    SQLALCHEMY_ENGINE_OPTIONS: dict = {"pool_pre_ping": True}
    # Fernet keys for credentials at rest, comma-separated, newest first (MultiFernet).
    ENCRYPTION_KEY: str | None = None
    # Generate a key into the instance folder when none is configured (never in production).
    ENCRYPTION_KEY_AUTOGENERATE = True
    # Largest request body accepted, in bytes.
    MAX_CONTENT_LENGTH = 1 * 1024 * 1024
    # Plugins: allow list (None = every discovered plugin) and deny list.
    PLUGINS_ENABLED: list[str] | None = None
    PLUGINS_DISABLED: list[str] = []
    # Raise instead of reporting a broken plugin (tests, CI).
    PLUGINS_STRICT = False
    # IntegrationClient defaults, each overridable per connection in its settings.
    HTTP_CONNECT_TIMEOUT_S = 5.0
    HTTP_READ_TIMEOUT_S = 30.0
    HTTP_MAX_ATTEMPTS = 4
    HTTP_MAX_RETRY_WAIT_S = 30.0
    HTTP_MAX_SERVER_WAIT_S = 60.0
    HTTP_MAX_TOTAL_S = 120.0
    CIRCUIT_FAILURE_THRESHOLD = 5
    CIRCUIT_RESET_TIMEOUT_S = 30.0
    OAUTH_REFRESH_MARGIN_S = 120
    # Per-call metrics: flush the in-memory buffer at this size or this often.
    METRICS_FLUSH_BATCH = 500
    METRICS_FLUSH_INTERVAL_S = 2.0
    # Webhook receivers: signature timestamp tolerance.
    WEBHOOK_TOLERANCE_S = 300
    # Monitoring thresholds (also read from the un-prefixed names of the product documents).
    RESPONSE_TIME_WARNING_MS = 1000
    RESPONSE_TIME_CRITICAL_MS = 5000
    SUCCESS_RATE_WARNING = 0.95
    SUCCESS_RATE_CRITICAL = 0.90
    HEALTH_SCORE_WARNING = 80
    HEALTH_SCORE_CRITICAL = 60
    HEALTH_CHECK_INTERVAL_S = 60
    METRICS_RETENTION_DAYS = 30
    # Workflow engine.
    WORKER_THREADS = 8
    MAX_CONCURRENT_EXECUTIONS = 16
    EXECUTION_RETENTION_DAYS = 30
    # Session cookie hardening for the dashboard.
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    # OpenAPI (flask-smorest).
    API_TITLE = "ATOM"
    API_VERSION = "v2"
    OPENAPI_VERSION = "3.0.3"
    OPENAPI_URL_PREFIX = "/api"
    OPENAPI_JSON_PATH = "openapi.json"
    # Log level of the ``atom`` loggers.
    LOG_LEVEL = "INFO"
