"""Ready-made workflows. Each is a full definition; instantiating validates it like any other.

A template whose integrations are not installed is listed with ``available: false`` and the
missing ones; instantiating it is a 422 naming them.
"""
from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any

from atom.engine.definition import DefinitionError
from atom.state import get_state


@dataclass(frozen=True)
class Template:
    name: str
    title: str
    description: str
    definition: dict[str, Any]
    # A trigger payload to try the workflow with (for webhook, schedule and manual triggers;
    # an event trigger's default is its plugin's sample event).
    sample: dict[str, Any] | None = None
    # Parameters the user must give when instantiating, as {step id: {field: (what it is,
    # an example)}}: a Trello list, a Notion database, a repository.
    needs: dict[str, dict[str, tuple[str, Any]]] | None = None

    def needed(self) -> list[dict[str, Any]]:
        return [{"step": step, "field": name, "description": what, "example": example}
                for step, wanted in (self.needs or {}).items()
                for name, (what, example) in wanted.items()]

    def example_parameters(self) -> dict[str, dict[str, Any]]:
        """Example values for everything :attr:`needs` (what the template tests run with)."""
        return {step: {name: example for name, (_, example) in wanted.items()}
                for step, wanted in (self.needs or {}).items()}

    def sample_payload(self) -> dict[str, Any]:
        if self.sample is not None:
            return copy.deepcopy(self.sample)
        trigger = self.definition["trigger"]
        if trigger.get("type") == "event" and trigger.get("service") in get_state().registry:
            manifest = get_state().registry.get(trigger["service"]).manifest
            found = manifest.trigger(trigger["event"]) if manifest else None
            if found is not None:
                return copy.deepcopy(dict(found.sample))
        return {}

    def services(self) -> list[str]:
        found = {s["service"] for s in self.definition["steps"] if s.get("service")}
        if self.definition["trigger"].get("service"):
            found.add(self.definition["trigger"]["service"])
        return sorted(found)

    def missing(self) -> list[str]:
        registry = get_state().registry
        return [s for s in self.services() if s not in registry]

    def summary(self) -> dict[str, Any]:
        missing = self.missing()
        return {"name": self.name, "title": self.title, "description": self.description,
                "services": self.services(), "trigger": self.definition["trigger"],
                "steps": len(self.definition["steps"]), "available": not missing,
                "missing_integrations": missing, "definition": self.definition,
                "needs": self.needed(),
                "sample_payload": self.sample_payload() if not missing else None}

    def instantiate(self, overrides: dict[str, Any]) -> dict[str, Any]:
        """The definition with ``overrides`` applied: ``name``, ``description``, ``enabled``,
        ``trigger`` (merged), ``connections`` ({service: connection id}) and ``parameters``
        ({step id: {field: value}}, merged)."""
        missing = self.missing()
        if missing:
            raise DefinitionError({"template": [f"needs integrations that are not installed: "
                                                f"{', '.join(missing)}"]})
        wrong = {k: ["must be an object"] for k in ("trigger", "connections", "parameters")
                 if overrides.get(k) is not None and not isinstance(overrides[k], dict)}
        if wrong:
            raise DefinitionError(wrong)
        params = overrides.get("parameters") or {}
        absent = {f"parameters.{n['step']}.{n['field']}": [f"required: {n['description']} "
                                                           f"(for example {n['example']!r})"]
                  for n in self.needed()
                  if not isinstance(params.get(n["step"]), dict) or n["field"] not in params[n["step"]]}
        if absent:
            raise DefinitionError(absent)
        definition = copy.deepcopy(self.definition)
        for key in ("name", "description", "enabled"):
            if key in overrides:
                definition[key] = overrides[key]
        definition["trigger"].update(overrides.get("trigger") or {})
        connections = overrides.get("connections") or {}
        for step in definition["steps"]:
            if step.get("service") in connections:
                step["connection"] = connections[step["service"]]
            if step["id"] in params and isinstance(params[step["id"]], dict):
                step.setdefault("parameters", {}).update(params[step["id"]])
        return definition


