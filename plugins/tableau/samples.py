"""Sample webhook deliveries of the Tableau triggers (pure data), in the payload shape of the
webhooks reference (https://help.tableau.com/current/developer/webhooks/en-us/docs/webhooks-events-payload.html;
field names: see plugins.tableau.payloads), and the LUIDs the action examples use."""
from __future__ import annotations

SITE_ID = "8b2a95d8-52b9-40a4-8712-cd6da771bd1b"
WORKBOOK_ID = "5f3a0b5e-1d2c-4c8e-9a61-0b7c2d9e4f10"
VIEW_ID = "9d7c1a4e-2b3f-4e5a-8c6d-1e2f3a4b5c6d"
DATASOURCE_ID = "0c1d2e3f-4a5b-4c6d-8e7f-9a0b1c2d3e4f"
JOB_ID = "ee8c6e70-43b6-11e6-af4f-f7b0d8e20760"


def _raw(event_type: str, resource: str, name: str, luid: str) -> dict:
    return {"resource": resource, "event_type": event_type, "resource_name": name,
            "site_luid": SITE_ID, "resource_luid": luid, "created_at": "2024-05-14T09:31:12Z"}


RAW = {
    "workbook_refresh_succeeded": _raw("WorkbookRefreshSucceeded", "WORKBOOK", "Sales Overview",
                                       WORKBOOK_ID),
    "workbook_refresh_failed": _raw("WorkbookRefreshFailed", "WORKBOOK", "Sales Overview",
                                    WORKBOOK_ID),
    "datasource_refresh_succeeded": _raw("DatasourceRefreshSucceeded", "DATASOURCE",
                                         "Opportunities", DATASOURCE_ID),
    "datasource_refresh_failed": _raw("DatasourceRefreshFailed", "DATASOURCE", "Opportunities",
                                      DATASOURCE_ID),
    "workbook_created": _raw("WorkbookCreated", "WORKBOOK", "Pipeline 2024", WORKBOOK_ID),
    "view_deleted": _raw("ViewDeleted", "VIEW", "Regional Sales", VIEW_ID),
}


def _event(raw: dict) -> dict:
    return {"event_type": raw["event_type"], "resource": raw["resource"],
            "resource_name": raw["resource_name"], "resource_id": raw["resource_luid"],
            "site_id": raw["site_luid"], "created_at": raw["created_at"]}


EVENTS = {name: _event(raw) for name, raw in RAW.items()}
