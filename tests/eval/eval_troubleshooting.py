"""Evaluation: troubleshooting on real executions with injected failures (issue 11).

Run ``python tests/eval/eval_troubleshooting.py``. The app is built by ``create_app`` on a
temporary SQLite database migrated with ``flask_migrate.upgrade()``; every workflow runs through
the real engine against ``tests.fakes.FakeServer`` (scripted HTTP on 127.0.0.1) via ``http``
connections, and is analysed and resolved through the REST API
(``/api/v2/workflows/enhanced/troubleshooting/...``). Nothing leaves the machine.

Each failure class is injected in several variants (different status codes, messages, step
types and causes); a variant counts as correct when the session classifies the failed step as
the injected class. For the transient classes the fake then behaves as a recovering service
(or keeps the slow latency that needs the raised timeout), ``resolve`` applies every safe fix
(``"auto"``) and the re-run's outcome is counted. Two more scenarios check the health relation
(another connection failing too: ``down_for_everyone``; succeeding: ``only_this``), each on a
database of its own so the integration's health window holds only that scenario's calls.
Output::

    RESULT class=auth variants=2 correct=2 share=1.00
    RESULT classified=24/24 share=1.00
    RESULT safe_fix_reruns=8 succeeded=8
    RESULT health_relation=2/2

A variant that is misclassified is printed on a ``MISS`` line; the exit status is 0 either way
(the figures are the result), 2 if the harness itself broke.
"""
from __future__ import annotations

import os
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path
from typing import Any
from typing import Callable

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

BASE = "/api/v2/workflows/enhanced/troubleshooting"


class Harness:
    def __init__(self, tmp: Path) -> None:
        from cryptography.fernet import Fernet
        from flask_migrate import upgrade

        from atom import create_app
        from atom.extensions import db
        from tests.fakes import FakeServer

        os.environ.setdefault("ATOM_INSTANCE_PATH", str(tmp / "instance"))
        self.settings = {"ENCRYPTION_KEY": Fernet.generate_key().decode(),
                         "SECRET_KEY": "eval-secret-long-enough-for-production-32",
                         "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp / 'atom.db'}"}
        self.app = create_app(dict(self.settings))
        with self.app.app_context():
            upgrade()
            db.engine.dispose()
        self.apps = [self.app]
        self.fake = FakeServer()
        self.client = self.app.test_client()
        self.headers = {"Authorization": f"Bearer {self.key(self.app)}"}
        self.names = 0

    @staticmethod
    def key(app) -> str:
        from tests.conftest import make_key

        return make_key(app, "editor")

    def close(self) -> None:
        from atom.engine import get_engine
        from atom.extensions import db
        from atom.state import get_state

        self.fake.stop()
        for app in self.apps:
            get_engine(app).close()
            get_state(app).recorder.close()
            with app.app_context():
                db.engine.dispose()

    # -- the API ------------------------------------------------------------------------------

    def call(self, method: str, url: str, client=None, headers=None, **kw) -> Any:
        response = getattr(client or self.client, method)(url, headers=headers or self.headers, **kw)
        return response.status_code, response.get_json(silent=True)

    def connection(self, **settings: Any) -> int:
        status, body = self.call("post", "/api/v2/connections", json={
            "integration": "http", "label": f"fake {self.names}", "credentials": {},
            "settings": {"base_url": self.fake.url, "max_attempts": 1, **settings}})
        assert status == 201, body
        self.names += 1
        return body["id"]

    def workflow(self, steps: list[dict[str, Any]]) -> int:
        self.names += 1
        status, body = self.call("post", "/api/v2/ai-workflows", json={
            "name": f"eval {self.names}", "trigger": {"type": "manual"}, "steps": steps})
        assert status == 201, body
        return body["id"]

    def run(self, wf_id: int, payload: Any = None, client=None, headers=None) -> dict[str, Any]:
        status, body = self.call("post", f"/api/v2/ai-workflows/{wf_id}/execute?wait=30",
                                 client=client, headers=headers, json=payload or {})
        assert status in (200, 202), body
        deadline = time.monotonic() + 30
        while body["status"] not in ("succeeded", "failed", "cancelled"):
            assert time.monotonic() < deadline, body
            time.sleep(0.05)
            _, body = self.call("get", f"/api/v2/executions/{body['id']}", client=client,
                                headers=headers)
        return body

    def analyze(self, execution_id: int, client=None, headers=None) -> dict[str, Any]:
        status, body = self.call("post", f"{BASE}/analyze", client=client, headers=headers,
                                 json={"execution_id": execution_id})
        assert status == 201, body
        return body

    def resolve(self, session_id: int) -> dict[str, Any]:
        status, body = self.call("post", f"{BASE}/resolve",
                                 json={"session_id": session_id, "fixes": "auto", "wait_s": 30})
        assert status == 200, body
        return body


