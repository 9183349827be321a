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
    # Outbound address policy (atom/integrations/outbound.py), applied to every integration
    # call, redirect hop, health check and token refresh. Denied unless allowed: loopback,
    # link-local (169.254.0.0/16, fe80::/10: cloud metadata), RFC 1918, fc00::/7,
    # 100.64.0.0/10, 0.0.0.0/8, multicast and reserved addresses.
    # OUTBOUND_ALLOW: CIDRs or host names (*.example.com for subdomains) allowed anyway, a list
    # or comma-separated (ATOM_OUTBOUND_ALLOW="10.20.0.0/16,jira.internal.example").
    OUTBOUND_ALLOW: list[str] | str = []
    # OUTBOUND_DENY: CIDRs or host names always denied; an entry here beats OUTBOUND_ALLOW.
    OUTBOUND_DENY: list[str] | str = []
    # Allow loopback, RFC 1918, fc00::/7 and 100.64.0.0/10 (never link-local). False here and
    # in production; development and testing turn it on (a warning at start-up says so).
    OUTBOUND_ALLOW_PRIVATE = False
    # An egress proxy (http://host:port) every integration call goes through; its own address
    # is exempt from the policy, the targets are still checked. Environment proxies
    # (HTTPS_PROXY, ...) are never read.
    HTTP_PROXY: str | None = None
    # Per-call metrics: flush the in-memory buffer at this size or this often.
    METRICS_FLUSH_BATCH = 500
    METRICS_FLUSH_INTERVAL_S = 2.0
    # Webhook receivers: signature timestamp tolerance.
    WEBHOOK_TOLERANCE_S = 300
    # OAuth connect flow: a started authorisation's ``state`` works this many seconds; the
    # external base URL (https://atom.example.com) of the redirect URI <PUBLIC_URL>/oauth/callback
    # (None: the request's own host).
    OAUTH_STATE_TTL_S = 600
    PUBLIC_URL: str | None = None
    # Polling triggers (atom/engine/polling.py). The shortest interval_s a workflow's poll
    # trigger may ask for (a 422 below it; a trigger's own default below it is raised to it).
    POLL_MIN_INTERVAL_S = 5
    # How often the scheduler's poll job looks for due cursors (and re-reads the workflows).
    POLL_TICK_S = 5
    # Polls of one tick run on at most this many threads, and at most this many per tick
    # (the most overdue first; the rest wait for the next tick).
    POLL_CONCURRENCY = 4
    POLL_MAX_PER_TICK = 200
    # After n failures in a row the next poll waits interval * 2**(n-1), capped at this (or at
    # the interval, if that is longer), and never less than a Retry-After the service sent.
    POLL_MAX_BACKOFF_S = 900
    # Item ids seen by polls (and the events they fired) are kept this long.
    POLL_ITEM_RETENTION_DAYS = 30
    # Monitoring thresholds (also read from the un-prefixed names of the product documents).
    RESPONSE_TIME_WARNING_MS = 1000
    RESPONSE_TIME_CRITICAL_MS = 5000
    SUCCESS_RATE_WARNING = 0.95
    SUCCESS_RATE_CRITICAL = 0.90
    HEALTH_SCORE_WARNING = 80
    HEALTH_SCORE_CRITICAL = 60
    HEALTH_CHECK_INTERVAL_S = 60
    METRICS_RETENTION_DAYS = 30
    # Monitoring (atom/monitoring): consecutive failed checks that raise a warning / critical
    # alert, and a workflow's failed share of its executions that does.
    CONSECUTIVE_FAILURES_WARNING = 2
    CONSECUTIVE_FAILURES_CRITICAL = 3
    WORKFLOW_FAILURE_RATE_WARNING = 0.10
    WORKFLOW_FAILURE_RATE_CRITICAL = 0.25
    # A health check still running after this many seconds counts as failed (timeout).
    HEALTH_CHECK_TIMEOUT_S = 10.0
    # Checks of one round run concurrently on at most this many threads (each waits on the
    # network without holding a database connection).
    HEALTH_CHECK_CONCURRENCY = 128
    # Scheduled rounds start each check after a random delay of up to this many seconds
    # (at most a quarter of the interval), so services are not all hit at the same instant.
    HEALTH_CHECK_JITTER_S = 2.0
    # Success rate, error count and response times are computed over this window.
    MONITORING_WINDOW_S = 900
    # Alert rules judge the freshest evidence: the observations since the previous evaluation,
    # never older than ALERT_WINDOW_S; a connection whose slice holds calls but no health check
    # is judged on them plus its last ALERT_WINDOW_CHECKS checks of that window.
    ALERT_WINDOW_S = 300
    ALERT_WINDOW_CHECKS = 3
    # Observations in the reporting window (MONITORING_WINDOW_S) a connection needs before the
    # response-time, success-rate and score rules judge it (executions, for a workflow).
    ALERT_MIN_OBSERVATIONS = 5
    # Bad evaluations in a row before an alert opens, good ones before it resolves itself (per
    # rule: the thresholds <rule>_open_after / <rule>_resolve_after, e.g. CONSECUTIVE_FAILURES_
    # OPEN_AFTER: that rule counts failed checks in a row already, so it opens at once).
    ALERT_OPEN_AFTER = 2
    ALERT_RESOLVE_AFTER = 2
    CONSECUTIVE_FAILURES_OPEN_AFTER = 1
    # The live detector flags the one check where a series changes and adapts at once, so an
    # anomaly alert opens on that flag; it resolves after ALERT_RESOLVE_AFTER calm evaluations.
    ANOMALY_OPEN_AFTER = 1
    # Deprecated alias of ALERT_RESOLVE_AFTER, used instead of it when set.
    ALERT_RECOVERY_EVALUATIONS: int | None = None
    # A connection whose health checks change between ok and failed more than FLAP_MAX_CHANGES
    # times in FLAP_WINDOW_S is flapping: its alerts still open and close, notifications wait.
    FLAP_MAX_CHANGES = 5
    FLAP_WINDOW_S = 600
    # A host shared by at least this many enabled connections (2 or more) is a parent of them:
    # its host_down alert (every one failing) suppresses theirs (atom.monitoring.suppression).
    HOST_DOWN_MIN_CONNECTIONS = 2
    # Live anomaly detection over check latency and failure counts (atom.monitoring.anomaly),
    # and keyword overrides for its StreamingDetector (e.g. {"hold": 60}). Live detectors start
    # flagging after an hour of samples ({"warmup_s": 3600}) or 600 samples, whichever is first.
    ANOMALY_DETECTION = True
    ANOMALY_PARAMS: dict = {}
    # A latency flag also needs the check to be this much slower than the recent median.
    ANOMALY_MIN_INCREASE_MS = 50
    ANOMALY_MIN_INCREASE_RATIO = 1.5
    # Hourly roll-ups are kept this long (raw samples: METRICS_RETENTION_DAYS).
    METRICS_ROLLUP_RETENTION_DAYS = 400
    # /metrics answers without an API key when True (otherwise any role's key).
    METRICS_PUBLIC = False
    # The public status page (/status and /status.json; off: 404 as if absent). An admin
    # chooses its connections and their public names (PUT /api/v2/monitoring/status-page);
    # its title; how many seconds a rendered answer is reused (and may be cached by browsers).
    STATUS_PAGE_ENABLED = False
    STATUS_PAGE_TITLE = "Service status"
    STATUS_PAGE_CACHE_S = 10
    # Incidents and their notifications (atom/monitoring/incidents.py, notify.py): active alerts
    # are grouped into one incident per value of these alert fields (any of integration, host,
    # connection_id, workflow_id, rule, subject; alerts with none of them set group by their
    # subject). The first message waits ALERT_GROUP_WAIT_S for the rest of the group; a changed
    # incident is re-sent at most every ALERT_GROUP_INTERVAL_S; an unchanged unacknowledged one
    # every ALERT_REPEAT_INTERVAL_S (the reminder). The monitoring:notify job looks for due
    # messages every ALERT_NOTIFY_TICK_S.
    ALERT_GROUP_BY: list = ["integration", "host"]
    ALERT_GROUP_WAIT_S = 30
    ALERT_GROUP_INTERVAL_S = 300
    ALERT_REPEAT_INTERVAL_S = 14400
    ALERT_NOTIFY_TICK_S = 5
    # Scheduler (atom/scheduler.py): started by wsgi.py / `atom scheduler`, never by create_app.
    # False lets web workers leave it to a separate `atom scheduler` process.
    SCHEDULER_ENABLED = True
    # Job providers, "module:function" returning JobSpecs.
    SCHEDULER_PROVIDERS: list = ["atom.monitoring.jobs:health_jobs",
                                 "atom.intelligence.prediction:prediction_jobs"]
    # Processes without the lock try again this often; the holder re-reads providers this often.
    SCHEDULER_LOCK_RETRY_S = 15.0
    SCHEDULER_RECONCILE_S = 30.0
    # The lock file on SQLite (default <instance>/scheduler.lock) and the PostgreSQL
    # advisory-lock key (default a fixed hash of "atom.scheduler").
    SCHEDULER_LOCK_PATH: str | None = None
    SCHEDULER_LOCK_KEY: int | None = None
    # Threads running scheduled jobs, and how late a job may still start.
    SCHEDULER_THREADS = 4
    SCHEDULER_MISFIRE_GRACE_S = 30
    # Workflow engine.
    WORKER_THREADS = 8
    MAX_CONCURRENT_EXECUTIONS = 16
    EXECUTION_RETENTION_DAYS = 30
    # How often each serving process looks for executions a dead process left behind, and how
    # old a heartbeat from another host must be before its executions are taken over.
    EXECUTION_RECOVERY_INTERVAL_S = 15.0
    EXECUTION_STALE_S = 30.0
    # Durable timers: a wait step, or a retry backoff, longer than DURABLE_WAIT_S seconds holds
    # no thread: the execution is parked (status "waiting", its wake-up time a row) and the
    # scheduler's timer job, every TIMER_TICK_S seconds, queues the executions whose timer is
    # due (at most TIMER_MAX_PER_TICK a tick, the most overdue first).
    DURABLE_WAIT_S = 5.0
    TIMER_TICK_S = 1.0
    TIMER_MAX_PER_TICK = 1000
    # Where executions run: "thread" (the embedded default: this process's thread pools) or
    # "celery" (web processes only enqueue; `atom worker` processes run them), which needs
    # BROKER_URL (redis://, rediss://, amqp:// or amqps://) and PostgreSQL. CELERY_QUEUE is the
    # queue executions are sent to (`atom worker --queues` picks the ones a worker serves).
    EXECUTOR = "thread"
    BROKER_URL: str | None = None
    CELERY_QUEUE = "atom"
    # How deep an execution chain may go: sub-workflows, and executions started by a step's call
    # to an ATOM webhook (ATOM's outbound calls say which chain they belong to, X-Atom-Execution).
    MAX_WORKFLOW_DEPTH = 5
    # How many executions one chain may add to its root execution (sub-workflows and webhook
    # calls back into ATOM); a workflow step beyond it fails, a webhook call is refused (409).
    WORKFLOW_MAX_DESCENDANTS = 100
    # Executions one workflow may start in any 60 seconds (manual, webhook, event, schedule;
    # 0 = no cap). Beyond it the API answers 429 with Retry-After; event and schedule runs are
    # not started (logged).
    WORKFLOW_MAX_RUNS_PER_MINUTE = 600
    # For-each steps (type: foreach): the item runs one execution may make, over all its
    # foreach steps (its fan-out budget; a list longer than what is left fails the step), and
    # the largest ``concurrency`` a foreach step may ask for (checked when it is saved).
    FOREACH_MAX_ITEMS = 1000
    FOREACH_MAX_CONCURRENCY = 20
    # Expressions (JMESPath; atom/engine/expressions.py). Checked when a definition is saved:
    # an expression's length, how deep its syntax nests, and how many times over it can repeat
    # its input (each multi-select or projection multiplies it: `[@, @]` doubles). Checked while
    # it runs, per evaluation: what it builds, counted as written out (values, characters of
    # strings and keys, nesting), and how long it takes. Over a limit: a 422 at save, a step
    # failed with error class "expression" at run time.
    EXPRESSION_MAX_LENGTH = 2000
    EXPRESSION_MAX_NESTING = 50
    EXPRESSION_MAX_GROWTH = 1000
    EXPRESSION_MAX_RESULT_ITEMS = 1_000_000
    EXPRESSION_MAX_RESULT_CHARS = 10_000_000
    EXPRESSION_MAX_RESULT_DEPTH = 100
    EXPRESSION_MAX_SECONDS = 2.0
    # Built-in intelligence (atom/intelligence), all offline. The product documents' switches,
    # read with or without the ATOM_ prefix: a component switched off answers 503 saying so.
    AI_WORKFLOW_ENABLED = True  # text -> workflow, success prediction
    ENHANCED_MONITORING_ENABLED = True  # per-workflow health, alerts
    CROSS_SERVICE_ORCHESTRATION_ENABLED = True  # dependency map, impact, fallback routing
    WORKFLOW_OPTIMIZATION_ENABLED = True  # optimisation findings and apply, troubleshooting
    # The models' settings (JSON in the environment, keys merged over these):
    # confidence_threshold: below it an understood item becomes a question;
    # retrain_interval_s: how often the prediction model retrains from history (weekly);
    # auto_apply_threshold: "findings": "auto" applies only findings at least this sure;
    # min_history: finished executions before a workflow's own history outweighs its services'.
    AI_MODELS_CONFIG: dict = {"confidence_threshold": 0.85, "retrain_interval_s": 7 * 86_400,
                              "auto_apply_threshold": 0.90, "min_history": 20}
    # Session cookie hardening for the dashboard.
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    # Sign-in attempts (POST /login) allowed per account and per client address, in the
    # Flask-Limiter notation ("5 per minute", "100/hour"); beyond them a 429 with Retry-After.
    LOGIN_RATE_LIMIT_ACCOUNT = "5 per minute"
    LOGIN_RATE_LIMIT_ADDRESS = "20 per minute"
    # Where the counts live. "memory://" counts in each process alone: with several gunicorn
    # workers or hosts use one Redis, e.g. "redis://127.0.0.1:6379" (pip install redis), so that
    # they share the count. Keys start with RATELIMIT_KEY_PREFIX; should the storage fail, each
    # process counts in memory until it answers again.
    RATELIMIT_STORAGE_URI = "memory://"
    # Shared state across processes (atom.integrations.shared): with a Redis URL such as
    # "redis://127.0.0.1:6379/0", each connection's rate limit and circuit breaker hold for all
    # web and worker processes together (keys "<REDIS_KEY_PREFIX>:rl:<id>" and ":cb:<id>", with
    # TTLs). None: each process keeps its own. A Redis that does not answer within
    # REDIS_TIMEOUT_S makes each process fall back to its own (warning logged) and try again
    # after REDIS_RETRY_S.
    REDIS_URL: str | None = None
    REDIS_KEY_PREFIX = "atom"
    REDIS_TIMEOUT_S = 0.5
    REDIS_RETRY_S = 5.0
    RATELIMIT_KEY_PREFIX = "atom"
    RATELIMIT_IN_MEMORY_FALLBACK_ENABLED = True
    # A one-time password (atom users create without --password, atom users bootstrap, a reset
    # through the API) stops working after this many seconds.
    ONE_TIME_PASSWORD_TTL_S = 24 * 3600
    # werkzeug's method for new password hashes (stored hashes name theirs).
    PASSWORD_HASH_METHOD = "scrypt"
    # Sent with every response. No inline script or style: the templates load static files.
    CONTENT_SECURITY_POLICY = ("default-src 'self'; script-src 'self'; style-src 'self'; "
                               "img-src 'self' data:; object-src 'none'; frame-ancestors 'none'; "
                               "base-uri 'self'; form-action 'self'")
    # Not no-referrer: over https Flask-WTF's CSRF check needs the same-origin Referer of a form.
    REFERRER_POLICY = "strict-origin-when-cross-origin"
    # OpenAPI (flask-smorest).
    API_TITLE = "ATOM"
    API_VERSION = "v2"
    OPENAPI_VERSION = "3.0.3"
    OPENAPI_URL_PREFIX = "/api"
    OPENAPI_JSON_PATH = "openapi.json"
    # Proxies in front of ATOM that set X-Forwarded-For/-Proto/-Host (0 = trust none). Webhook
    # signatures that cover the URL (HubSpot v3) need the public https URL to be seen.
    PROXY_FIX_HOPS = 0
    # Log level of the ``atom`` loggers.
    LOG_LEVEL = "INFO"
