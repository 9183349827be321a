"""Troubleshooting (issue 11): real executions against the scripted fake service, analysed and
resolved through the API, the CLI and the execution page."""
from __future__ import annotations

import re

import pytest

from atom.cli import main
from atom.extensions import db
from atom.models import WorkflowVersion
from tests.atom.engine.conftest import Api
from tests.atom.engine.conftest import api  # noqa: F401 (fixtures)
from tests.atom.engine.conftest import app  # noqa: F401
from tests.atom.engine.conftest import close_engine
from tests.atom.engine.conftest import conn  # noqa: F401
from tests.atom.engine.conftest import fake  # noqa: F401
from tests.atom.engine.conftest import manual
from tests.atom.engine.conftest import post_step
from tests.conftest import make_key
from tests.fakes import drop
from tests.fakes import reply

BASE = "/api/v2/workflows/enhanced/troubleshooting"


def analyze(api: Api, **body):
    return api.client.post(f"{BASE}/analyze", json=body, headers=api.headers)


def resolve(api: Api, **body):
    return api.client.post(f"{BASE}/resolve", json=body, headers=api.headers)


def failed(api: Api, steps: list[dict], payload=None, name="wf") -> tuple[dict, dict]:
    wf = api.create(manual(name, steps))
    done = api.run(wf["id"], payload)
    assert done["status"] == "failed", done
    return wf, done


def session_of(api: Api, execution_id: int) -> dict:
    response = analyze(api, execution_id=execution_id)
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def fixes(session: dict) -> dict[str, dict]:
    return {f["id"]: f for f in session["fixes"]}


# -- classification ----------------------------------------------------------------------------


def test_a_refused_credential_is_auth_and_needs_a_person(api, fake, conn):
    fake.always("/x", reply(401, {"error": "invalid_token"}))
    _, done = failed(api, [post_step("x", "/x", conn_id=conn["id"])])
    s = session_of(api, done["id"])
    (f,) = s["failures"]
    assert (f["class"], f["status_code"], f["connection_id"]) == ("auth", 401, conn["id"])
    assert f["health"]["relation"] == "no_other_data"
    fix = fixes(s)[f"reconnect:{conn['id']}"]
    assert fix["safe"] is False and f"/api/v2/connections/{conn['id']}" in fix["description"]
    assert "401" in s["root_cause"]["summary"] and str(conn["id"]) in s["root_cause"]["summary"]
    assert [e["attempt"] for e in s["root_cause"]["evidence"]] == [1]
    assert not [x for x in s["fixes"] if x["safe"]]


def test_a_429_is_rate_limited_and_parallel_calls_are_chained(api, fake, conn):
    fake.script("/x", reply(429, {"error": "slow down"}, headers={"Retry-After": "2"}))
    fake.always("/x", reply(200, {}))
    fake.always("/y", reply(200, {}))
    wf, done = failed(api, [post_step("x", "/x", conn_id=conn["id"]),
                            post_step("y", "/y", conn_id=conn["id"])])
    s = session_of(api, done["id"])
    (f,) = s["failures"]
    assert (f["class"], f["status_code"], f["retry_after_s"]) == ("rate_limited", 429, 2.0)
    retry = fixes(s)["retry:x"]
    assert retry["safe"] and retry["change"]["retry"]["delay_s"] == 2.0
    assert "Retry-After" in retry["description"]
    # x and y call the same service at the same time: chaining them is offered.
    assert fixes(s)["space:x"]["change"] == {"chain": ["x", "y"]}
    out = resolve(api, session_id=s["id"], fixes=["space:x", "retry:x"], wait_s=10).get_json()
    assert out["status"] == "resolved", out
    steps = {st["id"]: st for st in api.client.get(f"/api/v2/ai-workflows/{wf['id']}",
                                                   headers=api.headers).get_json()["steps"]}
    assert steps["y"]["depends_on"] == ["x"] and steps["x"]["depends_on"] == []
    assert {c["field"] for c in out["resolution"]["changes"]} == {"depends_on", "retry"}


@pytest.mark.parametrize("answer,status", [(reply(500, {"error": "boom"}), 500), (drop(), None)])
def test_a_5xx_or_a_dropped_connection_is_upstream_and_transient(api, fake, conn, answer, status):
    fake.always("/x", answer)
    _, done = failed(api, [post_step("x", "/x", conn_id=conn["id"])])
    s = session_of(api, done["id"])
    (f,) = s["failures"]
    assert (f["class"], f["status_code"]) == ("upstream", status)
    assert {"retry:x", "rerun"} <= set(fixes(s))
    assert fixes(s)["retry:x"]["change"]["retry"]["max_attempts"] == 3


