"""Inputs as Linear's GraphQL variables, and the compact shapes returned to workflows."""
from __future__ import annotations

from typing import Any

# ATOM's input names -> Linear's input fields (IssueCreateInput, IssueUpdateInput).
ISSUE_FIELDS = {
    "team_id": "teamId", "title": "title", "description": "description",
    "priority": "priority", "assignee_id": "assigneeId", "state_id": "stateId",
    "label_ids": "labelIds", "added_label_ids": "addedLabelIds",
    "removed_label_ids": "removedLabelIds", "project_id": "projectId", "parent_id": "parentId",
    "due_date": "dueDate", "estimate": "estimate",
}
# And back: the input field a Linear argument error is about.
INPUT_OF = {linear: ours for ours, linear in ISSUE_FIELDS.items()} | {
    "issueId": "issue_id", "body": "body", "id": "id"}


def issue_input(data: dict[str, Any]) -> dict[str, Any]:
    """The given fields only (``assignee_id: null`` is kept: it unassigns)."""
    return {linear: data[ours] for ours, linear in ISSUE_FIELDS.items() if ours in data}


def issue_filter(data: dict[str, Any]) -> dict[str, Any] | None:
    """An ``IssueFilter`` from list_issues' inputs (all must hold), or None for every issue."""
    f: dict[str, Any] = {}
    if data.get("team_id"):
        f["team"] = {"id": {"eq": data["team_id"]}}
    elif data.get("team_key"):
        f["team"] = {"key": {"eqIgnoreCase": data["team_key"]}}
    if data.get("assignee_id"):
        f["assignee"] = {"id": {"eq": data["assignee_id"]}}
    elif data.get("assigned_to_me"):
        f["assignee"] = {"isMe": {"eq": True}}
    state: dict[str, Any] = {}
    if data.get("state_types"):
        state["type"] = {"in": data["state_types"]}
    if data.get("state_name"):
        state["name"] = {"eqIgnoreCase": data["state_name"]}
    if state:
        f["state"] = state
    if data.get("label_name"):
        f["labels"] = {"some": {"name": {"eqIgnoreCase": data["label_name"]}}}
    if data.get("priorities"):
        f["priority"] = {"in": data["priorities"]}
    if data.get("title_contains"):
        f["title"] = {"containsIgnoreCase": data["title_contains"]}
    if data.get("updated_after"):
        f["updatedAt"] = {"gt": data["updated_after"]}
    if data.get("created_after"):
        f["createdAt"] = {"gt": data["created_after"]}
    return f or None


def _person(p: dict[str, Any] | None) -> dict[str, Any] | None:
    return {"id": p["id"], "name": p.get("name"), "email": p.get("email")} if p else None


def issue(i: dict[str, Any]) -> dict[str, Any]:
    state, team, project = i.get("state"), i.get("team"), i.get("project")
    return {
        "id": i["id"],
        "identifier": i.get("identifier"),
        "title": i.get("title"),
        "description": i.get("description"),
        "url": i.get("url"),
        "priority": i.get("priority"),
        "priority_label": i.get("priorityLabel"),
        "estimate": i.get("estimate"),
        "due_date": i.get("dueDate"),
        "created_at": i.get("createdAt"),
        "updated_at": i.get("updatedAt"),
        "completed_at": i.get("completedAt"),
        "canceled_at": i.get("canceledAt"),
        "archived_at": i.get("archivedAt"),
        "state": {"id": state["id"], "name": state.get("name"), "type": state.get("type")}
        if state else None,
        "team": {"id": team["id"], "key": team.get("key"), "name": team.get("name")}
        if team else None,
        "assignee": _person(i.get("assignee")),
        "project": {"id": project["id"], "name": project.get("name")} if project else None,
        "labels": [{"id": label["id"], "name": label.get("name")}
                   for label in (i.get("labels") or {}).get("nodes") or []],
    }


def comment(c: dict[str, Any]) -> dict[str, Any]:
    user, parent, on = c.get("user"), c.get("parent"), c.get("issue") or {}
    return {"id": c["id"], "body": c.get("body"), "url": c.get("url"),
            "created_at": c.get("createdAt"),
            "user": {"id": user["id"], "name": user.get("name")} if user else None,
            "issue_id": on.get("id"), "issue_identifier": on.get("identifier"),
            "parent_id": parent["id"] if parent else None}


def team(t: dict[str, Any]) -> dict[str, Any]:
    return {"id": t["id"], "key": t.get("key"), "name": t.get("name"),
            "description": t.get("description"), "private": bool(t.get("private"))}


def workflow_state(s: dict[str, Any]) -> dict[str, Any]:
    team = s.get("team") or {}
    return {"id": s["id"], "name": s.get("name"), "type": s.get("type"), "color": s.get("color"),
            "position": s.get("position"), "team_id": team.get("id"),
            "team_key": team.get("key")}


def trigger_names(payload: dict[str, Any]) -> list[str]:
    """The triggers a data-change delivery fires: its ``type`` and ``action``, and for an issue
    update that moved the issue to another state, also ``issue_state_changed``."""
    kind, action = payload.get("type"), payload.get("action")
    if kind == "Issue" and action == "create":
        return ["issue_created"]
    if kind == "Issue" and action == "update":
        moved = "stateId" in (payload.get("updatedFrom") or {})
        return ["issue_updated", "issue_state_changed"] if moved else ["issue_updated"]
    if kind == "Comment" and action == "create":
        return ["comment_created"]
    return []