def _retry(attempts: int = 3) -> dict[str, Any]:
    return {"max_attempts": attempts, "delay_s": 2, "backoff": 2}


def _slack(step_id: str, text: str, depends: list[str], channel: str = "#general", **extra: Any) -> dict:
    return {"id": step_id, "type": "action", "service": "slack", "action": "send_message",
            "depends_on": depends, "retry": _retry(), "timeout_s": 30,
            "parameters": {"channel": channel, "text": text}, **extra}


TEMPLATES = [
    Template("github_pr_to_slack", "GitHub pull request to Slack",
             "Post every opened pull request to an engineering channel.",
             {"name": "GitHub PR to Slack", "trigger": {"type": "event", "service": "github",
                                                        "event": "pull_request_opened"},
              "steps": [_slack("notify", "New PR #{{ trigger.number }}: {{ trigger.pull_request.title }} "
                               "by {{ trigger.pull_request.user.login }} {{ trigger.pull_request.html_url }}",
                               [], channel="#eng")]}),
    Template("salesforce_lead_to_asana", "Salesforce lead to Asana task",
             "Create an Asana task for every new Salesforce lead.",
             {"name": "Salesforce lead to Asana task",
              "trigger": {"type": "event", "service": "salesforce", "event": "record_created",
                          "params": {"object": "Lead"}},
              "steps": [{"id": "task", "type": "action", "service": "asana", "action": "create_task",
                         "parameters": {"name": "Follow up: {{ trigger.Name }} ({{ trigger.Company }})"},
                         "retry": _retry()}]}),
    Template("meeting_to_trello_and_slack", "Meeting to Trello card and Slack",
             "When a team meeting is added to Google Calendar, create a Trello card and tell Slack.",
             {"name": "Meeting to Trello and Slack",
              "trigger": {"type": "event", "service": "google_calendar", "event": "event_created"},
              "steps": [{"id": "card", "type": "action", "service": "trello", "action": "create_card",
                         "parameters": {"name": "{{ trigger.summary }}"}, "retry": _retry()},
                        _slack("announce", "Meeting {{ trigger.summary }} at {{ trigger.start.dateTime }}",
                               ["card"])]},
             needs={"card": {"list_id": ("the Trello list the cards go to",
                                         "5abbe4b7ddc1b351ef961414")}}),
    Template("slack_to_notion_sync", "Slack to Notion sync",
             "Copy messages posted in a Slack channel to a Notion database.",
             {"name": "Slack to Notion sync",
              "trigger": {"type": "event", "service": "slack", "event": "message_posted"},
              "steps": [{"id": "page", "type": "action", "service": "notion", "action": "create_page",
                         "parameters": {"title": "{{ trigger.event.text }}"}, "retry": _retry()}]},
             needs={"page": {"database_id": ("the Notion database (its id or notion.so link)",
                                             "668d797c-76fa-4934-9b05-ad288df2d136")}}),
    Template("customer_onboarding", "Customer onboarding",
             "A new HubSpot contact gets an onboarding Jira ticket, a CRM note and a Slack heads-up.",
             {"name": "Customer onboarding",
              "trigger": {"type": "event", "service": "hubspot", "event": "contact_created"},
              "steps": [
                  {"id": "ticket", "type": "action", "service": "jira", "action": "create_issue",
                   "parameters": {"project_key": "ONB", "summary": "Onboard contact {{ trigger.objectId }}",
                                  "description": "Created by ATOM from HubSpot contact {{ trigger.objectId }}"},
                   "retry": _retry(), "timeout_s": 30},
                  {"id": "note", "type": "action", "service": "hubspot", "action": "create_note",
                   "depends_on": ["ticket"], "retry": _retry(), "on_error": "continue",
                   "parameters": {"body": "Onboarding ticket {{ steps.ticket.output.key }} opened",
                                  "contact_id": "{{ to_string(trigger.objectId) }}"}},
                  _slack("welcome", "New customer contact {{ trigger.objectId }}: onboarding ticket "
                         "{{ steps.ticket.output.key }}", ["ticket"], channel="#customers")]}),
    Template("health_alert_to_slack", "Health alert to Slack",
             "Relay critical connection-health alerts (POSTed to this workflow's URL) to Slack.",
             {"name": "Health alert to Slack", "trigger": {"type": "webhook"},
              "steps": [{"id": "critical", "type": "condition",
                         "expression": "trigger.severity == 'critical'"},
                        _slack("page", ":rotating_light: {{ trigger.severity }} alert on {{ trigger.subject }}: "
                               "{{ trigger.message }}", ["critical"], channel="#ops")]},
             sample={"severity": "critical", "subject": "slack (connection 3)",
                     "message": "success rate 42% over the last 5 minutes"}),
    Template("github_issue_to_jira", "GitHub issue to Jira",
             "Mirror new GitHub issues into Jira and link back with a comment.",
             {"name": "GitHub issue to Jira",
              "trigger": {"type": "event", "service": "github", "event": "issue_opened"},
              "steps": [{"id": "jira", "type": "action", "service": "jira", "action": "create_issue",
                         "retry": _retry(), "parameters": {
                             "project_key": "ENG", "summary": "{{ trigger.issue.title }}",
                             "description": "{{ trigger.issue.html_url }}\n\n{{ trigger.issue.body }}"}},
                        {"id": "link", "type": "action", "service": "github", "action": "comment_on_issue",
                         "depends_on": ["jira"], "retry": _retry(), "parameters": {
                             "owner": "{{ trigger.repository.owner.login }}",
                             "repo": "{{ trigger.repository.name }}",
                             "issue_number": "{{ trigger.issue.number }}",
                             "body": "Tracked in Jira as {{ steps.jira.output.key }}"}}]}),
    Template("jira_issue_to_slack", "New Jira issue to Slack",
             "Announce newly created Jira issues.",
             {"name": "Jira issue to Slack",
              "trigger": {"type": "event", "service": "jira", "event": "issue_created"},
              "steps": [_slack("announce", "{{ trigger.issue.key }}: {{ trigger.issue.fields.summary }}",
                               [], channel="#eng")]}),
    Template("daily_jira_bug_digest", "Daily Jira bug digest",
             "Every weekday at 09:00, count the open bugs and post the number to Slack.",
             {"name": "Daily Jira bug digest",
              "trigger": {"type": "schedule", "cron": "0 9 * * 1-5", "timezone": "UTC"},
              "steps": [{"id": "bugs", "type": "action", "service": "jira", "action": "search_issues",
                         "retry": _retry(), "parameters": {"jql": "issuetype = Bug AND statusCategory != Done",
                                                           "max_results": 100}},
                        {"id": "count", "type": "transform", "depends_on": ["bugs"],
                         "aggregate": {"source": "steps.bugs.output.issues", "op": "count"}},
                        _slack("post", "Open bugs today: {{ steps.count.output.value }}", ["count"])]}),
    Template("github_release_to_slack", "GitHub release to Slack",
             "Announce published releases.",
             {"name": "Release announcement",
              "trigger": {"type": "event", "service": "github", "event": "release_published"},
              "steps": [_slack("announce", "Released {{ trigger.release.tag_name }}: "
                               "{{ trigger.release.html_url }}", [], channel="#releases")]}),
    Template("slack_mention_to_jira", "Slack mention to Jira ticket",
             "Turn a mention of the bot into a Jira ticket and answer in the thread.",
             {"name": "Slack mention to Jira",
              "trigger": {"type": "event", "service": "slack", "event": "app_mentioned"},
              "steps": [{"id": "ticket", "type": "action", "service": "jira", "action": "create_issue",
                         "retry": _retry(), "parameters": {"project_key": "HELP",
                                                           "summary": "{{ trigger.event.text }}"}},
                        {**_slack("reply", "Created {{ steps.ticket.output.key }}", ["ticket"]),
                         "parameters": {"channel": "{{ trigger.event.channel }}",
                                        "text": "Created {{ steps.ticket.output.key }}",
                                        "thread_ts": "{{ trigger.event.ts }}"}}]}),
    Template("webhook_forwarder", "Webhook forwarder",
             "Forward any signed webhook to another REST endpoint, retried with an idempotency key.",
             {"name": "Webhook forwarder", "trigger": {"type": "webhook"},
              "steps": [{"id": "forward", "type": "action", "service": "http", "action": "post",
                         "retry": _retry(5), "timeout_s": 60,
                         "parameters": {"path": "/events", "json": "{{ trigger }}"}}]}),
    Template("failed_ci_to_jira", "Failed CI run to Jira",
             "Open a Jira bug when a GitHub Actions run on the default branch fails.",
             {"name": "Failed CI to Jira",
              "trigger": {"type": "event", "service": "github", "event": "workflow_run_completed",
                          "conditions": {"workflow_run.conclusion": "failure"}},
              "steps": [{"id": "bug", "type": "action", "service": "jira", "action": "create_issue",
                         "retry": _retry(), "parameters": {
                             "project_key": "ENG", "issue_type": "Bug",
                             "summary": "CI failed: {{ trigger.workflow_run.name }} on "
                                        "{{ trigger.workflow_run.head_branch }}",
                             "description": "{{ trigger.workflow_run.html_url }}"}}]}),
    Template("weekly_open_pr_report", "Weekly open pull-request report",
             "Every Monday, count the open pull requests of a repository and post the number.",
             {"name": "Weekly PR report",
              "trigger": {"type": "schedule", "cron": "0 8 * * 1", "timezone": "UTC"},
              "steps": [{"id": "prs", "type": "action", "service": "github", "action": "list_pull_requests",
                         "retry": _retry(), "parameters": {"state": "open"}},
                        {"id": "count", "type": "transform", "depends_on": ["prs"],
                         "aggregate": {"source": "steps.prs.output.pull_requests", "op": "count"}},
                        _slack("post", "Open pull requests: {{ steps.count.output.value }}", ["count"],
                               channel="#eng")]},
             needs={"prs": {"owner": ("the repository's owner (user or organisation)", "octocat"),
                            "repo": ("the repository's name", "hello-world")}}),
    Template("hubspot_deal_to_slack", "HubSpot deal update to Slack",
             "Tell the sales channel when a deal changes stage.",
             {"name": "Deal updates to Slack",
              "trigger": {"type": "event", "service": "hubspot", "event": "deal_updated",
                          "conditions": {"propertyName": "dealstage"}},
              "steps": [_slack("post", "Deal {{ trigger.objectId }} moved to {{ trigger.propertyValue }}",
                               [], channel="#sales")]}),
    Template("uptime_probe", "Endpoint uptime probe",
             "Every five minutes, GET an endpoint and alert Slack when it does not answer well.",
             {"name": "Uptime probe",
              "trigger": {"type": "schedule", "cron": "*/5 * * * *", "timezone": "UTC"},
              "steps": [{"id": "probe", "type": "action", "service": "http", "action": "get",
                         "timeout_s": 20, "on_error": "alert", "parameters": {"path": "/health"}},
                        _slack("alert", "Endpoint check failed: {{ steps.probe.status }}", [],
                               channel="#ops")]}),
    Template("new_contact_to_crm_webhook", "Contact sign-up to HubSpot",
             "Create a HubSpot contact from a sign-up form webhook and confirm to Slack.",
             {"name": "Sign-up to HubSpot", "trigger": {"type": "webhook"},
              "steps": [{"id": "contact", "type": "action", "service": "hubspot", "action": "create_contact",
                         "retry": _retry(), "parameters": {"email": "{{ trigger.email }}",
                                                           "firstname": "{{ trigger.first_name }}",
                                                           "lastname": "{{ trigger.last_name }}"}},
                        _slack("confirm", "New sign-up: {{ trigger.email }}", ["contact"],
                               channel="#growth")]},
             sample={"email": "ada@example.com", "first_name": "Ada", "last_name": "Lovelace"}),
]

_BY_NAME = {t.name: t for t in TEMPLATES}


def list_templates() -> list[dict[str, Any]]:
    return [t.summary() for t in TEMPLATES]


def get_template(name: str) -> Template | None:
    return _BY_NAME.get(name)
