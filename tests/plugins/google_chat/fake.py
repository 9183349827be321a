"""A small stateful Google Chat space behind ``responses``, for the poll trigger's tests.

It follows the reference of ``spaces.messages.list``
(https://developers.google.com/workspace/chat/api/reference/rest/v1/spaces.messages/list):
``filter`` takes ``create_time > "<RFC 3339>"`` (and ``<``) and ``thread.name = ...`` joined
with ``AND``; ``orderBy`` is ascending by create time unless it says DESC; ``pageSize``
defaults to 25 and is at most 1000; ``nextPageToken`` continues a listing and is left out on
the last page; an invalid filter is an INVALID_ARGUMENT error.
"""
from __future__ import annotations

import json
import re
from datetime import UTC
from datetime import datetime
from datetime import timedelta
from urllib.parse import parse_qs
from urllib.parse import urlsplit

import responses

from tests.plugins.google_chat.conftest import CHAT

_CONDITION = re.compile(r'^\s*(create_time)\s*([<>])\s*"([^"]+)"\s*$'
                        r'|^\s*thread\.name\s*=\s*(\S+)\s*$')


class FakeSpace:
    def __init__(self, rsps: responses.RequestsMock, space: str) -> None:
        self.space = space
        self.messages: list[dict] = []
        self.requests: list[dict[str, str]] = []
        self._clock = datetime(2024, 7, 9, 15, 0, tzinfo=UTC)
        self._n = 0
        rsps.add_callback(responses.GET, re.compile(
            rf"{re.escape(CHAT)}/v1/{space}/messages(\?.*)?$"), self._list)

    def post(self, text: str, *, bot: bool = False, thread: str = "T1") -> dict:
        self._n += 1
        self._clock += timedelta(seconds=1, microseconds=123)
        message = {
            "name": f"{self.space}/messages/M{self._n:04d}.M{self._n:04d}",
            "sender": {"name": f"users/{'app' if bot else '1140224951530140040'}",
                       "displayName": "ATOM" if bot else "Grace Hopper",
                       "type": "BOT" if bot else "HUMAN"},
            "createTime": self._clock.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
            "text": text, "argumentText": text,
            "thread": {"name": f"{self.space}/threads/{thread}"},
            "space": {"name": self.space}, "threadReply": False,
        }
        self.messages.append(message)
        return message

    def _list(self, request):
        query = {k: v[0] for k, v in parse_qs(urlsplit(request.url).query).items()}
        self.requests.append(query)
        found = sorted(self.messages, key=lambda m: m["createTime"])
        for condition in filter(None, query.get("filter", "").split(" AND ")):
            match = _CONDITION.match(condition)
            if match is None:
                return 400, {}, json.dumps({"error": {"code": 400, "status": "INVALID_ARGUMENT",
                                                      "message": "Invalid filter"}})
            if match.group(1):
                when = datetime.fromisoformat(match.group(3).replace("Z", "+00:00"))
                newer = match.group(2) == ">"
                found = [m for m in found if (_time(m) > when) == newer and _time(m) != when]
            else:
                found = [m for m in found if m["thread"]["name"] == match.group(4)]
        if "desc" in query.get("orderBy", "").lower():
            found.reverse()
        size = min(int(query.get("pageSize", 25)), 1000)
        start = int(query.get("pageToken", 0))
        page = {"messages": found[start:start + size]}
        if start + size < len(found):
            page["nextPageToken"] = str(start + size)
        return 200, {"Content-Type": "application/json"}, json.dumps(page)


def _time(message: dict) -> datetime:
    return datetime.fromisoformat(message["createTime"].replace("Z", "+00:00"))
