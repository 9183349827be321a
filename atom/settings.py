"""Layered configuration: class, environment class, instance file, environment, test mapping."""
from __future__ import annotations

import importlib.util
import json
import logging
import os
import re
import secrets
from pathlib import Path
from urllib.parse import urlsplit
from typing import Any
from typing import Mapping

from flask import Flask

from config import CONFIGS

logger = logging.getLogger(__name__)

# Names the product documents use without the ATOM_ prefix: the monitoring thresholds, the
# intelligence switches and the models' settings.
THRESHOLD_SETTINGS = (
    "RESPONSE_TIME_WARNING_MS",
    "RESPONSE_TIME_CRITICAL_MS",
    "SUCCESS_RATE_WARNING",
    "SUCCESS_RATE_CRITICAL",
    "HEALTH_SCORE_WARNING",
    "HEALTH_SCORE_CRITICAL",
)
SWITCHES = (
    "AI_WORKFLOW_ENABLED",
    "ENHANCED_MONITORING_ENABLED",
    "CROSS_SERVICE_ORCHESTRATION_ENABLED",
    "WORKFLOW_OPTIMIZATION_ENABLED",
)
UNPREFIXED = (*THRESHOLD_SETTINGS, *SWITCHES, "AI_MODELS_CONFIG")


MIN_SECRET_KEY_BYTES = 32
# The most items a foreach step may ever run (its item rows are named ``<id>[<n>]``).
FOREACH_ITEMS_CEILING = 1_000_000

# The alert fields an incident can be grouped by (ATOM_ALERT_GROUP_BY).
ALERT_GROUP_FIELDS = ("integration", "host", "connection_id", "workflow_id", "rule", "subject")

# ATOM_OAUTH_<SLUG>_CLIENT_ID / _CLIENT_SECRET: kept as written (the JSON parsing of the
# environment layer would turn a numeric client id into a number).
_OAUTH_CLIENT_ENV = re.compile(r"^ATOM_(OAUTH_[A-Z0-9_]+_CLIENT_(?:ID|SECRET))$")


class ConfigError(RuntimeError):
    """A setting is missing or malformed; the message names it."""


def load_config(app: Flask, test_config: Mapping[str, Any] | None) -> None:
    """Apply every configuration layer to ``app.config`` in order."""
    env_name = (test_config or {}).get("ENV_NAME") or os.environ.get("ATOM_ENV", "development")
    if test_config is not None and "ENV_NAME" not in test_config:
        env_name = "testing"
    if env_name not in CONFIGS:
        raise ConfigError(f"Unexpected value ATOM_ENV={env_name!r}, use one of {sorted(CONFIGS)}")
    app.config.from_object(CONFIGS[env_name])
    app.config.from_pyfile("atom.cfg", silent=True)
    if os.environ.get("ATOM_SETTINGS"):
        app.config.from_envvar("ATOM_SETTINGS")
    app.config.from_prefixed_env("ATOM")
    for name, raw in os.environ.items():
        match = _OAUTH_CLIENT_ENV.match(name)
        if match:
            app.config[match.group(1)] = raw
    for name in UNPREFIXED:
        if name in os.environ:
            app.config[name] = _parse(os.environ[name])
    if test_config:
        app.config.update(test_config)
    _finish(app)


def _parse(raw: str) -> Any:
    try:
        return json.loads(raw)
    except ValueError:
        return raw


