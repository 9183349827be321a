"""Approval steps through the API: the execution waits (parked) for decisions, N of M,
self-approval refused, roles, the timeout with each on_timeout, a restart while waiting."""
from __future__ import annotations

import time

import pytest

from atom.engine import get_engine
from atom.models import ApprovalDecision
from atom.models import AuditEvent
from tests.atom.engine.conftest import Api
from tests.atom.engine.conftest import close_engine
from tests.atom.engine.conftest import manual
from tests.atom.engine.conftest import rows
from tests.atom.engine.conftest import steps_of
from tests.atom.engine.test_timers import fire_until_finished
from tests.atom.engine.test_timers import parked
from tests.conftest import make_key


def gate(**approval) -> dict:
    step = {"id": "ok", "type": "approval", "message": "Ship {{ trigger.what }}?",
            "approvers": {"roles": ["admin", "editor"]}, **approval}
    return manual("gate", [step, {"id": "after", "type": "transform", "mapping": {"w": "trigger.what"},
                                  "depends_on": ["ok"]}])


@pytest.fixture
def admin(client, keys) -> Api:
    return Api(client, keys["admin"])


def decide(api: Api, ex_id: int, verb: str, comment=None, step="ok"):
    body = {} if comment is None else {"comment": comment}
    return api.client.post(f"/api/v2/executions/{ex_id}/steps/{step}/{verb}", json=body, headers=api.headers)


def started(api: Api, definition: dict) -> int:
    wf = api.create(definition)
    ex_id = api.execute(wf["id"], {"what": "v2"}, wait=None).get_json()["id"]
    parked(api, ex_id)
    return ex_id


def test_an_approval_waits_and_an_approve_resumes_the_run(app, api, admin):
    ex_id = started(api, gate())
    body = api.execution(ex_id)
    assert body["status"] == "waiting" and body["waiting_until"] is None  # no timeout
    step = steps_of(body)["ok"]
    assert step["status"] == "running" and step["input"]["message"] == "Ship v2?"
    assert step["decisions"] == []
    assert len(get_engine(app)._active) == 0
    answer = decide(admin, ex_id, "approve", "looks good")
    assert answer.status_code == 200, answer.get_json()
    assert answer.get_json()["settled"] == "approved"
    done = api.wait_finished(ex_id)
    assert done["status"] == "succeeded", done
    step = steps_of(done)["ok"]
    assert step["output"]["decision"] == "approved" and step["output"]["by"] == ["key:admin-key"]
    assert "looks good" in step["output"]["comment"]
    [decision] = step["decisions"]
    assert decision["by"] == "key:admin-key" and decision["via"] == "api" and decision["comment"] == "looks good"
    assert steps_of(done)["after"]["status"] == "succeeded"
    # Decided: a second decision is a conflict.
    assert decide(admin, ex_id, "reject").status_code == 409


def test_an_approved_steps_duration_is_the_time_it_waited(app, api, admin):
    ex_id = started(api, gate())
    time.sleep(0.4)
    assert decide(admin, ex_id, "approve").status_code == 200
    step = steps_of(api.wait_finished(ex_id))["ok"]
    assert step["duration_ms"] >= 400  # from its start to the decision, not the resume alone
    assert step["attempt"] == 1


def test_a_rejection_fails_the_step_with_class_rejected(app, api, admin):
    ex_id = started(api, gate())
    assert decide(admin, ex_id, "reject", "not now").status_code == 200
    done = api.wait_finished(ex_id)
    assert done["status"] == "failed"
    step = steps_of(done)["ok"]
    assert step["error"]["class"] == "rejected" and "not now" in step["error"]["message"]
    assert steps_of(done)["after"]["status"] == "skipped"


def test_a_rejection_goes_to_the_handler(app, api, admin):
    definition = gate(handler="undo")
    definition["steps"].append({"id": "undo", "type": "transform", "mapping": {"w": "trigger.what"}})
    ex_id = started(api, definition)
    assert decide(admin, ex_id, "reject").status_code == 200
    done = api.wait_finished(ex_id)
    assert steps_of(done)["undo"]["status"] == "succeeded", done


