"""Sample webhook deliveries of the Linear triggers (pure data).

The envelope is Linear's data-change payload (https://linear.app/developers/webhooks: action,
actor, createdAt, data, url, type, organizationId, webhookTimestamp in ms, webhookId, and
updatedFrom on updates); ``data`` carries the fields of the schema's IssueWebhookPayload and
CommentWebhookPayload types (shared/specs/linear.graphql). A stored event is the body as it is.
"""
from __future__ import annotations

_ACTOR = {"id": "2e6eea91-1111-0000-9486-acea0603064c", "type": "user",
          "name": "Linear Product Team", "email": "product@linear.example",
          "url": "https://linear.app/linear/profiles/product"}
_TEAM = {"id": "72b2a2dc-6f4f-4423-9d34-24b5bd10634a", "key": "ENG", "name": "Engineering"}
_ISSUE = {
    "id": "539068e2-ae88-4d09-bd75-22eb4a59612f", "identifier": "ENG-1778", "number": 1778,
    "title": "Checkout fails for EU customers", "description": "Steps to reproduce: ...",
    "priority": 2, "priorityLabel": "High", "prioritySortOrder": -1778, "sortOrder": -1778,
    "estimate": None, "boardOrder": 0, "createdAt": "2025-05-20T12:53:18.084Z",
    "updatedAt": "2025-05-20T12:53:18.084Z", "archivedAt": None, "startedAt": None,
    "completedAt": None, "canceledAt": None, "dueDate": None, "trashed": None,
    "teamId": _TEAM["id"], "team": _TEAM,
    "stateId": "6d1c9e5b-0f43-4a5e-9a9c-1b8f3a7e2d10",
    "state": {"id": "6d1c9e5b-0f43-4a5e-9a9c-1b8f3a7e2d10", "color": "#e2e2e2",
              "name": "Todo", "type": "unstarted"},
    "assigneeId": None, "assignee": None,
    "creatorId": "aacdca22-6266-4c0a-ab3c-8fa70a26765c",
    "labelIds": ["f3a7c1d2-9b8e-4d6f-a1c2-3e4f5a6b7c8d"],
    "labels": [{"id": "f3a7c1d2-9b8e-4d6f-a1c2-3e4f5a6b7c8d", "color": "#eb5757",
                "name": "Bug", "parentId": None}],
    "subscriberIds": ["aacdca22-6266-4c0a-ab3c-8fa70a26765c"], "previousIdentifiers": [],
    "reactionData": {}, "url": "https://linear.app/acme/issue/ENG-1778/checkout-fails-for-eu-customers",
}


def _envelope(action: str, kind: str, data: dict, webhook_ts: int, **extra) -> dict:
    return {"action": action, "actor": _ACTOR, "createdAt": data["updatedAt"], "data": data,
            "url": data["url"], "type": kind,
            "organizationId": "b6a7d1f0-23b4-4c5d-8e9f-0a1b2c3d4e5f",
            "webhookTimestamp": webhook_ts, "webhookId": "000042e3-d123-4980-b49f-8e140eef9329",
            **extra}


ISSUE_CREATED = _envelope("create", "Issue", _ISSUE, 1747745598508)

ISSUE_UPDATED = _envelope("update", "Issue", {
    **_ISSUE, "updatedAt": "2025-05-20T14:02:11.310Z", "priority": 1, "priorityLabel": "Urgent",
}, 1747749731420, updatedFrom={"priority": 2, "updatedAt": "2025-05-20T12:53:18.084Z"})

ISSUE_STATE_CHANGED = _envelope("update", "Issue", {
    **_ISSUE, "updatedAt": "2025-05-20T15:30:00.000Z", "startedAt": "2025-05-20T15:30:00.000Z",
    "stateId": "a9f8e7d6-c5b4-4a39-8271-605f4e3d2c1b",
    "state": {"id": "a9f8e7d6-c5b4-4a39-8271-605f4e3d2c1b", "color": "#f2c94c",
              "name": "In Progress", "type": "started"},
}, 1747755000120, updatedFrom={"stateId": "6d1c9e5b-0f43-4a5e-9a9c-1b8f3a7e2d10",
                               "startedAt": None, "updatedAt": "2025-05-20T14:02:11.310Z"})

COMMENT_CREATED = _envelope("create", "Comment", {
    "id": "2174add1-f7c8-44e3-bbf3-2d60b5ea8bc9", "createdAt": "2025-05-20T16:00:00.000Z",
    "updatedAt": "2025-05-20T16:00:00.000Z", "archivedAt": None, "editedAt": None,
    "body": "Indeed, I think that this is a good idea.", "reactionData": {},
    "issueId": _ISSUE["id"],
    "issue": {"id": _ISSUE["id"], "identifier": "ENG-1778", "title": _ISSUE["title"],
              "teamId": _TEAM["id"], "team": _TEAM, "url": _ISSUE["url"]},
    "userId": "aacdca22-6266-4c0a-ab3c-8fa70a26765c",
    "user": {"id": "aacdca22-6266-4c0a-ab3c-8fa70a26765c", "name": "Grace Hopper",
             "email": "grace@linear.example", "url": "https://linear.app/acme/profiles/grace",
             "avatarUrl": None},
    "url": _ISSUE["url"] + "#comment-2174add1",
}, 1747756800333)
