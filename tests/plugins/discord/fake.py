"""A small stateful Discord channel behind ``responses``, for the poll trigger's tests.

It follows Discord's reference for Get Channel Messages
(https://discord.com/developers/docs/resources/message#get-channel-messages): ``limit`` 1-100
(default 50); ``before``, ``after`` and ``around`` are mutually exclusive message ids; the
answer is newest first; ``after`` gives the messages right after that id, ``before`` (or no
anchor) the ones right before it (or the newest).
"""
from __future__ import annotations

import json
import re
from urllib.parse import parse_qs
from urllib.parse import urlsplit

import responses

from tests.plugins.discord.conftest import DISCORD


class FakeChannel:
    def __init__(self, rsps: responses.RequestsMock, channel_id: str) -> None:
        self.channel_id = channel_id
        self.messages: list[dict] = []
        self.requests: list[dict[str, str]] = []
        self._next = 1189290000000000000
        rsps.add_callback(responses.GET, re.compile(
            rf"{re.escape(DISCORD)}/channels/{channel_id}/messages(\?.*)?$"), self._list)

    def post(self, content: str, *, bot: bool = False, kind: int = 0) -> dict:
        self._next += 1 << 22  # a later millisecond: a larger snowflake
        message = {"id": str(self._next), "type": kind, "content": content,
                   "channel_id": self.channel_id,
                   "author": {"id": "1189283011114692000" if bot else "53908099506183680",
                              "username": "atom-bot" if bot else "Mason", "bot": bot},
                   "timestamp": "2024-07-09T15:30:00.000000+00:00", "edited_timestamp": None,
                   "mentions": [], "attachments": []}
        self.messages.append(message)
        return message

    def _list(self, request):
        query = {k: v[0] for k, v in parse_qs(urlsplit(request.url).query).items()}
        self.requests.append(query)
        limit = int(query.get("limit", 50))
        if not 1 <= limit <= 100:
            return 400, {}, json.dumps({"code": 50035, "message": "Invalid Form Body"})
        ordered = sorted(self.messages, key=lambda m: int(m["id"]))
        if "after" in query:
            page = [m for m in ordered if int(m["id"]) > int(query["after"])][:limit]
        else:
            older = [m for m in ordered if "before" not in query
                     or int(m["id"]) < int(query["before"])]
            page = older[-limit:]
        page.sort(key=lambda m: int(m["id"]), reverse=True)
        return 200, {"Content-Type": "application/json"}, json.dumps(page)
