"""Credentials, settings and action inputs of the monday.com plugin."""
from __future__ import annotations

import json
from typing import Any

from marshmallow import Schema
from marshmallow import ValidationError
from marshmallow import fields
from marshmallow import validate
from marshmallow import validates

from atom.integrations.helpers import OAuth2Tokens
from atom.integrations.helpers import require_one

# API versions are quarterly: 2025-01, 2025-04, 2025-07, 2025-10.
API_VERSION = validate.Regexp(r"^20[2-9][0-9]-(01|04|07|10)$",
                              error="a monday API version such as 2025-04")
# Group and column ids: "topics", "new_group29179", "status", "date4", "text_mkq1abcd".
_KEY = validate.Regexp(r"^[A-Za-z0-9_]{1,100}$", error="a monday id such as status or topics")
# Everything the rules of items_page accept (ItemsQueryRuleOperator in the schema).
RULE_OPERATORS = ("any_of", "not_any_of", "is_empty", "is_not_empty", "greater_than",
                  "greater_than_or_equals", "lower_than", "lower_than_or_equal", "between",
                  "contains_text", "not_contains_text", "contains_terms", "starts_with",
                  "ends_with", "within_the_next", "within_the_last")
# monday rejects column_values above a few hundred KB; stay well within it.
MAX_COLUMN_VALUES_BYTES = 64_000


class MondayId(fields.String):
    """A board, item or update id: digits, as a string or a number (webhook payloads carry
    numbers, the API's ``ID`` type takes strings)."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("validate", validate.Regexp(
            r"^[1-9][0-9]{0,19}$", error="a monday id: digits, such as 1234567890"))
        super().__init__(**kwargs)

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> str:
        if isinstance(value, int) and not isinstance(value, bool):
            value = str(value)
        return super()._deserialize(value, attr, data, **kwargs)


class MondayCredentials(OAuth2Tokens):
    """A personal API token pasted in (Profile > Developers > API token), or the tokens of the
    OAuth2 connect flow; the app's Signing Secret verifies webhook deliveries."""

    token = fields.String(
        validate=validate.Regexp(r"^\S{20,4096}$", error="a monday API token (no spaces)"),
        metadata={"secret": True, "description": "Personal API token (sent as it is in "
                                                 "Authorization, without Bearer)",
                  "example": "eyJhbGciOiJIUzI1NiJ9.eyJ0aWQiOjEyMzR9.contract-token"})
    signing_secret = fields.String(
        validate=validate.Length(min=8, max=512),
        metadata={"secret": True, "description": "The app's Signing Secret: board webhooks the "
                                                 "app created carry a JWT signed with it"})

    _token_or_oauth = require_one("token", "access_token")


class MondaySettings(Schema):
    api_version = fields.String(validate=API_VERSION, metadata={
        "description": "The API-Version header (default 2025-04, the version this plugin's "
                       "queries are checked against)"})


def _column_values(value: Any) -> dict[str, Any]:
    if not isinstance(value, dict) or not value:
        raise ValidationError("an object of column id -> value, such as "
                              '{"status": {"label": "Done"}}')
    for key in value:
        _KEY(key)
    if len(json.dumps(value)) > MAX_COLUMN_VALUES_BYTES:
        raise ValidationError(f"more than {MAX_COLUMN_VALUES_BYTES} bytes of column values")
    return value


_COLUMN_VALUES = dict(
    metadata={"description": "Column id -> value as monday's column types take it (a string "
                             "for simple columns, an object such as {\"label\": \"Done\"} for "
                             "status); sent as the JSON string the API expects"})


class CreateItemInput(Schema):
    board_id = MondayId(required=True)
    name = fields.String(required=True, validate=validate.Length(min=1, max=255),
                         metadata={"description": "The item's name"})
    group_id = fields.String(validate=_KEY, metadata={"description": "Group id (default: the "
                                                                     "board's top group)"})
    column_values = fields.Dict(**_COLUMN_VALUES)
    create_labels_if_missing = fields.Boolean(load_default=False)

    @validates("column_values")
    def _check_columns(self, value: Any, **_: Any) -> None:
        _column_values(value)


