"""REST API blueprints, the webhook receivers, and the OpenAPI document."""
from __future__ import annotations

from typing import Any

from flask import Flask
from sqlalchemy.orm.exc import ObjectDeletedError
from sqlalchemy.orm.exc import StaleDataError
from werkzeug.exceptions import HTTPException

from atom.api import errors
from atom.api import inputs
from atom.api.openapi import StandardResponses
from atom.api.schemas import Error
from atom.extensions import api
from atom.extensions import csrf
from atom.integrations.errors import IntegrationError
from atom.integrations.registry import UnknownPlugin


def register_api(app: Flask) -> None:
    from atom.api.admin import audit_blp
    from atom.api.admin import keys_blp
    from atom.api.admin import users_blp
    from atom.api.connections import blp as connections_blp
    from atom.api.docs import bp as docs_bp
    from atom.api.health import bridge_blp
    from atom.api.health import enhanced_health_blp
    from atom.api.health import frontend_health_blp
    from atom.api.health import health_blp
    from atom.api.hooks import bp as hooks_bp
    from atom.api.incidents import blp as incidents_blp
    from atom.api.integrations import blp as integrations_blp
    from atom.api.integrations import enhanced_blp
    from atom.api.intelligence import add_unprefixed_rules
    from atom.api.intelligence import blp as intelligence_blp
    from atom.api.metrics import bp as metrics_bp
    from atom.api.monitoring import blp as monitoring_blp
    from atom.api.monitoring_dependencies import blp as monitoring_dependencies_blp
    from atom.api.oauth import apps_blp as oauth_apps_blp
    from atom.api.oauth import callback_blp as oauth_callback_blp
    from atom.api.oauth import pages_bp as oauth_pages_bp
    from atom.api.approval_links import bp as approval_links_bp
    from atom.api.oauth import start_blp as oauth_start_blp
    from atom.api.polls import blp as polls_blp
    from atom.api.polls import init_metrics as init_poll_metrics
    from atom.api.status_page import blp as status_page_blp
    from atom.api.workflows import blp as workflows_blp
    from atom.api.workflows import executions_blp
    from atom.api.workflows import hooks_bp as workflow_hooks_bp
    from atom.monitoring.monitor import init_monitoring

    inputs.init_app(app)  # id converters and the request check, before any route is added
    monitor = init_monitoring(app)  # Prometheus registry, call/check listeners; no thread
    init_poll_metrics(app, monitor.prometheus.registry)
    blueprints = (integrations_blp, enhanced_blp, connections_blp, workflows_blp, executions_blp,
                  monitoring_blp, polls_blp, health_blp, enhanced_health_blp, bridge_blp,
                  keys_blp, users_blp, audit_blp, oauth_apps_blp, oauth_start_blp,
                  oauth_callback_blp, intelligence_blp, incidents_blp, frontend_health_blp,
                  status_page_blp, monitoring_dependencies_blp)
    key = _spec_key(app, blueprints)
    if key in _SPECS:
        _init_api_with_spec(app, blueprints, _SPECS[key])
    else:
        documented = StandardResponses()  # the error answers of every operation, and links
        api.ERROR_SCHEMA = Error
        api.init_app(app, spec_kwargs={
            "info": {"description": "ATOM REST API. Authenticate with `Authorization: Bearer <api key>`."},
            "extra_plugins": [documented],
        })
        api.spec.components.security_scheme("bearerAuth", {"type": "http", "scheme": "bearer"})
        api.spec.options["security"] = [{"bearerAuth": []}]
        for blp in blueprints:
            api.register_blueprint(blp)
        documented.add_links()
        _SPECS[key] = api.spec
    add_unprefixed_rules(app)
    for blp in blueprints:
        csrf.exempt(blp)  # session writes are checked in authenticate(); keys need no CSRF
    app.register_blueprint(hooks_bp)
    csrf.exempt(hooks_bp)
    app.register_blueprint(workflow_hooks_bp)
    csrf.exempt(workflow_hooks_bp)
    app.register_blueprint(docs_bp)
    app.register_blueprint(metrics_bp)  # /metrics, /healthz, /readyz
    app.register_blueprint(oauth_pages_bp)  # /oauth/start/<integration>: CSRF-checked forms
    app.register_blueprint(approval_links_bp)  # /approvals/<token>: signed one-time links
    app.register_error_handler(HTTPException, errors.handle_http_exception)
    app.register_error_handler(errors.ApiError, errors.handle_api_error)
    app.register_error_handler(IntegrationError, errors.handle_integration_error)
    app.register_error_handler(UnknownPlugin, errors.handle_unknown_plugin)
    app.register_error_handler(StaleDataError, errors.handle_concurrent_delete)
    app.register_error_handler(ObjectDeletedError, errors.handle_concurrent_delete)
    app.register_error_handler(Exception, errors.handle_unexpected)


# The OpenAPI document is built from the code (blueprints, schemas, the installed plugins'
# manifests) and a few settings: the same for every app of a process with those. Building it
# is two thirds of create_app() (apispec resolves and copies every schema), so a second app of
# the process (tests make one per test; gunicorn makes one per worker, forked after import)
# reuses the first one's, read-only.
_SPECS: dict[tuple, Any] = {}


def _spec_key(app: Flask, blueprints: tuple) -> tuple:
    import json

    from atom.state import get_state

    config = app.config
    return (tuple(b.name for b in blueprints),
            tuple(sorted(p.name for p in get_state(app).registry.loaded())),
            config.get("API_TITLE"), config.get("API_VERSION"), config.get("OPENAPI_VERSION"),
            config.get("OPENAPI_URL_PREFIX"),
            json.dumps(config.get("API_SPEC_OPTIONS", {}), sort_keys=True, default=str))


def _init_api_with_spec(app: Flask, blueprints: tuple, spec: Any) -> None:
    """What ``Api.init_app`` and ``Api.register_blueprint`` do for the app (extension record,
    the document's blueprint, the error handler, the blueprints), with a finished ``spec``."""
    from flask_smorest.spec import openapi_cli
    from flask_smorest.utils import PrefixedMappingProxy

    api._app = app
    api.config = PrefixedMappingProxy(app.config, api.config_prefix)
    ext = app.extensions.setdefault("flask-smorest", {"apis": {}, "blp_name_to_api": {}})
    ext["apis"][api.config_prefix] = {"ext_obj": api}
    api.spec = spec
    app.cli.add_command(openapi_cli)  # `flask openapi print|write`, as _init_spec adds it
    api._register_doc_blueprint()
    api._register_error_handlers()
    for blp in blueprints:
        ext["blp_name_to_api"][blp.name] = api
        app.register_blueprint(blp)