def _finish(app: Flask) -> None:
    cfg = app.config
    # The folder holds the database, the generated keys and the lock files: the owner's only.
    # An existing folder keeps its mode (it may be a shared parent the operator chose).
    Path(app.instance_path).mkdir(mode=0o700, parents=True, exist_ok=True)
    if not cfg.get("SQLALCHEMY_DATABASE_URI"):
        cfg["SQLALCHEMY_DATABASE_URI"] = "sqlite:///" + os.path.join(app.instance_path, "atom.db")
    if not cfg.get("SECRET_KEY"):
        if cfg["ENV_NAME"] == "production":
            raise ConfigError("ATOM_SECRET_KEY is required in production")
        cfg["SECRET_KEY"] = _instance_secret(app, "secret_key", secrets.token_hex(32))
    if cfg["ENV_NAME"] == "production":
        _check_secret_key(cfg["SECRET_KEY"])
    for name in ("PLUGINS_ENABLED", "PLUGINS_DISABLED", "ALERT_GROUP_BY"):
        value = cfg.get(name)
        if isinstance(value, str):
            cfg[name] = [v.strip() for v in value.split(",") if v.strip()]
    _check_numbers(cfg)
    if cfg["FOREACH_MAX_ITEMS"] > FOREACH_ITEMS_CEILING:
        raise ConfigError(f"Unexpected value FOREACH_MAX_ITEMS={cfg['FOREACH_MAX_ITEMS']!r}, "
                          f"use at most {FOREACH_ITEMS_CEILING}")
    if cfg["POLL_MIN_INTERVAL_S"] > 86_400:
        raise ConfigError(f"Unexpected value POLL_MIN_INTERVAL_S={cfg['POLL_MIN_INTERVAL_S']!r}, "
                          "use at most 86400 (a day)")
    for name in ("TIMER_TICK_S", "TIMER_MAX_PER_TICK"):
        if isinstance(cfg[name], bool) or not isinstance(cfg[name], (int, float)) or not cfg[name] > 0:
            raise ConfigError(f"Unexpected value {name}={cfg[name]!r}, use a positive number")
    for name in ("POLL_TICK_S", "POLL_CONCURRENCY", "POLL_MAX_PER_TICK",
                 "FOREACH_MAX_ITEMS", "FOREACH_MAX_CONCURRENCY"):
        if not cfg[name] >= 1:
            raise ConfigError(f"Unexpected value {name}={cfg[name]!r}, use at least 1")
    _check_oauth(cfg)
    _check_models_config(cfg)
    _check_alerting(cfg)
    _check_executor(cfg)
    _check_redis(cfg)


EXECUTORS = ("thread", "celery")
BROKER_SCHEMES = ("redis", "rediss", "amqp", "amqps", "pyamqp")


def uses_sqlite(cfg: Mapping[str, Any]) -> bool:
    """Whether the configured database is SQLite (the embedded default)."""
    return str(cfg.get("SQLALCHEMY_DATABASE_URI") or "").startswith("sqlite")


def _check_executor(cfg: Any) -> None:
    """ATOM_EXECUTOR and, for Celery, its broker, queue and database (atom.engine.celery_app).

    Messages name the broker's scheme only: its URL may carry a password.
    """
    executor = cfg.get("EXECUTOR")
    if executor not in EXECUTORS:
        raise ConfigError(f"Unexpected value EXECUTOR={executor!r}, use one of {list(EXECUTORS)}")
    queue = cfg.get("CELERY_QUEUE")
    if not isinstance(queue, str) or not re.fullmatch(r"[A-Za-z0-9_.\-]{1,100}", queue):
        raise ConfigError(f"Unexpected value CELERY_QUEUE={queue!r}, use 1 to 100 letters, "
                          "digits, '.', '_' or '-'")
    url = cfg.get("BROKER_URL")
    if url in (None, ""):
        cfg["BROKER_URL"] = None
        if executor == "celery":
            raise ConfigError("ATOM_BROKER_URL is required with ATOM_EXECUTOR=celery, such as "
                              "redis://127.0.0.1:6379/0 or amqp://guest@127.0.0.1:5672//")
        return
    scheme = urlsplit(str(url)).scheme
    if scheme not in BROKER_SCHEMES:
        raise ConfigError(f"Unexpected scheme {scheme or '(none)'!r} in ATOM_BROKER_URL, use one "
                          f"of {list(BROKER_SCHEMES)} (Redis or RabbitMQ)")
    if executor == "celery" and uses_sqlite(cfg):
        raise ConfigError("ATOM_EXECUTOR=celery needs PostgreSQL (ATOM_SQLALCHEMY_DATABASE_URI): "
                          "web and worker processes share the database, often across machines")
    if executor == "celery" and importlib.util.find_spec("celery") is None:
        raise ConfigError("ATOM_EXECUTOR=celery needs Celery: pip install 'atom-hub[celery]'")


