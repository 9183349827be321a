"""Trello REST API: cards, comments, boards and lists; webhook triggers.

API reference: https://developer.atlassian.com/cloud/trello/rest/
Rate limits: https://developer.atlassian.com/cloud/trello/guides/rest-api/rate-limits/
(300 requests per 10 s per API key, 100 per 10 s per token; 429 without a documented wait)
Webhooks: https://developer.atlassian.com/cloud/trello/guides/rest-api/webhooks/

The key and token travel as the ``key`` and ``token`` query parameters (declared in the
manifest); errors come as plain text ("invalid id", "unauthorized card permission requested").
"""
from __future__ import annotations

import hashlib
import re
from itertools import islice
from typing import Any
from urllib.parse import quote

import requests

from atom.integrations.base import Handshake
from atom.integrations.base import InboundEvent
from atom.integrations.base import Integration
from atom.integrations.errors import AuthError
from atom.integrations.errors import RateLimited
from atom.integrations.errors import UpstreamError
from atom.integrations.errors import ValidationFailed
from atom.integrations.helpers import hook_url
from atom.integrations.helpers import json_or_empty
from atom.integrations.http import parse_retry_after
from atom.integrations.webhooks import WebhookRequest
from plugins.trello import payloads

# Trello's rate-limit window: the wait when a 429 says nothing (it documents no Retry-After).
WINDOW_S = 10.0
_INVALID_VALUE = re.compile(r"invalid value for ([A-Za-z]+)")
_CARD_WRITES = ("name", "description", "due", "start", "member_ids", "label_ids", "position")


def _error_text(response: requests.Response) -> str:
    """Trello's error: plain text, or JSON with ``message``/``error`` (429s, some 400s)."""
    body = json_or_empty(response)
    if body:
        return str(body.get("message") or body.get("error") or "")[:200]
    return (response.text or "").strip()[:200].replace("\n", " ")


def _path(template: str, **ids: str) -> str:
    return template.format(**{k: quote(v, safe="") for k, v in ids.items()})


