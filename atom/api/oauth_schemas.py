"""Schemas of the OAuth2 connect flow: OAuth apps, starting an authorisation, the callback."""
from __future__ import annotations

import re
from typing import Any

from marshmallow import EXCLUDE
from marshmallow import Schema
from marshmallow import ValidationError
from marshmallow import fields
from marshmallow import validate

from atom.api.admin_schemas import PLAIN_TEXT
from atom.api.admin_schemas import _text
from atom.api.pagination import CountedPageOut
from atom.api.schemas import ConnectionOut
from atom.api.schemas import StrictSchema

SETTING_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,63}$")
SCOPE = re.compile(r"^[\x21-\x7e]{1,200}$")
MAX_APP_SETTINGS = 50
MAX_SCOPES = 100


def check_app_settings(value: dict[str, Any]) -> None:
    """An OAuth app's settings: URL placeholder values (strings) and ``scopes`` (a list)."""
    if len(value) > MAX_APP_SETTINGS:
        raise ValidationError(f"at most {MAX_APP_SETTINGS} settings")
    errors: dict[str, list[str]] = {}
    for name, item in value.items():
        if not SETTING_NAME.match(name):
            errors[name] = ["not a setting name (letters, digits and _, at most 64)"]
        elif name == "scopes":
            if not isinstance(item, list) or len(item) > MAX_SCOPES or not all(
                    isinstance(s, str) and SCOPE.match(s) for s in item):
                errors[name] = [f"a list of at most {MAX_SCOPES} scopes (printable, no spaces)"]
        elif not isinstance(item, str) or not 1 <= len(item) <= 2000 or not PLAIN_TEXT.regex.match(item):
            errors[name] = ["a string of 1 to 2000 characters, without control characters"]
    if errors:
        raise ValidationError(errors)


def _app_settings(**kwargs: Any) -> fields.Dict:
    return fields.Dict(keys=fields.String(), values=fields.Raw(), validate=check_app_settings,
                       metadata={"description": "values of the authorize and token URLs' "
                                                "{placeholders} (a {tenant}, a {host}) and "
                                                "``scopes``: a list requested on top of the "
                                                "integration's own"}, **kwargs)


class OAuthAppIn(StrictSchema):
    client_id = _text(500, required=True, metadata={"description": "as the vendor issued it"})
    client_secret = fields.String(
        validate=[validate.Length(min=1, max=4096), PLAIN_TEXT],
        metadata={"writeOnly": True, "description": "required when the app is created; "
                                                    "omitted or sent back masked, the stored "
                                                    "one is kept"})
    settings = _app_settings()


class OAuthAppOut(Schema):
    integration = fields.String()
    display_name = fields.String(allow_none=True)
    configured = fields.Boolean(metadata={"description": "an OAuth app is configured: "
                                                         "connections can be made"})
    source = fields.String(allow_none=True, metadata={
        "description": "api (stored with PUT), config (ATOM_OAUTH_<SLUG>_CLIENT_ID), or null; "
                       "admins only"})
    client_id = fields.String(allow_none=True, metadata={"description": "admins only"})
    client_secret = fields.String(allow_none=True, metadata={
        "description": "always masked (********); admins only"})
    settings = fields.Dict(allow_none=True, metadata={"description": "admins only"})
    redirect_uri = fields.String(allow_none=True, metadata={
        "description": "the redirect URI to register with the vendor; admins only"})
    created_at = fields.String(allow_none=True)
    updated_at = fields.String(allow_none=True)


class OAuthAppList(CountedPageOut):
    apps = fields.List(fields.Nested(OAuthAppOut), metadata={
        "description": "every integration that offers OAuth2, configured or not"})


class OAuthStartIn(StrictSchema):
    label = _text(200, metadata={"description": "of the new connection (default: the "
                                                "integration's name)"})
    settings = fields.Dict(keys=fields.String(), load_default=dict, metadata={
        "description": "the connection's settings, checked against the integration's "
                       "settings schema (a connection being re-authorised keeps its own "
                       "unless given)"})
    connection_id = fields.Integer(validate=validate.Range(min=1), metadata={
        "description": "re-authorise this connection instead of creating one"})


class OAuthStartOut(Schema):
    authorize_url = fields.String(metadata={"description": "send the user's browser here"})
    state = fields.String(metadata={"description": "one-time, bound to the caller"})
    expires_at = fields.String(metadata={"description": "the state stops working then"})
    redirect_uri = fields.String(metadata={"description": "where the vendor sends the browser "
                                                          "back: GET /oauth/callback"})


class CallbackQuery(Schema):
    """What the vendor appends to the redirect URI (RFC 6749 4.1.2); others are ignored."""

    class Meta:
        unknown = EXCLUDE

    state = fields.String(required=True, validate=validate.Length(min=1, max=512))
    code = fields.String(validate=validate.Length(min=1, max=4096), metadata={
        "description": "required unless error is given"})
    error = fields.String(validate=validate.Length(min=1, max=200), metadata={
        "description": "access_denied when the user refused consent"})
    error_description = fields.String(validate=validate.Length(max=2000))
    error_uri = fields.String(validate=validate.Length(max=2000))


class ConnectionEnvelope(Schema):
    connection = fields.Nested(ConnectionOut, metadata={"description": "credentials masked"})
