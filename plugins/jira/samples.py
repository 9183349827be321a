"""Realistic webhook bodies of Jira Cloud, the samples of the plugin's triggers.

Shapes from https://developer.atlassian.com/cloud/jira/platform/webhooks/ (admin webhooks).
"""
from __future__ import annotations

from typing import Any

USER: dict[str, Any] = {
    "accountId": "5b10a2844c20165700ede21g",
    "displayName": "Mia Krystof",
    "active": True,
    "timeZone": "Europe/Berlin",
    "self": "https://acme.atlassian.net/rest/api/2/user?accountId=5b10a2844c20165700ede21g",
}

ISSUE: dict[str, Any] = {
    "id": "10002",
    "key": "ED-24",
    "self": "https://acme.atlassian.net/rest/api/2/issue/10002",
    "fields": {
        "summary": "Checkout fails for EU customers",
        "issuetype": {"id": "10001", "name": "Bug"},
        "project": {"id": "10000", "key": "ED", "name": "Edison"},
        "status": {"id": "10000", "name": "To Do"},
        "priority": {"id": "2", "name": "High"},
        "labels": ["checkout"],
        "assignee": None,
        "reporter": USER,
        "created": "2024-06-12T10:15:30.000+0000",
        "updated": "2024-06-12T10:15:30.000+0000",
    },
}

COMMENT: dict[str, Any] = {
    "id": "10050",
    "self": "https://acme.atlassian.net/rest/api/2/issue/10002/comment/10050",
    "author": USER,
    "body": "Reproduced on staging with a German card.",
    "created": "2024-06-12T10:20:00.000+0000",
    "updated": "2024-06-12T10:20:00.000+0000",
}

ISSUE_CREATED: dict[str, Any] = {
    "timestamp": 1718187330000,
    "webhookEvent": "jira:issue_created",
    "issue_event_type_name": "issue_created",
    "user": USER,
    "issue": ISSUE,
}

ISSUE_UPDATED: dict[str, Any] = {
    "timestamp": 1718188000000,
    "webhookEvent": "jira:issue_updated",
    "issue_event_type_name": "issue_generic",
    "user": USER,
    "issue": ISSUE,
    "changelog": {"id": "10120", "items": [
        {"field": "status", "fieldtype": "jira", "fieldId": "status", "from": "10000",
         "fromString": "To Do", "to": "3", "toString": "In Progress"},
    ]},
}

ISSUE_DELETED: dict[str, Any] = {
    "timestamp": 1718190000000,
    "webhookEvent": "jira:issue_deleted",
    "issue_event_type_name": "issue_deleted",
    "user": USER,
    "issue": ISSUE,
}

COMMENT_CREATED: dict[str, Any] = {
    "timestamp": 1718188800000,
    "webhookEvent": "comment_created",
    "comment": COMMENT,
    "issue": {"id": "10002", "key": "ED-24", "self": ISSUE["self"],
              "fields": {"summary": ISSUE["fields"]["summary"]}},
}
