"""References between steps (``{{ steps.ticket.output.key }}``), checked when a workflow is
saved: the step exists, runs before the one using it (is among its dependencies, direct or
not), and, where the referenced step is an action, the field path exists in the action's
``output_schema``. A typo is a 422 naming the step and field, not a null at run time."""
from __future__ import annotations

from typing import Any
from typing import Iterable

from atom.engine.expressions import ExpressionError
from atom.engine.expressions import compile_expression
from atom.integrations.registry import Registry
from atom.integrations.registry import UnknownPlugin


def output_paths(node: Any) -> Iterable[tuple[str, list[str]]]:
    """``(step id, field path after output)`` for every ``steps.<id>.output...`` chain in a
    parsed JMESPath expression; the path stops at the first index, filter or projection."""
    stack = [node]
    while stack:
        item = stack.pop()
        if not isinstance(item, dict):
            continue
        children = item.get("children") or []
        if item.get("type") == "subexpression":
            names = _leading_fields(children)
            if len(names) >= 2 and names[0] == "steps":
                yield names[1], names[3:] if len(names) > 2 and names[2] == "output" else []
        stack.extend(c for c in children if isinstance(c, dict))


def _leading_fields(children: list[Any]) -> list[str]:
    names: list[str] = []
    for child in children:
        if not isinstance(child, dict):
            break
        if child.get("type") == "field":
            names.append(child["value"])
            continue
        if child.get("type") == "index_expression" and child.get("children"):
            first = child["children"][0]
            if isinstance(first, dict) and first.get("type") == "field":
                names.append(first["value"])
        break
    return names


def missing_field(schema: Any, path: list[str]) -> str | None:
    """The first name of ``path`` that ``schema`` says an output cannot have, or None.

    An object schema that lists properties knows its fields; one that lists none (a vendor's
    passthrough object) allows any, and so does a schema without a type."""
    for depth, name in enumerate(path):
        if not isinstance(schema, dict) or "object" not in _types(schema):
            return None
        properties = schema.get("properties") or {}
        if not properties or schema.get("additionalProperties") not in (None, False):
            return None
        if name not in properties:
            known = ", ".join(sorted(properties))
            where = ".".join(path[:depth]) or "output"
            return f"{name!r} is not a field of {where} (fields: {known})"
        schema = properties[name]
    return None


def _types(schema: dict[str, Any]) -> list[str]:
    kind = schema.get("type", "object")
    return kind if isinstance(kind, list) else [kind]


def predecessors(steps: list[dict]) -> dict[str, set[str]]:
    """Every step's direct predecessors as the runner orders them (a handler after the step
    it handles)."""
    from atom.engine.definition import error_policy

    direct = {s["id"]: set(s.get("depends_on") or ()) for s in steps}
    for s in steps:
        handler = error_policy(s)[1]
        if handler in direct and handler != s["id"]:
            direct[handler].add(s["id"])
    return direct


def closure(direct: dict[str, set[str]]) -> dict[str, set[str]]:
    """Every step's transitive predecessors, from its direct ones."""
    found: dict[str, set[str]] = {}
    for sid in direct:
        seen: set[str] = set()
        todo = list(direct[sid])
        while todo:
            dep = todo.pop()
            if dep in seen or dep not in direct:
                continue
            seen.add(dep)
            todo.extend(direct[dep])
        found[sid] = seen
    return found


def ancestors(steps: list[dict]) -> dict[str, set[str]]:
    """Every step's transitive dependencies (a handler also follows the step it handles)."""
    return closure(predecessors(steps))


def check_references(steps: list[dict], expressions: Any, registry: Registry,
                     errors: dict[str, Any]) -> None:
    """Add to ``errors`` (``steps.<id>`` -> field -> reasons) every reference a step makes to a
    step that does not exist, does not run before it, or lacks the field."""
    by_id = {s["id"]: s for s in steps}
    before = ancestors(steps)
    for step in steps:
        for where, text in expressions(step):
            try:
                parsed = compile_expression(text).parsed
            except ExpressionError:
                continue  # reported by the expression check
            for sid, path in output_paths(parsed):
                reason = _reason(step, sid, path, by_id, before, registry)
                if reason:
                    errors.setdefault(f"steps.{step['id']}", {}).setdefault(where, []).append(reason)


def _reason(step: dict, sid: str, path: list[str], by_id: dict[str, dict],
            before: dict[str, set[str]], registry: Registry) -> str | None:
    if sid not in by_id:
        return f"steps.{sid}: no step {sid!r}"
    if sid == step["id"]:
        return f"steps.{sid}: a step cannot use its own output"
    if sid not in before[step["id"]]:
        return (f"steps.{sid} may not have run yet: add {sid!r} to depends_on "
                f"(directly or through another step)")
    source = by_id[sid]
    if source.get("type") != "action" or not path:
        return None
    try:
        manifest = registry.get(source["service"]).manifest
    except UnknownPlugin:
        return None
    action = manifest.action(source.get("action", "")) if manifest else None
    if action is None:
        return None
    problem = missing_field(dict(action.output), path)
    return f"steps.{sid}.output: {problem}" if problem else None
