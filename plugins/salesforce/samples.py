"""Trigger samples: records as the REST API answers a SOQL query (``attributes`` removed),
with the change id ATOM adds."""
from __future__ import annotations

_LEAD = {
    "Id": "00Q5e00000AbCdEEAZ",
    "IsDeleted": False,
    "LastName": "Lovelace",
    "FirstName": "Ada",
    "Name": "Ada Lovelace",
    "Title": "Head of Analytics",
    "Company": "Analytical Engines Ltd",
    "Email": "ada@example.com",
    "Phone": "+44 20 7946 0000",
    "Status": "Open - Not Contacted",
    "LeadSource": "Web",
    "OwnerId": "0055e000001AbCdAAK",
    "CreatedDate": "2026-03-02T09:00:00.000+0000",
    "LastModifiedDate": "2026-03-02T09:00:00.000+0000",
    "SystemModstamp": "2026-03-02T09:00:00.000+0000",
}

RECORD_CREATED = {**_LEAD, "change_id": "00Q5e00000AbCdEEAZ@2026-03-02T09:00:00.000+0000"}
RECORD_UPDATED = {**_LEAD, "Status": "Working - Contacted",
                  "LastModifiedDate": "2026-03-02T10:15:07.000+0000",
                  "SystemModstamp": "2026-03-02T10:15:07.000+0000",
                  "change_id": "00Q5e00000AbCdEEAZ@2026-03-02T10:15:07.000+0000"}
