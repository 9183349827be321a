"""Credentials and action inputs of the Notion plugin."""
from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlsplit

from marshmallow import Schema
from marshmallow import ValidationError
from marshmallow import fields
from marshmallow import validate
from marshmallow import validates_schema

from atom.integrations.helpers import OAuth2Tokens
from atom.integrations.helpers import require_one
from plugins.notion.payloads import SIMPLE_BLOCKS
from plugins.notion.payloads import dashed

_ID = re.compile(r"^[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?"
                 r"[0-9a-fA-F]{12}$")
# The id at the end of a notion.so or notion.site link: ".../Roadmap-8e2c2b769e1d47d2...".
_LINK_ID = re.compile(r"([0-9a-fA-F]{32}|[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-"
                      r"[0-9a-fA-F]{4}-[0-9a-fA-F]{12})$")
_BLOCK_TYPE = re.compile(r"^[a-z][a-z0-9_]{0,39}$")


class NotionId(fields.String):
    """A Notion id (32 hex digits, dashed or not) or a link to the page or database
    (notion.so, notion.site); loaded as the dashed UUID, so nothing else reaches a URL path."""

    default_error_messages = {"notion_id": "a Notion id (32 hex digits) or a notion.so link"}

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> str:
        text = super()._deserialize(value, attr, data, **kwargs).strip()
        if _ID.fullmatch(text):
            return dashed(text)
        parts = urlsplit(text) if len(text) <= 2000 else None
        host = (parts.hostname or "") if parts else ""
        if parts and parts.scheme == "https" and (
                host in ("notion.so", "www.notion.so") or host.endswith(".notion.site")):
            found = _LINK_ID.search(parts.path.rstrip("/").rsplit("/", 1)[-1])
            if found:
                return dashed(found.group(1))
        raise self.make_error("notion_id")


def _id(description: str, **kw: Any) -> NotionId:
    return NotionId(metadata={"description": description}, **kw)


class NotionCredentials(OAuth2Tokens):
    """An internal integration token pasted in, or the tokens of the public OAuth flow."""

    token = fields.String(
        validate=validate.Regexp(r"^(ntn_|secret_)[A-Za-z0-9_-]{10,200}$",
                                 error="a Notion integration token starts with ntn_ or secret_"),
        metadata={"secret": True,
                  "description": "Internal integration token (ntn_... or secret_...)",
                  "example": "ntn_4312345678901aBcDeFgHiJkLmNoPqRsTuVwXyZ0123"})
    webhook_secret = fields.String(
        validate=validate.Length(min=1, max=512),
        metadata={"secret": True,
                  "description": "The webhook subscription's verification_token (adopted from "
                                 "Notion's verification request when left empty)"})

    _token_or_oauth = require_one("token", "access_token")


class _Parent(Schema):
    """Exactly one of the parents; the error is reported on ``database_id`` (the one a
    template fills)."""

    database_id = _id("The database (a link to it works too)")
    data_source_id = _id("The data source (API 2025-09-03: a database holds data sources)")
    _NAMES: tuple[str, ...] = ("database_id", "data_source_id")

    @validates_schema
    def _exactly_one(self, data: dict[str, Any], **kwargs: Any) -> None:
        given = [n for n in self._NAMES if data.get(n)]
        if len(given) != 1:
            raise ValidationError(f"give exactly one of {', '.join(self._NAMES)}",
                                  field_name="database_id")


def _at_most_100(value: dict[str, Any]) -> None:
    if len(value) > 100:
        raise ValidationError("at most 100 properties")


def _properties() -> fields.Dict:
    return fields.Dict(
        keys=fields.String(validate=validate.Length(min=1, max=200)),
        values=fields.Raw(allow_none=True), validate=_at_most_100,
        metadata={"description": "Property name (or id) -> a plain value (text, number, "
                                 "true/false, option name, list of names, ISO date) or a Notion "
                                 "property value object",
                  "example": {"Status": "In progress", "Tags": ["ops"], "Due": "2024-06-01"}})


