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
                "connections_needed": sorted(_connection_refs(self.definition["steps"])),
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
        if isinstance(params.get("trigger"), dict):  # the trigger's own params (needs "trigger")
            definition["trigger"]["params"] = {**(definition["trigger"].get("params") or {}),
                                               **params["trigger"]}
        connections = overrides.get("connections") or {}
        for step in definition["steps"]:
            if step.get("service") in connections:
                step["connection"] = connections[step["service"]]
            if step["id"] in params and isinstance(params[step["id"]], dict):
                step.setdefault("parameters", {}).update(params[step["id"]])
            if isinstance(step.get("parameters"), dict):
                step["parameters"] = _with_connections(step["parameters"], connections, step["id"])
        return definition


def connection_of(service: str) -> dict[str, str]:
    """A parameter value that becomes the id of the workflow's ``service`` connection when the
    template is instantiated (``copy_file``'s source connection)."""
    return {"$connection": service}


def _with_connections(params: dict[str, Any], connections: dict[str, Any], step_id: str
                      ) -> dict[str, Any]:
    out = {}
    for key, value in params.items():
        if isinstance(value, dict) and set(value) == {"$connection"}:
            service = value["$connection"]
            value = connections.get(service) or _first_connection(service)
            if value is None:
                raise DefinitionError({f"connections.{service}": [
                    f"required: step {step_id} reads from a {service} connection; create one "
                    f"or name it in connections"]})
        out[key] = value
    return out


def _first_connection(service: str) -> int | None:
    """The first enabled connection of ``service`` (as an action step without one uses)."""
    from atom.extensions import db
    from atom.models import Connection

    return db.session.execute(
        db.select(Connection.id).filter_by(integration=service, enabled=True)
        .order_by(Connection.id).limit(1)).scalar_one_or_none()


