"""Sample deliveries of the Zendesk triggers: the bodies Zendesk sends for event-subscribed
webhooks, as documented in the ticket events reference
(https://developer.zendesk.com/api-reference/webhooks/event-types/ticket-events/: the envelope
``account_id``, ``detail``, ``event``, ``id``, ``subject``, ``time``, ``type``,
``zendesk_event_version``; ids in ``detail`` are strings, enums upper case), and the payloads
ATOM hands to workflows (:func:`plugins.zendesk.payloads.normalise`). The comment event's
``event.comment`` fields follow the same page (verify the exact author fields)."""
from __future__ import annotations

from plugins.zendesk.payloads import normalise

TICKET_ID = 35436

_DETAIL = {
    "actor_id": "8447388090494", "assignee_id": "8447388090494", "brand_id": "8447346621310",
    "created_at": "2025-01-08T10:12:07Z", "custom_status": "8447388090494",
    "description": "My printer is on fire!", "external_id": None, "form_id": "8646151517822",
    "group_id": "8447320466430", "id": str(TICKET_ID), "is_public": True,
    "organization_id": "8447346622462", "priority": "LOW", "requester_id": "8447388090494",
    "status": "OPEN", "subject": "Help, my printer is on fire!",
    "submitter_id": "8447388090494", "tags": ["printer", "fire"], "type": "INCIDENT",
    "updated_at": "2025-01-08T10:12:07Z", "via": {"channel": "web_service"},
}


def _delivery(kind: str, event: dict, event_id: str, **detail: object) -> dict:
    return {"account_id": 12514403, "detail": {**_DETAIL, **detail}, "event": event,
            "id": event_id, "subject": f"zen:ticket:{TICKET_ID}",
            "time": "2025-01-08T10:12:07.672717030Z", "type": f"zen:event-type:ticket.{kind}",
            "zendesk_event_version": "2022-11-06"}


RAW_TICKET_CREATED = _delivery("created", {}, "cbe4028c-7239-495d-b020-f22348516046")
RAW_STATUS_CHANGED = _delivery("status_changed", {"current": "PENDING", "previous": "OPEN"},
                               "0d1c6e9a-6cd2-4b3e-8a4e-5b1a3f7d2c11", status="PENDING",
                               updated_at="2025-01-08T11:02:41Z")
RAW_PRIORITY_URGENT = _delivery("priority_changed", {"current": "URGENT", "previous": "LOW"},
                                "6f2b8a40-1e0d-4c8b-9d65-2a7f3c9e8b02", priority="URGENT",
                                updated_at="2025-01-08T11:05:09Z")
RAW_COMMENT_ADDED = _delivery(
    "comment_added",
    {"comment": {"id": "8923651203715", "body": "Have you tried turning it off and on again?",
                 "is_public": True,
                 "author": {"id": "8447388090494", "is_staff": True, "name": "Sam Agent"}}},
    "a81d7e2f-4c0b-47d5-b8c3-91e06f5d3a27", updated_at="2025-01-08T11:10:00Z")


def _normalised(raw: dict) -> dict:
    found = normalise(raw, "sample")
    assert found is not None
    return found[1]


TICKET_CREATED = _normalised(RAW_TICKET_CREATED)
TICKET_UPDATED = _normalised(RAW_STATUS_CHANGED)
TICKET_PRIORITY_URGENT = _normalised(RAW_PRIORITY_URGENT)
TICKET_COMMENT_ADDED = _normalised(RAW_COMMENT_ADDED)