def test_n_of_m_needs_that_many_distinct_approvers(app, api, admin, keys):
    ex_id = started(api, gate(required=2, allow_self=True))
    first = decide(admin, ex_id, "approve")
    assert first.status_code == 200 and first.get_json()["settled"] is None
    assert api.execution(ex_id)["status"] == "waiting"
    assert decide(admin, ex_id, "approve").status_code == 409  # the same approver again
    assert decide(api, ex_id, "approve").status_code == 200  # the editor (allowed to self-approve)
    done = api.wait_finished(ex_id)
    assert done["status"] == "succeeded"
    assert sorted(steps_of(done)["ok"]["output"]["by"]) == ["key:admin-key", "key:editor-key"]


def test_the_one_who_started_the_run_cannot_approve_it(app, api, admin):
    ex_id = started(api, gate())  # started by the editor key
    refused = decide(api, ex_id, "approve")
    assert refused.status_code == 403 and "started" in refused.get_json()["message"]
    assert rows(app, ApprovalDecision) == []
    assert api.execution(ex_id)["status"] == "waiting"


def test_only_the_named_roles_and_users_may_decide(app, api, admin):
    ex_id = started(api, gate(approvers={"roles": ["admin"]}, allow_self=True))
    assert decide(api, ex_id, "approve").status_code == 403  # an editor
    ex2 = started(api, gate(approvers={"users": ["key:admin-key"]}))
    assert decide(admin, ex2, "approve").status_code == 200
    assert api.wait_finished(ex2)["status"] == "succeeded"


def test_bad_requests_change_nothing(app, api, admin):
    ex_id = started(api, gate())
    assert decide(admin, ex_id, "approve", comment=5).status_code == 422
    assert decide(admin, ex_id, "approve", comment="x" * 2001).status_code == 422
    assert admin.client.post(f"/api/v2/executions/{ex_id}/steps/ok/approve", json={"other": 1},
                             headers=admin.headers).status_code == 422
    assert decide(admin, ex_id, "approve", step="after").status_code == 404
    assert decide(admin, ex_id, "approve", step="nope").status_code == 404
    assert decide(admin, 999_999, "approve").status_code == 404
    assert rows(app, ApprovalDecision) == []
    assert api.execution(ex_id)["status"] == "waiting"


@pytest.mark.parametrize("on_timeout, status, error_class", [
    ("reject", "failed", "rejected"), ("fail", "failed", "timeout"), ("approve", "succeeded", None)])
def test_the_timeout_decides_by_on_timeout(app, api, on_timeout, status, error_class):
    ex_id = started(api, gate(timeout_s=1, on_timeout=on_timeout))
    assert api.execution(ex_id)["waiting_until"]
    done = fire_until_finished(app, api, ex_id)
    assert done["status"] == status, done
    step = steps_of(done)["ok"]
    assert (step["error"] or {}).get("class") == error_class


def test_a_decision_after_a_restart_resumes_the_run(app, app_factory, api):
    ex_id = started(api, gate())
    close_engine(app)
    restarted = app_factory()
    try:
        admin2 = Api(restarted.test_client(), {"Authorization": f"Bearer {make_key(restarted, 'admin')}"})
        assert admin2.execution(ex_id)["status"] == "waiting"
        assert decide(admin2, ex_id, "approve").status_code == 200
        assert admin2.wait_finished(ex_id)["status"] == "succeeded"
    finally:
        close_engine(restarted)


def test_a_definition_names_its_approvers(api):
    bad = api.client.post("/api/v2/ai-workflows", headers=api.headers, json=manual("x", [
        {"id": "ok", "type": "approval", "approvers": {}}]))
    assert bad.status_code == 422 and "approvers" in str(bad.get_json())
    bad = api.client.post("/api/v2/ai-workflows", headers=api.headers, json=manual("x", [
        {"id": "ok", "type": "approval", "approvers": {"users": ["a@example.com"]}, "required": 2}]))
    assert bad.status_code == 422 and "required" in str(bad.get_json())
    bad = api.client.post("/api/v2/ai-workflows", headers=api.headers, json=manual("x", [
        {"id": "ok", "type": "transform", "mapping": {"a": "trigger"}, "required": 2}]))
    assert bad.status_code == 422