def _connection_refs(value: Any) -> set[str]:
    if isinstance(value, dict):
        if set(value) == {"$connection"}:
            return {value["$connection"]}
        return {s for v in value.values() for s in _connection_refs(v)}
    if isinstance(value, list):
        return {s for v in value for s in _connection_refs(v)}
    return set()


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
                         "parameters": {"name": "Follow up: {{ trigger.Name }} ({{ trigger.Company }})",
                                        "notes": "{{ trigger.Email }} {{ trigger.Phone }}"},
                         "retry": _retry()}]},
             needs={"task": {"projects": ("the Asana projects to file the task in (gids)",
                                          ["1204567890123456"])}}),
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
             sample={"email": "grace@example.com", "first_name": "Grace", "last_name": "Hopper"}),
    # -- part 2 of the catalogue: files, CRM, support, finance, identity, AI and cloud ----------
    Template("salesforce_onboarding_to_hubspot_and_jira", "Salesforce customer onboarding",
             "A new Salesforce contact becomes a HubSpot contact and an onboarding Jira ticket.",
             {"name": "Salesforce onboarding",
              "trigger": {"type": "event", "service": "salesforce", "event": "record_created",
                          "params": {"object": "Contact"}},
              "steps": [{"id": "contact", "type": "action", "service": "hubspot",
                         "action": "create_contact", "retry": _retry(), "parameters": {
                             "email": "{{ trigger.Email }}", "firstname": "{{ trigger.FirstName }}",
                             "lastname": "{{ trigger.LastName }}"}},
                        {"id": "ticket", "type": "action", "service": "jira", "action": "create_issue",
                         "depends_on": ["contact"], "retry": _retry(), "parameters": {
                             "project_key": "ONB", "summary": "Onboard {{ trigger.Name }}",
                             "description": "Salesforce {{ trigger.Id }}, HubSpot contact "
                                            "{{ steps.contact.output.id }}"}}]}),
    Template("salesforce_pipeline_to_tableau", "Salesforce pipeline to Tableau",
             "Every weekday at 06:00, total the open opportunities, refresh the Tableau data "
             "source that charts them, and post the total to Slack.",
             {"name": "Pipeline to Tableau",
              "trigger": {"type": "schedule", "cron": "0 6 * * 1-5", "timezone": "UTC"},
              "steps": [{"id": "pipeline", "type": "action", "service": "salesforce", "action": "query",
                         "retry": _retry(), "parameters": {
                             "soql": "SELECT Id, Amount FROM Opportunity WHERE IsClosed = false"}},
                        {"id": "total", "type": "transform", "depends_on": ["pipeline"],
                         "aggregate": {"source": "steps.pipeline.output.records", "op": "sum",
                                       "field": "Amount"}},
                        {"id": "refresh", "type": "action", "service": "tableau",
                         "action": "refresh_extract", "depends_on": ["total"], "parameters": {}},
                        _slack("post", "Open pipeline: {{ steps.total.output.value }} "
                               "(Tableau refresh job {{ steps.refresh.output.id }})", ["refresh"],
                               channel="#sales")]},
             needs={"refresh": {"datasource_id": ("the Tableau data source to refresh",
                                                  "9a1b2c3d-4e5f-4a6b-8c7d-0e1f2a3b4c5d")}}),
    Template("stripe_payment_to_xero_invoice", "Stripe payment to Xero invoice",
             "Record every successful Stripe payment as a paid Xero sales invoice (Stripe counts "
             "in the currency's minor unit: the line is that many units of 0.01).",
             {"name": "Stripe payment to Xero",
              "trigger": {"type": "event", "service": "stripe", "event": "payment_succeeded"},
              "steps": [{"id": "invoice", "type": "action", "service": "xero",
                         "action": "create_invoice", "retry": _retry(), "parameters": {
                             "contact_name": "{{ trigger.object.receipt_email }}",
                             "reference": "{{ trigger.object.id }}", "status": "AUTHORISED",
                             "line_items": [{"description": "{{ trigger.object.description }}",
                                             "quantity": "{{ trigger.object.amount }}",
                                             "unit_amount": 0.01}]}}]}),
    Template("zendesk_urgent_to_slack_and_teams", "Urgent Zendesk ticket to Slack and Teams",
             "When a ticket becomes urgent, tell the support channels in Slack and Microsoft Teams.",
             {"name": "Urgent tickets",
              "trigger": {"type": "event", "service": "zendesk", "event": "ticket_priority_urgent"},
              "steps": [_slack("slack", ":rotating_light: Urgent ticket #{{ trigger.ticket.id }}: "
                               "{{ trigger.ticket.subject }}", [], channel="#support"),
                        {"id": "teams", "type": "action", "service": "microsoft_teams",
                         "action": "send_channel_message", "retry": _retry(), "parameters": {
                             "text": "Urgent ticket #{{ trigger.ticket.id }}: {{ trigger.ticket.subject }}",
                             "importance": "urgent"}}]},
             needs={"teams": {"team_id": ("the Teams team", "172b0cce-e65d-44ce-9a49-91d9f2e8493a"),
                              "channel_id": ("the team's channel",
                                             "19:4a95f7d8db4c4e7fae857bcebe0623e6@thread.tacv2")}}),
    Template("drive_file_to_box_backup", "New Drive file to Box backup",
             "Copy every file added to a Google Drive folder into a Box folder, streamed.",
             {"name": "Drive to Box backup",
              "trigger": {"type": "event", "service": "google_drive", "event": "file_added"},
              "steps": [{"id": "backup", "type": "action", "service": "box", "action": "copy_file",
                         "timeout_s": 3600, "parameters": {
                             "source_connection_id": connection_of("google_drive"),
                             "source_file_id": "{{ trigger.id }}", "name": "{{ trigger.name }}"}}]},
             needs={"trigger": {"folder_id": ("the Drive folder to watch",
                                              "0B9xYzFolder0123456789abcdef")},
                    "backup": {"folder_id": ("the Box folder to copy into", "123456789")}}),
    Template("okta_new_user_onboarding", "Okta new user onboarding",
             "A user created in Okta gets a welcome in Slack and an IT onboarding ticket in Jira.",
             {"name": "Okta onboarding",
              "trigger": {"type": "event", "service": "okta", "event": "user_created"},
              "steps": [{"id": "ticket", "type": "action", "service": "jira", "action": "create_issue",
                         "retry": _retry(), "parameters": {
                             "project_key": "IT", "summary": "Onboard {{ trigger.target[0].displayName }}",
                             "description": "Laptop, accounts and access for "
                                            "{{ trigger.target[0].alternateId }} (Okta user "
                                            "{{ trigger.target[0].id }})"}},
                        _slack("welcome", "Welcome {{ trigger.target[0].displayName }}! IT ticket "
                               "{{ steps.ticket.output.key }}", ["ticket"], channel="#welcome")]}),
    Template("email_summary_to_notion", "E-mail summary to Notion",
             "Summarise each new e-mail with OpenAI and file the summary in a Notion database.",
             {"name": "E-mail summaries",
              "trigger": {"type": "event", "service": "gmail", "event": "new_message"},
              "steps": [{"id": "message", "type": "action", "service": "gmail", "action": "get_message",
                         "retry": _retry(), "parameters": {"id": "{{ trigger.id }}"}},
                        {"id": "summary", "type": "action", "service": "openai",
                         "action": "summarize_text", "depends_on": ["message"], "timeout_s": 120,
                         "parameters": {"text": "{{ steps.message.output.text || trigger.snippet }}",
                                        "max_words": 80}},
                        {"id": "page", "type": "action", "service": "notion", "action": "create_page",
                         "depends_on": ["summary"], "retry": _retry(), "parameters": {
                             "title": "{{ trigger.headers.subject }}",
                             "content": "From {{ trigger.headers.from }}: {{ steps.summary.output.text }}"}}]},
             needs={"page": {"database_id": ("the Notion database for the summaries",
                                             "668d797c-76fa-4934-9b05-ad288df2d136")}}),
    Template("gmail_attachment_to_dropbox", "Gmail attachment to Dropbox",
             "Save the first attachment of each matching e-mail to a Dropbox folder, streamed.",
             {"name": "Attachments to Dropbox",
              "trigger": {"type": "event", "service": "gmail", "event": "new_message",
                          "params": {"query": "has:attachment"}},
              "steps": [{"id": "message", "type": "action", "service": "gmail", "action": "get_message",
                         "retry": _retry(), "parameters": {"id": "{{ trigger.id }}"}},
                        {"id": "has_file", "type": "condition", "depends_on": ["message"],
                         "expression": "length(steps.message.output.attachments) > `0`"},
                        {"id": "save", "type": "action", "service": "dropbox", "action": "copy_file",
                         "depends_on": ["has_file"], "timeout_s": 600, "parameters": {
                             "source_connection_id": connection_of("gmail"),
                             "source_file_id": "{{ trigger.id }}/"
                                               "{{ steps.message.output.attachments[0].attachmentId }}"}}]},
             needs={"save": {"folder_id": ("the Dropbox folder (a path)", "/Attachments")}}),
    Template("dropbox_to_drive_backup", "Dropbox to Google Drive backup",
             "Copy every file added to a Dropbox folder into a Google Drive folder, streamed.",
             {"name": "Dropbox to Drive",
              "trigger": {"type": "event", "service": "dropbox", "event": "file_added"},
              "steps": [{"id": "backup", "type": "action", "service": "google_drive",
                         "action": "copy_file", "timeout_s": 3600, "parameters": {
                             "source_connection_id": connection_of("dropbox"),
                             "source_file_id": "{{ trigger.id }}", "name": "{{ trigger.name }}"}}]},
             needs={"trigger": {"path": ("the Dropbox folder to watch", "/Homework")},
                    "backup": {"folder_id": ("the Drive folder to copy into",
                                             "0B9xYzFolder0123456789abcdef")}}),
    Template("stripe_refund_to_slack", "Stripe refund to Slack",
             "Tell the finance channel about every refund.",
             {"name": "Refunds to Slack",
              "trigger": {"type": "event", "service": "stripe", "event": "charge_refunded"},
              "steps": [_slack("post", "Refund on {{ trigger.object.id }}: {{ trigger.object.amount_refunded }} "
                               "{{ trigger.object.currency }} (minor units)", [], channel="#finance")]}),
    Template("xero_invoice_update_to_slack", "Xero invoice update to Slack",
             "Look up each updated Xero invoice and post its status and amount due.",
             {"name": "Xero invoices to Slack",
              "trigger": {"type": "event", "service": "xero", "event": "invoice_updated"},
              "steps": [{"id": "invoice", "type": "action", "service": "xero", "action": "get_invoice",
                         "retry": _retry(), "parameters": {"invoice_id": "{{ trigger.resource_id }}"}},
                        _slack("post", "Invoice {{ steps.invoice.output.invoice_number }} for "
                               "{{ steps.invoice.output.contact_name }} is {{ steps.invoice.output.status }}"
                               ", {{ steps.invoice.output.amount_due }} due", ["invoice"],
                               channel="#finance")]}),
    Template("zendesk_ticket_triage_with_openai", "Zendesk ticket triage with OpenAI",
             "Classify each new ticket (billing, bug, how-to, other) and tag it, with a note.",
             {"name": "Ticket triage",
              "trigger": {"type": "event", "service": "zendesk", "event": "ticket_created"},
              "steps": [{"id": "classify", "type": "action", "service": "openai",
                         "action": "classify_text", "timeout_s": 120, "parameters": {
                             "text": "{{ trigger.ticket.subject }}",
                             "labels": ["billing", "bug", "how-to", "other"],
                             "fallback_label": "other"}},
                        {"id": "tag", "type": "action", "service": "zendesk", "action": "update_ticket",
                         "depends_on": ["classify"], "retry": _retry(), "parameters": {
                             "ticket_id": "{{ trigger.ticket.id }}",
                             "tags": ["{{ steps.classify.output.label }}"],
                             "body": "Triage: {{ steps.classify.output.label }}", "public": False}}]}),
    Template("workday_new_hire_to_okta", "Workday new hire to Okta account",
             "Create an Okta account for each new hire in Workday and welcome them in Slack.",
             {"name": "New hire accounts",
              "trigger": {"type": "event", "service": "workday", "event": "new_hire"},
              "steps": [{"id": "account", "type": "action", "service": "okta", "action": "create_user",
                         "retry": _retry(), "parameters": {"activate": True, "profile": {
                             "email": "{{ trigger.Primary_Work_Email }}",
                             "firstName": "{{ trigger.\"Legal_Name_-_First_Name\" }}",
                             "lastName": "{{ trigger.\"Legal_Name_-_Last_Name\" }}",
                             "title": "{{ trigger.Business_Title }}",
                             "employeeNumber": "{{ trigger.Employee_ID }}"}}},
                        _slack("welcome", "Welcome {{ trigger.Worker }} ({{ trigger.Business_Title }}), "
                               "starting {{ trigger.Hire_Date }}", ["account"], channel="#people")]},
             needs={"trigger": {"owner": ("the Workday user who owns the hires report", "lmcneil"),
                                "report": ("the RaaS report listing hires", "ATOM_New_Hires")}}),
    Template("sns_alarm_to_slack", "AWS SNS alarm to Slack",
             "Relay messages published to an SNS topic (CloudWatch alarms) to the ops channel.",
             {"name": "SNS to Slack",
              "trigger": {"type": "event", "service": "aws", "event": "sns_message"},
              "steps": [_slack("post", ":rotating_light: {{ trigger.subject }}: {{ trigger.message }}",
                               [], channel="#ops")]}),
    Template("tableau_refresh_failure_to_slack", "Tableau refresh failure to Slack",
             "Tell the data team when a workbook's extract refresh fails.",
             {"name": "Tableau refresh failures",
              "trigger": {"type": "event", "service": "tableau", "event": "workbook_refresh_failed"},
              "steps": [_slack("post", "Extract refresh failed: {{ trigger.resource_name }} "
                               "({{ trigger.created_at }})", [], channel="#data")]}),
    Template("stripe_customer_to_hubspot", "Stripe customer to HubSpot",
             "Every new Stripe customer becomes a HubSpot contact.",
             {"name": "Stripe customers to HubSpot",
              "trigger": {"type": "event", "service": "stripe", "event": "customer_created"},
              "steps": [{"id": "contact", "type": "action", "service": "hubspot",
                         "action": "create_contact", "retry": _retry(),
                         "parameters": {"email": "{{ trigger.object.email }}"}}]}),
]

_BY_NAME = {t.name: t for t in TEMPLATES}


def list_templates() -> list[dict[str, Any]]:
    return [t.summary() for t in TEMPLATES]


def get_template(name: str) -> Template | None:
    return _BY_NAME.get(name)
