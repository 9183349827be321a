"""Drive queries, upload bodies, and the file shapes returned to workflows.

Files keep Drive's field names (``id``, ``name``, ``mimeType``, ``parents``, ``webViewLink``,
``size`` as a string of bytes), in actions and the trigger alike.
"""
from __future__ import annotations

import json
import uuid
from datetime import datetime
from typing import Any

# The file fields asked for (``fields=``) and returned.
FILE_FIELDS = ("id,name,mimeType,parents,webViewLink,webContentLink,iconLink,size,createdTime,"
               "modifiedTime,trashed,driveId,description,owners(emailAddress,displayName),"
               "lastModifyingUser(emailAddress,displayName)")
FILE_KEYS = ("id", "name", "mimeType", "parents", "webViewLink", "webContentLink", "iconLink",
             "size", "createdTime", "modifiedTime", "trashed", "driveId", "description",
             "owners", "lastModifyingUser")
LIST_FIELDS = f"nextPageToken,incompleteSearch,files({FILE_FIELDS})"
CHANGE_FIELDS = (f"nextPageToken,newStartPageToken,"
                 f"changes(changeType,removed,fileId,time,file({FILE_FIELDS}))")
PERMISSION_FIELDS = "id,type,role,emailAddress,domain,displayName,allowFileDiscovery"


def quoted(value: str) -> str:
    """A string literal of Drive's query language: quotes and backslashes escaped."""
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def query(data: dict[str, Any]) -> str:
    """Drive's ``q`` for the simple filters of ``list_files`` (and a raw ``query``)."""
    terms = []
    if data.get("folder_id"):
        terms.append(f"{quoted(data['folder_id'])} in parents")
    if data.get("name"):
        terms.append(f"name = {quoted(data['name'])}")
    if data.get("name_contains"):
        terms.append(f"name contains {quoted(data['name_contains'])}")
    if data.get("mime_type"):
        terms.append(f"mimeType = {quoted(data['mime_type'])}")
    if isinstance(data.get("modified_after"), datetime):
        terms.append(f"modifiedTime > {quoted(data['modified_after'].isoformat())}")
    terms.append(f"trashed = {'true' if data.get('trashed') else 'false'}")
    if data.get("query"):
        terms.append(f"({data['query']})")
    return " and ".join(terms)


def file(f: dict[str, Any]) -> dict[str, Any]:
    out = {k: f[k] for k in FILE_KEYS if k in f}
    out["id"] = f["id"]
    if isinstance(out.get("owners"), list):
        out["owners"] = [_user(u) for u in out["owners"] if isinstance(u, dict)]
    if isinstance(out.get("lastModifyingUser"), dict):
        out["lastModifyingUser"] = _user(out["lastModifyingUser"])
    return out


def _user(u: dict[str, Any]) -> dict[str, Any]:
    return {k: u[k] for k in ("emailAddress", "displayName") if k in u}


def permission(p: dict[str, Any], file_id: str) -> dict[str, Any]:
    return {"id": p["id"], "file_id": file_id, "type": p.get("type"), "role": p.get("role"),
            "emailAddress": p.get("emailAddress"), "domain": p.get("domain"),
            "displayName": p.get("displayName")}


def multipart(metadata: dict[str, Any], content: bytes, mime_type: str) -> tuple[bytes, str]:
    """A ``multipart/related`` upload body (metadata, then media) and its Content-Type.

    https://developers.google.com/workspace/drive/api/guides/manage-uploads#multipart
    """
    boundary = f"atom-{uuid.uuid4().hex}"
    while boundary.encode() in content:  # vanishingly unlikely, but never ambiguous
        boundary = f"atom-{uuid.uuid4().hex}"
    head = (f"--{boundary}\r\nContent-Type: application/json; charset=UTF-8\r\n\r\n"
            f"{json.dumps(metadata)}\r\n--{boundary}\r\nContent-Type: {mime_type}\r\n\r\n")
    body = head.encode() + content + f"\r\n--{boundary}--\r\n".encode()
    return body, f"multipart/related; boundary={boundary}"