def test_the_dashboard_shows_the_approval_and_decides_it(app, api, client, alice):
    ex_id = started(api, gate(approvers={"users": ["alice@example.com"]}))
    assert client.post("/login", data=alice).status_code == 302
    page = client.get(f"/executions/{ex_id}").get_data(as_text=True)
    assert "Ship v2?" in page and ">Approve</button>" in page and ">Reject</button>" in page
    decided = client.post(f"/executions/{ex_id}/steps/ok/approve", data={"comment": "fine by me"})
    assert decided.status_code == 302
    done = api.wait_finished(ex_id)
    assert done["status"] == "succeeded"
    [decision] = steps_of(done)["ok"]["decisions"]
    assert decision["by"] == "alice@example.com" and decision["via"] == "dashboard"
    page = client.get(f"/executions/{ex_id}").get_data(as_text=True)
    assert "alice@example.com via dashboard" in page and ">Approve</button>" not in page


def test_the_dashboard_offers_no_buttons_to_others(app, api, client, alice):
    ex_id = started(api, gate(approvers={"users": ["bob@example.com"]}))
    assert client.post("/login", data=alice).status_code == 302
    page = client.get(f"/executions/{ex_id}").get_data(as_text=True)
    assert ">Approve</button>" not in page and "not one of this step" in page
    client.post(f"/executions/{ex_id}/steps/ok/approve", data={})
    assert rows(app, ApprovalDecision) == []


def with_link(**approval) -> dict:
    definition = gate(**approval)
    definition["steps"].append({"id": "notify", "type": "transform",
                                "mapping": {"yes": "approval.approve_url", "no": "approvals.ok.reject_url"}})
    return definition


def link_path(url: str) -> str:
    assert "/approvals/" in url
    return url[url.index("/approvals/"):]


def test_a_signed_link_decides_once_after_a_confirm_page(app, api, client):
    ex_id = started(api, with_link())
    urls = steps_of(api.execution(ex_id))["notify"]["output"]
    page = client.get(link_path(urls["yes"]))
    assert page.status_code == 200 and "Approve" in page.get_data(as_text=True)
    assert rows(app, ApprovalDecision) == []  # a GET changes nothing
    assert api.execution(ex_id)["status"] == "waiting"
    used = client.post(link_path(urls["yes"]), data={"comment": "via slack"})
    assert used.status_code == 200, used.get_data(as_text=True)
    done = api.wait_finished(ex_id)
    assert done["status"] == "succeeded"
    [decision] = steps_of(done)["ok"]["decisions"]
    assert decision["via"] == "link" and decision["comment"] == "via slack"
    assert client.post(link_path(urls["yes"])).status_code == 409  # replayed
    assert client.post(link_path(urls["no"])).status_code == 409  # the other one: decided
    assert len(rows(app, ApprovalDecision)) == 1


def test_an_anonymous_link_decision_is_audited_with_the_address(app, api, client):
    ex_id = started(api, with_link())
    urls = steps_of(api.execution(ex_id))["notify"]["output"]
    assert "not signed in" in client.get(link_path(urls["no"])).get_data(as_text=True)
    assert client.post(link_path(urls["no"]), environ_base={"REMOTE_ADDR": "192.0.2.7"}).status_code == 200
    [decision] = steps_of(api.wait_finished(ex_id))["ok"]["decisions"]
    assert decision["by"] == "link" and decision["via"] == "link" and decision["decision"] == "rejected"
    [event] = [e for e in rows(app, AuditEvent) if e.action.startswith("execution.step.")]
    assert (event.actor, event.action, event.subject) == ("link", "execution.step.rejected", f"execution:{ex_id}")
    assert event.detail == {"step": "ok", "via": "link", "address": "192.0.2.7"}


def test_a_signed_in_user_decides_a_link_as_themselves(app, api, client, alice):
    ex_id = started(api, with_link(approvers={"users": ["alice@example.com"]}))
    urls = steps_of(api.execution(ex_id))["notify"]["output"]
    assert client.post("/login", data=alice).status_code == 302
    assert "signed in as alice@example.com" in client.get(link_path(urls["yes"])).get_data(as_text=True)
    assert client.post(link_path(urls["yes"]), data={"comment": "ok"}).status_code == 200
    [decision] = steps_of(api.wait_finished(ex_id))["ok"]["decisions"]
    assert (decision["by"], decision["via"]) == ("alice@example.com", "link")
    assert [e.actor for e in rows(app, AuditEvent) if e.action == "execution.step.approved"] == ["alice@example.com"]