def post(sid: str, path: str, conn: int | None, **extra: Any) -> dict[str, Any]:
    step = {"id": sid, "type": "action", "service": "http", "action": "post",
            "parameters": {"path": path, **extra.pop("params", {})}, **extra}
    if conn is not None:
        step["connection"] = conn
    return step


# -- the variants: (class, name, run) where run returns (session, recovers) --------------------

Variant = tuple[str, str, Callable[[Harness], tuple[dict[str, Any], bool]]]


def _plain(h: Harness, path: str, answers: list, step_extra: dict | None = None,
           payload: Any = None, then: Any = None) -> tuple[dict[str, Any], bool]:
    """One action step at ``path``: the answers in order, then ``then`` (the recovered service)."""
    from tests.fakes import reply

    conn = h.connection()
    h.fake.script(path, *answers)
    h.fake.always(path, then or reply(200, {"ok": True}))
    wf = h.workflow([post("x", path, conn, **(step_extra or {}))])
    done = h.run(wf, payload)
    assert done["status"] == "failed", done
    return h.analyze(done["id"]), True


def variants() -> list[Variant]:
    from tests.fakes import drop
    from tests.fakes import reply

    out: list[Variant] = []
    # auth
    out.append(("auth", "401 invalid token", lambda h: _plain(h, "/auth1", [reply(401, {"error": "invalid_token"})])))
    out.append(("auth", "403 forbidden", lambda h: _plain(h, "/auth2", [reply(403, "Forbidden")])))
    # rate_limited: the re-run meets one more 429 and retries after Retry-After
    out.append(("rate_limited", "429 with Retry-After", lambda h: _plain(
        h, "/rl1", [reply(429, {"error": "slow down"}, headers={"Retry-After": "1"})] * 2)))
    out.append(("rate_limited", "429 without Retry-After", lambda h: _plain(
        h, "/rl2", [reply(429, "Too Many Requests")] * 2)))
    # timeout
    out.append(("timeout", "slow answer, no history", lambda h: _plain(
        h, "/to1", [], {"timeout_s": 0.2}, then=reply(200, {}, delay=0.3))))
    out.append(("timeout", "limit lowered below the step's p99", _timeout_history))
    # upstream: the re-run meets one more failure and retries
    for code in (500, 502, 503):
        out.append(("upstream", f"{code}", lambda h, c=code: _plain(h, f"/up{c}", [reply(c, {"error": "boom"})] * 2)))
    out.append(("upstream", "dropped connection", lambda h: _plain(h, "/updrop", [drop(), drop()])))
    out.append(("upstream", "404 (permanent)", lambda h: _plain(h, "/up404", [reply(404, {"error": "gone"})])))
    # validation
    out.append(("validation", "422 naming a parameter", lambda h: _plain(
        h, "/v1", [reply(422, {"error": "invalid 'channel'"})], {"params": {"json": {"channel": "#x"}}})))
    out.append(("validation", "400 bad request", lambda h: _plain(h, "/v2", [reply(400, "Bad Request")])))
    out.append(("validation", "409 conflict", lambda h: _plain(h, "/v3", [reply(409, {"error": "exists"})])))
    out.append(("validation", "input schema (rendered path not a string)", _schema_validation))
    # expression
    out.append(("expression", "transform mapping", lambda h: _expression(h, [
        {"id": "x", "type": "transform", "mapping": {"n": "length(trigger.n)"}}], {"n": 5})))
    out.append(("expression", "condition", lambda h: _expression(h, [
        {"id": "x", "type": "condition", "expression": "abs(trigger.word)"}], {"word": "a"})))
    out.append(("expression", "parameter template", lambda h: _expression(h, [
        post("x", "/e3", None, params={"json": {"n": "{{ length(trigger.n) }}"}})], {"n": 5})))
    out.append(("expression", "when", lambda h: _expression(h, [
        post("x", "/e4", None, when="length(trigger.n)")], {"n": 5})))
    # circuit_open: a threshold of 1 opens it after one failure; it resets after 1 s
    out.append(("circuit_open", "after repeated failures", _circuit))
    # blocked: saved while allowed, run under the strict outbound policy
    out.append(("blocked", "loopback under the strict policy", _blocked))
    # configuration
    out.append(("configuration", "connection disabled", lambda h: _configuration(h, "disable")))
    out.append(("configuration", "connection deleted", lambda h: _configuration(h, "delete")))
    out.append(("configuration", "action the plugin no longer has", lambda h: _configuration(h, "action")))
    return out