def _check_redis(cfg: Any) -> None:
    """The shared state's Redis (atom.integrations.shared): a redis:// URL or none."""
    url = cfg.get("REDIS_URL")
    if url in (None, ""):
        cfg["REDIS_URL"] = None
    elif not isinstance(url, str) or urlsplit(url).scheme not in ("redis", "rediss", "unix"):
        raise ConfigError(f"Unexpected value REDIS_URL={url!r}, use a Redis URL such as "
                          "redis://127.0.0.1:6379/0 (or rediss://, unix://)")
    elif importlib.util.find_spec("redis") is None:
        raise ConfigError("REDIS_URL is set but redis-py is not installed: "
                          "pip install 'atom-hub[redis]'")
    prefix = cfg.get("REDIS_KEY_PREFIX")
    if not isinstance(prefix, str) or not re.fullmatch(r"[A-Za-z0-9_.:-]{1,64}", prefix):
        raise ConfigError(f"Unexpected value REDIS_KEY_PREFIX={prefix!r}, use 1-64 letters, "
                          "digits or _.:-")
    for name in ("REDIS_TIMEOUT_S", "REDIS_RETRY_S"):
        value = cfg.get(name)
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 < value <= 600:
            raise ConfigError(f"Unexpected value {name}={value!r}, use seconds above 0, at "
                              "most 600")


def _check_alerting(cfg: Any) -> None:
    """The alert evaluation's window and streaks (atom.monitoring.alerts), incident grouping
    (atom.monitoring.incidents) and the public status page."""
    fields = cfg.get("ALERT_GROUP_BY")
    if fields is None:
        fields = cfg["ALERT_GROUP_BY"] = []
    if not isinstance(fields, (list, tuple)) or not all(isinstance(f, str) for f in fields):
        raise ConfigError(f"Unexpected value ALERT_GROUP_BY={fields!r}, use a list of fields "
                          f"(comma-separated) from {', '.join(ALERT_GROUP_FIELDS)}")
    unknown = [f for f in fields if f not in ALERT_GROUP_FIELDS]
    if unknown:
        raise ConfigError(f"Unexpected field {unknown[0]!r} in ALERT_GROUP_BY, use "
                          f"{', '.join(ALERT_GROUP_FIELDS)}")
    for name in ("ALERT_NOTIFY_TICK_S",):
        value = cfg.get(name)
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0:
            raise ConfigError(f"Unexpected value {name}={value!r}, "
                              "use a positive number of seconds")
    for name in ("HOST_DOWN_MIN_CONNECTIONS", "HEALTH_CHECK_CONCURRENCY"):
        value = cfg.get(name)
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ConfigError(f"Unexpected value {name}={value!r}, "
                              "use a whole number of at least 1")
    ratio = cfg.get("ANOMALY_MIN_INCREASE_RATIO")
    if isinstance(ratio, bool) or not isinstance(ratio, (int, float)) or not ratio >= 1:
        raise ConfigError(f"Unexpected value ANOMALY_MIN_INCREASE_RATIO={ratio!r}, "
                          "use a factor of at least 1")
    if not isinstance(cfg.get("STATUS_PAGE_ENABLED"), bool):
        raise ConfigError(f"Unexpected value STATUS_PAGE_ENABLED={cfg.get('STATUS_PAGE_ENABLED')!r}, "
                          "use true or false")
    title = cfg.get("STATUS_PAGE_TITLE")
    if not isinstance(title, str) or not title.strip() or len(title) > 200:
        raise ConfigError(f"Unexpected value STATUS_PAGE_TITLE={title!r}, "
                          "use a text of 1 to 200 characters")
    for name in ("ALERT_WINDOW_S", "FLAP_WINDOW_S"):
        value = cfg.get(name)
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0:
            raise ConfigError(f"Unexpected value {name}={value!r}, "
                              "use a positive number of seconds")
    for name in ("ALERT_WINDOW_CHECKS", "ALERT_OPEN_AFTER", "ALERT_RESOLVE_AFTER",
                 "CONSECUTIVE_FAILURES_OPEN_AFTER", "ANOMALY_OPEN_AFTER",
                 "ALERT_RECOVERY_EVALUATIONS",
                 "FLAP_MAX_CHANGES"):
        value = cfg.get(name)
        if value is None and name in ("ALERT_RECOVERY_EVALUATIONS",
                                      "CONSECUTIVE_FAILURES_OPEN_AFTER", "ANOMALY_OPEN_AFTER"):
            continue
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ConfigError(f"Unexpected value {name}={value!r}, "
                              "use a whole number of at least 1")


