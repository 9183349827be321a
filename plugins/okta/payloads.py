"""Okta JSON shaped into action outputs and trigger payloads (pure functions).

User: https://developer.okta.com/docs/api/openapi/okta-management/management/tag/User/
(``id``, ``status``, ``created``, ``activated``, ``lastLogin``, ``profile``); Group: ``id``,
``type``, ``profile.name``/``description``. Event hooks deliver System Log events
(https://developer.okta.com/docs/reference/api/system-log/#logevent-object) whose ``target[]``
names the user (type ``User``) and group (type ``UserGroup``).
"""
from __future__ import annotations

from typing import Any

PROFILE_OUT = ("login", "email", "firstName", "lastName", "mobilePhone", "department", "title")


def user(raw: dict[str, Any]) -> dict[str, Any]:
    profile = raw.get("profile") if isinstance(raw.get("profile"), dict) else {}
    return {"id": raw.get("id"), "status": raw.get("status"), "login": profile.get("login"),
            "email": profile.get("email"), "created": raw.get("created"),
            "activated": raw.get("activated"), "last_login": raw.get("lastLogin"),
            "last_updated": raw.get("lastUpdated"), "profile": profile}


def group(raw: dict[str, Any]) -> dict[str, Any]:
    profile = raw.get("profile") if isinstance(raw.get("profile"), dict) else {}
    return {"id": raw.get("id"), "type": raw.get("type"), "name": profile.get("name"),
            "description": profile.get("description"), "created": raw.get("created"),
            "last_membership_updated": raw.get("lastMembershipUpdated")}


def _target(event: dict[str, Any], kind: str) -> dict[str, Any] | None:
    for target in event.get("target") or []:
        if isinstance(target, dict) and target.get("type") == kind:
            return {"id": target.get("id"), "alternate_id": target.get("alternateId"),
                    "display_name": target.get("displayName")}
    return None


def event(raw: dict[str, Any]) -> dict[str, Any]:
    """A System Log event as a trigger hands it over: Okta's own fields, plus ``user`` and
    ``group`` (the targets of those types; a group event's user is a target too)."""
    return {**raw, "user": _target(raw, "User"), "group": _target(raw, "UserGroup")}
