"""The RFC 2822 messages sent to Gmail, and the compact shapes returned to workflows.

A message returned to workflows keeps Gmail's field names (``id``, ``threadId``, ``labelIds``,
``snippet``, ``historyId``, ``internalDate``, ``sizeEstimate``) and adds ``headers``: the
headers Gmail returned, by lower-case name with ``-`` as ``_`` (``headers.message_id``), so a
template reads ``{{ trigger.headers.subject }}``.
"""
from __future__ import annotations

import base64
import binascii
import codecs
import re
from email.message import EmailMessage
from email.policy import SMTP
from typing import Any

# The headers fetched with format=metadata (list_messages, the trigger).
METADATA_HEADERS = ("From", "To", "Cc", "Reply-To", "Subject", "Date", "Message-ID",
                    "In-Reply-To", "References")
# Decoded bodies returned by get_message are cut at this many characters.
BODY_LIMIT = 200_000
_CHARSET = re.compile(r"charset\s*=\s*\"?([A-Za-z0-9._:-]{1,40})", re.IGNORECASE)


def build_raw(data: dict[str, Any]) -> str:
    """The validated compose input as a base64url RFC 2822 message (Gmail's ``raw``).

    Every header value was validated (no line breaks, each address one mailbox); the stdlib
    ``email`` package encodes non-ASCII text. Gmail adds ``From``, ``Date`` and ``Message-ID``
    and removes ``Bcc`` before delivery.
    """
    msg = EmailMessage(policy=SMTP)  # CRLF line ends, as RFC 5322 has them
    msg["To"] = ", ".join(data["to"])
    for header, key in (("Cc", "cc"), ("Bcc", "bcc"), ("Reply-To", "reply_to")):
        if data.get(key):
            msg[header] = ", ".join(data[key])
    msg["Subject"] = data.get("subject") or ""
    references = data.get("references") or []
    if data.get("in_reply_to"):
        msg["In-Reply-To"] = data["in_reply_to"]
        if data["in_reply_to"] not in references:
            references = [*references, data["in_reply_to"]]
    if references:
        msg["References"] = " ".join(references)
    text, html = data.get("text"), data.get("html")
    if text:
        msg.set_content(text, cte=_cte(text))
        if html:
            msg.add_alternative(html, subtype="html", cte=_cte(html))
    else:
        msg.set_content(html, subtype="html", cte=_cte(html))
    return base64.urlsafe_b64encode(msg.as_bytes()).decode("ascii")


def _cte(text: str) -> str | None:
    """Quoted-printable for non-ASCII text (7-bit safe, still readable); else the package's
    choice (7bit, or quoted-printable for long lines)."""
    return None if text.isascii() else "quoted-printable"


def headers(m: dict[str, Any]) -> dict[str, str]:
    out: dict[str, str] = {}
    for h in (m.get("payload") or {}).get("headers") or []:
        if isinstance(h, dict) and isinstance(h.get("name"), str):
            out.setdefault(h["name"].lower().replace("-", "_"), str(h.get("value") or ""))
    return out


def message(m: dict[str, Any]) -> dict[str, Any]:
    """A Gmail message resource (format ``metadata`` or ``full``) as workflows get it."""
    return {
        "id": m["id"],
        "threadId": m.get("threadId"),
        "labelIds": list(m.get("labelIds") or []),
        "snippet": m.get("snippet"),
        "historyId": m.get("historyId"),
        "internalDate": m.get("internalDate"),
        "sizeEstimate": m.get("sizeEstimate"),
        "headers": headers(m),
    }


def reference(m: dict[str, Any]) -> dict[str, Any]:
    """A message as ``messages.list`` names it (no metadata fetched)."""
    return {"id": m["id"], "threadId": m.get("threadId")}


def with_bodies(m: dict[str, Any]) -> dict[str, Any]:
    """``message(m)`` plus the decoded ``text`` and ``html`` bodies and the attachments' names
    (format ``full``)."""
    found: dict[str, list[str]] = {"text/plain": [], "text/html": []}
    attachments: list[dict[str, Any]] = []
    _walk(m.get("payload") or {}, found, attachments, depth=0)
    return {**message(m),
            "text": "\n".join(found["text/plain"])[:BODY_LIMIT] or None,
            "html": "\n".join(found["text/html"])[:BODY_LIMIT] or None,
            "attachments": attachments}


def _walk(part: Any, found: dict[str, list[str]], attachments: list[dict[str, Any]],
          depth: int) -> None:
    if not isinstance(part, dict) or depth > 20:
        return
    body = part.get("body") or {}
    mime = str(part.get("mimeType") or "").lower()
    if part.get("filename"):
        attachments.append({"filename": part["filename"], "mimeType": part.get("mimeType"),
                            "size": body.get("size"), "attachmentId": body.get("attachmentId")})
    elif mime in found and body.get("data"):
        found[mime].append(decode(body["data"], _charset(part)))
    for child in part.get("parts") or []:
        _walk(child, found, attachments, depth + 1)


def _charset(part: dict[str, Any]) -> str:
    for h in part.get("headers") or []:
        if isinstance(h, dict) and str(h.get("name", "")).lower() == "content-type":
            match = _CHARSET.search(str(h.get("value") or ""))
            if match:
                try:
                    return codecs.lookup(match.group(1)).name
                except LookupError:
                    break
    return "utf-8"


def decode(data: str, charset: str = "utf-8") -> str:
    """A base64url body part as text ('' when it is not base64url)."""
    try:
        raw = base64.urlsafe_b64decode(data + "=" * (-len(data) % 4))
    except (binascii.Error, ValueError):
        return ""
    return raw.decode(charset, errors="replace")


def label(lb: dict[str, Any]) -> dict[str, Any]:
    return {"id": lb["id"], "name": lb.get("name"), "type": lb.get("type"),
            "messagesTotal": lb.get("messagesTotal"), "messagesUnread": lb.get("messagesUnread")}
