"""Box items as workflows see them, and the upload request bodies.

Items keep Box's field names (https://developer.box.com/reference/resources/file/ and
/folder/): ``id``, ``type`` (file, folder, web_link), ``name``, ``size`` (bytes, a number),
``sha1``, ``etag``, ``parent`` ({id, name}), ``path`` (the folder names from All Files down),
``created_at``/``modified_at``, ``shared_link``, ``item_status``.
"""
from __future__ import annotations

import json
import uuid
from typing import Any

from plugins.box.schemas import MIME_RE

# Asked for with ``fields=`` (Box answers a mini representation otherwise).
FIELDS = ("id,type,name,size,sha1,etag,sequence_id,description,parent,path_collection,"
          "created_at,modified_at,content_created_at,content_modified_at,item_status,"
          "shared_link,created_by,modified_by")
LIST_FIELDS = "id,type,name,size,sha1,etag,parent,modified_at,item_status,shared_link"
KEYS = ("id", "type", "name", "size", "sha1", "etag", "sequence_id", "description",
        "created_at", "modified_at", "content_created_at", "content_modified_at",
        "trashed_at", "item_status")
LINK_KEYS = ("url", "download_url", "vanity_url", "access", "effective_access",
             "unshared_at", "is_password_enabled", "permissions")


def item(raw: dict[str, Any]) -> dict[str, Any]:
    """A file, folder or web link (any of Box's representations, or a webhook's ``source``)."""
    out = {k: raw[k] for k in KEYS if k in raw}
    out["id"] = str(raw["id"])
    parent = raw.get("parent")
    if isinstance(parent, dict) and parent.get("id") is not None:
        out["parent"] = {"id": str(parent["id"]), "name": parent.get("name")}
    path = raw.get("path_collection")
    if isinstance(path, dict) and isinstance(path.get("entries"), list):
        out["path"] = "/".join(str(e.get("name") or "") for e in path["entries"]
                               if isinstance(e, dict))
    if "shared_link" in raw:
        out["shared_link"] = link(raw["shared_link"])
    for who in ("created_by", "modified_by"):
        if isinstance(raw.get(who), dict):
            out[who] = user(raw[who])
    return out


def link(raw: Any) -> dict[str, Any] | None:
    if not isinstance(raw, dict):
        return None
    return {k: raw[k] for k in LINK_KEYS if k in raw}


def user(raw: dict[str, Any]) -> dict[str, Any]:
    return {k: raw[k] for k in ("id", "name", "login") if k in raw}


def first_entry(body: dict[str, Any]) -> dict[str, Any]:
    """The new file of an upload's answer (``Files``: ``{"entries": [file]}``)."""
    entries = body.get("entries")
    if not isinstance(entries, list) or not entries or not isinstance(entries[0], dict):
        raise KeyError("entries")
    return entries[0]


def multipart_frame(attributes: dict[str, Any], name: str, mime_type: str,
                    boundary: str) -> tuple[bytes, bytes, str]:
    """The head and tail around the file's bytes in the ``multipart/form-data`` body of
    ``POST /files/content``, and its Content-Type: ``attributes`` (JSON) first, then ``file``
    (Box refuses the reverse with ``metadata_after_file_contents``:
    https://developer.box.com/reference/post-files-content/)."""
    if not MIME_RE.match(mime_type or ""):  # a source's Content-Type is not trusted as is
        mime_type = "application/octet-stream"
    quoted = name.replace("\\", "\\\\").replace('"', '\\"')
    head = (f'--{boundary}\r\nContent-Disposition: form-data; name="attributes"\r\n\r\n'
            f"{json.dumps(attributes)}\r\n--{boundary}\r\n"
            f'Content-Disposition: form-data; name="file"; filename="{quoted}"\r\n'
            f"Content-Type: {mime_type}\r\n\r\n").encode()
    return head, f"\r\n--{boundary}--\r\n".encode(), f"multipart/form-data; boundary={boundary}"


def boundary() -> str:
    return f"atom-{uuid.uuid4().hex}"
