"""Plain text to and from Atlassian Document Format (ADF), which REST v3 requires.

Reference: https://developer.atlassian.com/cloud/jira/platform/apis/document/structure/
"""
from __future__ import annotations

import re
from typing import Any

_BLANK_LINE = re.compile(r"\n\s*\n")


def to_adf(text: str) -> dict[str, Any]:
    """Return an ADF ``doc``: blank lines separate paragraphs, single newlines become hard breaks.

    ADF rejects empty text nodes, so blank lines inside a paragraph produce no node.
    """
    normalised = text.replace("\r\n", "\n").replace("\r", "\n").strip("\n")
    paragraphs = [_paragraph(block) for block in _BLANK_LINE.split(normalised) if block.strip()]
    return {"type": "doc", "version": 1, "content": paragraphs}


def _paragraph(block: str) -> dict[str, Any]:
    content: list[dict[str, Any]] = []
    for i, line in enumerate(block.split("\n")):
        if i:
            content.append({"type": "hardBreak"})
        if line:
            content.append({"type": "text", "text": line})
    return {"type": "paragraph", "content": content}


def to_text(node: Any) -> str:
    """Flatten an ADF node (or a v2-style plain string) back to text; ``""`` for None."""
    if node is None:
        return ""
    if isinstance(node, str):
        return node
    if not isinstance(node, dict):
        return ""
    kind = node.get("type")
    if kind == "text":
        return str(node.get("text", ""))
    if kind == "hardBreak":
        return "\n"
    parts = [to_text(child) for child in node.get("content") or []]
    joiner = "\n\n" if kind == "doc" else ""
    return joiner.join(parts)