class CreatePageInput(_Parent):
    parent_page_id = _id("Create the page under this page instead (it then has only a title)")
    _NAMES = ("database_id", "data_source_id", "parent_page_id")
    title = fields.String(validate=validate.Length(max=20_000))
    properties = _properties()
    content = fields.String(validate=validate.Length(max=100_000),
                            metadata={"description": "Page body as plain text: one block per "
                                                     "line (# heading, - bullet, [ ] to-do)"})


class UpdatePageInput(Schema):
    page_id = _id("The page (a link to it works too)", required=True)
    title = fields.String(validate=validate.Length(max=20_000))
    properties = _properties()
    in_trash = fields.Boolean(metadata={"description": "true moves the page to the trash, "
                                                       "false restores it"})

    @validates_schema
    def _something(self, data: dict[str, Any], partial: Any = None, **kwargs: Any) -> None:
        if not partial and not any(k in data for k in ("title", "properties", "in_trash")):
            raise ValidationError("give title, properties or in_trash", field_name="properties")


def _sort(value: dict[str, Any]) -> None:
    if not isinstance(value.get("property") or value.get("timestamp"), str) or \
            value.get("direction") not in ("ascending", "descending"):
        raise ValidationError('each sort is {"property" or "timestamp", "direction": '
                              '"ascending" or "descending"}')


class _Listing(Schema):
    max_items = fields.Integer(load_default=100, validate=validate.Range(min=1, max=10_000),
                               metadata={"description": "Stop after this many results"})
    start_cursor = fields.String(validate=validate.Length(min=1, max=500),
                                 metadata={"description": "next_cursor of an earlier answer"})


class QueryDatabaseInput(_Parent, _Listing):
    filter = fields.Dict(metadata={"description": "A Notion filter object, sent as it is"})
    sorts = fields.List(fields.Dict(validate=_sort), validate=validate.Length(max=100))


def _block_item(value: dict[str, Any]) -> None:
    kind = value.get("type")
    if not isinstance(kind, str) or not _BLOCK_TYPE.match(kind):
        raise ValidationError("each block has a type (paragraph, heading_1, to_do, ...)")
    if kind in value:
        if not isinstance(value[kind], dict):
            raise ValidationError(f"{kind} must be an object")
        return
    if kind not in SIMPLE_BLOCKS or not isinstance(value.get("text"), str):
        raise ValidationError(f"give text for a {', '.join(sorted(SIMPLE_BLOCKS))} block, "
                              f"or a Notion block object")
    if len(value["text"]) > 20_000:
        raise ValidationError("a block's text has at most 20000 characters")


class AppendBlocksInput(Schema):
    page_id = _id("The page or block to append to", required=True)
    text = fields.String(validate=validate.Length(min=1, max=100_000),
                         metadata={"description": "Plain text, one block per line: '# ', '## ', "
                                                  "'### ' headings, '- ' bullets, '1. ' numbered,"
                                                  " '[ ] '/'[x] ' to-dos, '> ' quotes"})
    blocks = fields.List(fields.Dict(validate=_block_item),
                         validate=validate.Length(min=1, max=1000),
                         metadata={"description": "{type, text, checked?} items or Notion block "
                                                  "objects, after the text's blocks"})
    after = _id("Insert after this block instead of at the end")

    @validates_schema
    def _text_or_blocks(self, data: dict[str, Any], partial: Any = None, **kwargs: Any) -> None:
        if not partial and not data.get("text") and not data.get("blocks"):
            raise ValidationError("give text, blocks or both", field_name="text")


class GetPageInput(Schema):
    page_id = _id("The page (a link to it works too)", required=True)


class SearchInput(_Listing):
    query = fields.String(load_default="", validate=validate.Length(max=1000),
                          metadata={"description": "Text matched against titles"})
    object = fields.String(validate=validate.OneOf(("page", "data_source")),
                           metadata={"description": "Only pages or only data sources"})
    direction = fields.String(validate=validate.OneOf(("ascending", "descending")),
                              metadata={"description": "Order by last edited time"})
    max_items = fields.Integer(load_default=20, validate=validate.Range(min=1, max=1000))


class AddCommentInput(Schema):
    page_id = _id("The page to comment on", required=True)
    text = fields.String(required=True, validate=validate.Length(min=1, max=20_000))