def test_a_404_is_upstream_but_permanent_so_no_retry_is_offered(api, fake, conn):
    fake.always("/x", reply(404, {"error": "no such thing"}))
    _, done = failed(api, [post_step("x", "/x", conn_id=conn["id"])])
    s = session_of(api, done["id"])
    assert s["failures"][0]["class"] == "upstream"
    assert set(fixes(s)) == {"request:x"} and not fixes(s)["request:x"]["safe"]


def test_a_slow_answer_past_timeout_s_is_a_timeout(api, fake, conn):
    fake.always("/x", reply(200, {}, delay=0.4))
    _, done = failed(api, [post_step("x", "/x", conn_id=conn["id"], timeout_s=0.1)])
    s = session_of(api, done["id"])
    assert s["failures"][0]["class"] == "timeout"
    raise_ = fixes(s)["timeout:x"]
    # No successful run on record: the limit that was hit, doubled.
    assert raise_["safe"] and raise_["change"] == {"step": "x", "timeout_s": 0.2}
    assert "no successful run" in raise_["description"]


def test_an_open_circuit_is_circuit_open(api, fake, create_connection):
    c = create_connection("http", {"base_url": fake.url, "max_attempts": 1,
                                   "circuit_failure_threshold": 1, "circuit_reset_s": 3})
    fake.always("/x", reply(503, {}))
    wf, first = failed(api, [post_step("x", "/x", conn_id=c["id"])])
    second = api.run(wf["id"])
    s = session_of(api, second["id"])
    (f,) = s["failures"]
    assert f["class"] == "circuit_open" and fake.count("/x") == 1
    assert fixes(s)["retry:x"]["change"]["retry"]["delay_s"] == 3.0  # the circuit's reset
    assert "circuit" in s["root_cause"]["summary"]
    assert session_of(api, first["id"])["failures"][0]["class"] == "upstream"


def test_a_422_from_the_service_names_the_parameter_and_the_message(api, fake, conn):
    fake.always("/x", reply(422, {"error": "channel_not_found",
                                  "detail": "channel '#nope' does not exist"}))
    _, done = failed(api, [post_step("x", "/x", body={"channel": "#nope", "text": "hi"},
                                     conn_id=conn["id"])])
    s = session_of(api, done["id"])
    assert (s["failures"][0]["class"], s["failures"][0]["status_code"]) == ("validation", 422)
    fix = fixes(s)["parameter:x"]
    assert not fix["safe"] and "parameter json.channel" in fix["description"]
    assert "does not exist" in fix["description"] and "json.text" not in fix["description"]


def test_a_bad_expression_names_the_step_field_and_error(api, fake, conn):
    _, done = failed(api, [{"id": "t", "type": "transform", "mapping": {"n": "length(trigger.n)"}}],
                     payload={"n": 5})
    s = session_of(api, done["id"])
    (f,) = s["failures"]
    assert f["class"] == "expression" and f["health"]["relation"] == "no_other_data"
    fix = fixes(s)["expression:t"]
    assert not fix["safe"] and "field mapping.n" in fix["description"]
    assert "invalid type" in fix["description"]


def test_a_disabled_or_deleted_connection_is_configuration(api, fake, conn, client, keys):
    fake.always("/x", reply(200, {}))
    wf = api.create(manual("cfg", [post_step("x", "/x")]))  # the first enabled http connection
    assert api.run(wf["id"])["status"] == "succeeded"
    client.patch(f"/api/v2/connections/{conn['id']}", json={"enabled": False}, headers=keys["editor"])
    disabled = api.run(wf["id"])
    assert disabled["status"] == "failed"
    s = session_of(api, disabled["id"])
    assert s["failures"][0]["class"] == "configuration"
    assert "no enabled http connection" in fixes(s)["configure:x"]["description"]
    named = api.create(manual("cfg2", [post_step("x", "/x", conn_id=conn["id"])]))
    off = api.run(named["id"])
    s = session_of(api, off["id"])
    assert s["failures"][0]["class"] == "configuration"
    assert f"connection {conn['id']}" in fixes(s)["configure:x"]["description"]
    assert "is disabled" in fixes(s)["configure:x"]["description"]
    assert client.delete(f"/api/v2/connections/{conn['id']}?force=true",
                         headers=keys["editor"]).status_code == 204
    client.post(f"/api/v2/ai-workflows/{wf['id']}/enable", headers=keys["editor"])
    gone = api.run(wf["id"])
    s = session_of(api, gone["id"])
    assert s["failures"][0]["class"] == "configuration"
    assert "no http connection: create one first" in s["failures"][0]["error"]