def _check_models_config(cfg: Any) -> None:
    """The intelligence switches are booleans; AI_MODELS_CONFIG's keys are merged over the
    defaults, each checked."""
    for name in SWITCHES:
        if not isinstance(cfg.get(name), bool):
            raise ConfigError(f"Unexpected value {name}={cfg.get(name)!r}, use true or false")
    from config.default import DefaultConfig

    given = cfg.get("AI_MODELS_CONFIG")
    if not isinstance(given, Mapping):
        raise ConfigError(f"Unexpected value AI_MODELS_CONFIG={given!r}, use a JSON object "
                          'such as {"confidence_threshold": 0.85}')
    merged = {**DefaultConfig.AI_MODELS_CONFIG, **given}
    unknown = sorted(set(merged) - set(DefaultConfig.AI_MODELS_CONFIG))
    if unknown:
        raise ConfigError(f"Unexpected key AI_MODELS_CONFIG[{unknown[0]!r}], use one of "
                          f"{sorted(DefaultConfig.AI_MODELS_CONFIG)}")
    for name in ("confidence_threshold", "auto_apply_threshold"):
        value = merged[name]
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value <= 1:
            raise ConfigError(f"Unexpected value AI_MODELS_CONFIG[{name!r}]={value!r}, use a "
                              "number between 0 and 1")
    for name, low in (("retrain_interval_s", 60), ("min_history", 1)):
        value = merged[name]
        if isinstance(value, bool) or not isinstance(value, (int, float)) or value < low:
            raise ConfigError(f"Unexpected value AI_MODELS_CONFIG[{name!r}]={value!r}, use a "
                              f"number of at least {low}")
    cfg["AI_MODELS_CONFIG"] = merged


def _check_oauth(cfg: Any) -> None:
    ttl = cfg.get("OAUTH_STATE_TTL_S")
    if isinstance(ttl, bool) or not isinstance(ttl, (int, float)) or not 10 <= ttl <= 86_400:
        raise ConfigError(f"Unexpected value OAUTH_STATE_TTL_S={ttl!r}, use seconds "
                          "between 10 and 86400")
    url = cfg.get("PUBLIC_URL")
    if url in (None, ""):
        cfg["PUBLIC_URL"] = None
        return
    parts = urlsplit(str(url))
    if parts.scheme not in ("http", "https") or not parts.netloc or parts.query or parts.fragment:
        raise ConfigError(f"Unexpected value PUBLIC_URL={url!r}, use the external base URL "
                          "such as https://atom.example.com")
    cfg["PUBLIC_URL"] = str(url).rstrip("/")


def _check_secret_key(key: str | bytes | int) -> None:
    """Refuse a session-signing key short enough to guess or brute-force offline."""
    raw = key if isinstance(key, bytes) else str(key).encode()
    if len(raw) < MIN_SECRET_KEY_BYTES:
        raise ConfigError(
            f"ATOM_SECRET_KEY has {len(raw)} bytes; production needs at least "
            f"{MIN_SECRET_KEY_BYTES} bytes "
            "(python -c 'import secrets; print(secrets.token_hex(32))')")


def _check_numbers(cfg: Mapping[str, Any]) -> None:
    for name in (
        "ONE_TIME_PASSWORD_TTL_S",
        "HTTP_CONNECT_TIMEOUT_S",
        "HTTP_READ_TIMEOUT_S",
        "HTTP_MAX_ATTEMPTS",
        "WORKER_THREADS",
        "MAX_CONCURRENT_EXECUTIONS",
        "MAX_CONTENT_LENGTH",
        "DURABLE_WAIT_S",
        "POLL_MIN_INTERVAL_S", "POLL_TICK_S", "POLL_CONCURRENCY", "POLL_MAX_PER_TICK",
        "POLL_MAX_BACKOFF_S", "POLL_ITEM_RETENTION_DAYS",
        "FOREACH_MAX_ITEMS", "FOREACH_MAX_CONCURRENCY",
        "ALERT_GROUP_WAIT_S", "ALERT_GROUP_INTERVAL_S", "ALERT_REPEAT_INTERVAL_S",
        "STATUS_PAGE_CACHE_S", "ANOMALY_MIN_INCREASE_MS",
        *THRESHOLD_SETTINGS,
    ):
        value = cfg.get(name)
        if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
            raise ConfigError(f"Unexpected value {name}={value!r}, use a non-negative number")


def _instance_secret(app: Flask, filename: str, fresh: str) -> str:
    """Read a generated secret from the instance folder, creating it on first use."""
    path = Path(app.instance_path) / filename
    if path.exists():
        return path.read_text().strip()
    # Created 0600 at once: no moment when another user could read it.
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(fresh)
    return fresh
