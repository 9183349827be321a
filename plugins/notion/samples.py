"""Webhook events of the Notion triggers, as Notion delivers them (pure data).

Shapes from https://developers.notion.com/reference/webhooks-events-delivery and the per-event
references (https://developers.notion.com/reference/webhooks/page-created, ...). Events are
signals: they carry ids, not content; fetch the page with get_page. Subscriptions on API
version 2025-09-03 name the data source of a database parent (``data_source_id``).
"""
from __future__ import annotations

from typing import Any

_WORKSPACE = "13950b26-c203-4f3b-b97d-93ec06319565"
_PAGE = "153104cd-477e-809d-8dc4-ff2d96ae3090"
_DATABASE_PARENT = {"id": "1a2104cd-477e-8055-9e0c-c7a3b7f1e7b2", "type": "database",
                    "data_source_id": "1a2104cd-477e-80c9-b4d1-000b2f5ad3e1"}


def _event(event_id: str, kind: str, timestamp: str, entity: dict[str, Any],
           data: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": event_id,
        "timestamp": timestamp,
        "workspace_id": _WORKSPACE,
        "workspace_name": "Quantify Labs",
        "subscription_id": "29d75c0d-5546-4414-8459-7b7a92f1fc4b",
        "integration_id": "0ef2e755-4912-8096-91c1-00376a88a5ca",
        "type": kind,
        "authors": [{"id": "c7c11cca-1d73-471d-9b6e-bdef51470190", "type": "person"}],
        "accessible_by": [{"id": "556a1abf-4f08-40c6-878a-75890d2a88ba", "type": "person"},
                          {"id": "1edc05f6-2702-81b5-8408-00279347f034", "type": "bot"}],
        "attempt_number": 1,
        "api_version": "2025-09-03",
        "entity": entity,
        "data": data,
    }


PAGE_CREATED = _event("367cba44-b6f3-4c92-81e7-6a2e9659efd4", "page.created",
                      "2024-12-05T23:55:34.285Z", {"id": _PAGE, "type": "page"},
                      {"parent": _DATABASE_PARENT})
PAGE_PROPERTIES_UPDATED = _event(
    "1782edd6-a853-4d4a-b02c-9c8c16f28e53", "page.properties_updated",
    "2024-12-05T23:57:05.379Z", {"id": _PAGE, "type": "page"},
    {"parent": _DATABASE_PARENT, "updated_properties": ["XGe%40", "bDf%5B", "DbAu"]})
PAGE_CONTENT_UPDATED = _event(
    "56c5c1aa-9a94-43a4-86c7-1f38e5a8e0b9", "page.content_updated",
    "2024-12-05T23:58:12.143Z", {"id": _PAGE, "type": "page"},
    {"parent": {"id": _WORKSPACE, "type": "space"},
     "updated_blocks": [{"id": "153104cd-477e-8030-b8a3-f4fe2b9e0d55", "type": "block"},
                        {"id": "153104cd-477e-80ea-9d22-d6e5b5c2f7b3", "type": "block"}]})
COMMENT_CREATED = _event(
    "c6bb4b2c-8f35-4f7f-9b0b-bb0a1e4a5f2a", "comment.created",
    "2024-12-05T20:46:44.288Z", {"id": "15a104cd-477e-80c2-9d66-001dee95e8e5", "type": "comment"},
    {"page_id": _PAGE, "parent": {"id": _PAGE, "type": "page"}})