def test_an_action_the_plugin_no_longer_has_is_configuration(app, api, fake, conn):
    wf = api.create(manual("gone", [post_step("x", "/x", conn_id=conn["id"])]))
    with app.app_context():  # saved before the plugin dropped the action
        row = db.session.execute(db.select(WorkflowVersion).filter_by(workflow_id=wf["id"])).scalar_one()
        row.definition = {**row.definition, "steps": [{**row.definition["steps"][0], "action": "retired"}]}
        db.session.commit()
    done = api.run(wf["id"])
    s = session_of(api, done["id"])
    assert (s["failures"][0]["class"], s["failures"][0]["recorded_class"]) == ("configuration",) * 2
    assert "has no action 'retired'" in fixes(s)["configure:x"]["description"]
    assert fake.count() == 0


def test_an_input_the_action_schema_refuses_names_the_field(api, fake, conn):
    _, done = failed(api, [post_step("x", "{{ trigger.path }}", conn_id=conn["id"])],
                     payload={"path": 5})
    s = session_of(api, done["id"])
    (f,) = s["failures"]
    assert f["class"] == "validation" and "(path: Not a valid string.)" in f["error"]
    assert "parameter path" in fixes(s)["parameter:x"]["description"]


def test_an_address_the_outbound_policy_denies_is_blocked(app, app_factory, create_connection,
                                                          fake, api):
    c = create_connection("http", {"base_url": fake.url, "max_attempts": 1})
    wf = api.create(manual("blocked", [post_step("x", "/x", conn_id=c["id"])]))
    strict = app_factory(OUTBOUND_ALLOW_PRIVATE=False)  # the same database, a stricter policy
    try:
        sapi = Api(strict.test_client(), {"Authorization": f"Bearer {make_key(strict, 'editor')}"})
        done = sapi.run(wf["id"])
        s = session_of(sapi, done["id"])
    finally:
        close_engine(strict)
    assert s["failures"][0]["class"] == "blocked" and fake.count() == 0
    fix = fixes(s)["outbound:x"]
    assert not fix["safe"] and "ATOM_OUTBOUND_ALLOW" in fix["description"]


# -- health relation ---------------------------------------------------------------------------


def test_down_for_everyone_when_the_other_connections_failed_too(api, fake, create_connection):
    a = create_connection("http", {"base_url": fake.url, "max_attempts": 1}, label="a")
    b = create_connection("http", {"base_url": fake.url, "max_attempts": 1}, label="b")
    fake.always("/b", reply(502, {}))
    fake.always("/a", reply(502, {}))
    other = api.create(manual("other", [post_step("b", "/b", conn_id=b["id"])]))
    for _ in range(2):
        assert api.run(other["id"])["status"] == "failed"
    _, done = failed(api, [post_step("x", "/a", conn_id=a["id"])], name="mine")
    s = session_of(api, done["id"])
    health = s["failures"][0]["health"]
    assert health["relation"] == "down_for_everyone"
    assert (health["others"]["calls"], health["others"]["calls_failed"]) == (2, 2)
    assert "2 of 2 other calls" in health["summary"]
    assert "failing for everyone" in s["root_cause"]["summary"]


def test_only_this_connection_when_the_others_succeeded(api, fake, create_connection):
    a = create_connection("http", {"base_url": fake.url, "max_attempts": 1}, label="a")
    b = create_connection("http", {"base_url": fake.url, "max_attempts": 1}, label="b")
    c = create_connection("http", {"base_url": fake.url, "max_attempts": 1}, label="c")
    fake.always("/b", reply(200, {}))
    fake.always("/a", reply(401, {}))
    other = api.create(manual("other", [post_step("b", "/b", conn_id=b["id"])]))
    for _ in range(3):
        assert api.run(other["id"])["status"] == "succeeded"
    # A third connection's own refused credentials say nothing about the service being down.
    refused = api.create(manual("refused", [post_step("c", "/a", conn_id=c["id"])]))
    for _ in range(4):
        assert api.run(refused["id"])["status"] == "failed"
    _, done = failed(api, [post_step("x", "/a", conn_id=a["id"])], name="mine")
    s = session_of(api, done["id"])
    health = s["failures"][0]["health"]
    assert health["relation"] == "only_this"
    assert "3 of 7 other calls" in health["summary"]
    assert "4 failed for reasons of their own" in health["summary"]
    assert "1 of 1 failed" in health["summary"]  # this connection's own


