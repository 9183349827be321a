"""Credentials, settings and action inputs of the Okta plugin."""
from __future__ import annotations

import re
from typing import Any

from marshmallow import INCLUDE
from marshmallow import Schema
from marshmallow import ValidationError
from marshmallow import fields
from marshmallow import post_load
from marshmallow import validate
from marshmallow import validates_schema

# A user: its id (00u...), login or login short name; never "." or ".." (a path segment that
# would climb out of /users/).
USER = validate.Regexp(r"^(?!\.{1,2}$)[A-Za-z0-9._@+\-]{1,200}$",
                       error="a user id (00u...) or login (email address)")
GROUP = validate.Regexp(r"^[A-Za-z0-9]{1,64}$", error="a group id (00g...)")
# An Okta org host: acme.okta.com, acme.oktapreview.com, login.acme.com (a custom domain).
_HOST = re.compile(r"^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")
_ATTRIBUTE = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,99}$")
_SEARCH = validate.Length(min=1, max=2000)


def _domain(value: str) -> None:
    if not _HOST.match(value):
        raise ValidationError("your Okta domain, a host name such as acme.okta.com (no "
                              "https://, no path)")


class OktaCredentials(Schema):
    """An API token (SSWS), or a service app's client id and private key (client credentials
    with private_key_jwt)."""

    api_token = fields.String(
        validate=validate.Length(min=20, max=200),
        metadata={"secret": True, "description": "API token (Security > API > Tokens); acts "
                                                 "as the admin who created it",
                  "example": "00QCjAl4MlV-WPXM-contract-0123456789abcdef"})
    client_id = fields.String(
        validate=validate.Regexp(r"^[A-Za-z0-9_\-]{1,100}$", error="the service app's client id"),
        metadata={"description": "Service app client id (with private_key)"})
    private_key = fields.String(
        validate=validate.Length(min=20, max=20_000),
        metadata={"secret": True, "description": "The service app's private key (PEM, RSA or "
                                                 "EC), whose public key is registered in Okta"})
    key_id = fields.String(validate=validate.Length(min=1, max=200),
                           metadata={"description": "The key's kid in Okta (when the app has "
                                                    "several keys)"})
    scopes = fields.String(
        load_default="okta.users.manage okta.groups.manage",
        validate=validate.Regexp(r"^okta\.[a-zA-Z.]+( okta\.[a-zA-Z.]+)*$",
                                 error="space-separated okta.* scopes"),
        metadata={"description": "Scopes granted to the service app",
                  "example": "okta.users.manage okta.groups.manage"})
    webhook_secret = fields.String(
        validate=validate.Length(min=16, max=1000),
        metadata={"secret": True,
                  "description": "The Authorization header value set on the event hook "
                                 "(authScheme value): deliveries without it are refused"})

    @validates_schema
    def _one_way(self, data: dict[str, Any], partial: Any = None, **_: Any) -> None:
        if partial:
            return
        if data.get("api_token"):
            return
        if not (data.get("client_id") and data.get("private_key")):
            raise ValidationError("give api_token, or client_id and private_key (service app)",
                                  field_name="api_token")


class OktaSettings(Schema):
    domain = fields.String(
        validate=_domain,
        metadata={"destination": True,
                  "description": "Your Okta domain (acme.okta.com); the API is "
                                 "https://{domain}/api/v1/. Required unless base_url is set."})

    @post_load
    def _lower(self, data: dict[str, Any], **_: Any) -> dict[str, Any]:
        if data.get("domain"):
            data["domain"] = data["domain"].lower()
        return data

    @validates_schema
    def _somewhere(self, data: dict[str, Any], partial: Any = None, **_: Any) -> None:
        if not partial and not data.get("domain") and not data.get("base_url"):
            raise ValidationError("give your Okta domain", field_name="domain")


class Profile(Schema):
    """Okta's user profile: the base attributes below, and any custom attribute of the org's
    user schema (names as Okta spells them, text, number or boolean values)."""

    class Meta:
        unknown = INCLUDE

    login = fields.String(validate=validate.Length(min=1, max=100),
                          metadata={"description": "Sign-in name (default: email)"})
    email = fields.Email(required=True)
    firstName = fields.String(required=True, validate=validate.Length(min=1, max=50))
    lastName = fields.String(required=True, validate=validate.Length(min=1, max=50))
    mobilePhone = fields.String(validate=validate.Length(max=100))
    secondEmail = fields.Email()
    department = fields.String(validate=validate.Length(max=1024))
    title = fields.String(validate=validate.Length(max=1024))
    employeeNumber = fields.String(validate=validate.Length(max=1024))
    manager = fields.String(validate=validate.Length(max=1024))

    @validates_schema(pass_original=True)
    def _custom(self, data: dict[str, Any], original: Any, **_: Any) -> None:
        if len(data) > 100:
            raise ValidationError("at most 100 profile attributes")
        for name, value in data.items():
            if name in self.fields:
                continue
            if not _ATTRIBUTE.match(name):
                raise ValidationError(f"{name[:60]!r} is not an attribute name", field_name=name)
            if value is not None and not isinstance(value, (str, int, float, bool)):
                raise ValidationError("a text, number or boolean", field_name=name)

    @post_load
    def _login(self, data: dict[str, Any], **_: Any) -> dict[str, Any]:
        data.setdefault("login", data["email"])
        return data


def _max_items(default: int = 200) -> fields.Integer:
    return fields.Integer(load_default=default, validate=validate.Range(min=1, max=10_000),
                          metadata={"description": "Stop after this many"})


class CreateUserInput(Schema):
    profile = fields.Nested(Profile, required=True)
    activate = fields.Boolean(load_default=True,
                              metadata={"description": "Activate now (Okta emails the "
                                                       "activation link); false: STAGED"})
    group_ids = fields.List(fields.String(validate=GROUP), validate=validate.Length(max=100),
                            metadata={"description": "Groups to add the user to"})


class UserInput(Schema):
    user_id = fields.String(required=True, validate=USER,
                            metadata={"description": "User id (00u...) or login"})


class DeactivateUserInput(UserInput):
    send_email = fields.Boolean(load_default=False,
                                metadata={"description": "Email the admins about it"})


class MembershipInput(Schema):
    group_id = fields.String(required=True, validate=GROUP)
    user_id = fields.String(required=True, validate=validate.Regexp(
        r"^[A-Za-z0-9]{1,64}$", error="a user id (00u...): Okta takes no login here"))


class _Listing(Schema):
    q = fields.String(validate=validate.Length(min=1, max=200),
                      metadata={"description": "Starts-with match on names and email"})
    search = fields.String(validate=_SEARCH,
                           metadata={"description": "Okta search expression "
                                                    "(profile.department eq \"Sales\")"})
    filter = fields.String(validate=_SEARCH,
                           metadata={"description": "Okta filter expression "
                                                    "(status eq \"ACTIVE\")"})
    max_items = _max_items()

    @validates_schema
    def _one(self, data: dict[str, Any], **_: Any) -> None:
        given = [k for k in ("q", "search", "filter") if data.get(k)]
        if len(given) > 1:
            raise ValidationError("give one of q, search and filter", field_name=given[1])


class ListUsersInput(_Listing):
    pass


class ListGroupsInput(_Listing):
    pass