def _timeout_history(h: Harness) -> tuple[dict[str, Any], bool]:
    from tests.fakes import reply

    conn = h.connection()
    h.fake.always("/to2", reply(200, {}, delay=0.15))
    step = post("x", "/to2", conn, timeout_s=2)
    wf = h.workflow([step])
    for _ in range(5):
        assert h.run(wf)["status"] == "succeeded"
    status, body = h.call("put", f"/api/v2/ai-workflows/{wf}", json={
        "name": f"eval lowered {wf}", "trigger": {"type": "manual"}, "steps": [{**step, "timeout_s": 0.05}]})
    assert status == 200, body
    done = h.run(wf)
    return h.analyze(done["id"]), True


def _schema_validation(h: Harness) -> tuple[dict[str, Any], bool]:
    conn = h.connection()
    wf = h.workflow([post("x", "{{ trigger.path }}", conn)])
    done = h.run(wf, {"path": 5})
    return h.analyze(done["id"]), False


def _expression(h: Harness, steps: list[dict[str, Any]], payload: Any) -> tuple[dict[str, Any], bool]:
    h.connection()
    done = h.run(h.workflow(steps), payload)
    return h.analyze(done["id"]), False


def _circuit(h: Harness) -> tuple[dict[str, Any], bool]:
    from tests.fakes import reply

    conn = h.connection(circuit_failure_threshold=1, circuit_reset_s=1)
    h.fake.script("/co", reply(503, {}))
    h.fake.always("/co", reply(200, {}))
    wf = h.workflow([post("x", "/co", conn)])
    assert h.run(wf)["status"] == "failed"
    done = h.run(wf)  # the circuit is open now
    return h.analyze(done["id"]), True


def _blocked(h: Harness) -> tuple[dict[str, Any], bool]:
    from atom import create_app

    conn = h.connection()
    wf = h.workflow([post("x", "/bl", conn)])
    strict = create_app({**h.settings, "OUTBOUND_ALLOW_PRIVATE": False})
    h.apps.append(strict)
    client, headers = strict.test_client(), {"Authorization": f"Bearer {h.key(strict)}"}
    done = h.run(wf, client=client, headers=headers)
    return h.analyze(done["id"], client=client, headers=headers), False


