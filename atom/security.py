"""Response hardening and the sign-in rate limits, set up once per app by ``create_app``.

Every response (pages, API, webhook receivers, static files, errors) gets the security headers
in one ``after_request`` hook. ``POST /login`` is limited per account and per client address by
Flask-Limiter; its storage is ``RATELIMIT_STORAGE_URI`` (memory by default: each process counts
alone; one Redis makes every worker and host share the count).
"""
from __future__ import annotations

import logging
import math
import time

from flask import Flask
from flask import Response
from flask import current_app
from flask import request
from flask_limiter import Limiter
from limits import parse_many

from atom.settings import ConfigError

logger = logging.getLogger(__name__)

LOGIN_ENDPOINT = "dashboard.login"
HEADERS = {
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
}


def init_security(app: Flask) -> None:
    """Add the security headers to every response and rate-limit the sign-in form.

    Call after the dashboard is registered: the limits wrap its login view.
    """
    app.after_request(_add_headers)
    limiter = Limiter(key_func=client_address)
    limiter.init_app(app)
    app.extensions["atom_limiter"] = limiter
    _limit_login(app, limiter)


def client_address() -> str:
    """The client's address (behind a proxy, the one ``PROXY_FIX_HOPS`` trusts)."""
    return request.remote_addr or "unknown"


def retry_after() -> int:
    """Whole seconds until the limit the current request broke lets the client in again."""
    limit = current_app.extensions["atom_limiter"].current_limit
    if limit is None:
        return 60
    return max(1, math.ceil(limit.reset_at - time.time()))


def _add_headers(response: Response) -> Response:
    config = current_app.config
    response.headers.setdefault("Content-Security-Policy", config["CONTENT_SECURITY_POLICY"])
    response.headers.setdefault("Referrer-Policy", config["REFERRER_POLICY"])
    for name, value in HEADERS.items():
        response.headers.setdefault(name, value)
    return response


def _account_key() -> str:
    from atom.accounts import normalise_email

    return "account:" + normalise_email(request.form.get("email"))


def _address_key() -> str:
    return "address:" + client_address()


def _limit_login(app: Flask, limiter: Limiter) -> None:
    """Wrap this app's login view in the two limits (each app has its own limiter, so two apps in
    one process count apart unless they share a storage)."""
    account = _limit_setting(app, "LOGIN_RATE_LIMIT_ACCOUNT")
    address = _limit_setting(app, "LOGIN_RATE_LIMIT_ADDRESS")
    view = app.view_functions[LOGIN_ENDPOINT]
    view = limiter.limit(account, key_func=_account_key, methods=["POST"])(view)
    view = limiter.limit(address, key_func=_address_key, methods=["POST"])(view)
    app.view_functions[LOGIN_ENDPOINT] = view


def _limit_setting(app: Flask, name: str) -> str:
    value = app.config.get(name)
    try:
        if not isinstance(value, str) or not parse_many(value):
            raise ValueError(value)
    except ValueError as exc:
        raise ConfigError(f"Unexpected value {name}={value!r}, use e.g. '5 per minute'") from exc
    return value
