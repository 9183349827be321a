"""The difference between two workflow definitions: a unified diff of their pretty JSON (as the
dashboard's version comparison shows it) and the list of fields that changed, each with its
path (``steps.<id>.<field>`` for a step, whatever its position in the list), before and after.
"""
from __future__ import annotations

import difflib
import json
from typing import Any

MISSING = None  # "before" of an added field, "after" of a removed one


def pretty(value: Any) -> str:
    return json.dumps(value, indent=2, ensure_ascii=False)


def definition_diff(a: dict[str, Any], b: dict[str, Any], a_label: str = "before",
                    b_label: str = "after", context: int = 3) -> dict[str, Any]:
    """``{"unified": str, "changes": [{"path", "before", "after"}]}`` from ``a`` to ``b``."""
    unified = "\n".join(difflib.unified_diff(pretty(a).splitlines(), pretty(b).splitlines(),
                                             a_label, b_label, lineterm="", n=context))
    changes: list[dict[str, Any]] = []
    _walk("", a, b, changes)
    return {"unified": unified, "changes": changes}


def line_kinds(unified: str) -> list[tuple[str, str]]:
    """Each line of a unified diff with its kind: hunk, add, del or ctx."""
    out = []
    for line in unified.splitlines():
        if line.startswith(("---", "+++", "@@")):
            kind = "hunk"
        elif line.startswith("+"):
            kind = "add"
        elif line.startswith("-"):
            kind = "del"
        else:
            kind = "ctx"
        out.append((kind, line))
    return out


def _keyed_steps(value: Any) -> dict[str, Any] | None:
    if isinstance(value, list) and all(isinstance(s, dict) and isinstance(s.get("id"), str)
                                       for s in value):
        keyed = {s["id"]: s for s in value}
        return keyed if len(keyed) == len(value) else None
    return None


def _walk(path: str, a: Any, b: Any, out: list[dict[str, Any]]) -> None:
    if a == b:
        return
    if path == "steps":
        ka, kb = _keyed_steps(a), _keyed_steps(b)
        if ka is not None and kb is not None:
            for sid in [*ka, *(s for s in kb if s not in ka)]:
                _walk(f"steps.{sid}", ka.get(sid, MISSING), kb.get(sid, MISSING), out)
            if list(ka) != [s for s in kb if s in ka] and set(ka) & set(kb):
                out.append({"path": "steps[order]", "before": list(ka), "after": list(kb)})
            return
    if isinstance(a, dict) and isinstance(b, dict):
        for key in [*a, *(k for k in b if k not in a)]:
            _walk(f"{path}.{key}" if path else str(key), a.get(key, MISSING),
                  b.get(key, MISSING), out)
        return
    out.append({"path": path, "before": a, "after": b})
