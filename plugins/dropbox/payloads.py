"""Dropbox metadata as workflows get it, and the ``Dropbox-API-Arg`` header.

Files and folders keep Dropbox's field names (``id``, ``name``, ``path_lower``,
``path_display``, ``rev``, ``size``, ``client_modified``, ``server_modified``,
``content_hash``), except the union tag ``.tag``, which becomes ``tag`` (``file``, ``folder``,
``deleted``): a key with a dot in it cannot be named in a workflow expression.
"""
from __future__ import annotations

import json
from typing import Any

ENTRY_KEYS = ("id", "name", "path_lower", "path_display", "rev", "size", "client_modified",
              "server_modified", "content_hash", "is_downloadable", "parent_shared_folder_id")


def api_arg(arg: dict[str, Any]) -> str:
    """The ``Dropbox-API-Arg`` header value: JSON with every non-ASCII character and DEL
    escaped as ``\\uXXXX`` (HTTP headers carry ASCII only; the documentation's "Request and
    response formats" says to escape 0x7F and above)."""
    return json.dumps(arg, ensure_ascii=True, separators=(",", ":")).replace("\x7f", "\\u007f")


def entry(meta: dict[str, Any], tag: str | None = None) -> dict[str, Any]:
    """A file, folder or deleted entry; ``tag`` when the answer has no ``.tag`` (upload and
    create_folder_v2 answer a bare FileMetadata / FolderMetadata)."""
    out = {k: meta[k] for k in ENTRY_KEYS if k in meta}
    out["tag"] = meta.get(".tag") or tag or "file"
    out["name"] = meta.get("name", "")
    return out


def shared_link(link: dict[str, Any]) -> dict[str, Any]:
    """A SharedLinkMetadata (file or folder link)."""
    perms = link.get("link_permissions") or {}
    visibility = (perms.get("resolved_visibility") or {}).get(".tag")
    out = {k: link[k] for k in ("url", "name", "id", "path_lower", "expires") if k in link}
    out["tag"] = link.get(".tag") or "file"
    out["visibility"] = visibility
    out["allow_download"] = perms.get("allow_download")
    return out