# -- resolve -----------------------------------------------------------------------------------


def test_resolve_raises_the_timeout_to_p99_and_the_rerun_succeeds(app, api, fake, conn):
    fake.always("/x", reply(200, {"ok": True}, delay=0.15))
    step = post_step("x", "/x", conn_id=conn["id"], timeout_s=2)
    wf = api.create(manual("slow", [step]))
    for _ in range(3):
        assert api.run(wf["id"], {"k": 1})["status"] == "succeeded"
    api.put(wf["id"], manual("slow", [{**step, "timeout_s": 0.05}]))  # someone lowered it
    done = api.run(wf["id"], {"k": 1})
    assert done["status"] == "failed"
    s = session_of(api, done["id"])
    change = fixes(s)["timeout:x"]["change"]
    p99 = s["root_cause"]["step_history"]["p99_ms"]
    assert s["root_cause"]["step_history"]["runs"] == 3 and p99 >= 150
    assert change["timeout_s"] == pytest.approx(p99 * 1.5 / 1000, abs=0.002)
    out = resolve(api, session_id=s["id"], fixes=["timeout:x", "retry:x"], wait_s=10)
    assert out.status_code == 200, out.get_json()
    r = out.get_json()
    assert r["status"] == "resolved" and r["resolution"]["outcome"] == "succeeded"
    assert (r["resolution"]["version"], r["resolution"]["applied"]) == (3, ["timeout:x", "retry:x"])
    rerun = api.execution(r["resolution"]["rerun_execution_id"])
    assert (rerun["version"], rerun["status"]) == (3, "succeeded")
    current = api.client.get(f"/api/v2/ai-workflows/{wf['id']}", headers=api.headers).get_json()
    (saved,) = current["steps"]
    assert saved["timeout_s"] == change["timeout_s"]
    assert saved["retry"] == {"max_attempts": 3, "delay_s": 1.0, "backoff": 2.0}
    with app.app_context():  # one new version, not one per fix
        assert db.session.scalar(db.select(db.func.count()).select_from(WorkflowVersion)
                                 .filter_by(workflow_id=wf["id"])) == 3
    again = resolve(api, session_id=s["id"], fixes="auto")
    assert again.status_code == 409


def test_a_rerun_waits_until_the_service_is_healthy_again(api, fake, conn):
    fake.always("/x", reply(500, {}))
    fake.always("/", reply(503, {}))  # the connection's health check
    wf, done = failed(api, [post_step("x", "/x", conn_id=conn["id"])])
    s = session_of(api, done["id"])
    out = resolve(api, session_id=s["id"], fixes=["rerun"]).get_json()
    assert out["status"] == "open" and out["resolution"]["rerun_execution_id"] is None
    assert out["resolution"]["outcome"].startswith("not re-run: the service is not healthy yet")
    assert fake.count("/x") == 1
    # That failed health check is this connection's own: for a later failure it is no
    # evidence about anyone else.
    later = session_of(api, api.run(wf["id"])["id"])["failures"][0]["health"]
    assert later["others"]["checks_failed"] == 1 and later["relation"] == "no_other_data"
    fake.always("/", reply(200, {}))  # the service recovers
    fake.always("/x", reply(200, {"ok": True}))
    assert fake.count("/x") == 2
    out = resolve(api, session_id=s["id"], fixes=["rerun"], wait_s=0).get_json()
    assert out["resolution"]["rerun_execution_id"] == done["id"]  # retried from the failed step
    api.wait_finished(done["id"])
    out = api.client.get(f"{BASE}/sessions/{s['id']}", headers=api.headers).get_json()
    assert out["status"] == "resolved", out  # the outcome, brought up to date when read
    assert out["resolution"]["outcome"] == "succeeded"
    assert out["resolution"]["version"] is None
    assert api.execution(done["id"])["status"] == "succeeded"


