"""Sample events of the Asana triggers (pure data).

Asana POSTs ``{"events": [...]}``; ATOM stores each event of the array as one trigger payload.
The shapes are Asana's compact webhook events (https://developers.asana.com/docs/webhooks-guide
and the Event schema of https://developers.asana.com/reference/events): gids and resource types
only, the changed field's name, and the new value only when it is a resource.
"""
from __future__ import annotations

_USER = {"gid": "1201234567890123", "resource_type": "user"}
_TASK = {"gid": "1207654321098765", "resource_type": "task", "resource_subtype": "default_task"}
_PROJECT = {"gid": "1209876543210987", "resource_type": "project"}

TASK_CREATED = {"user": _USER, "created_at": "2024-06-03T14:55:21.187Z", "action": "added",
                "resource": _TASK, "parent": _PROJECT}
TASK_COMPLETED = {"user": _USER, "created_at": "2024-06-04T09:12:03.512Z", "action": "changed",
                  "resource": _TASK, "parent": None,
                  "change": {"field": "completed", "action": "changed"}}
TASK_UPDATED = {"user": _USER, "created_at": "2024-06-03T15:02:47.930Z", "action": "changed",
                "resource": _TASK, "parent": None,
                "change": {"field": "assignee", "action": "changed",
                           "new_value": {"gid": "1201234567890999", "resource_type": "user"}}}
TASK_DELETED = {"user": _USER, "created_at": "2024-06-05T11:40:18.004Z", "action": "deleted",
                "resource": _TASK, "parent": None}
COMMENT_ADDED = {"user": _USER, "created_at": "2024-06-03T16:20:09.615Z", "action": "added",
                 "resource": {"gid": "1207777777777777", "resource_type": "story",
                              "resource_subtype": "comment_added"},
                 "parent": {"gid": "1207654321098765", "resource_type": "task",
                            "resource_subtype": "default_task"}}
