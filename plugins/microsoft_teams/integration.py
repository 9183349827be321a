"""Microsoft Teams through Microsoft Graph v1.0: channel and chat messages, teams and channels,
change-notification subscriptions; new messages pushed by Graph or polled with delta.

API reference: https://learn.microsoft.com/graph/api/resources/teams-api-overview
Errors and throttling: https://learn.microsoft.com/graph/errors and
https://learn.microsoft.com/graph/throttling (429, sometimes 503/504, with ``Retry-After``)
Change notifications: https://learn.microsoft.com/graph/change-notifications-delivery-webhooks
Delta: https://learn.microsoft.com/graph/api/chatmessage-delta

Lists follow ``@odata.nextLink``, a full URL, as it is; Graph has no idempotency key, so no
message post is retried after a server error.
"""
from __future__ import annotations

import json
from datetime import UTC
from datetime import datetime
from datetime import timedelta
from itertools import islice
from typing import Any

import requests

from atom.integrations.base import Handshake
from atom.integrations.base import InboundEvent
from atom.integrations.base import Integration
from atom.integrations.base import PollPage
from atom.integrations.errors import CursorExpired
from atom.integrations.errors import UpstreamError
from atom.integrations.errors import ValidationFailed
from atom.integrations.helpers import json_or_empty
from atom.integrations.webhooks import WebhookRequest
from plugins.microsoft_common import GraphErrors
from plugins.microsoft_common import NextLinkPaginator
from plugins.microsoft_common import segment
from plugins.microsoft_common import validation_handshake
from plugins.microsoft_teams import payloads
from plugins.microsoft_teams.schemas import ChannelMessagesParams

# Channel messages come 50 a page at most; other lists take no $top (Graph pages them itself).
MESSAGES_PAGE = 50
# A delta round that has not ended after this many pages continues at the next poll.
DELTA_PAGES = 20
# The first poll asks for messages changed since a little before now, so a clock behind Graph's
# loses nothing; messages created before that window never fire, even when edited later.
PRIME_WINDOW = timedelta(minutes=5)
# Graph names a property in some 400 messages ("... 'displayName' ..."): the input it came from.
_FIELDS = {"displayName": "display_name", "description": "description", "membershipType":
           "membership_type", "body": "text", "content": "text", "subject": "subject",
           "importance": "importance", "notificationUrl": "notification_url",
           "expirationDateTime": "expiration_minutes"}
_CODE_FIELDS = {"NameAlreadyExists": "display_name"}  # a channel name in use (409; verify)
ERRORS = GraphErrors("Microsoft Graph", fields=_FIELDS, codes=_CODE_FIELDS)


def _q(value: str) -> str:
    return segment(value)


def _channel(team_id: str, channel_id: str) -> str:
    return f"teams/{_q(team_id)}/channels/{_q(channel_id)}"


