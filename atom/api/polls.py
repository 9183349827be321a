"""Polling triggers: ``GET /api/v2/triggers/polls``, the state of every poll cursor."""
from __future__ import annotations

from flask import Flask
from flask import current_app
from flask_smorest import Blueprint
from marshmallow import Schema
from marshmallow import fields

from atom.api.auth import authenticate
from atom.api.pagination import CountedPageOut
from atom.api.pagination import PageQuery
from atom.api.pagination import paginate_items
from atom.api.schemas import StrictSchema
from atom.engine.polling import PollCollector
from atom.engine.polling import poll_states

blp = Blueprint("polls", __name__, url_prefix="/api/v2/triggers",
                description="Polling triggers: one cursor per connection, trigger and params")
blp.before_request(authenticate)


class PollQuery(StrictSchema, PageQuery):
    integration = fields.String(metadata={"description": "only this integration's cursors"})
    connection_id = fields.Integer(metadata={"description": "only this connection's cursors"})
    failing = fields.Boolean(metadata={"description": "true: only cursors whose last poll failed"})


class PollError(Schema):
    class_ = fields.String(data_key="class", attribute="class", allow_none=True,
                           metadata={"description": "error class (auth, rate_limited, timeout, "
                                                    "upstream, cursor_expired, ...)"})
    message = fields.String(allow_none=True)


class PollOut(Schema):
    id = fields.Integer()
    connection_id = fields.Integer()
    connection = fields.String(allow_none=True, metadata={"description": "the connection's label"})
    integration = fields.String(allow_none=True)
    trigger = fields.String()
    params = fields.Dict(metadata={"description": "the trigger params the workflows gave"})
    interval_s = fields.Float(allow_none=True, metadata={
        "description": "seconds between polls (the shortest its workflows ask for); null when "
                       "no enabled workflow uses the cursor any more"})
    workflows = fields.List(fields.Integer(), metadata={"description": "ids of the enabled "
                                                        "workflows it starts"})
    primed = fields.Boolean(metadata={"description": "whether the first poll (which fires "
                                                     "nothing) succeeded"})
    primed_at = fields.String(allow_none=True)
    last_poll_at = fields.String(allow_none=True)
    next_poll_at = fields.String(allow_none=True)
    last_ok = fields.Boolean(allow_none=True)
    last_error = fields.Nested(PollError, allow_none=True,
                               metadata={"description": "the last poll's error, null when it "
                                                        "succeeded"})
    consecutive_failures = fields.Integer()
    items_fired = fields.Integer(metadata={"description": "new items handed to workflows"})
    created_at = fields.String(allow_none=True)


class PollList(CountedPageOut):
    polls = fields.List(fields.Nested(PollOut))


@blp.route("/polls", methods=["GET"])
@blp.arguments(PollQuery, location="query")
@blp.response(200, PollList)
def list_polls(query):
    """Every poll cursor: its connection, trigger and params, the workflows it serves, the
    last and next poll, the last error and how many items it fired."""
    found = poll_states(current_app, query.get("integration"), query.get("connection_id"),
                        query.get("failing"))
    page = paginate_items(found, query, key=lambda poll: (poll["id"],))
    return page.answer("polls", page.rows)


def init_metrics(app: Flask, registry) -> None:
    """Export the poll metrics in the app's Prometheus registry (``/metrics``)."""
    registry.register(PollCollector(app))
