"""Graph driveItems, sharing links and subscriptions shaped into what the OneDrive actions
return and the triggers deliver.

Items keep few, flat fields (``parentReference`` becomes ``parent_id``/``drive_id``/``path``).
``@microsoft.graph.downloadUrl`` is left out: it is a short-lived, pre-authenticated URL,
as good as a credential for the file.
"""
from __future__ import annotations

from typing import Any

from plugins.microsoft_common import parse_time


def _int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.isdigit():
        return int(value)
    return None


def _who(identity: Any) -> str | None:
    user = (identity or {}).get("user") if isinstance(identity, dict) else None
    name = user.get("displayName") if isinstance(user, dict) else None
    return name if isinstance(name, str) else None


def item(i: dict[str, Any]) -> dict[str, Any]:
    parent = i.get("parentReference") if isinstance(i.get("parentReference"), dict) else {}
    file = i.get("file") if isinstance(i.get("file"), dict) else None
    folder = i.get("folder") if isinstance(i.get("folder"), dict) else None
    return {
        "id": str(i["id"]),
        "name": i.get("name"),
        "size": _int(i.get("size")),
        "mime_type": file.get("mimeType") if file else None,
        "is_folder": folder is not None,
        "child_count": _int(folder.get("childCount")) if folder else None,
        "web_url": i.get("webUrl"),
        "created_at": i.get("createdDateTime"),
        "modified_at": i.get("lastModifiedDateTime"),
        "created_by": _who(i.get("createdBy")),
        "modified_by": _who(i.get("lastModifiedBy")),
        "parent_id": parent.get("id"),
        "drive_id": parent.get("driveId"),
        "path": parent.get("path"),
        "e_tag": i.get("eTag"),
        "c_tag": i.get("cTag"),
    }


def changed_file(i: dict[str, Any]) -> dict[str, Any]:
    """A file of the delta feed for ``file_changed``: the item with ``change_key``, which is
    new for each version (the eTag changes with content and metadata)."""
    out = item(i)
    version = out["e_tag"] or out["c_tag"] or out["modified_at"] or ""
    return {**out, "change_key": f"{out['id']}@{version}"}


def share_link(p: dict[str, Any], item_id: str) -> dict[str, Any]:
    link = p.get("link") if isinstance(p.get("link"), dict) else {}
    roles = p.get("roles") if isinstance(p.get("roles"), list) else []
    return {"id": p.get("id"), "item_id": item_id, "type": link.get("type"),
            "scope": link.get("scope"), "web_url": link.get("webUrl"),
            "roles": [r for r in roles if isinstance(r, str)],
            "expires_at": p.get("expirationDateTime")}


def subscription(s: dict[str, Any]) -> dict[str, Any]:
    return {"id": s["id"], "resource": s.get("resource"), "change_type": s.get("changeType"),
            "notification_url": s.get("notificationUrl"),
            "expires_at": s.get("expirationDateTime")}


def edited_after_creation(i: dict[str, Any], slack_s: float = 2.0) -> bool:
    """Whether an item was modified after it was made (not just uploaded): its
    lastModifiedDateTime is more than ``slack_s`` past its createdDateTime (an upload sets both
    within moments of each other; verify for uploads through long sessions)."""
    created, modified = parse_time(i.get("createdDateTime")), parse_time(i.get("lastModifiedDateTime"))
    if created is None or modified is None:
        return True
    return (modified - created).total_seconds() > slack_s