class ChangeColumnValuesInput(Schema):
    board_id = MondayId(required=True)
    item_id = MondayId(required=True)
    column_values = fields.Dict(required=True, **_COLUMN_VALUES)
    create_labels_if_missing = fields.Boolean(load_default=False)

    @validates("column_values")
    def _check_columns(self, value: Any, **_: Any) -> None:
        _column_values(value)


class MoveItemInput(Schema):
    item_id = MondayId(required=True)
    group_id = fields.String(required=True, validate=_KEY)


class CreateUpdateInput(Schema):
    item_id = MondayId(required=True)
    body = fields.String(required=True, validate=validate.Length(min=1, max=60_000),
                         metadata={"description": "The comment (HTML or plain text)"})
    parent_id = MondayId(metadata={"description": "Reply to this update"})


class ListBoardsInput(Schema):
    limit = fields.Integer(load_default=25, validate=validate.Range(min=1, max=100),
                           metadata={"description": "Boards per page"})
    page = fields.Integer(load_default=1, validate=validate.Range(min=1, max=10_000))
    state = fields.String(load_default="active",
                          validate=validate.OneOf(("active", "archived", "deleted", "all")))
    kind = fields.String(validate=validate.OneOf(("public", "private", "share")))
    workspace_ids = fields.List(MondayId(), validate=validate.Length(min=1, max=50))


class BoardInput(Schema):
    board_id = MondayId(required=True)


class ItemInput(Schema):
    item_id = MondayId(required=True)


class _Rule(Schema):
    column_id = fields.String(required=True, validate=validate.Regexp(
        r"^[A-Za-z0-9_]{1,100}$", error="a column id such as status, or __last_updated__"))
    compare_value = fields.Raw(required=True, metadata={
        "description": "What to compare with: a list of status indexes or labels, text, "
                       "numbers or dates as the column type takes them"})
    operator = fields.String(load_default="any_of", validate=validate.OneOf(RULE_OPERATORS))
    compare_attribute = fields.String(validate=validate.Length(min=1, max=100))


class _Order(Schema):
    column_id = fields.String(required=True, validate=validate.Regexp(r"^[A-Za-z0-9_]{1,100}$"))
    direction = fields.String(load_default="asc", validate=validate.OneOf(("asc", "desc")))


class _Each(fields.List):
    """A list of objects, each loaded with ``schema``. Not ``Nested``: the catalogue's JSON
    Schema of an input stays self-contained (an array of objects, no ``$ref``)."""

    def __init__(self, schema: type[Schema], **kwargs: Any) -> None:
        super().__init__(fields.Dict(), **kwargs)
        self._item = schema

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> list:
        loaded, errors = [], {}
        for n, item in enumerate(super()._deserialize(value, attr, data, **kwargs)):
            try:
                loaded.append(self._item().load(item))
            except ValidationError as exc:
                errors[n] = exc.messages
        if errors:
            raise ValidationError(errors)
        return loaded


class GetItemsInput(Schema):
    board_id = MondayId(required=True)
    rules = _Each(_Rule, validate=validate.Length(min=1, max=20), metadata={
        "description": "Only items matching these rules: {column_id, compare_value, operator "
                       "(default any_of), compare_attribute}"})
    match = fields.String(load_default="and", validate=validate.OneOf(("and", "or")),
                          metadata={"description": "Whether every rule or any rule must match"})
    order_by = _Each(_Order, validate=validate.Length(min=1, max=5), metadata={
        "description": "[{column_id, direction: asc or desc}]; __creation_log__ and "
                       "__last_updated__ order by creation or last update"})
    page_size = fields.Integer(load_default=100, validate=validate.Range(min=1, max=500))
    max_items = fields.Integer(load_default=500, validate=validate.Range(min=1, max=10_000),
                               metadata={"description": "Stop after this many items"})
