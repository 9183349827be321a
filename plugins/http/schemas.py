from __future__ import annotations

from marshmallow import Schema
from marshmallow import ValidationError
from marshmallow import fields
from marshmallow import validate
from marshmallow import validates_schema

METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS")
_REQUIRED = {"bearer": ("token",), "basic": ("username", "password"), "api_key": ("header", "key")}


class HttpCredentials(Schema):
    auth = fields.String(load_default="none",
                         validate=validate.OneOf(("none", "bearer", "basic", "api_key")),
                         metadata={"description": "How requests authenticate"})
    token = fields.String(metadata={"secret": True,
                                    "description": "Auth bearer: sent as Authorization: Bearer"})
    username = fields.String(metadata={"description": "Auth basic"})
    password = fields.String(metadata={"secret": True, "description": "Auth basic"})
    header = fields.String(validate=validate.Regexp(r"^[A-Za-z0-9-]{1,100}$"),
                           metadata={"description": "Auth api_key: the header's name "
                                                    "(X-API-Key)"})
    key = fields.String(metadata={"secret": True, "description": "Auth api_key: the header's value"})
    webhook_secret = fields.String(metadata={
        "secret": True,
        "description": "HMAC key of X-Signature-256 (over X-Atom-Timestamp and the body)"})

    @validates_schema
    def _needs(self, data, **kwargs):
        missing = [f for f in _REQUIRED.get(data.get("auth", "none"), ()) if not data.get(f)]
        if missing:
            raise ValidationError({f: [f"required when auth is {data['auth']}"] for f in missing})


class HttpSettings(Schema):
    base_url = fields.Url(required=True, require_tld=False, schemes={"http", "https"})
    health_path = fields.String(load_default="/", validate=validate.Regexp(r"^/"))


class Path(Schema):
    path = fields.String(required=True, validate=validate.Length(min=1, max=2000))
    query = fields.Dict(keys=fields.String(), load_default=dict)
    headers = fields.Dict(keys=fields.String(), values=fields.String(), load_default=dict)


class RequestInput(Path):
    method = fields.String(load_default="GET", validate=validate.OneOf(METHODS))
    json = fields.Raw(allow_none=True)


class BodyInput(Path):
    json = fields.Raw(allow_none=True)
