"""A test-only integration with poll triggers, loaded with ``PLUGINS=[HTTP, MANIFEST]``.

* ``new_item`` polls an in-process fake mailbox (:data:`BOXES`, one :class:`FakeBox` per
  connection id) that a test fills between polls; its cursor is the box's sequence number, as
  Gmail's ``historyId``. Params narrow it to a folder.
* ``new_record`` polls a fake records service over HTTP through the connection's real
  ``IntegrationClient`` (a :class:`tests.fakes.FakeServer` on loopback answered by
  :class:`RecordService`): 429, 5xx and a 410 for an expired cursor come through the client's
  own error handling.
"""
from __future__ import annotations

import threading
from dataclasses import dataclass
from dataclasses import field
from typing import Any

import requests
from marshmallow import Schema
from marshmallow import fields
from marshmallow import validate

from atom.integrations.base import Integration
from atom.integrations.base import PollPage
from atom.integrations.errors import CursorExpired
from atom.integrations.http import default_raise_for_response
from atom.integrations.manifest import Action
from atom.integrations.manifest import AuthScheme
from atom.integrations.manifest import Manifest
from atom.integrations.manifest import Poll
from atom.integrations.manifest import Trigger
from tests.fakes import Recorded
from tests.fakes import Reply

RECORDED: list[dict[str, Any]] = []
_LOCK = threading.Lock()


@dataclass
class FakeBox:
    """A mailbox: items get increasing sequence numbers; a poll asks for those after one.

    ``fail`` (an exception) is raised by the next polls while set; ``expired`` holds cursors
    the service no longer accepts (answered with :class:`CursorExpired`).
    """

    items: list[dict[str, Any]] = field(default_factory=list)
    seq: int = 100
    fail: BaseException | None = None
    expired: set[str] = field(default_factory=set)
    calls: list[tuple[dict[str, Any], str | None]] = field(default_factory=list)
    # Extra items returned by the next poll whatever the cursor (a vendor that overlaps).
    replay: list[dict[str, Any]] = field(default_factory=list)

    def add(self, title: str, folder: str = "inbox", **extra: Any) -> dict[str, Any]:
        self.seq += 1
        item = {"id": f"m{self.seq}", "seq": self.seq, "folder": folder, "title": title, **extra}
        self.items.append(item)
        return item


BOXES: dict[int, FakeBox] = {}


def box(conn_id: int) -> FakeBox:
    return BOXES.setdefault(conn_id, FakeBox())


class RecordService:
    """The fake records service behind ``GET /records?since=<cursor>``: records oldest first
    and ``next`` (the cursor to send next time); 410 for a cursor it has forgotten."""

    def __init__(self) -> None:
        self.records: list[dict[str, Any]] = []
        self.version = 0
        self.forgotten: set[str] = set()

    def add(self, name: str) -> dict[str, Any]:
        self.version += 1
        record = {"record": {"id": self.version, "name": name}, "version": self.version}
        self.records.append(record)
        return record

    def __call__(self, req: Recorded) -> Reply:
        since = (req.query.get("since") or [None])[0]
        if since is not None and since in self.forgotten:
            return Reply(410, {"error": "sync token expired"})
        after = int(since) if since is not None else None
        found = [r for r in self.records if after is None or r["version"] > after]
        return Reply(200, {"records": found, "next": str(self.version)})


class Credentials(Schema):
    token = fields.String(required=True, metadata={"secret": True})


class FolderParams(Schema):
    folder = fields.String(load_default="inbox",
                           validate=validate.OneOf(("inbox", "archive", "spam")))
    limit = fields.Integer(validate=validate.Range(min=1, max=100))


class RecordInput(Schema):
    title = fields.String(required=True)


class PollsterIntegration(Integration):
    def health_check(self) -> None:
        return None

    def raise_for_response(self, response: requests.Response) -> None:
        if response.status_code == 410:
            raise CursorExpired("the sync token expired (410)", status=410)
        default_raise_for_response(response)

    def record(self, data: dict[str, Any]) -> dict[str, Any]:
        with _LOCK:
            RECORDED.append({"connection": self.connection.id, **data})
        return {"recorded": True}

    def poll_new_item(self, params: dict[str, Any], cursor: str | None) -> PollPage:
        mailbox = box(self.connection.id)
        mailbox.calls.append((params, cursor))
        if mailbox.fail is not None:
            raise mailbox.fail
        if cursor is not None and cursor in mailbox.expired:
            raise CursorExpired(f"history {cursor} is too old")
        after = int(cursor) if cursor is not None else None
        items = [i for i in mailbox.items
                 if i["folder"] == params["folder"] and (after is None or i["seq"] > after)]
        items = (mailbox.replay + items)[: params.get("limit", 1000)]
        mailbox.replay = []
        return PollPage(items=[dict(i) for i in items], cursor=str(mailbox.seq))

    def poll_records(self, params: dict[str, Any], cursor: str | None) -> PollPage:
        response = self.http.get("/records", params={"since": cursor} if cursor else None,
                                 operation="poll records")
        body = response.json()
        return PollPage(items=body["records"], cursor=body["next"])


MANIFEST = Manifest(
    slug="pollster",
    display_name="Pollster",
    category="generic",
    description="Test-only integration with poll triggers.",
    auth=AuthScheme(kind="bearer", fields=Credentials, secret="token"),
    integration="tests.atom.engine.poll_plugin:PollsterIntegration",
    actions=(Action("record", "Record the item", RecordInput,
                    {"type": "object", "properties": {"recorded": {"type": "boolean"}}},
                    {"title": "hello"}),),
    triggers=(
        Trigger("new_item", "New item in a folder",
                {"id": "m101", "seq": 101, "folder": "inbox", "title": "hello"},
                delivery=Poll("poll_new_item", cursor="seq", item_id="id", interval_s=60),
                params=FolderParams),
        Trigger("new_record", "New record",
                {"record": {"id": 1, "name": "a"}, "version": 1},
                delivery=Poll("poll_records", cursor="version", item_id="record.id",
                              interval_s=30)),
    ),
)
