"""The public status page's configuration: ``GET/PUT /api/v2/monitoring/status-page``.

The page itself is ``/status`` (and ``/status.json``), served by the dashboard without a login
when ``STATUS_PAGE_ENABLED`` is on."""
from __future__ import annotations

from typing import Any

from flask import current_app
from flask import request
from flask_smorest import Blueprint
from marshmallow import Schema
from marshmallow import ValidationError
from marshmallow import fields
from marshmallow import validate

from atom.api.auth import actor
from atom.api.auth import authenticate
from atom.api.auth import require
from atom.api.errors import ApiError
from atom.api.openapi import json_body
from atom.api.openapi import ok
from atom.api.schemas import StrictSchema
from atom.monitoring import status_page

blp = Blueprint("status_page", __name__, url_prefix="/api/v2/monitoring",
                description="The public status page: which connections it shows, and as what")
blp.before_request(authenticate)


class StatusPageItemIn(StrictSchema):
    connection_id = fields.Integer(required=True)
    name = fields.String(required=True, validate=validate.Length(min=1, max=100),
                         metadata={"description": "the public name (the only text shown)"})


class StatusPageIn(StrictSchema):
    items = fields.List(fields.Nested(StatusPageItemIn), required=True,
                        validate=validate.Length(max=status_page.MAX_ITEMS),
                        metadata={"description": "every item, in the page's order; [] empties "
                                                 "the page"})


class StatusPageItemOut(Schema):
    connection_id = fields.Integer()
    name = fields.String()
    position = fields.Integer()
    label = fields.String(metadata={"description": "the connection's label (never public)"})
    integration = fields.String()


class StatusPageOut(Schema):
    enabled = fields.Boolean(metadata={"description": "STATUS_PAGE_ENABLED: /status answers"})
    title = fields.String(metadata={"description": "STATUS_PAGE_TITLE"})
    items = fields.List(fields.Nested(StatusPageItemOut))


def load_items(body: Any) -> list[dict[str, Any]]:
    """The items of a request body or form, loaded with :class:`StatusPageIn`.

    :raises ValidationError: naming the field.
    """
    if not isinstance(body, dict):
        raise ValidationError({"_body": ["the body must be a JSON object"]})
    return StatusPageIn().load(body)["items"]


def _app() -> Any:
    return current_app._get_current_object()  # type: ignore[attr-defined]


@blp.route("/status-page", methods=["GET"])
@blp.alt_response(200, **ok(StatusPageOut))
def get_status_page():
    """Whether the public page is on, its title, and the connections it shows."""
    return status_page.present_config(_app())


@blp.route("/status-page", methods=["PUT"])
@blp.doc(requestBody=json_body(StatusPageIn, "the page's items, replacing the current ones"))
@blp.alt_response(200, **ok(StatusPageOut))
def put_status_page():
    """Choose the connections the public page shows and their public names (admin). An
    unknown or repeated connection is a 422 naming ``items.<i>.connection_id``."""
    require("admin")
    body = request.get_json(silent=True) if request.get_data() else None
    try:
        items = load_items(body)
    except ValidationError as exc:
        raise ApiError(422, "the status page's items are refused", errors=exc.messages) from exc
    try:
        return status_page.replace(_app(), items, actor())
    except status_page.StatusPageError as exc:
        raise ApiError(422, str(exc), errors=exc.errors) from exc