def _configuration(h: Harness, how: str) -> tuple[dict[str, Any], bool]:
    from atom.extensions import db
    from atom.models import WorkflowVersion
    from tests.fakes import reply

    conn = h.connection()
    h.fake.always(f"/cfg-{how}", reply(200, {}))
    wf = h.workflow([post("x", f"/cfg-{how}", conn)])
    if how == "disable":
        h.call("patch", f"/api/v2/connections/{conn}", json={"enabled": False})
    elif how == "delete":
        h.call("delete", f"/api/v2/connections/{conn}?force=true")
        h.call("post", f"/api/v2/ai-workflows/{wf}/enable")
    else:  # the plugin dropped the action after the workflow was saved
        with h.app.app_context():
            row = db.session.execute(db.select(WorkflowVersion).filter_by(workflow_id=wf)).scalar_one()
            definition = dict(row.definition)
            definition["steps"] = [{**definition["steps"][0], "action": "retired_action"}]
            row.definition = definition
            db.session.commit()
    done = h.run(wf)
    return h.analyze(done["id"]), False


def _relation(h: Harness, others_fail: bool) -> str:
    from tests.fakes import reply

    a, b = h.connection(), h.connection()
    tag = "down" if others_fail else "only"
    h.fake.always(f"/rel-{tag}-b", reply(502 if others_fail else 200, {}))
    h.fake.always(f"/rel-{tag}-a", reply(502, {}))
    other = h.workflow([post("x", f"/rel-{tag}-b", b)])
    for _ in range(3):
        h.run(other)
    done = h.run(h.workflow([post("x", f"/rel-{tag}-a", a)]))
    session = h.analyze(done["id"])
    return session["failures"][0]["health"]["relation"]


def main() -> int:
    import logging

    logging.disable(logging.WARNING)  # the outbound policy's start-up warning, per app
    with tempfile.TemporaryDirectory() as tmp:
        h = Harness(Path(tmp))
        try:
            per_class: dict[str, list[int]] = defaultdict(lambda: [0, 0])
            reruns = succeeded = 0
            started = time.monotonic()
            for expected, name, run in variants():
                session, recovers = run(h)
                step = next(f for f in session["failures"] if f["step_id"] == "x")
                got = step["class"]
                per_class[expected][0] += 1
                per_class[expected][1] += got == expected
                if got != expected:
                    print(f"MISS class={expected} variant={name!r} got={got} error={step['error']!r}")
                safe = [f["id"] for f in session["fixes"] if f["safe"]]
                if recovers and safe:
                    resolved = h.resolve(session["id"])
                    reruns += 1
                    ok = resolved["status"] == "resolved"
                    succeeded += ok
                    print(f"INFO class={expected} variant={name!r} fixes={','.join(safe)} "
                          f"rerun={resolved['resolution']['outcome']}")
                else:
                    person = [f["id"] for f in session["fixes"] if not f["safe"]]
                    print(f"INFO class={expected} variant={name!r} person_fixes={','.join(person)}")
        finally:
            h.close()
    # Each on a database of its own: the http integration's window holds only its own calls.
    relations = []
    for others_fail, want in ((True, "down_for_everyone"), (False, "only_this")):
        with tempfile.TemporaryDirectory() as tmp:
            h = Harness(Path(tmp))
            try:
                relations.append((_relation(h, others_fail), want))
            finally:
                h.close()
    total = sum(v[0] for v in per_class.values())
    right = sum(v[1] for v in per_class.values())
    for cls, (n, ok) in per_class.items():
        print(f"RESULT class={cls} variants={n} correct={ok} share={ok / n:.2f}")
    print(f"RESULT classified={right}/{total} share={right / total:.2f}")
    print(f"RESULT safe_fix_reruns={reruns} succeeded={succeeded}")
    print(f"RESULT health_relation={sum(g == w for g, w in relations)}/{len(relations)} "
          f"({', '.join(f'{w}->{g}' for g, w in relations)})")
    print(f"INFO wall_s={time.monotonic() - started:.1f}")
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except Exception:  # the harness broke: not a figure
        import traceback

        traceback.print_exc()
        sys.exit(2)
