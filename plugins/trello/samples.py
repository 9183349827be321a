"""Sample deliveries of the Trello triggers (pure data).

Trello POSTs ``{"action": {...}, "model": {...}, "webhook": {...}}``; ATOM stores ``action`` and
``model``. Shapes follow the example of
https://developer.atlassian.com/cloud/trello/guides/rest-api/webhooks/ and the action types of
https://developer.atlassian.com/cloud/trello/guides/rest-api/action-types/.
"""
from __future__ import annotations

from typing import Any

_BOARD = {"name": "Trello Development", "id": "4d5ea62fd76aa1136000000c",
          "shortLink": "nC8QJJoZ"}
_CARD = {"idShort": 1458, "name": "Webhooks", "id": "51a79e72dbb7e23c7c003778",
         "shortLink": "qpJDxMMh"}
_TODO = {"name": "To Do", "id": "4d5ea62fd76aa11360000010"}
_DOING = {"name": "Doing", "id": "4d5ea62fd76aa11360000011"}
_MEMBER = {"id": "4fc78a59a885233f4b349bd9", "avatarHash": "2da34d23b5f1ac1a20e2a01157bfa9fe",
           "fullName": "Doug Patti", "initials": "DP", "username": "doug"}
_MODEL = {"id": "4d5ea62fd76aa1136000000c", "name": "Trello Development",
          "desc": "Trello board used by the Trello team to track work on Trello.", "closed": False,
          "idOrganization": "4e1452614e4b8698470000e0", "pinned": False,
          "url": "https://trello.com/b/nC8QJJoZ/trello-development"}


def _delivery(action_id: str, kind: str, data: dict[str, Any], date: str) -> dict[str, Any]:
    return {"action": {"id": action_id, "idMemberCreator": _MEMBER["id"], "data": data,
                       "type": kind, "date": date, "memberCreator": _MEMBER},
            "model": _MODEL}


CARD_CREATED = _delivery("51f9424bcd6e040f3c002412", "createCard",
                         {"board": _BOARD, "list": _TODO, "card": _CARD},
                         "2013-07-31T16:58:51.949Z")
CARD_MOVED = _delivery("51f9424bcd6e040f3c002413", "updateCard",
                       {"board": _BOARD, "card": {**_CARD, "idList": _DOING["id"]},
                        "old": {"idList": _TODO["id"]}, "listBefore": _TODO, "listAfter": _DOING},
                       "2013-07-31T17:04:12.310Z")
CARD_UPDATED = _delivery("51f9424bcd6e040f3c002414", "updateCard",
                         {"board": _BOARD, "list": _DOING,
                          "card": {**_CARD, "name": "Webhooks (signed)"},
                          "old": {"name": "Webhooks"}},
                         "2013-07-31T17:10:40.027Z")
COMMENT_ADDED = _delivery("51f9424bcd6e040f3c002415", "commentCard",
                          {"text": "Signatures verified, shipping it.", "board": _BOARD,
                           "list": _DOING, "card": _CARD},
                          "2013-07-31T17:22:05.781Z")
