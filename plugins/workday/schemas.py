"""Credentials, settings, action inputs and trigger params of the Workday plugin."""
from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlsplit

from marshmallow import Schema
from marshmallow import ValidationError
from marshmallow import fields
from marshmallow import post_load
from marshmallow import validate

from atom.integrations.helpers import OAuth2Tokens
from atom.integrations.helpers import require_one

# Tenant names: "acme", "acme_preview1", "acme_dpt2".
TENANT = validate.Regexp(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,62}$", error="not a Workday tenant name")
# A worker's Workday ID (WID, 32 hex) or a reference such as "Employee_ID=21001" (verify:
# the REST API takes WIDs; references work in some services).
WORKER_ID = validate.Regexp(r"^([0-9a-fA-F]{32}|[A-Za-z_]{1,40}=[A-Za-z0-9_.-]{1,64})$",
                            error="not a Workday ID (32 hex characters) or Type=value reference")
# RaaS owner (a user name) and report name: each one URL path segment.
PATH_WORD = validate.Regexp(r"^[A-Za-z0-9_.@-]{1,120}$", error="letters, digits, _ . @ - only")
PROMPT = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,99}$")
WORKERS_API = validate.Regexp(r"^(v[0-9]{1,2}|[a-z]+/v[0-9]{1,2})$",
                              error='a REST service and version: "v1" or "staffing/v6"')


def _host(value: str) -> None:
    text = value if "://" in value else f"https://{value}"
    parts = urlsplit(text)
    if parts.scheme not in ("https", "http") or not parts.hostname or parts.path not in ("", "/") \
            or parts.query or parts.fragment or parts.username or parts.password:
        raise ValidationError("a Workday host such as wd2-impl-services1.workday.com")


class WorkdayCredentials(OAuth2Tokens):
    """An API client for integrations ("Register API Client for Integrations") and the
    refresh token issued for its integration system user ("Manage Refresh Tokens for
    Integrations"); the access token is fetched with them."""

    client_id = fields.String(required=True, validate=validate.Length(min=1, max=200),
                              metadata={"description": "The API client's Client ID"})
    client_secret = fields.String(required=True, validate=validate.Length(min=1, max=500),
                                  metadata={"secret": True,
                                            "description": "The API client's Client Secret"})
    refresh_token = fields.String(validate=validate.Length(min=1, max=8192),
                                  metadata={"secret": True,
                                            "description": "Refresh token of the integration "
                                                           "system user"})
    _refreshable = require_one("refresh_token", "access_token")


class WorkdaySettings(Schema):
    host = fields.String(required=True, validate=[validate.Length(min=3, max=300), _host],
                         metadata={"destination": True,
                                   "description": "Your tenant's services host, from View API "
                                                  "Clients: wd2-impl-services1.workday.com"})
    tenant = fields.String(required=True, validate=TENANT,
                           metadata={"destination": True, "description": "Tenant name: acme"})
    workers_api = fields.String(load_default="v1", validate=WORKERS_API,
                                metadata={"description": "REST service of the workers "
                                                         "resource: v1 (/ccx/api/v1/{tenant}) "
                                                         "or e.g. staffing/v6 (verify)"})

    @post_load
    def _normal(self, data: dict[str, Any], **_: Any) -> dict[str, Any]:
        host = data["host"].strip().rstrip("/")
        data["host"] = host if "://" in host else f"https://{host}"
        return data


class GetWorkerInput(Schema):
    worker_id = fields.String(required=True, validate=WORKER_ID,
                              metadata={"description": "The worker's Workday ID"})


class ListWorkersInput(Schema):
    search = fields.String(load_default=None, validate=validate.Length(min=1, max=200),
                           metadata={"description": "Name or id to search for (verify)"})
    max_items = fields.Integer(load_default=100, validate=validate.Range(min=1, max=10_000),
                               metadata={"description": "Stop after this many workers"})
    page_size = fields.Integer(load_default=100, validate=validate.Range(min=1, max=100),
                               metadata={"description": "Workers per request (Workday allows "
                                                        "up to 100: verify)"})


def _prompts(**kwargs: Any) -> fields.Dict:
    return fields.Dict(keys=fields.String(validate=validate.Regexp(PROMPT)),
                       values=fields.Raw(), load_default=dict,
                       metadata={"description": "Report prompts by name: "
                                                "{\"Start_Date\": \"2026-03-01\"}"}, **kwargs)


class ListOrganizationsInput(Schema):
    max_items = fields.Integer(load_default=100, validate=validate.Range(min=1, max=10_000),
                               metadata={"description": "Stop after this many organizations"})
    page_size = fields.Integer(load_default=100, validate=validate.Range(min=1, max=100))


class RunReportInput(Schema):
    owner = fields.String(required=True, validate=PATH_WORD,
                          metadata={"description": "The report owner's user name "
                                                   "(the path segment of its RaaS URL)"})
    report = fields.String(required=True, validate=PATH_WORD,
                           metadata={"description": "The custom report's web service name"})
    prompts = _prompts()
    max_items = fields.Integer(load_default=1000, validate=validate.Range(min=1, max=100_000),
                               metadata={"description": "Keep at most this many rows"})


class NewHireParams(Schema):
    owner = fields.String(required=True, validate=PATH_WORD,
                          metadata={"description": "Owner of the hires report"})
    report = fields.String(required=True, validate=PATH_WORD,
                           metadata={"description": "A custom report of hires with date "
                                                    "prompts (hire or entry date from/to)"})
    from_prompt = fields.String(load_default="Start_Date", validate=validate.Regexp(PROMPT))
    to_prompt = fields.String(load_default="End_Date", validate=validate.Regexp(PROMPT))
    id_field = fields.String(load_default="Employee_ID", validate=validate.Regexp(PROMPT),
                             metadata={"description": "The report column that identifies "
                                                      "the worker"})
    lookback_days = fields.Integer(load_default=7, validate=validate.Range(min=0, max=90),
                                   metadata={"description": "Days before the last window the "
                                                            "next one starts (hires entered "
                                                            "late)"})
    prompts = _prompts()
