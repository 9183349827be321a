"""Catalogue JSON Schemas stand alone: nested input schemas are inlined, not referenced."""
from __future__ import annotations

import json

from marshmallow import Schema
from marshmallow import fields

from atom.integrations.catalogue import json_schema


class Rule(Schema):
    column_id = fields.String(required=True)
    value = fields.Raw()


class Query(Schema):
    rules = fields.List(fields.Nested(Rule), required=True)
    first = fields.Nested(Rule)
    token = fields.String(metadata={"secret": True})


def test_nested_schemas_are_inlined_and_secrets_write_only():
    converted = json_schema(Query)
    assert "$ref" not in json.dumps(converted)
    assert converted["properties"]["rules"]["items"]["properties"]["column_id"]["type"] == "string"
    assert converted["properties"]["first"]["required"] == ["column_id"]
    assert converted["properties"]["token"]["writeOnly"] is True