def test_auto_applies_every_safe_fix_and_a_failed_rerun_is_reported(api, fake, conn):
    fake.always("/x", reply(500, {"error": "still down"}))
    retry = {"max_attempts": 2, "delay_s": 0.05, "backoff": 2}
    wf, done = failed(api, [post_step("x", "/x", conn_id=conn["id"], retry=retry)])
    s = session_of(api, done["id"])
    assert fixes(s)["retry:x"]["change"]["retry"] == {"max_attempts": 3, "delay_s": 0.05,
                                                       "backoff": 2.0}
    out = resolve(api, session_id=s["id"], fixes="auto", wait_s=15).get_json()
    assert set(out["resolution"]["applied"]) == {"retry:x", "rerun"}
    assert out["status"] == "failed" and out["resolution"]["outcome"] == "failed"
    assert "still down" in out["resolution"]["error"]
    rerun = api.execution(out["resolution"]["rerun_execution_id"])
    assert [a["attempt"] for a in rerun["steps"][0]["attempts"]] == [1, 2, 3]
    again = resolve(api, session_id=s["id"], fixes="auto")  # one session, one resolution
    assert again.status_code == 409 and "analyse again" in again.get_json()["message"]
    assert api.client.get(f"/api/v2/ai-workflows/{wf['id']}", headers=api.headers
                          ).get_json()["version"] == 2


def test_fixes_needing_a_person_are_refused_and_auto_says_so(app, api, fake, conn):
    fake.always("/x", reply(401, {}))
    wf, done = failed(api, [post_step("x", "/x", conn_id=conn["id"])])
    s = session_of(api, done["id"])
    refused = resolve(api, session_id=s["id"], fixes=[f"reconnect:{conn['id']}"])
    assert refused.status_code == 422
    assert refused.get_json()["errors"]["fixes"][0].startswith("needs a person: ")
    unknown = resolve(api, session_id=s["id"], fixes=["retry:nope"])
    assert unknown.status_code == 422 and "fixes" in unknown.get_json()["errors"]
    out = resolve(api, session_id=s["id"], fixes="auto").get_json()
    assert out["status"] == "needs_person" and out["resolution"]["applied"] == []
    assert "re-connect" in out["resolution"]["outcome"]
    current = api.client.get(f"/api/v2/ai-workflows/{wf['id']}", headers=api.headers).get_json()
    assert current["version"] == 1 and fake.count("/x") == 1


# -- sessions, input and roles -----------------------------------------------------------------


def test_a_workflow_session_covers_its_recent_failed_executions(api, fake, conn):
    fake.script("/x", reply(500, {}), reply(500, {}), reply(200, {}))
    wf, one = failed(api, [post_step("x", "/x", conn_id=conn["id"])])
    two = api.run(wf["id"])
    assert api.run(wf["id"])["status"] == "succeeded"
    response = analyze(api, workflow_id=wf["id"])
    assert response.status_code == 201
    s = response.get_json()
    assert s["executions"] == [two["id"], one["id"]] and s["execution_id"] == two["id"]
    assert s["root_cause"]["summary"].startswith("In 2 of the 2 failed executions analysed")
    assert fixes(s)["rerun"]["change"]["execution_id"] == two["id"]


def test_sessions_are_listed_and_fetched(api, fake, conn, client, keys):
    fake.always("/x", reply(500, {}))
    wf, done = failed(api, [post_step("x", "/x", conn_id=conn["id"])])
    first, second = session_of(api, done["id"]), session_of(api, done["id"])
    listed = client.get(f"{BASE}/sessions?workflow_id={wf['id']}", headers=keys["viewer"])
    assert [s["id"] for s in listed.get_json()["sessions"]] == [second["id"], first["id"]]
    assert client.get(f"{BASE}/sessions?execution_id={done['id']}&limit=1",
                      headers=keys["viewer"]).get_json()["sessions"][0]["id"] == second["id"]
    assert client.get(f"{BASE}/sessions?workflow_id=999", headers=keys["viewer"]).get_json() == {
        "sessions": [], "next_cursor": None}
    one = client.get(f"{BASE}/sessions/{first['id']}", headers=keys["viewer"])
    assert one.status_code == 200 and one.get_json()["root_cause"] == first["root_cause"]
    # The same paths answer without /api/v2.
    assert client.get(f"/workflows/enhanced/troubleshooting/sessions/{first['id']}",
                      headers=keys["viewer"]).status_code == 200
    for bad in (999, 2 ** 64):
        assert client.get(f"{BASE}/sessions/{bad}", headers=keys["viewer"]).status_code == 404
    assert client.get(f"{BASE}/sessions?limit=0", headers=keys["viewer"]).status_code == 422