class MicrosoftTeamsIntegration(Integration):
    def raise_for_response(self, response: requests.Response) -> None:
        """Graph's status classes, with its error code and message in the text."""
        ERRORS.check(response)

    def health_check(self) -> None:
        body = json_or_empty(self.http.get("me", params={"$select": "id,displayName"},
                                           operation="get me"))
        if not body.get("id"):
            raise UpstreamError("GET /me answered without an id; is base_url Microsoft Graph?",
                                permanent=True)

    # -- actions -------------------------------------------------------------------------

    def send_channel_message(self, data: dict[str, Any]) -> dict[str, Any]:
        path = f"{_channel(data['team_id'], data['channel_id'])}/messages"
        body = self._post(path, payloads.message_body(data), "send channel message")
        return payloads.message(body, data["team_id"], data["channel_id"])

    def reply_to_message(self, data: dict[str, Any]) -> dict[str, Any]:
        path = (f"{_channel(data['team_id'], data['channel_id'])}/messages/"
                f"{_q(data['message_id'])}/replies")
        body = self._post(path, payloads.message_body(data), "reply to message")
        out = payloads.message(body, data["team_id"], data["channel_id"])
        return {**out, "reply_to_id": out["reply_to_id"] or data["message_id"]}

    def send_chat_message(self, data: dict[str, Any]) -> dict[str, Any]:
        body = self._post(f"chats/{_q(data['chat_id'])}/messages", payloads.message_body(data),
                          "send chat message")
        return {**payloads.message(body), "chat_id": body.get("chatId") or data["chat_id"]}

    def notify(self, channel: str | None, message: str) -> dict[str, Any]:
        """Post ``message`` to ``channel`` given as ``<team id>/<channel id>``."""
        team_id, _, channel_id = (channel or "").partition("/")
        loaded = ChannelMessagesParams().validate({"team_id": team_id, "channel_id": channel_id})
        if loaded:
            raise ValidationFailed("a Teams notification goes to <team id>/<channel id>",
                                   details={"channel": [f"{k}: {v[0]}" for k, v in loaded.items()]})
        return self.send_channel_message({"team_id": team_id, "channel_id": channel_id,
                                          "text": message, "content_type": "text"})

    def list_joined_teams(self, data: dict[str, Any]) -> dict[str, Any]:
        teams = [payloads.team(t) for t in self._list("me/joinedTeams", {}, data["max_items"],
                                                      "list joined teams")]
        return {"teams": teams, "count": len(teams)}

    def list_channels(self, data: dict[str, Any]) -> dict[str, Any]:
        found = self._list(f"teams/{_q(data['team_id'])}/channels", {}, data["max_items"],
                           "list channels")
        channels = [payloads.channel(c) for c in found]
        return {"team_id": data["team_id"], "channels": channels, "count": len(channels)}

    def list_channel_messages(self, data: dict[str, Any]) -> dict[str, Any]:
        team_id, channel_id = data["team_id"], data["channel_id"]
        found = self._list(f"{_channel(team_id, channel_id)}/messages",
                           {"$top": min(data["max_items"], MESSAGES_PAGE)}, data["max_items"],
                           "list channel messages")
        messages = [payloads.message(m, team_id, channel_id) for m in found]
        return {"team_id": team_id, "channel_id": channel_id, "messages": messages,
                "count": len(messages)}

    def create_channel(self, data: dict[str, Any]) -> dict[str, Any]:
        body: dict[str, Any] = {"displayName": data["display_name"],
                                "membershipType": data["membership_type"]}
        if data.get("description"):
            body["description"] = data["description"]
        if data.get("owner_user_id"):
            owner = f"https://graph.microsoft.com/v1.0/users('{data['owner_user_id']}')"
            body["members"] = [{"@odata.type": "#microsoft.graph.aadUserConversationMember",
                                "user@odata.bind": owner, "roles": ["owner"]}]
        created = self._post(f"teams/{_q(data['team_id'])}/channels", body, "create channel")
        return {**payloads.channel(created), "team_id": data["team_id"]}

    def subscribe_channel_messages(self, data: dict[str, Any]) -> dict[str, Any]:
        """Ask Graph to POST new messages of a channel to this connection's receiver; Graph
        checks the URL first (the ``validationToken`` handshake)."""
        secret = self.webhook_secret()
        if not secret:
            raise ValidationFailed("set the connection's client_state before subscribing",
                                   details={"client_state": ["required to subscribe"]})
        body = {"changeType": "created", "notificationUrl": data["notification_url"],
                "resource": f"/{_channel(data['team_id'], data['channel_id'])}/messages",
                "expirationDateTime": self._expiry(data["expiration_minutes"]),
                "clientState": secret, "includeResourceData": False}
        return payloads.subscription(self._post("subscriptions", body, "create subscription"))

    def renew_subscription(self, data: dict[str, Any]) -> dict[str, Any]:
        body = {"expirationDateTime": self._expiry(data["expiration_minutes"])}
        renewed = json_or_empty(self.http.patch(f"subscriptions/{_q(data['subscription_id'])}",
                                                json=body, idempotent=True,
                                                operation="renew subscription"))
        return payloads.subscription({"id": data["subscription_id"], **renewed})

    # -- polling ---------------------------------------------------------------------------

    def poll_channel_messages(self, params: dict[str, Any], cursor: str | None) -> PollPage:
        """New top-level messages of a channel, by the channel's delta query.

        The cursor is JSON: ``deltaLink`` (or a ``nextLink`` when a round ran past
        :data:`DELTA_PAGES`) and ``createdAfter``, the start of the priming window; a message
        created before it is an old one that changed (an edit, a reaction) and never fires.
        """
        team_id, channel_id = params["team_id"], params["channel_id"]
        if cursor is None:
            since = payloads.graph_time(self._now() - PRIME_WINDOW)
            url: str = f"{_channel(team_id, channel_id)}/messages/delta"
            query: dict[str, Any] | None = {"$filter": f"lastModifiedDateTime gt {since}"}
        else:
            state = _cursor(cursor)
            url, query, since = state["deltaLink"], None, state["createdAfter"]
        changed, link = self._delta(url, query)
        floor = payloads.parse_time(since)
        items = [payloads.message(m, team_id, channel_id) for m in changed
                 if _is_new_post(m, floor)]
        items.sort(key=lambda m: (m["created_at"] or "", m["id"]))
        return PollPage(items, json.dumps({"deltaLink": link, "createdAfter": since}))

    def _delta(self, url: str, query: dict[str, Any] | None) -> tuple[list[dict], str]:
        """The changed messages of one delta round and the link to continue from."""
        changed: list[dict[str, Any]] = []
        seen: set[str] = set()
        for _ in range(DELTA_PAGES):
            try:
                response = self.http.get(url, params=query, operation="channel messages delta")
            except UpstreamError as exc:
                if exc.status == 410:
                    raise CursorExpired("the delta token expired (410); the trigger must be "
                                        "primed again", status=410, permanent=True) from exc
                raise
            body = json_or_empty(response)
            changed += [m for m in body.get("value") or [] if isinstance(m, dict) and m.get("id")]
            if body.get("@odata.deltaLink"):
                return changed, str(body["@odata.deltaLink"])
            link = body.get("@odata.nextLink")
            if not link or link in seen:
                raise UpstreamError("the delta round ended without a deltaLink", permanent=True)
            seen.add(link)
            url, query = str(link), None
        return changed, url

    # -- webhooks --------------------------------------------------------------------------

    def webhook_handshake(self, req: WebhookRequest) -> Handshake | None:
        """Graph's ``validationToken`` check of a notification URL (nothing is stored)."""
        return validation_handshake(req)

    def parse_webhook(self, req: WebhookRequest, payload: Any) -> list[InboundEvent]:
        """One event per ``created`` chatMessage notification of ``value[]`` (the scheme has
        checked every clientState); redeliveries share their delivery id."""
        events = []
        notes = payload.get("value") if isinstance(payload, dict) else None
        for note in notes if isinstance(notes, list) else []:
            found = payloads.notification_trigger(note) if isinstance(note, dict) else None
            if found is None or self.manifest.trigger(found[0]) is None:
                continue
            name, ids = found
            events.append(InboundEvent(name, payloads.notification_delivery_id(note),
                                       payloads.stored_notification(note, ids)))
        return events

    # -- helpers ---------------------------------------------------------------------------

    def _post(self, path: str, body: dict[str, Any], operation: str) -> dict[str, Any]:
        return json_or_empty(self.http.post(path, json=body, operation=operation))

    def _list(self, path: str, params: dict[str, Any], max_items: int,
              operation: str) -> list[dict[str, Any]]:
        """Up to ``max_items`` items, fetching no page too many."""
        found = self.http.paginate(path, NextLinkPaginator(), params=params, operation=operation)
        return list(islice(found, max_items))

    def _now(self) -> datetime:
        return datetime.fromtimestamp(self.http.clock.time(), UTC)

    def _expiry(self, minutes: int) -> str:
        return payloads.graph_time(self._now() + timedelta(minutes=minutes))


def _is_new_post(m: dict[str, Any], floor: datetime | None) -> bool:
    """A message someone posted (not a system event, not deleted) after ``floor``."""
    if m.get("messageType", "message") != "message" or m.get("deletedDateTime") or "@removed" in m:
        return False
    created = payloads.parse_time(m.get("createdDateTime"))
    return floor is None or (created is not None and created > floor)


def _cursor(cursor: str) -> dict[str, str]:
    try:
        state = json.loads(cursor)
        if isinstance(state, dict) and state.get("deltaLink") and state.get("createdAfter"):
            return {"deltaLink": str(state["deltaLink"]),
                    "createdAfter": str(state["createdAfter"])}
    except ValueError:
        pass
    raise UpstreamError("the stored poll cursor is not this trigger's; prime it again",
                        permanent=True)

