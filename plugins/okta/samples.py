"""Sample events of the Okta triggers (pure data): System Log events as an event hook delivers
them in ``data.events[]`` (https://developer.okta.com/docs/concepts/event-hooks/, "Sample event
delivery payload"; LogEvent fields from https://developer.okta.com/docs/reference/api/system-log/),
plus the ``user``/``group`` targets ATOM adds (plugins.okta.payloads.event)."""
from __future__ import annotations

_ACTOR = {"id": "00u1qw1mqitPHM8AJ0g7", "type": "User", "alternateId": "admin@example.com",
          "displayName": "Jo Admin", "detailEntry": None}
_USER = {"id": "00ub0oNGTSWTBKOLGLNR", "type": "User", "alternateId": "isaac.brock@example.com",
         "displayName": "Isaac Brock", "detailEntry": None}
_GROUP = {"id": "00g1emaKYZTWRYYRRTSK", "type": "UserGroup", "alternateId": "unknown",
          "displayName": "Engineering", "detailEntry": None}
_USER_OUT = {"id": "00ub0oNGTSWTBKOLGLNR", "alternate_id": "isaac.brock@example.com",
             "display_name": "Isaac Brock"}
_GROUP_OUT = {"id": "00g1emaKYZTWRYYRRTSK", "alternate_id": "unknown",
              "display_name": "Engineering"}


def _event(uuid: str, event_type: str, message: str, targets: list, published: str) -> dict:
    return {"uuid": uuid, "published": published, "eventType": event_type, "version": "0",
            "displayMessage": message, "severity": "INFO", "actor": _ACTOR,
            "outcome": {"result": "SUCCESS", "reason": None}, "target": targets,
            "transaction": {"type": "WEB", "id": "Xb1TAMvxLS6oY8C8sZSvTgAABUE", "detail": {}},
            "legacyEventType": None}


USER_CREATED_RAW = _event("f8e5a5b5-51f2-11ee-9a6b-2d8a1c0f3b11", "user.lifecycle.create",
                          "Create okta user", [_USER], "2024-06-03T14:55:21.187Z")
USER_ACTIVATED_RAW = _event("0b5c2f31-51f3-11ee-9a6b-2d8a1c0f3b11", "user.lifecycle.activate",
                            "Activate Okta user", [_USER], "2024-06-03T14:55:22.014Z")
USER_DEACTIVATED_RAW = _event("1c7d4a02-51f3-11ee-9a6b-2d8a1c0f3b11",
                              "user.lifecycle.deactivate", "Deactivate Okta user", [_USER],
                              "2024-06-04T09:12:03.512Z")
USER_ADDED_TO_GROUP_RAW = _event("2d9e6b13-51f3-11ee-9a6b-2d8a1c0f3b11",
                                 "group.user_membership.add", "Add user to group membership",
                                 [_USER, _GROUP], "2024-06-03T14:56:00.301Z")

USER_CREATED = {**USER_CREATED_RAW, "user": _USER_OUT, "group": None}
USER_ACTIVATED = {**USER_ACTIVATED_RAW, "user": _USER_OUT, "group": None}
USER_DEACTIVATED = {**USER_DEACTIVATED_RAW, "user": _USER_OUT, "group": None}
USER_ADDED_TO_GROUP = {**USER_ADDED_TO_GROUP_RAW, "user": _USER_OUT, "group": _GROUP_OUT}


def delivery(*events: dict) -> dict:
    """An event hook delivery carrying ``events`` (Okta's envelope)."""
    return {"eventType": "com.okta.event_hook", "eventTypeVersion": "1.0",
            "cloudEventsVersion": "0.1",
            "source": "https://acme.okta.com/api/v1/eventHooks/whoql0HfiLGPWc8Jx0g3",
            "eventId": "b5a188b9-5ece-4636-b041-482ffda96311",
            "data": {"events": list(events)}, "eventTime": "2024-06-03T14:56:01.000Z",
            "contentType": "application/json"}
