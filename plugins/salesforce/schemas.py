"""Credentials, settings, action inputs and trigger params of the Salesforce plugin."""
from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from marshmallow import Schema
from marshmallow import ValidationError
from marshmallow import fields
from marshmallow import post_load
from marshmallow import validate
from marshmallow import validates_schema

from atom.integrations.helpers import OAuth2Tokens

# API names: Lead, My_Object__c, ns__Thing__c, Account_Number__c. Checked because they
# become part of URL paths and SOQL.
API_NAME = validate.Regexp(r"^[A-Za-z][A-Za-z0-9_]{0,79}$", error="not a Salesforce API name")
# 15-character (case-sensitive) or 18-character record ids.
RECORD_ID = validate.Regexp(r"^[A-Za-z0-9]{15}([A-Za-z0-9]{3})?$",
                            error="not a Salesforce record id (15 or 18 characters)")
API_VERSION = validate.Regexp(r"^v[0-9]{2,3}\.0$", error='an API version such as "v61.0"')
DEFAULT_API_VERSION = "v61.0"
DEFAULT_LOGIN_URL = "https://login.salesforce.com"


def _origin_url(value: str) -> None:
    parts = urlsplit(value)
    if parts.scheme not in ("https", "http") or not parts.hostname or parts.query \
            or parts.fragment or parts.username or parts.password or parts.path not in ("", "/"):
        raise ValidationError("an https:// origin such as https://acme.my.salesforce.com")


def _origin(**metadata: Any) -> fields.String:
    return fields.String(validate=[validate.Length(min=8, max=300), _origin_url],
                         metadata=metadata)


def _object(**kwargs: Any) -> fields.String:
    return fields.String(validate=API_NAME,
                         metadata={"description": "sObject API name: Lead, Account, "
                                                  "My_Object__c"}, **kwargs)


def _field_values(**kwargs: Any) -> fields.Dict:
    return fields.Dict(keys=fields.String(validate=API_NAME), values=fields.Raw(allow_none=True),
                       metadata={"description": "Field values by API name"}, **kwargs)


class SalesforceCredentials(OAuth2Tokens):
    """The tokens of the OAuth 2.0 web server flow (Salesforce answers no ``expires_in``: the
    access token lives as long as the org's session timeout and is refreshed on a 401)."""


class SalesforceSettings(Schema):
    instance_url = _origin(destination=True,
                           description="The org's API host, from the token response "
                                       "(https://acme.my.salesforce.com); set by the connect "
                                       "flow")
    login_url = fields.String(load_default=DEFAULT_LOGIN_URL,
                              validate=[validate.Length(min=8, max=300), _origin_url],
                              metadata={"destination": True,
                                        "description": "Where tokens are refreshed: "
                                                       "https://login.salesforce.com, "
                                                       "https://test.salesforce.com (sandboxes) "
                                                       "or your My Domain"})
    api_version = fields.String(load_default=DEFAULT_API_VERSION, validate=API_VERSION,
                                metadata={"description": "REST API version, e.g. v61.0"})
    org_id = fields.String(validate=validate.Regexp(r"^00D[A-Za-z0-9]{12}([A-Za-z0-9]{3})?$"),
                           metadata={"description": "The org's id (set by the connect flow)"})

    @validates_schema
    def _instance(self, data: dict[str, Any], **_: Any) -> None:
        # base_url comes from the common settings this schema is combined with.
        if not data.get("instance_url") and not data.get("base_url"):
            raise ValidationError({"instance_url": ["connect with OAuth (it sets instance_url) "
                                                    "or give the org's https:// API host"]})

    @post_load
    def _strip(self, data: dict[str, Any], **_: Any) -> dict[str, Any]:
        for key in ("instance_url", "login_url"):
            if data.get(key):
                data[key] = data[key].rstrip("/")
        return data


class CreateRecordInput(Schema):
    object = _object(required=True)
    record_fields = _field_values(required=True, data_key="fields",
                                  validate=validate.Length(min=1, error="give at least one field"))


class UpdateRecordInput(CreateRecordInput):
    record_id = fields.String(required=True, validate=RECORD_ID)


def _external_id(value: str) -> None:
    if value.strip(".") == "" or "/" in value or "\\" in value:
        raise ValidationError("not an external id value (no slashes, not only dots)")


class UpsertRecordInput(CreateRecordInput):
    external_id_field = fields.String(required=True, validate=API_NAME,
                                      metadata={"description": "An External ID field (or Id)"})
    external_id = fields.String(required=True,
                                validate=[validate.Length(min=1, max=255), _external_id],
                                metadata={"description": "The value that identifies the record"})


class GetRecordInput(Schema):
    object = _object(required=True)
    record_id = fields.String(required=True, validate=RECORD_ID)
    field_names = fields.List(fields.String(validate=API_NAME), load_default=None,
                              data_key="fields",
                              metadata={"description": "Fields to return (default: all)"})


class QueryInput(Schema):
    soql = fields.String(required=True, validate=validate.Length(min=1, max=100_000),
                         metadata={"description": "A SOQL query: SELECT Id, Name FROM Lead "
                                                  "WHERE Status = 'Open'"})
    max_items = fields.Integer(load_default=200, validate=validate.Range(min=1, max=10_000),
                               metadata={"description": "Stop after this many records "
                                                        "(follows nextRecordsUrl)"})
    include_deleted = fields.Boolean(load_default=False,
                                     metadata={"description": "queryAll: also deleted and "
                                                              "archived records"})


class DescribeObjectInput(Schema):
    object = _object(required=True)


class RecordTriggerParams(Schema):
    object = _object(load_default="Lead")
    field_names = fields.List(fields.String(validate=API_NAME), load_default=None,
                              data_key="fields",
                              metadata={"description": "Fields to hand over (default: all "
                                                       "standard fields)"})
    max_per_poll = fields.Integer(load_default=200, validate=validate.Range(min=1, max=2000),
                                  metadata={"description": "Records taken per poll; the rest "
                                                           "come with the next polls"})