def test_a_signed_in_user_who_is_no_approver_cannot_use_a_link(app, api, client, alice):
    ex_id = started(api, with_link(approvers={"users": ["bob@example.com"]}))
    urls = steps_of(api.execution(ex_id))["notify"]["output"]
    assert client.post("/login", data=alice).status_code == 302
    refused = client.post(link_path(urls["yes"]))
    assert refused.status_code == 403 and "not one of this step" in refused.get_data(as_text=True)
    assert rows(app, ApprovalDecision) == []
    assert api.execution(ex_id)["status"] == "waiting"


def test_a_viewer_named_by_role_approves_through_the_api(app, api, keys):
    viewer = Api(api.client, keys["viewer"])
    ex_id = started(api, gate())  # admins and editors only
    refused = decide(viewer, ex_id, "approve")
    assert refused.status_code == 403 and rows(app, ApprovalDecision) == []
    ex2 = started(api, gate(approvers={"roles": ["viewer"]}))
    answer = decide(viewer, ex2, "approve", "seen")
    assert answer.status_code == 200, answer.get_json()
    assert api.wait_finished(ex2)["status"] == "succeeded"
    assert [d.decided_by for d in rows(app, ApprovalDecision)] == ["key:viewer-key"]


def test_a_viewer_named_by_the_step_approves_in_the_dashboard(app, api, client):
    from tests.atom.dashboard.test_sessions import make_user

    make_user(app, "vera@example.com", role="viewer")
    ex_id = started(api, gate(approvers={"users": ["vera@example.com"]}))
    assert client.post("/login", data={"email": "vera@example.com",
                                       "password": "a long enough password"}).status_code == 302
    assert ">Approve</button>" in client.get(f"/executions/{ex_id}").get_data(as_text=True)
    assert client.post(f"/executions/{ex_id}/steps/ok/approve", data={}).status_code == 302
    assert api.wait_finished(ex_id)["status"] == "succeeded"
    assert [d.decided_by for d in rows(app, ApprovalDecision)] == ["vera@example.com"]
    # Everything else stays closed to a viewer.
    assert client.post(f"/executions/{ex_id}/retry", data={}).status_code == 403


def test_a_tampered_or_expired_link_changes_nothing(app, api, client):
    ex_id = started(api, with_link(timeout_s=1))
    urls = steps_of(api.execution(ex_id))["notify"]["output"]
    path = link_path(urls["no"])
    assert client.get(path[:-2] + ("AA" if not path.endswith("AA") else "BB")).status_code == 400
    assert client.post(path[:-2] + ("AA" if not path.endswith("AA") else "BB")).status_code == 400
    # A link to another step or execution cannot be made without the secret.
    assert client.post("/approvals/eyJlIjoxLCJzIjoib2siLCJkIjoiYXBwcm92ZWQiLCJ4IjpudWxsfQ.forged").status_code == 400
    time.sleep(1.2)
    assert client.post(path).status_code == 410  # expired with the timeout
    assert rows(app, ApprovalDecision) == []
    assert fire_until_finished(app, api, ex_id)["status"] == "failed"  # on_timeout: reject


def test_a_hundred_approvals_resume_after_a_restart(app, app_factory, api):
    wf = api.create(gate())
    ids = [api.execute(wf["id"], {"what": n}, wait=None).get_json()["id"] for n in range(100)]
    for ex_id in ids:
        parked(api, ex_id)
    close_engine(app)
    restarted = app_factory()
    try:
        admin2 = Api(restarted.test_client(), {"Authorization": f"Bearer {make_key(restarted, 'admin')}"})
        for ex_id in ids:
            assert decide(admin2, ex_id, "approve").status_code == 200
        for ex_id in ids:
            done = admin2.wait_finished(ex_id, 60)
            assert done["status"] == "succeeded", done
            assert steps_of(done)["after"]["status"] == "succeeded"
    finally:
        close_engine(restarted)


def test_a_retried_rejection_asks_again(app, api, admin):
    ex_id = started(api, gate())
    assert decide(admin, ex_id, "reject").status_code == 200
    assert api.wait_finished(ex_id)["status"] == "failed"
    again = api.client.post(f"/api/v2/executions/{ex_id}/retry", headers=api.headers)
    assert again.status_code in (200, 202), again.get_json()
    body = parked(api, ex_id)
    assert steps_of(body)["ok"]["decisions"] == []
    assert decide(admin, ex_id, "approve").status_code == 200
    assert api.wait_finished(ex_id)["status"] == "succeeded"
