"""HubSpot CRM API v3: contacts, deals and notes; CRM webhooks.

API reference: https://developers.hubspot.com/docs/api/crm/understanding-the-crm
Rate limits: https://developers.hubspot.com/docs/api/usage-details
Webhooks (v3 signature): https://developers.hubspot.com/docs/api/webhooks/validating-requests
"""
from __future__ import annotations

from datetime import UTC
from datetime import datetime
from itertools import islice
from typing import Any
from urllib.parse import quote

import requests

from atom.integrations.base import InboundEvent
from atom.integrations.base import Integration
from atom.integrations.errors import AuthError
from atom.integrations.errors import RateLimited
from atom.integrations.errors import UpstreamError
from atom.integrations.errors import ValidationFailed
from atom.integrations.helpers import json_or_empty
from atom.integrations.http import parse_retry_after
from atom.integrations.http import snippet
from atom.integrations.pagination import CursorPaginator
from atom.integrations.webhooks import WebhookRequest
from plugins.hubspot.payloads import DEAL_TO_CONTACT
from plugins.hubspot.payloads import NOTE_TO_CONTACT
from plugins.hubspot.payloads import NOTE_TO_DEAL
from plugins.hubspot.payloads import association
from plugins.hubspot.payloads import contact_properties
from plugins.hubspot.payloads import error_details
from plugins.hubspot.payloads import iso_timestamp
from plugins.hubspot.payloads import record

OBJECTS = "/crm/v3/objects"
# Daily limits reset at midnight in the account's time zone, which no response states. Any
# wait above the client's max_server_wait makes it give up at once instead of sleeping.
DAILY_LIMIT_WAIT = 3600.0
# subscriptionType -> trigger. The newer generic subscriptions say "object.creation" and
# name the type in objectTypeId (0-1 contacts, 0-3 deals).
SUBSCRIPTIONS = {
    "contact.creation": "contact_created",
    "contact.propertyChange": "contact_updated",
    "contact.deletion": "contact_deleted",
    "deal.creation": "deal_created",
    "deal.propertyChange": "deal_updated",
    "deal.deletion": "deal_deleted",
}
OBJECT_TYPE_IDS = {"0-1": "contact", "0-3": "deal"}


def _header_number(response: requests.Response, name: str) -> float | None:
    try:
        return float(response.headers[name])
    except (KeyError, ValueError):
        return None