class TrelloIntegration(Integration):
    def raise_for_response(self, response: requests.Response) -> None:
        """Map Trello's statuses and plain-text errors: 400 "invalid value for idList" names
        the field, 401 is a refused key or token or a model the token may not see."""
        status = response.status_code
        if status < 400:
            return
        text = _error_text(response)
        message = f"Trello answered {status}: {text or 'no details'}"
        if status == 429:
            wait = parse_retry_after(response.headers.get("Retry-After"))
            raise RateLimited(message, retry_after=WINDOW_S if wait is None else wait,
                              status=status)
        if status in (401, 403):
            if "permission requested" in text:
                message += " (the token's member cannot access it)"
            raise AuthError(message, status=status)
        if status in (400, 409, 422):
            match = _INVALID_VALUE.search(text)
            field = payloads.INPUT_OF.get(match.group(1), "_request") if match else "_request"
            raise ValidationFailed(message, status=status, details={field: [text or "invalid"]})
        if status == 404:
            raise ValidationFailed(message, status=status,
                                   details={"_request": ["not found", *([text] if text else [])]})
        if status == 408 or status >= 500:
            raise UpstreamError(message, status=status,
                                retry_after=parse_retry_after(response.headers.get("Retry-After")))
        raise UpstreamError(message, status=status, permanent=True)

    def health_check(self) -> None:
        # /1/members has a lower limit (100 requests per 900 s): one small read.
        me = json_or_empty(self.http.get("members/me", params={"fields": "id"},
                                         operation="health"))
        if not me.get("id"):
            raise UpstreamError("members/me answered without a member; is base_url Trello's "
                                "API?", permanent=True)

    # -- actions -------------------------------------------------------------------------

    def create_card(self, data: dict[str, Any]) -> dict[str, Any]:
        list_id = data.get("list_id") or self.connection.settings.get("default_list_id")
        if not list_id:
            raise ValidationFailed("Trello puts every card in a list", details={
                "list_id": ["give list_id, or set the connection's default_list_id"]})
        params = {"idList": list_id, **payloads.query(data, _CARD_WRITES)}
        return payloads.card(self._json(self.http.post("cards", params=params,
                                                       operation="create_card")))

    def move_card(self, data: dict[str, Any]) -> dict[str, Any]:
        return self._put_card(data, ("list_id", "board_id", "position"), "move_card")

    def update_card(self, data: dict[str, Any]) -> dict[str, Any]:
        return self._put_card(data, (*_CARD_WRITES, "due_complete", "closed"), "update_card")

    def get_card(self, data: dict[str, Any]) -> dict[str, Any]:
        return payloads.card(self._json(self.http.get(_path("cards/{id}", id=data["card_id"]),
                                                      operation="get_card")))

    def add_comment(self, data: dict[str, Any]) -> dict[str, Any]:
        response = self.http.post(_path("cards/{id}/actions/comments", id=data["card_id"]),
                                  params={"text": data["text"]}, operation="add_comment")
        return payloads.comment(self._json(response), data["card_id"])

    def list_boards(self, data: dict[str, Any]) -> dict[str, Any]:
        found = self._array(_path("members/{m}/boards", m=data["member"]),
                            {"filter": data["filter"]}, "list_boards")
        boards = [payloads.board(b) for b in islice(found, data["max_items"])]
        return {"boards": boards, "count": len(boards)}

    def list_lists(self, data: dict[str, Any]) -> dict[str, Any]:
        found = self._array(_path("boards/{id}/lists", id=data["board_id"]),
                            {"filter": data["filter"], "cards": "none"}, "list_lists")
        lists = [payloads.trello_list(item) for item in found]
        return {"board_id": data["board_id"], "lists": lists, "count": len(lists)}

    def list_cards(self, data: dict[str, Any]) -> dict[str, Any]:
        found = self._array(_path("lists/{id}/cards", id=data["list_id"]), {}, "list_cards")
        cards = [payloads.card(c) for c in islice(found, data["max_items"])]
        return {"list_id": data["list_id"], "cards": cards, "count": len(cards)}

    def register_webhook(self, data: dict[str, Any]) -> dict[str, Any]:
        """Create a webhook on a model. Trello sends a HEAD request to the callback URL while
        this request waits (answered by :meth:`webhook_handshake`), so ATOM must be reachable
        from Trello and serve requests concurrently."""
        params = {"idModel": data["model_id"], "description": data["description"],
                  "callbackURL": data.get("callback_url") or self._hook_url()}
        response = self.http.post("webhooks/", params=params, operation="register_webhook")
        return payloads.webhook(self._json(response))

    # -- webhooks --------------------------------------------------------------------------

    def webhook_handshake(self, req: WebhookRequest) -> Handshake | None:
        """Trello checks a new webhook's callback URL with a HEAD request: answer 200."""
        return Handshake(status=200) if req.method == "HEAD" else None

    def parse_webhook(self, req: WebhookRequest, payload: Any) -> list[InboundEvent]:
        """One event per delivery whose action a trigger covers; Trello's retries resend the
        same action, so its id de-duplicates them."""
        action = payload.get("action") if isinstance(payload, dict) else None
        if not isinstance(action, dict):
            return []
        name = payloads.trigger_name(action)
        if name is None or self.manifest.trigger(name) is None:
            return []
        delivery = str(action.get("id") or hashlib.sha256(req.body).hexdigest())
        return [InboundEvent(name, delivery, {"action": action, "model": payload.get("model")})]

    # -- helpers ----------------------------------------------------------------------------

    def _put_card(self, data: dict[str, Any], names: tuple[str, ...],
                  operation: str) -> dict[str, Any]:
        response = self.http.put(_path("cards/{id}", id=data["card_id"]),
                                 params=payloads.query(data, names), operation=operation)
        return payloads.card(self._json(response))

    def _json(self, response: requests.Response) -> dict[str, Any]:
        body = json_or_empty(response)
        if not body.get("id"):
            raise UpstreamError("Trello answered without the object", permanent=True)
        return body

    def _array(self, path: str, params: dict[str, Any], operation: str) -> list[dict[str, Any]]:
        """A list endpoint's answer (Trello does not paginate boards, lists or cards)."""
        body = self.http.get(path, params=params, operation=operation).json()
        if not isinstance(body, list):
            raise UpstreamError(f"Trello {operation} answered without a list", permanent=True)
        return [item for item in body if isinstance(item, dict) and item.get("id")]

    def _hook_url(self) -> str:
        """This connection's receiver URL (see :func:`atom.integrations.helpers.hook_url`)."""
        return hook_url(self, "callback_url")