@pytest.mark.parametrize("body,field", [
    ({}, "execution_id"), ({"execution_id": 1, "workflow_id": 1}, "execution_id"),
    ({"execution_id": "x"}, "execution_id"), ({"execution_id": 2 ** 64}, "execution_id"),
    ({"execution_id": 1, "extra": 1}, "extra"),
])
def test_bad_analyze_input_is_422_naming_the_field(api, body, field):
    response = analyze(api, **body)
    assert response.status_code == 422, response.get_json()
    assert field in response.get_json()["errors"]


def test_a_running_execution_has_nothing_to_analyze_yet(api, fake, conn):
    fake.always("/x", reply(200, {}, delay=0.5))
    wf = api.create(manual("busy", [post_step("x", "/x", conn_id=conn["id"])]))
    started = api.execute(wf["id"], wait=None).get_json()
    response = analyze(api, execution_id=started["id"])
    assert response.status_code == 409 and "nothing failed yet" in response.get_json()["message"]
    assert api.wait_finished(started["id"])["status"] == "succeeded"


def test_unknown_ids_are_404_and_a_succeeded_execution_has_nothing_to_fix(api, fake, conn):
    assert analyze(api, execution_id=999).status_code == 404
    assert analyze(api, workflow_id=999).status_code == 404
    fake.always("/x", reply(200, {}))
    wf = api.create(manual("fine", [post_step("x", "/x", conn_id=conn["id"])]))
    done = api.run(wf["id"])
    for body in ({"execution_id": done["id"]}, {"workflow_id": wf["id"]}):
        response = analyze(api, **body)
        assert response.status_code == 409 and "nothing failed" in response.get_json()["message"]
    assert resolve(api, session_id=999, fixes="auto").status_code == 404
    bad = resolve(api, session_id=1, fixes="everything")
    assert bad.status_code == 422 and "fixes" in bad.get_json()["errors"]


def test_a_viewer_reads_but_cannot_analyze_or_resolve(api, fake, conn, client, keys):
    fake.always("/x", reply(500, {}))
    _, done = failed(api, [post_step("x", "/x", conn_id=conn["id"])])
    s = session_of(api, done["id"])
    viewer = keys["viewer"]
    assert client.post(f"{BASE}/analyze", json={"execution_id": done["id"]},
                       headers=viewer).status_code == 403
    assert client.post(f"{BASE}/resolve", json={"session_id": s["id"], "fixes": "auto"},
                       headers=viewer).status_code == 403
    assert client.get(f"{BASE}/sessions/{s['id']}", headers=viewer).get_json()["status"] == "open"
    assert client.get(f"{BASE}/sessions", headers={}).status_code == 401


def test_switched_off_it_answers_503_and_status_says_so(app_factory, monkeypatch, tmp_path):
    monkeypatch.setenv("ATOM_INSTANCE_PATH", str(tmp_path / "instance"))
    off = app_factory(WORKFLOW_OPTIMIZATION_ENABLED=False)
    client = off.test_client()
    headers = {"Authorization": f"Bearer {make_key(off, 'editor')}"}
    response = client.post(f"{BASE}/analyze", json={"execution_id": 1}, headers=headers)
    assert response.status_code == 503 and "WORKFLOW_OPTIMIZATION_ENABLED" in response.get_json()["message"]
    assert _component_status(off)["available"] is False


def _component_status(app) -> dict:
    """What ``GET .../status`` shows for troubleshooting (the other components' modules are
    built elsewhere, so the endpoint is not asked for all of them here)."""
    from atom.api.intelligence.status import component_status

    with app.test_request_context():
        return component_status("troubleshooting")


def test_status_counts_the_sessions(app, api, fake, conn):
    fake.always("/x", reply(401, {}))
    _, done = failed(api, [post_step("x", "/x", conn_id=conn["id"])])
    session_of(api, done["id"])
    mine = _component_status(app)
    assert mine["available"] is True and mine["version"] == "1"
    assert mine["trained_on"] == {"sessions": 1, "executions_analysed": 1}
    assert mine["details"]["failures_by_class"] == {"auth": 1}