class HubSpotIntegration(Integration):
    """Contacts, deals and notes in one HubSpot account, through a private-app token."""

    def raise_for_response(self, response: requests.Response) -> None:
        """Map HubSpot's ``{"status": "error", "message", "category", "errors"}`` bodies.

        429 names its ``policyName``: a ten-secondly (or secondly) window is worth waiting for,
        an exhausted daily quota is not.
        """
        status = response.status_code
        if status < 400:
            return
        body = json_or_empty(response)
        message = f"HubSpot answered {status}: {body.get('message') or snippet(response)}"
        if body.get("category"):
            message += f" ({body['category']})"
        if status == 429:
            raise RateLimited(message, retry_after=self._rate_limit_wait(response, body),
                              status=status)
        if status in (401, 403):
            raise AuthError(message, status=status)
        if status in (400, 409, 422):
            raise ValidationFailed(message, status=status, details=error_details(body))
        retry_after = parse_retry_after(response.headers.get("Retry-After"))
        if status == 408 or status >= 500:
            raise UpstreamError(message, status=status, retry_after=retry_after)
        raise UpstreamError(message, status=status, permanent=True)

    @staticmethod
    def _rate_limit_wait(response: requests.Response, body: dict[str, Any]) -> float:
        policy = str(body.get("policyName") or "").upper()
        daily_left = _header_number(response, "X-HubSpot-RateLimit-Daily-Remaining")
        if policy == "DAILY" or daily_left == 0:
            return DAILY_LIMIT_WAIT
        retry_after = parse_retry_after(response.headers.get("Retry-After"))
        if retry_after is not None:
            return retry_after
        if policy == "SECONDLY":
            return 1.0
        interval = _header_number(response, "X-HubSpot-RateLimit-Interval-Milliseconds")
        return interval / 1000.0 if interval else 10.0

    def parse_rate_limit(self, response: requests.Response) -> tuple[int | None, float | None]:
        """The tighter of the rolling window (``-Remaining`` per ``-Interval-Milliseconds``)
        and the per-second window (``-Secondly-Remaining``, sent to OAuth apps).

        A 429's wait comes from :meth:`raise_for_response` (``Retry-After`` wins over the
        window length), so its headers are not read here.
        """
        if response.status_code == 429:
            return None, None
        windows: list[tuple[int, float]] = []
        remaining = _header_number(response, "X-HubSpot-RateLimit-Remaining")
        if remaining is not None:
            interval = _header_number(response, "X-HubSpot-RateLimit-Interval-Milliseconds")
            windows.append((int(remaining), interval / 1000.0 if interval else 10.0))
        secondly = _header_number(response, "X-HubSpot-RateLimit-Secondly-Remaining")
        if secondly is not None:
            windows.append((int(secondly), 1.0))
        return min(windows) if windows else (None, None)

    def health_check(self) -> None:
        self.http.get("/account-info/v3/details", operation="health")

    # -- contacts ---------------------------------------------------------------------------

    def create_contact(self, data: dict[str, Any]) -> dict[str, Any]:
        body = self.http.post(f"{OBJECTS}/contacts", json={"properties": contact_properties(data)},
                              operation="create_contact").json()
        return record(body)

    def update_contact(self, data: dict[str, Any]) -> dict[str, Any]:
        # Setting the same values twice changes nothing: safe to retry.
        body = self.http.patch(f"{OBJECTS}/contacts/{data['contact_id']}",
                               json={"properties": contact_properties(data)}, idempotent=True,
                               operation="update_contact").json()
        return record(body)

    def get_contact(self, data: dict[str, Any]) -> dict[str, Any]:
        params: dict[str, Any] = {"properties": ",".join(data["properties"])}
        if data.get("email"):
            key, params["idProperty"] = data["email"], "email"
        else:
            key = data["contact_id"]
        body = self.http.get(f"{OBJECTS}/contacts/{quote(key, safe='@')}",
                             params=params, operation="get_contact").json()
        return record(body)

    def search_contacts(self, data: dict[str, Any]) -> dict[str, Any]:
        request: dict[str, Any] = {"limit": data["limit"], "properties": data["properties"]}
        if data.get("query"):
            request["query"] = data["query"]
        if data.get("email"):
            request["filterGroups"] = [{"filters": [
                {"propertyName": "email", "operator": "EQ", "value": data["email"]}]}]
        if data.get("after"):
            request["after"] = data["after"]
        # A search changes nothing, so the POST is safe to retry.
        body = self.http.post(f"{OBJECTS}/contacts/search", json=request, idempotent=True,
                              operation="search_contacts").json()
        nxt = ((body.get("paging") or {}).get("next") or {}).get("after")
        return {"total": body.get("total", 0), "results": [record(r) for r in body["results"]],
                "next_after": nxt}

    # -- deals and notes ----------------------------------------------------------------------

    def create_deal(self, data: dict[str, Any]) -> dict[str, Any]:
        props: dict[str, Any] = {"dealname": data["dealname"], "pipeline": data["pipeline"],
                                 "dealstage": data["dealstage"]}
        if data.get("amount") is not None:
            props["amount"] = str(data["amount"])
        if data.get("closedate"):
            props["closedate"] = iso_timestamp(data["closedate"])
        props.update(data.get("properties") or {})
        payload: dict[str, Any] = {"properties": props}
        if data.get("contact_id"):
            payload["associations"] = [association(data["contact_id"], DEAL_TO_CONTACT)]
        body = self.http.post(f"{OBJECTS}/deals", json=payload, operation="create_deal").json()
        return record(body)

    def list_deals(self, data: dict[str, Any]) -> dict[str, Any]:
        paginator = CursorPaginator(items="results", cursor_path="paging.next.after",
                                    cursor_param="after")
        params = {"limit": min(data["page_size"], data["max_results"]),
                  "properties": ",".join(data["properties"]), "archived": "false"}
        pages = self.http.paginate(f"{OBJECTS}/deals", paginator, params=params,
                                   operation="list_deals")
        deals = [record(d) for d in islice(pages, data["max_results"])]
        return {"deals": deals, "count": len(deals)}

    def create_note(self, data: dict[str, Any]) -> dict[str, Any]:
        when = data.get("timestamp") or datetime.now(UTC)
        payload: dict[str, Any] = {
            "properties": {"hs_note_body": data["body"], "hs_timestamp": iso_timestamp(when)}}
        associations = []
        if data.get("contact_id"):
            associations.append(association(data["contact_id"], NOTE_TO_CONTACT))
        if data.get("deal_id"):
            associations.append(association(data["deal_id"], NOTE_TO_DEAL))
        if associations:
            payload["associations"] = associations
        body = self.http.post(f"{OBJECTS}/notes", json=payload, operation="create_note").json()
        return record(body)

    # -- webhooks -----------------------------------------------------------------------------

    def parse_webhook(self, req: WebhookRequest, payload: Any) -> list[InboundEvent]:
        """One event per element of the JSON array HubSpot posts; delivery id = ``eventId``.

        HubSpot batches up to 100 events per request and retries a failed request whole, so
        the per-event id is what de-duplicates.
        """
        if not isinstance(payload, list):
            raise ValidationFailed("a HubSpot webhook body is a JSON array of events")
        events = []
        for item in payload:
            if not isinstance(item, dict) or item.get("eventId") is None:
                raise ValidationFailed("a HubSpot webhook event has no eventId")
            name = self._trigger(item)
            if name is None:
                self.log.debug("ignoring HubSpot subscription %r", item.get("subscriptionType"))
                continue
            events.append(InboundEvent(name, str(item["eventId"]), item))
        return events

    @staticmethod
    def _trigger(item: dict[str, Any]) -> str | None:
        kind = str(item.get("subscriptionType") or "")
        if kind.startswith("object."):
            obj = OBJECT_TYPE_IDS.get(str(item.get("objectTypeId")))
            kind = f"{obj}.{kind[len('object.'):]}" if obj else kind
        return SUBSCRIPTIONS.get(kind)
