"""A small stateful fake of one Teams channel's delta query, at the HTTP seam (``responses``).

Follows "chatMessage: delta" (https://learn.microsoft.com/graph/api/chatmessage-delta): the
first ``GET /teams/{team-id}/channels/{channel-id}/messages/delta`` may carry
``$filter=lastModifiedDateTime gt <time>`` to limit the initial round; a round answers pages of
changed top-level messages, each page but the last with an ``@odata.nextLink`` (``$skiptoken``)
and the last with an ``@odata.deltaLink`` (``$deltatoken``); the deltaLink, called later,
returns the messages created or changed since. Both links are full URLs. A deleted message
comes back with ``deletedDateTime`` set. ``expire()`` makes every deltaLink answer 410 Gone
(Graph's answer to a sync state it no longer holds; verify the code Teams uses).
"""
from __future__ import annotations

import itertools
import json
import re
from datetime import UTC
from datetime import datetime
from datetime import timedelta
from typing import Any
from urllib.parse import parse_qs
from urllib.parse import quote
from urllib.parse import urlsplit

GRAPH = "https://graph.microsoft.com/v1.0"


def _stamp(when: datetime) -> str:
    return when.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class FakeChannelDelta:
    def __init__(self, rsps, team_id: str, channel_id: str, page_size: int = 2,
                 base: str = GRAPH) -> None:
        self.team_id, self.channel_id, self.page_size = team_id, channel_id, page_size
        team, channel = quote(team_id, safe=""), quote(channel_id, safe="")
        self.url = f"{base}/teams/{team}/channels/{channel}/messages/delta"
        self.messages: dict[str, dict[str, Any]] = {}
        self.versions: dict[str, int] = {}  # message id -> the change counter at its last change
        self._clock = itertools.count(1)
        self._ids = itertools.count(1612293113399)
        self.requests: list[str] = []
        self.expired = False
        rsps.add_callback("GET", re.compile(re.escape(self.url) + r"(\?.*)?$"),
                          callback=self._answer)

    # -- what happens in the channel -------------------------------------------------------

    def post(self, text: str, ago: timedelta = timedelta(0), kind: str = "message") -> str:
        when = datetime.now(UTC) - ago
        mid = str(next(self._ids))
        self.messages[mid] = {
            "@odata.type": "#microsoft.graph.chatMessage", "id": mid, "replyToId": None,
            "etag": mid, "messageType": kind, "createdDateTime": _stamp(when),
            "lastModifiedDateTime": _stamp(when), "lastEditedDateTime": None,
            "deletedDateTime": None, "subject": None, "summary": None, "chatId": None,
            "importance": "normal", "locale": "en-us", "webUrl": None,
            "from": {"application": None, "device": None, "user": {
                "id": "8ea0e38b-efb3-4757-924a-5f94061cf8c2", "displayName": "Ramjot Singh",
                "userIdentityType": "aadUser"}},
            "body": {"contentType": "text", "content": text},
            "channelIdentity": {"teamId": self.team_id, "channelId": self.channel_id},
            "attachments": [], "mentions": [], "reactions": [],
        }
        self.versions[mid] = next(self._clock)
        return mid

    def edit(self, mid: str, text: str) -> None:
        now = _stamp(datetime.now(UTC))
        self.messages[mid].update(body={"contentType": "text", "content": text},
                                  lastModifiedDateTime=now, lastEditedDateTime=now)
        self.versions[mid] = next(self._clock)

    def delete(self, mid: str) -> None:
        now = _stamp(datetime.now(UTC))
        self.messages[mid].update(deletedDateTime=now, lastModifiedDateTime=now)
        self.versions[mid] = next(self._clock)

    def expire(self) -> None:
        self.expired = True

    # -- the delta query ---------------------------------------------------------------------

    def _answer(self, request) -> tuple[int, dict[str, str], str]:
        self.requests.append(request.url)
        query = {k: v[0] for k, v in parse_qs(urlsplit(request.url).query).items()}
        if "$skiptoken" in query:
            since, offset = (int(x) for x in query["$skiptoken"].split("."))
            changed = self._changed_since(since)
        elif "$deltatoken" in query and self.expired:
            return 410, {"Content-Type": "application/json"}, json.dumps({"error": {
                "code": "SyncStateNotFound", "message": "The sync state is expired."}})
        elif "$deltatoken" in query:
            since, offset = int(query["$deltatoken"]), 0
            changed = self._changed_since(since)
        else:
            since, offset = 0, 0
            changed = self._changed_since(0, query.get("$filter"))
        page = changed[offset:offset + self.page_size]
        body: dict[str, Any] = {
            "@odata.context": "https://graph.microsoft.com/v1.0/$metadata#Collection(chatMessage)",
            "value": page}
        if offset + self.page_size < len(changed):
            body["@odata.nextLink"] = f"{self.url}?$skiptoken={since}.{offset + self.page_size}"
        else:
            body["@odata.deltaLink"] = f"{self.url}?$deltatoken={self._last_version()}"
        return 200, {"Content-Type": "application/json"}, json.dumps(body)

    def _changed_since(self, version: int, flt: str | None = None) -> list[dict[str, Any]]:
        ids = sorted((m for m in self.messages if self.versions[m] > version),
                     key=lambda m: self.versions[m])
        if flt:
            found = re.fullmatch(r"lastModifiedDateTime gt (\S+)", flt)
            assert found, f"the fake only knows lastModifiedDateTime gt: {flt}"
            after = datetime.fromisoformat(found.group(1).replace("Z", "+00:00"))
            ids = [m for m in ids if datetime.fromisoformat(
                self.messages[m]["lastModifiedDateTime"].replace("Z", "+00:00")) > after]
        return [dict(self.messages[m]) for m in ids]

    def _last_version(self) -> int:
        return max(self.versions.values(), default=0)