# -- CLI and dashboard --------------------------------------------------------------------------


def test_the_cli_analyzes_and_resolves(app, api, fake, conn):
    fake.script("/x", reply(500, {}))
    fake.always("/x", reply(200, {}))
    _, done = failed(api, [post_step("x", "/x", conn_id=conn["id"])])
    runner = app.test_cli_runner()
    shown = runner.invoke(main, ["troubleshoot", str(done["id"])])
    assert shown.exit_code == 0, shown.output
    assert "upstream 500" in shown.output and "[retry:x] (safe)" in shown.output
    out = runner.invoke(main, ["troubleshoot", str(done["id"]), "--resolve", "retry:x", "--json"])
    assert out.exit_code == 0, out.output
    assert '"status": "resolved"' in out.output
    missing = runner.invoke(main, ["troubleshoot", "999"])
    assert missing.exit_code == 1 and "no execution 999" in missing.output


def _dashboard(app, role: str):
    from atom.models import User

    with app.app_context():
        user = User(email=f"{role}@example.com", role=role)
        user.set_password("a long enough password")
        db.session.add(user)
        db.session.commit()
    c = app.test_client()
    assert c.post("/login", data={"email": f"{role}@example.com",
                                  "password": "a long enough password"}).status_code == 302
    return c


def _csrf(page: str) -> str:
    return re.search(r'name="csrf-token" content="([^"]+)"', page).group(1)


def test_the_execution_page_troubleshoots_and_applies_safe_fixes(app, api, fake, conn):
    fake.script("/x", reply(500, {"error": "boom"}))
    fake.always("/x", reply(200, {}))
    _, done = failed(api, [post_step("x", "/x", conn_id=conn["id"])])
    editor, viewer = _dashboard(app, "editor"), _dashboard(app, "viewer")
    app.config["WTF_CSRF_ENABLED"] = True  # signed in; from here on every form needs its token
    page = editor.get(f"/executions/{done['id']}").get_data(as_text=True)
    assert f'hx-get="/executions/{done["id"]}/troubleshoot"' in page
    htmx = {"HX-Request": "true"}
    panel = editor.get(f"/executions/{done['id']}/troubleshoot", headers=htmx).get_data(as_text=True)
    assert ">Troubleshoot</button>" in panel
    token = _csrf(page)
    assert editor.post(f"/executions/{done['id']}/troubleshoot/analyze",
                       headers=htmx).status_code == 400  # no CSRF token
    shown = editor.post(f"/executions/{done['id']}/troubleshoot/analyze", headers=htmx,
                        data={"csrf_token": token}).get_data(as_text=True)
    assert "Root cause:" in shown and "upstream" in shown and "Apply safe fixes and re-run" in shown
    session_id = re.search(r'name="session_id" value="(\d+)"', shown).group(1)
    applied = editor.post(f"/executions/{done['id']}/troubleshoot/resolve", headers=htmx,
                          data={"csrf_token": token, "session_id": session_id}).get_data(as_text=True)
    assert "Outcome:</strong> succeeded" in applied
    rerun = re.search(r'href="/executions/(\d+)">re-run', applied).group(1)
    assert api.execution(int(rerun))["status"] == "succeeded"
    # Without JavaScript: the panel is a page of its own, and a form comes back to the execution.
    whole = editor.get(f"/executions/{done['id']}/troubleshoot")
    assert whole.status_code == 200 and "› Troubleshoot</p>" in whole.get_data(as_text=True)
    back = editor.post(f"/executions/{done['id']}/troubleshoot/analyze", data={"csrf_token": token})
    assert back.status_code == 302 and back.headers["Location"].endswith(f"/executions/{done['id']}#troubleshoot")
    assert editor.get("/executions/999/troubleshoot").status_code == 404
    seen = viewer.get(f"/executions/{done['id']}/troubleshoot", headers=htmx).get_data(as_text=True)
    assert "Root cause:" in seen and "Apply safe fixes" not in seen
    vpage = viewer.get(f"/executions/{done['id']}").get_data(as_text=True)
    assert viewer.post(f"/executions/{done['id']}/troubleshoot/resolve",
                       data={"csrf_token": _csrf(vpage), "session_id": session_id}).status_code == 403
